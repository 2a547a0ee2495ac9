//! Active liveness challenges: choosing them at random, and deciding from the face's signals
//! whether the person did what was asked in time.

use facekiosk_face::liveness::{BlinkConfig, BlinkEvent, BlinkTracker, LivenessSignals};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::options::ChallengeKind;

/// Picks `count` challenges from `pool` in a random order, at least one of them a head turn
/// (the 3-D check needs one). The pool must hold a turn (validation ensures it).
pub fn choose(pool: &[ChallengeKind], count: usize, rng: &mut impl Rng) -> Vec<ChallengeKind> {
    let turns: Vec<ChallengeKind> = pool.iter().copied().filter(|c| c.is_turn()).collect();
    let Some(&turn) = turns.choose(rng) else {
        return Vec::new();
    };
    let mut rest: Vec<ChallengeKind> = pool.iter().copied().filter(|&c| c != turn).collect();
    rest.shuffle(rng);
    let mut picked = vec![turn];
    picked.extend(rest.into_iter().take(count.saturating_sub(1)));
    picked.shuffle(rng);
    picked
}

/// How a challenge went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChallengeOutcome {
    /// Done as asked.
    Passed,
    /// Not done before the time ran out.
    TimedOut,
}

/// Progress of the running challenge after a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Still waiting.
    Pending,
    /// Finished.
    Done(ChallengeOutcome),
    /// A blink that does not count (too fast or too slow), ms: traced, the challenge goes on.
    RejectedBlink(BlinkEvent),
}

/// Frames in a row a pose or expression must hold to count (one frame may be noise).
const STREAK: u32 = 2;
/// Mouth opening that counts as "open", inner-lip gap / mouth width.
const MOUTH_OPEN: f32 = 0.25;
/// Smile: mouth width grows this much over the person's neutral width.
const SMILE_GROWTH: f32 = 1.12;

/// One challenge being performed.
#[derive(Clone, Debug)]
pub struct ChallengeRun {
    kind: ChallengeKind,
    started: u64,
    deadline: u64,
    turn_degrees: f32,
    blink: BlinkTracker,
    neutral_smile: Option<f32>,
    streak: u32,
}

impl ChallengeRun {
    /// Starts `kind` at `now`, with `timeout_ms` to do it. `baseline` holds the person's neutral
    /// signals from the capture (open-eye ratio, mouth width).
    pub fn start(
        kind: ChallengeKind,
        now: u64,
        timeout_ms: u64,
        turn_degrees: f32,
        baseline: Option<&LivenessSignals>,
    ) -> Self {
        let mut blink = BlinkTracker::new(BlinkConfig::default());
        if let Some(b) = baseline {
            // Seeds the open-eye ratio so a blink in the very first frames counts.
            blink.update(now, b.mean_ear());
        }
        Self {
            kind,
            started: now,
            deadline: now.saturating_add(timeout_ms),
            turn_degrees,
            blink,
            neutral_smile: baseline.map(|b| b.smile),
            streak: 0,
        }
    }

    /// The challenge.
    pub fn kind(&self) -> ChallengeKind {
        self.kind
    }

    /// When it started, unix ms.
    pub fn started(&self) -> u64 {
        self.started
    }

    /// When it times out, unix ms.
    pub fn deadline(&self) -> u64 {
        self.deadline
    }

    /// Feeds one frame (`signals` is `None` when the frame had no usable face).
    pub fn update(&mut self, now: u64, signals: Option<&LivenessSignals>) -> Progress {
        // A frame at or after the deadline is too late, whatever it shows.
        if now >= self.deadline {
            return Progress::Done(ChallengeOutcome::TimedOut);
        }
        if let Some(s) = signals {
            let hit = match self.kind {
                ChallengeKind::Blink => match self.blink.update(now, s.mean_ear()) {
                    BlinkEvent::Blink(_) => return Progress::Done(ChallengeOutcome::Passed),
                    e @ (BlinkEvent::TooFast(_) | BlinkEvent::TooSlow(_)) => {
                        return Progress::RejectedBlink(e);
                    }
                    BlinkEvent::None => false,
                },
                ChallengeKind::TurnLeft => s.pose.yaw >= self.turn_degrees,
                ChallengeKind::TurnRight => s.pose.yaw <= -self.turn_degrees,
                ChallengeKind::Smile => {
                    let neutral = *self.neutral_smile.get_or_insert(s.smile);
                    s.mouth_open >= MOUTH_OPEN
                        || (neutral > 0.0 && s.smile >= neutral * SMILE_GROWTH)
                }
            };
            self.streak = if hit { self.streak + 1 } else { 0 };
            if self.streak >= STREAK {
                return Progress::Done(ChallengeOutcome::Passed);
            }
        } else {
            self.streak = 0;
        }
        Progress::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use facekiosk_face::landmarks::HeadPose;
    use rand::SeedableRng;

    fn sig(yaw: f32, ear: f32, mouth: f32, smile: f32) -> LivenessSignals {
        LivenessSignals {
            eye_aspect_ratio: (ear, ear),
            mouth_open: mouth,
            smile,
            pose: HeadPose {
                yaw,
                pitch: 0.0,
                roll: 0.0,
            },
        }
    }

    #[test]
    fn choice_always_has_a_turn_and_varies() {
        let mut orders = std::collections::BTreeSet::new();
        for seed in 0..50 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let c = choose(&ChallengeKind::ALL, 2, &mut rng);
            assert_eq!(c.len(), 2);
            assert!(c.iter().any(|k| k.is_turn()), "{c:?}");
            assert_ne!(c[0], c[1]);
            orders.insert(c);
        }
        assert!(orders.len() > 5, "only {} different orders", orders.len());
    }

