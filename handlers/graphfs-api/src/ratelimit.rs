//! Per-user token buckets. A client over its rate gets 429 with Retry-After
//! instead of queueing work the server cannot keep up with.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Users tracked before idle ones are forgotten.
const MAX_TRACKED: usize = 100_000;

pub struct RateLimiter {
    rate: f64,
    burst: f64,
    max_tracked: usize,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests per second sustained, `burst` at once. A rate of 0
    /// turns limiting off.
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate,
            burst: burst.max(1.0),
            max_tracked: MAX_TRACKED,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` to go ahead, or `Err(seconds to wait)`.
    pub fn check(&self, user: &str) -> Result<(), u64> {
        self.check_at(user, Instant::now())
    }

    /// [`Self::check`] at a given instant (the clock is the caller's).
    fn check_at(&self, user: &str, now: Instant) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= self.max_tracked && !buckets.contains_key(user) {
            // Forget users whose bucket has refilled: a full bucket is what a
            // new user gets, so dropping it changes nobody's limit.
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(user.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refuse_with_retry_after() {
        let rl = RateLimiter::new(1.0, 3.0);
        assert!(rl.check("a").is_ok());
        assert!(rl.check("a").is_ok());
        assert!(rl.check("a").is_ok());
        assert_eq!(rl.check("a"), Err(1));
        // Another user has their own bucket.
        assert!(rl.check("b").is_ok());
    }

    #[test]
    fn idle_users_are_forgotten_and_busy_ones_kept() {
        let mut rl = RateLimiter::new(1.0, 2.0);
        rl.max_tracked = 3;
        let t0 = Instant::now();
        for u in ["a", "b", "c"] {
            rl.check_at(u, t0).unwrap();
        }
        // "c" spends its whole burst; "a" and "b" refill within 1 s.
        rl.check_at("c", t0).unwrap();
        let t1 = t0 + std::time::Duration::from_millis(1500);
        rl.check_at("d", t1).unwrap();
        let tracked: Vec<String> = {
            let mut v: Vec<String> = rl.buckets.lock().unwrap().keys().cloned().collect();
            v.sort();
            v
        };
        assert_eq!(
            tracked,
            vec!["c", "d"],
            "refilled buckets go, a spent one stays"
        );
        // "c" is still limited: forgetting never hands out a fresh burst.
        rl.check_at("c", t1).unwrap();
        assert!(rl.check_at("c", t1).is_err());
    }

    #[test]
    fn zero_rate_is_off() {
        let rl = RateLimiter::new(0.0, 1.0);
        for _ in 0..1000 {
            assert!(rl.check("a").is_ok());
        }
    }
}
