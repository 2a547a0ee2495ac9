//! When to try again: exponential backoff with jitter, capped, honouring the server's
//! `Retry-After`. Randomness comes in as an argument, so the schedule is testable.

/// The first retry waits about this long, ms.
pub const FIRST_MS: u64 = 1_000;
/// No retry waits longer than this, ms (5 minutes).
pub const CAP_MS: u64 = 300_000;

/// The wait before attempt `attempts + 1`, ms, after `attempts` failures (≥ 1): `FIRST_MS`
/// doubled per failure, capped at `CAP_MS`, scaled by a jitter in [0.8, 1.2) drawn from
/// `random` (any u64: `random % 400` picks it), and never shorter than the server's
/// `Retry-After` (s).
pub fn delay_ms(attempts: u32, retry_after_s: Option<u64>, random: u64) -> u64 {
    let exp = attempts.saturating_sub(1).min(20);
    let base = FIRST_MS.saturating_mul(1 << exp).min(CAP_MS);
    // × (800 … 1199)/1000, in integers: exactly within [0.8, 1.2).
    let wait = (base * (800 + random % 400) / 1000).min(CAP_MS);
    match retry_after_s {
        Some(s) => wait.max(s.saturating_mul(1000).min(24 * 3600 * 1000)),
        None => wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second_up_to_five_minutes_with_jitter() {
        let mid = 200;
        assert_eq!(delay_ms(1, None, mid), 1_000);
        assert_eq!(delay_ms(2, None, mid), 2_000);
        assert_eq!(delay_ms(5, None, mid), 16_000);
        assert_eq!(delay_ms(30, None, mid), CAP_MS);
        assert_eq!(delay_ms(1, None, 0), 800);
        assert_eq!(delay_ms(1, None, 399), 1_199);
        assert!(delay_ms(40, None, u64::MAX) <= CAP_MS);
    }

    #[test]
    fn retry_after_is_honoured_but_bounded() {
        let mid = 200;
        assert_eq!(delay_ms(1, Some(30), mid), 30_000);
        assert_eq!(delay_ms(9, Some(1), mid), 256_000);
        assert_eq!(delay_ms(1, Some(u64::MAX), mid), 24 * 3600 * 1000);
    }
}
