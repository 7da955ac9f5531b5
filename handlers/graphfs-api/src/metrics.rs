//! Prometheus text exposition, kept small: request counters and latency
//! histograms by route, upload counters, and queue depth read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::Method;
use graphfs_domain::QueueDepth;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    pub uploads: AtomicU64,
    pub upload_bytes: AtomicU64,
    pub downloads: AtomicU64,
}

/// The method as a metrics label: the methods GraphFS serves by name, any
/// other as `OTHER`, so a client inventing methods cannot grow the series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics {
    pub fn observe(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let method = method_label(method);
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l
                .entry((method.to_string(), route.to_string()))
                .or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        }
    }

    pub fn render(&self, queue: Option<QueueDepth>) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP graphfs_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE graphfs_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((m, route, s), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "graphfs_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP graphfs_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE graphfs_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for ((m, route), h) in l.iter() {
                let labels = format!("method=\"{m}\",route=\"{}\"", escape(route));
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "graphfs_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "graphfs_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "graphfs_http_request_duration_seconds_sum{{{labels}}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "graphfs_http_request_duration_seconds_count{{{labels}}} {}",
                    h.count
                );
            }
        }
        for (name, help, v) in [
            ("graphfs_uploads_total", "Files uploaded.", &self.uploads),
            (
                "graphfs_upload_bytes_total",
                "Bytes uploaded.",
                &self.upload_bytes,
            ),
            (
                "graphfs_downloads_total",
                "File contents served.",
                &self.downloads,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        if let Some(q) = queue {
            out.push_str("# HELP graphfs_queue_depth Tagging jobs by state.\n# TYPE graphfs_queue_depth gauge\n");
            let _ = writeln!(
                out,
                "graphfs_queue_depth{{state=\"pending\"}} {}",
                q.pending
            );
            let _ = writeln!(
                out,
                "graphfs_queue_depth{{state=\"in_flight\"}} {}",
                q.in_flight
            );
            let _ = writeln!(out, "graphfs_queue_depth{{state=\"failed\"}} {}", q.failed);
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_queue() {
        let m = Metrics::default();
        m.observe(&Method::GET, "/api/v1/files", 200, 0.003);
        m.observe(&Method::GET, "/api/v1/files", 200, 0.2);
        m.uploads.fetch_add(2, Ordering::Relaxed);
        let text = m.render(Some(QueueDepth {
            pending: 3,
            in_flight: 1,
            failed: 0,
        }));
        assert!(text.contains(
            "graphfs_http_requests_total{method=\"GET\",route=\"/api/v1/files\",status=\"200\"} 2"
        ));
        assert!(text.contains("graphfs_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/files\",le=\"0.005\"} 1"));
        assert!(text.contains(
            "graphfs_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/files\"} 2"
        ));
        assert!(text.contains("graphfs_uploads_total 2"));
        assert!(text.contains("graphfs_queue_depth{state=\"pending\"} 3"));
    }

    #[test]
    fn invented_methods_share_one_label() {
        let m = Metrics::default();
        for name in ["BREW", "FOO", "X-ANYTHING"] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            m.observe(&method, "unmatched", 405, 0.001);
        }
        let text = m.render(None);
        assert!(text.contains(
            "graphfs_http_requests_total{method=\"OTHER\",route=\"unmatched\",status=\"405\"} 3"
        ));
        assert!(!text.contains("BREW"), "{text}");
    }
}
