//! The operator's own Prometheus metrics and health endpoint.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    reconciles: Mutex<BTreeMap<&'static str, u64>>,
    failures: AtomicU64,
    pub leader: AtomicBool,
}

impl Metrics {
    pub fn reconciled(&self, kind: &'static str) {
        if let Ok(mut m) = self.reconciles.lock() {
            *m.entry(kind).or_default() += 1;
        }
    }

    pub fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP graphfs_operator_reconciles_total Reconciliations by kind.\n# TYPE graphfs_operator_reconciles_total counter\n",
        );
        if let Ok(m) = self.reconciles.lock() {
            for (k, v) in m.iter() {
                let _ = writeln!(out, "graphfs_operator_reconciles_total{{kind=\"{k}\"}} {v}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP graphfs_operator_reconcile_errors_total Failed reconciliations.\n# TYPE graphfs_operator_reconcile_errors_total counter\ngraphfs_operator_reconcile_errors_total {}",
            self.failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP graphfs_operator_leader Whether this replica leads.\n# TYPE graphfs_operator_leader gauge\ngraphfs_operator_leader {}",
            u8::from(self.leader.load(Ordering::Relaxed))
        );
        out
    }
}
