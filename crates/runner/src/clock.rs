//! The session's clock: one wall-clock reading at the start, then a monotonic clock, so a
//! change of the system time during a session (NTP, an operator) cannot bend its timings.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Unix milliseconds, from a monotonic clock anchored to the wall clock once.
#[derive(Clone, Copy, Debug)]
pub struct SessionClock {
    wall_ms: u64,
    anchor: Instant,
}

impl SessionClock {
    /// A clock anchored now.
    pub fn start() -> Self {
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self {
            wall_ms,
            anchor: Instant::now(),
        }
    }

    /// A clock anchored at a given unix time (tests, replays).
    pub fn anchored_at(wall_ms: u64) -> Self {
        Self {
            wall_ms,
            anchor: Instant::now(),
        }
    }

    /// The anchor, unix ms.
    pub fn start_ms(&self) -> u64 {
        self.wall_ms
    }

    /// Now, unix ms.
    pub fn now_ms(&self) -> u64 {
        self.wall_ms
            .saturating_add(self.anchor.elapsed().as_millis() as u64)
    }

    /// The unix time of an instant taken after the anchor.
    pub fn at(&self, t: Instant) -> u64 {
        self.wall_ms
            .saturating_add(t.saturating_duration_since(self.anchor).as_millis() as u64)
    }
}
