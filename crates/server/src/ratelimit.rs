//! Per-key token buckets (per replica), on the injected clock.

use std::collections::HashMap;
use std::sync::Mutex;

/// Token buckets keyed by caller (API key id or kiosk id).
#[derive(Debug)]
pub struct RateLimiter {
    rate_per_s: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, u64)>>,
}

impl RateLimiter {
    /// `rate_per_s` sustained, `burst` at once.
    pub fn new(rate_per_s: f64, burst: u32) -> Self {
        Self {
            rate_per_s,
            burst: f64::from(burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key` at `now_ms`; `Err(seconds to wait)` when the bucket is empty.
    pub fn check(&self, key: &str, now_ms: u64) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > 100_000 {
            // Forget idle callers rather than grow without bound.
            let burst = self.burst;
            let rate = self.rate_per_s;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now_ms.saturating_sub(*at) as f64 / 1000.0 * rate < burst
            });
        }
        let (tokens, at) = buckets
            .entry(key.to_owned())
            .or_insert((self.burst, now_ms));
        let elapsed_s = now_ms.saturating_sub(*at) as f64 / 1000.0;
        *tokens = (*tokens + elapsed_s * self.rate_per_s).min(self.burst);
        *at = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate_per_s).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let l = RateLimiter::new(2.0, 3);
        for _ in 0..3 {
            assert!(l.check("k", 0).is_ok());
        }
        assert_eq!(l.check("k", 0), Err(1));
        assert!(l.check("other", 0).is_ok());
        assert!(l.check("k", 500).is_ok());
        assert!(l.check("k", 500).is_err());
    }
}