    #[test]
    fn a_turn_must_hold_two_frames() {
        let base = sig(0.0, 0.3, 0.05, 1.0);
        let mut run = ChallengeRun::start(ChallengeKind::TurnLeft, 0, 5000, 18.0, Some(&base));
        assert_eq!(
            run.update(66, Some(&sig(25.0, 0.3, 0.05, 1.0))),
            Progress::Pending
        );
        assert_eq!(
            run.update(133, Some(&sig(5.0, 0.3, 0.05, 1.0))),
            Progress::Pending
        );
        assert_eq!(
            run.update(200, Some(&sig(22.0, 0.3, 0.05, 1.0))),
            Progress::Pending
        );
        assert_eq!(
            run.update(266, Some(&sig(24.0, 0.3, 0.05, 1.0))),
            Progress::Done(ChallengeOutcome::Passed)
        );
        // Turning the other way does not pass a left turn.
        let mut run = ChallengeRun::start(ChallengeKind::TurnLeft, 0, 300, 18.0, Some(&base));
        assert_eq!(
            run.update(66, Some(&sig(-30.0, 0.3, 0.05, 1.0))),
            Progress::Pending
        );
        assert_eq!(
            run.update(133, Some(&sig(-30.0, 0.3, 0.05, 1.0))),
            Progress::Pending
        );
        assert_eq!(
            run.update(300, Some(&sig(-30.0, 0.3, 0.05, 1.0))),
            Progress::Done(ChallengeOutcome::TimedOut)
        );
    }

    #[test]
    fn a_blink_passes_and_a_slow_one_does_not() {
        let base = sig(0.0, 0.3, 0.05, 1.0);
        let mut run = ChallengeRun::start(ChallengeKind::Blink, 0, 5000, 18.0, Some(&base));
        let mut t = 0;
        let mut last = Progress::Pending;
        for ear in [0.3, 0.08, 0.07, 0.29] {
            t += 66;
            last = run.update(t, Some(&sig(0.0, ear, 0.05, 1.0)));
        }
        assert_eq!(last, Progress::Done(ChallengeOutcome::Passed));

        let mut run = ChallengeRun::start(ChallengeKind::Blink, 0, 5000, 18.0, Some(&base));
        let mut rejected = false;
        for i in 1..20u64 {
            let ear = if i < 15 { 0.05 } else { 0.3 };
            if let Progress::RejectedBlink(BlinkEvent::TooSlow(_)) =
                run.update(i * 66, Some(&sig(0.0, ear, 0.05, 1.0)))
            {
                rejected = true;
            }
        }
        assert!(rejected);
    }

    #[test]
    fn a_smile_or_an_open_mouth() {
        let base = sig(0.0, 0.3, 0.05, 1.0);
        let mut run = ChallengeRun::start(ChallengeKind::Smile, 0, 5000, 18.0, Some(&base));
        assert_eq!(
            run.update(66, Some(&sig(0.0, 0.3, 0.05, 1.2))),
            Progress::Pending
        );
        assert_eq!(
            run.update(133, Some(&sig(0.0, 0.3, 0.05, 1.2))),
            Progress::Done(ChallengeOutcome::Passed)
        );
        let mut run = ChallengeRun::start(ChallengeKind::Smile, 0, 5000, 18.0, Some(&base));
        run.update(66, Some(&sig(0.0, 0.3, 0.4, 1.0)));
        assert_eq!(
            run.update(133, Some(&sig(0.0, 0.3, 0.4, 1.0))),
            Progress::Done(ChallengeOutcome::Passed)
        );
    }
}
