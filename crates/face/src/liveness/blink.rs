//! Blinks: the eyes closing and reopening within a human time span.

use serde::{Deserialize, Serialize};

/// Blink detection settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlinkConfig {
    /// Eyes count as closed below this fraction of the person's open-eye ratio. Default 0.6.
    pub closed_fraction: f32,
    /// Eyes count as open again above this fraction. Default 0.8.
    pub reopen_fraction: f32,
    /// Shortest closure that counts, ms (faster is a frame glitch or a spliced video). Default 50.
    pub min_closed_ms: u64,
    /// Longest closure that counts, ms (slower is eyes held shut, or a photo swapped). Default 700.
    pub max_closed_ms: u64,
    /// An open-eye ratio below this cannot be trusted as a baseline. Default 0.15.
    pub min_open_ear: f32,
}

impl Default for BlinkConfig {
    fn default() -> Self {
        Self {
            closed_fraction: 0.6,
            reopen_fraction: 0.8,
            min_closed_ms: 50,
            max_closed_ms: 700,
            min_open_ear: 0.15,
        }
    }
}

/// What one frame did to the blink tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlinkEvent {
    /// Nothing yet.
    None,
    /// A blink of human speed completed; the closure lasted this many ms.
    Blink(u64),
    /// The eyes reopened too quickly to be a blink (ms).
    TooFast(u64),
    /// The eyes stayed closed too long to be a blink (ms).
    TooSlow(u64),
}

/// Follows the eye aspect ratio over time and reports blinks.
#[derive(Clone, Debug)]
pub struct BlinkTracker {
    config: BlinkConfig,
    baseline: Option<f32>,
    closed_since: Option<u64>,
}

impl BlinkTracker {
    /// A tracker with no history.
    pub fn new(config: BlinkConfig) -> Self {
        Self {
            config,
            baseline: None,
            closed_since: None,
        }
    }

    /// The open-eye ratio learnt so far.
    pub fn baseline(&self) -> Option<f32> {
        self.baseline
    }

    /// Feeds one frame's mean eye aspect ratio at time `t_ms`.
    pub fn update(&mut self, t_ms: u64, ear: f32) -> BlinkEvent {
        let c = self.config;
        let Some(base) = self.baseline else {
            if ear >= c.min_open_ear {
                self.baseline = Some(ear);
            }
            return BlinkEvent::None;
        };
        match self.closed_since {
            None if ear < base * c.closed_fraction => {
                self.closed_since = Some(t_ms);
                BlinkEvent::None
            }
            None => {
                // Follow slow changes of the open-eye ratio (distance, expression), not blinks.
                if ear > base * c.reopen_fraction {
                    self.baseline = Some(base * 0.8 + ear * 0.2);
                }
                BlinkEvent::None
            }
            Some(since) => {
                let closed_for = t_ms.saturating_sub(since);
                if ear > base * c.reopen_fraction {
                    self.closed_since = None;
                    if closed_for < c.min_closed_ms {
                        BlinkEvent::TooFast(closed_for)
                    } else if closed_for > c.max_closed_ms {
                        BlinkEvent::TooSlow(closed_for)
                    } else {
                        BlinkEvent::Blink(closed_for)
                    }
                } else if closed_for > c.max_closed_ms {
                    // Report once, then wait for the eyes to open before counting again.
                    self.closed_since = Some(u64::MAX / 2);
                    BlinkEvent::TooSlow(closed_for)
                } else {
                    BlinkEvent::None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blink_run(samples: &[(u64, f32)]) -> Vec<BlinkEvent> {
        let mut t = BlinkTracker::new(BlinkConfig::default());
        samples
            .iter()
            .map(|&(ms, ear)| t.update(ms, ear))
            .filter(|e| *e != BlinkEvent::None)
            .collect()
    }

    /// 15 fps frames: open eyes, then a closure of `closed` frames.
    fn blink_samples(closed: u64) -> Vec<(u64, f32)> {
        let mut v: Vec<(u64, f32)> = (0..5).map(|i| (i * 67, 0.30)).collect();
        v.extend((5..5 + closed).map(|i| (i * 67, 0.08)));
        v.extend((5 + closed..5 + closed + 4).map(|i| (i * 67, 0.29)));
        v
    }

    #[test]
    fn a_normal_blink_counts() {
        assert_eq!(blink_run(&blink_samples(3)), vec![BlinkEvent::Blink(201)]);
    }

    #[test]
    fn eyes_held_shut_are_too_slow() {
        let events = blink_run(&blink_samples(20));
        assert!(
            matches!(events.first(), Some(BlinkEvent::TooSlow(_))),
            "{events:?}"
        );
        assert!(!events.iter().any(|e| matches!(e, BlinkEvent::Blink(_))));
    }

    #[test]
    fn a_glitch_between_two_close_timestamps_is_too_fast() {
        let events = blink_run(&[(0, 0.3), (33, 0.3), (66, 0.05), (70, 0.3)]);
        assert_eq!(events, vec![BlinkEvent::TooFast(4)]);
    }

    #[test]
    fn narrow_eyes_blink_relative_to_their_own_baseline() {
        let events = blink_run(&[(0, 0.19), (67, 0.19), (134, 0.09), (201, 0.10), (268, 0.18)]);
        assert_eq!(events, vec![BlinkEvent::Blink(134)]);
    }
}
