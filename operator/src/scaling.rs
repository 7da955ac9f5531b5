//! The queue-driven scaling decision, a pure function of the spec, what the
//! pool remembers, the queue reading and the clock.
//!
//! depth = pending + in-flight. The pool is active while depth exceeds
//! activationQueueDepth; then desired = ceil(depth / targetQueueDepthPerReplica)
//! clamped to [max(min, 1), max]. Once inactive it stays at no fewer than
//! max(min, 1) until the cooldown has passed, then goes to minReplicas
//! (zero when min is 0). Stabilization windows and step limits smooth the
//! result the way the HPA's behavior does; a queue that cannot be read keeps
//! the replicas until the failure threshold, then applies the fallback.

use crate::crd::{Autoscaling, Recommendation};

/// What the pool carries from one decision to the next (kept in its status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScalingMemory {
    pub last_active: Option<i64>,
    pub metric_failures: i32,
    pub recommendations: Vec<Recommendation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub replicas: i32,
    pub active: bool,
    pub fallback: bool,
    pub memory: ScalingMemory,
    /// Why, in words, for events and conditions.
    pub reason: String,
}

/// Decides the replica count. `depth` is `None` when the queue could not be
/// read; `now` is Unix seconds.
pub fn decide(
    spec: &Autoscaling,
    current: i32,
    depth: Option<u64>,
    memory: &ScalingMemory,
    now: i64,
) -> Decision {
    let min = spec.min_replicas.max(0);
    let max = spec.max_replicas.max(min).max(1);
    let floor = min.max(1).min(max);
    let mut mem = memory.clone();

    let Some(depth) = depth else {
        mem.metric_failures = mem.metric_failures.saturating_add(1);
        if let Some(fb) = &spec.fallback
            && mem.metric_failures >= fb.failure_threshold
        {
            return Decision {
                replicas: fb.replicas.clamp(0, max),
                active: false,
                fallback: true,
                reason: format!(
                    "queue unreadable {} times in a row; using {} fallback replicas",
                    mem.metric_failures, fb.replicas
                ),
                memory: mem,
            };
        }
        return Decision {
            replicas: current,
            active: mem
                .last_active
                .is_some_and(|t| now - t < i64::from(spec.cooldown_period_seconds)),
            fallback: false,
            reason: format!(
                "queue unreadable ({} times); keeping {current} replicas",
                mem.metric_failures
            ),
            memory: mem,
        };
    };
    mem.metric_failures = 0;

    let active = depth > spec.activation_queue_depth.max(0) as u64;
    if active {
        mem.last_active = Some(now);
    }
    let per = u64::try_from(spec.target_queue_depth_per_replica.max(1)).unwrap_or(1);
    let by_depth = i32::try_from(depth.div_ceil(per)).unwrap_or(i32::MAX);
    let in_cooldown = mem
        .last_active
        .is_some_and(|t| now - t < i64::from(spec.cooldown_period_seconds));
    let (raw, why) = if active {
        (
            by_depth.clamp(floor, max),
            format!("queue depth {depth}: active"),
        )
    } else if in_cooldown && current > 0 {
        (
            by_depth.clamp(floor, max),
            format!("queue depth {depth}: idle, in cooldown"),
        )
    } else {
        (min, format!("queue depth {depth}: idle past the cooldown"))
    };

    // Stabilization: remember the raw recommendation, and when moving take the
    // most conservative one seen within that direction's window.
    mem.recommendations.push(Recommendation {
        at: now,
        replicas: raw,
    });
    let keep = i64::from(
        spec.scale_up
            .stabilization_window_seconds
            .max(spec.scale_down.stabilization_window_seconds),
    );
    mem.recommendations.retain(|r| now - r.at <= keep);
    if mem.recommendations.len() > 100 {
        let drop = mem.recommendations.len() - 100;
        mem.recommendations.drain(..drop);
    }
    let within = |secs: i32| {
        mem.recommendations
            .iter()
            .filter(move |r| now - r.at <= i64::from(secs))
            .map(|r| r.replicas)
    };
    let mut desired = raw;
    if raw > current {
        desired = within(spec.scale_up.stabilization_window_seconds)
            .min()
            .unwrap_or(raw)
            .max(current);
        desired = desired.min(current.saturating_add(spec.scale_up.max_step.max(1)));
    } else if raw < current {
        desired = within(spec.scale_down.stabilization_window_seconds)
            .max()
            .unwrap_or(raw)
            .min(current);
        desired = desired.max(current.saturating_sub(spec.scale_down.max_step.max(1)));
    }
    Decision {
        replicas: desired,
        active,
        fallback: false,
        reason: format!("{why}; recommended {raw}, scaling {current} -> {desired}"),
        memory: mem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{Fallback, ScalingRules};

    fn spec() -> Autoscaling {
        Autoscaling {
            enabled: true,
            min_replicas: 0,
            max_replicas: 10,
            polling_interval_seconds: 30,
            cooldown_period_seconds: 300,
            target_queue_depth_per_replica: 10,
            activation_queue_depth: 0,
            // No smoothing unless a test asks for it.
            scale_up: ScalingRules {
                stabilization_window_seconds: 0,
                max_step: 100,
            },
            scale_down: ScalingRules {
                stabilization_window_seconds: 0,
                max_step: 100,
            },
            fallback: None,
        }
    }

    fn run(
        s: &Autoscaling,
        current: i32,
        depth: Option<u64>,
        mem: &ScalingMemory,
        now: i64,
    ) -> Decision {
        decide(s, current, depth, mem, now)
    }

    #[test]
    fn desired_is_depth_over_target_rounded_up_and_clamped() {
        let s = spec();
        let m = ScalingMemory::default();
        assert_eq!(run(&s, 0, Some(1), &m, 0).replicas, 1);
        assert_eq!(run(&s, 0, Some(10), &m, 0).replicas, 1);
        assert_eq!(run(&s, 0, Some(11), &m, 0).replicas, 2);
        assert_eq!(run(&s, 0, Some(95), &m, 0).replicas, 10);
        assert_eq!(
            run(&s, 0, Some(10_000), &m, 0).replicas,
            10,
            "clamped to max"
        );
        let mut s2 = spec();
        s2.min_replicas = 3;
        assert_eq!(run(&s2, 0, Some(1), &m, 0).replicas, 3, "clamped to min");
    }

    #[test]
    fn idle_pool_stays_up_through_the_cooldown_then_goes_to_zero() {
        let s = spec();
        let busy = run(&s, 0, Some(50), &ScalingMemory::default(), 1000);
        assert_eq!((busy.replicas, busy.active), (5, true));
        // The queue drains: back to one replica, not zero, during cooldown.
        let idle = run(&s, 5, Some(0), &busy.memory, 1100);
        assert_eq!((idle.replicas, idle.active), (1, false));
        let still = run(&s, 1, Some(0), &idle.memory, 1299);
        assert_eq!(still.replicas, 1);
        let zero = run(&s, 1, Some(0), &still.memory, 1301);
        assert_eq!(zero.replicas, 0);
        // And back up from zero when work arrives.
        let again = run(&s, 0, Some(3), &zero.memory, 1400);
        assert_eq!((again.replicas, again.active), (1, true));
    }

    #[test]
    fn activation_threshold_keeps_small_queues_at_zero() {
        let mut s = spec();
        s.activation_queue_depth = 5;
        let d = run(&s, 0, Some(5), &ScalingMemory::default(), 0);
        assert_eq!((d.replicas, d.active), (0, false));
        let d = run(&s, 0, Some(6), &ScalingMemory::default(), 0);
        assert_eq!((d.replicas, d.active), (1, true));
    }

    #[test]
    fn step_limits_bound_each_move() {
        let mut s = spec();
        s.scale_up.max_step = 2;
        s.scale_down.max_step = 1;
        let m = ScalingMemory::default();
        assert_eq!(run(&s, 1, Some(100), &m, 0).replicas, 3);
        let up = run(&s, 0, Some(100), &m, 0);
        assert_eq!(up.replicas, 2);
        let down = run(&s, 8, Some(10), &up.memory, 10);
        assert_eq!(down.replicas, 7);
    }

    #[test]
    fn scale_down_waits_out_its_stabilization_window() {
        let mut s = spec();
        s.scale_down.stabilization_window_seconds = 60;
        let m0 = run(&s, 0, Some(80), &ScalingMemory::default(), 0);
        assert_eq!(m0.replicas, 8);
        // Queue drops, but a recommendation of 8 is inside the window.
        let d1 = run(&s, 8, Some(20), &m0.memory, 30);
        assert_eq!(d1.replicas, 8);
        // Past the window the lower recommendation wins.
        let d2 = run(&s, 8, Some(20), &d1.memory, 61);
        assert_eq!(d2.replicas, 2);
    }

    #[test]
    fn scale_up_stabilization_ignores_a_brief_spike() {
        let mut s = spec();
        s.scale_up.stabilization_window_seconds = 60;
        let m0 = run(&s, 2, Some(20), &ScalingMemory::default(), 0);
        assert_eq!(m0.replicas, 2);
        let spike = run(&s, 2, Some(90), &m0.memory, 10);
        assert_eq!(
            spike.replicas, 2,
            "the lower recommendation is still in the window"
        );
        let sustained = run(&s, 2, Some(90), &spike.memory, 61);
        assert_eq!(sustained.replicas, 9);
    }

    #[test]
    fn unreadable_queue_keeps_replicas_then_falls_back() {
        let mut s = spec();
        s.fallback = Some(Fallback {
            failure_threshold: 3,
            replicas: 2,
        });
        let mut m = ScalingMemory::default();
        for i in 1..=2 {
            let d = run(&s, 5, None, &m, i);
            assert_eq!((d.replicas, d.fallback), (5, false));
            m = d.memory;
        }
        let d = run(&s, 5, None, &m, 3);
        assert_eq!((d.replicas, d.fallback), (2, true));
        assert_eq!(d.memory.metric_failures, 3);
        // A good reading clears the failure count.
        let ok = run(&s, 2, Some(40), &d.memory, 4);
        assert_eq!(
            (ok.replicas, ok.fallback, ok.memory.metric_failures),
            (4, false, 0)
        );
        // Without a fallback the replicas are simply kept.
        let s2 = spec();
        let mut m = ScalingMemory::default();
        for i in 0..10 {
            let d = run(&s2, 3, None, &m, i);
            assert_eq!(d.replicas, 3);
            m = d.memory;
        }
    }

    #[test]
    fn history_is_bounded() {
        let mut s = spec();
        s.scale_down.stabilization_window_seconds = 3600;
        let mut m = ScalingMemory::default();
        for i in 0..500 {
            m = run(&s, 1, Some(5), &m, i).memory;
        }
        assert!(m.recommendations.len() <= 100);
    }
}
