//! Active liveness challenges: drawing them, and the protocol each one runs.
//!
//! A challenge goes through three stages:
//!
//! 1. **Settle**: the person comes back to a neutral, frontal pose (eyes open, mouth relaxed,
//!    head within `neutral_degrees` of their own frontal pose) and holds it for
//!    `neutral_hold_ms`. Coming back from the previous challenge is expected; any *other* action
//!    fails ("action before the prompt").
//! 2. **Pause**: a random wait (`pause_min_ms..pause_max_ms`, drawn by the session's seeded
//!    randomness) during which nothing may happen: any action fails, leaving the neutral pose
//!    starts the settle again. A clip cannot know when the pause ends.
//! 3. **Prompted**: the prompt is shown. The requested movement must start no sooner than
//!    `min_reaction_ms` (nobody reacts faster) and no later than `max_reaction_ms`, and finish
//!    before `challenge_timeout_ms`. Any other action in the meantime fails the challenge: an
//!    opposite turn, a nod during a turn, a turn during a blink or a smile, a smile when asked to
//!    blink or turn, a blink during a turn or a nod. (A blink while smiling is not counted: a
//!    real smile narrows the eyes.) A turn or a nod must pass through the poses between neutral
//!    and turned, at a head's speed ([`crate::path`]): swapped photos jump, or hold half-way.
//!
//! Blinks are never counted against the person *before* the prompt (they are involuntary); a
//! blink that started before the prompt does not answer a blink challenge either.

use facekiosk_face::liveness::{BlinkConfig, BlinkEvent, BlinkTracker, LivenessSignals};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::failure::LivenessFailure;
use crate::options::{ChallengeKind, SessionPolicy};

/// What a face did: the four challenge movements.
pub type Action = ChallengeKind;

/// Picks `count` different challenges from `pool` in a random order, at least one head turn
/// and one nod among them (the 3-D check needs parallax on both axes: a bent sheet of paper
/// shows it on one at most). Validation guarantees the pool holds both.
pub fn choose(pool: &[ChallengeKind], count: usize, rng: &mut impl Rng) -> Vec<ChallengeKind> {
    let pick = |f: fn(&ChallengeKind) -> bool, rng: &mut dyn rand::RngCore| {
        let v: Vec<ChallengeKind> = pool.iter().copied().filter(&f).collect();
        v.choose(rng).copied()
    };
    let mut picked = Vec::new();
    picked.extend(pick(|c| c.is_turn(), rng));
    picked.extend(pick(|c| c.is_nod(), rng));
    let mut rest: Vec<ChallengeKind> = pool
        .iter()
        .copied()
        .filter(|c| !picked.contains(c))
        .collect();
    rest.shuffle(rng);
    let more = count.saturating_sub(picked.len());
    picked.extend(rest.into_iter().take(more));
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
    /// Failed: something else was done, too early, or the pose jumped (see the attempt's reason).
    Failed,
}

/// The person's neutral values, measured during the capture before the challenges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Baseline {
    /// Frontal yaw, degrees (cameras are rarely exactly in front of the face).
    pub yaw: f32,
    /// Frontal pitch, degrees (a camera above or below the eyes).
    pub pitch: f32,
    /// Open-eye aspect ratio.
    pub ear: f32,
    /// Mouth width over eye distance at rest.
    pub smile: f32,
    /// Mouth opening at rest.
    pub mouth_open: f32,
}

impl Baseline {
    /// Defaults for a person never measured (tests; a capture always measures).
    pub const TYPICAL: Baseline = Baseline {
        yaw: 0.0,
        pitch: 0.0,
        ear: 0.3,
        smile: 1.0,
        mouth_open: 0.05,
    };
}

/// A smile: the mouth this much wider than at rest …
const SMILE_GROWTH: f32 = 1.12;
/// … or open this much (inner-lip gap / mouth width) and clearly more than at rest.
const MOUTH_OPEN: f32 = 0.25;
/// How much more than at rest the mouth must open to count.
const MOUTH_OPEN_GAIN: f32 = 0.12;
/// Relaxed again: mouth within this factor of its rest width …
const SMILE_RELAXED: f32 = 1.06;
/// … and open at most this much more than at rest.
const MOUTH_RELAXED_GAIN: f32 = 0.06;
/// Eyes open: at least this share of the open-eye ratio.
const EYES_OPEN: f32 = 0.8;
/// Frames in a row a smile or a completed turn must hold to count (one frame may be noise).
const STREAK: u32 = 2;

/// Progress of the running challenge after a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Still waiting.
    Pending,
    /// Show the prompt now.
    Prompt,
    /// Done as asked; the movement started this long after the prompt, ms.
    Passed {
        /// ms from the prompt to the start of the movement.
        reaction_ms: u64,
    },
    /// Failed.
    Failed {
        /// Why.
        reason: LivenessFailure,
        /// The action seen, for unrequested and early actions.
        action: Option<Action>,
    },
    /// A blink that does not count (too fast or too slow): traced, the challenge goes on.
    RejectedBlink(BlinkEvent),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    Settle {
        since: u64,
        neutral_since: Option<u64>,
        reached_neutral: bool,
    },
    Pause {
        prompt_at: u64,
    },
    Prompted {
        shown_at: u64,
    },
}

/// The actions a frame shows, relative to the person's baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Seen {
    left: bool,
    right: bool,
    up: bool,
    down: bool,
    smile: bool,
}

impl Seen {
    /// The movements seen (blinks are tracked apart).
    fn actions(self) -> [(bool, Action); 5] {
        [
            (self.left, Action::TurnLeft),
            (self.right, Action::TurnRight),
            (self.up, Action::LookUp),
            (self.down, Action::LookDown),
            (self.smile, Action::Smile),
        ]
    }
}

/// One challenge being performed.
#[derive(Clone, Debug)]
pub struct ChallengeRun {
    kind: ChallengeKind,
    previous: Option<ChallengeKind>,
    stage: Stage,
    pause_ms: u64,
    baseline: Baseline,
    policy: ChallengePolicy,
    blink: BlinkTracker,
    smile_streak: u32,
    turn_streak: u32,
    onset: Option<u64>,
    /// The requested movement's angle towards its direction, from the prompt on (time, deg).
    trace: Vec<(u64, f32)>,
}

/// The parts of the kiosk's policy a challenge needs.
#[derive(Clone, Copy, Debug, PartialEq)]
struct ChallengePolicy {
    timeout_ms: u64,
    turn: f32,
    unrequested_turn: f32,
    look: f32,
    unrequested_look: f32,
    neutral: f32,
    max_speed: f32,
    hold_ms: u64,
    min_reaction_ms: u64,
    max_reaction_ms: u64,
}

impl ChallengeRun {
    /// Starts `kind` at `now`: the settle stage. `previous` is the challenge before it in this
    /// attempt (coming back from it is expected); `pause_ms` the random pause before the prompt.
    pub fn start(
        kind: ChallengeKind,
        previous: Option<ChallengeKind>,
        now: u64,
        pause_ms: u64,
        baseline: Baseline,
        policy: &SessionPolicy,
    ) -> Self {
        let mut blink = BlinkTracker::new(BlinkConfig::default());
        // Seeds the open-eye ratio so a blink in the very first frames counts.
        blink.update(now, baseline.ear);
        Self {
            kind,
            previous,
            stage: Stage::Settle {
                since: now,
                neutral_since: None,
                reached_neutral: false,
            },
            pause_ms,
            baseline,
            policy: ChallengePolicy {
                timeout_ms: policy.challenge_timeout_ms,
                turn: policy.turn_degrees,
                unrequested_turn: policy.unrequested_turn_degrees,
                look: policy.look_degrees,
                unrequested_look: policy.unrequested_look_degrees,
                neutral: policy.neutral_degrees,
                max_speed: policy.max_yaw_speed_deg_s,
                hold_ms: policy.neutral_hold_ms,
                min_reaction_ms: policy.min_reaction_ms,
                max_reaction_ms: policy.max_reaction_ms,
            },
            blink,
            smile_streak: 0,
            turn_streak: 0,
            onset: None,
            trace: Vec::new(),
        }
    }

    /// A run that never prompts: it watches the frames after the last challenge (the final
    /// capture), where coming back from `previous` is expected and any other action fails.
    pub fn watch(
        previous: ChallengeKind,
        now: u64,
        baseline: Baseline,
        policy: &SessionPolicy,
    ) -> Self {
        let mut run = Self::start(
            previous,
            Some(previous),
            now,
            u64::MAX / 4,
            baseline,
            policy,
        );
        // No time-out of its own: the final capture has one.
        run.policy.timeout_ms = u64::MAX / 4;
        run
    }

    /// The challenge.
    pub fn kind(&self) -> ChallengeKind {
        self.kind
    }

    /// When the prompt was shown (unix ms), once it was.
    pub fn shown_at(&self) -> Option<u64> {
        match self.stage {
            Stage::Prompted { shown_at } => Some(shown_at),
            _ => None,
        }
    }

    /// The deadline of the current stage, unix ms: a silent camera must not stall it.
    pub fn deadline(&self) -> u64 {
        match self.stage {
            Stage::Settle { since, .. } => since.saturating_add(self.policy.timeout_ms),
            // The pause ends with a frame; its own bound is the settle's time out.
            Stage::Pause { prompt_at } => prompt_at.saturating_add(self.policy.timeout_ms),
            Stage::Prompted { shown_at } => shown_at.saturating_add(self.policy.timeout_ms),
        }
    }

    /// The reason a run ends at its deadline.
    pub fn timeout_reason(&self) -> LivenessFailure {
        match self.stage {
            Stage::Prompted { .. } => LivenessFailure::ChallengeTimeout,
            _ => LivenessFailure::NotNeutral,
        }
    }

    fn seen(&mut self, s: &LivenessSignals) -> Seen {
        let yaw = s.pose.yaw - self.baseline.yaw;
        // Relative to the person's own rest: some faces rest with the lips apart.
        let open = MOUTH_OPEN.max(self.baseline.mouth_open + MOUTH_OPEN_GAIN);
        let smiling = s.mouth_open >= open
            || (self.baseline.smile > 0.0 && s.smile >= self.baseline.smile * SMILE_GROWTH);
        self.smile_streak = if smiling { self.smile_streak + 1 } else { 0 };
        let pitch = s.pose.pitch - self.baseline.pitch;
        Seen {
            left: yaw >= self.policy.unrequested_turn,
            right: yaw <= -self.policy.unrequested_turn,
            up: pitch >= self.policy.unrequested_look,
            down: pitch <= -self.policy.unrequested_look,
            smile: self.smile_streak >= STREAK,
        }
    }

    fn neutral(&self, s: &LivenessSignals) -> bool {
        let yaw = s.pose.yaw - self.baseline.yaw;
        let pitch = s.pose.pitch - self.baseline.pitch;
        yaw.abs() <= self.policy.neutral
            && pitch.abs() <= 0.75 * self.policy.neutral
            && s.mean_ear() >= self.baseline.ear * EYES_OPEN
            && s.mouth_open <= self.baseline.mouth_open + MOUTH_RELAXED_GAIN
            && (self.baseline.smile <= 0.0 || s.smile <= self.baseline.smile * SMILE_RELAXED)
    }

    /// Feeds one frame's signals (the caller has already checked that the frame has a face).
    pub fn update(&mut self, now: u64, s: &LivenessSignals) -> Progress {
        if now >= self.deadline() {
            return self.fail(self.timeout_reason(), None);
        }
        let blink = self.blink.update(now, s.mean_ear());
        let seen = self.seen(s);
        match self.stage {
            Stage::Settle {
                since,
                neutral_since,
                reached_neutral,
            } => self.settle(now, s, seen, since, neutral_since, reached_neutral),
            Stage::Pause { prompt_at } => {
                if let Some(a) = first_action(seen) {
                    return self.fail(LivenessFailure::ActionBeforePrompt, Some(a));
                }
                if !self.neutral(s) {
                    self.stage = Stage::Settle {
                        since: now,
                        neutral_since: None,
                        reached_neutral: true,
                    };
                    return Progress::Pending;
                }
                if now >= prompt_at {
                    self.stage = Stage::Prompted { shown_at: now };
                    return Progress::Prompt;
                }
                Progress::Pending
            }
            Stage::Prompted { shown_at } => self.prompted(now, s, seen, blink, shown_at),
        }
    }

    fn settle(
        &mut self,
        now: u64,
        s: &LivenessSignals,
        seen: Seen,
        since: u64,
        neutral_since: Option<u64>,
        reached_neutral: bool,
    ) -> Progress {
        // Coming back from the previous challenge is expected until the neutral pose is reached.
        let returning = |a: Action| !reached_neutral && Some(a) == self.previous;
        for (present, a) in seen.actions() {
            if present && !returning(a) {
                return self.fail(LivenessFailure::ActionBeforePrompt, Some(a));
            }
        }
        if self.neutral(s) {
            let from = neutral_since.unwrap_or(now);
            if now.saturating_sub(from) >= self.policy.hold_ms {
                self.stage = Stage::Pause {
                    prompt_at: now.saturating_add(self.pause_ms),
                };
            } else {
                self.stage = Stage::Settle {
                    since,
                    neutral_since: Some(from),
                    reached_neutral: true,
                };
            }
        } else {
            self.stage = Stage::Settle {
                since,
                neutral_since: None,
                reached_neutral,
            };
        }
        Progress::Pending
    }

    fn prompted(
        &mut self,
        now: u64,
        s: &LivenessSignals,
        seen: Seen,
        blink: BlinkEvent,
        shown_at: u64,
    ) -> Progress {
        let p = self.policy;
        let early = |t: u64| t < shown_at.saturating_add(p.min_reaction_ms);
        // Unrequested actions.
        let blinked = matches!(blink, BlinkEvent::Blink(_));
        for (present, a) in seen.actions().into_iter().chain([(blinked, Action::Blink)]) {
            let exempt = a == self.kind || (a == Action::Blink && self.kind == Action::Smile);
            if present && !exempt {
                return self.fail(LivenessFailure::UnrequestedAction, Some(a));
            }
        }
        let yaw = s.pose.yaw - self.baseline.yaw;
        let pitch = s.pose.pitch - self.baseline.pitch;
        // The requested movement's angle towards its direction, its onset and its goal.
        let movement = match self.kind {
            Action::TurnLeft => Some((yaw, p.unrequested_turn, p.turn)),
            Action::TurnRight => Some((-yaw, p.unrequested_turn, p.turn)),
            Action::LookUp => Some((pitch, p.unrequested_look, p.look)),
            Action::LookDown => Some((-pitch, p.unrequested_look, p.look)),
            Action::Blink | Action::Smile => None,
        };
        match (self.kind, movement) {
            (_, Some((toward, onset_at, goal))) => {
                self.trace.push((now, toward));
                if toward >= onset_at && self.onset.is_none() {
                    self.onset = Some(now);
                    if early(now) {
                        return self.fail(LivenessFailure::TooEarly, Some(self.kind));
                    }
                }
                self.turn_streak = if toward >= goal {
                    self.turn_streak + 1
                } else {
                    0
                };
                if self.turn_streak >= STREAK {
                    if crate::path::check(&self.trace, p.max_speed).is_err() {
                        return self.fail(LivenessFailure::NotContinuous, None);
                    }
                    return self.passed(shown_at);
                }
            }
            (Action::Smile, _) => {
                if self.smile_streak >= 1 && self.onset.is_none() {
                    self.onset = Some(now);
                    if early(now) {
                        return self.fail(LivenessFailure::TooEarly, Some(self.kind));
                    }
                }
                if seen.smile {
                    return self.passed(shown_at);
                }
            }
            (_, None) => match blink {
                BlinkEvent::Blink(closed_for) => {
                    let onset = now.saturating_sub(closed_for);
                    // A blink that began before the person could react to the prompt neither
                    // answers it nor fails it: blinks are involuntary.
                    if !early(onset) {
                        self.onset = Some(onset);
                        return self.passed(shown_at);
                    }
                }
                e @ (BlinkEvent::TooFast(_) | BlinkEvent::TooSlow(_)) => {
                    return Progress::RejectedBlink(e);
                }
                BlinkEvent::None => {}
            },
        }
        if self.onset.is_none() && now >= shown_at.saturating_add(p.max_reaction_ms) {
            return self.fail(LivenessFailure::NoResponse, None);
        }
        Progress::Pending
    }

    fn passed(&self, shown_at: u64) -> Progress {
        Progress::Passed {
            reaction_ms: self.onset.map_or(0, |o| o.saturating_sub(shown_at)),
        }
    }

    fn fail(&self, reason: LivenessFailure, action: Option<Action>) -> Progress {
        Progress::Failed { reason, action }
    }

    /// The reaction time, once the movement started, ms after the prompt.
    pub fn reaction_ms(&self) -> Option<u64> {
        match (self.onset, self.shown_at()) {
            (Some(o), Some(s)) => Some(o.saturating_sub(s)),
            _ => None,
        }
    }
}

fn first_action(seen: Seen) -> Option<Action> {
    seen.actions()
        .into_iter()
        .find_map(|(present, a)| present.then_some(a))
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

    fn neutral() -> LivenessSignals {
        sig(0.0, 0.3, 0.05, 1.0)
    }

    fn policy() -> SessionPolicy {
        SessionPolicy::default()
    }

    /// Runs frames every 66 ms from `t`, returning the first non-pending progress and its time.
    fn run(
        c: &mut ChallengeRun,
        t: &mut u64,
        frames: impl IntoIterator<Item = LivenessSignals>,
    ) -> Vec<(u64, Progress)> {
        let mut out = Vec::new();
        for f in frames {
            let p = c.update(*t, &f);
            if p != Progress::Pending {
                out.push((*t, p));
            }
            *t += 66;
        }
        out
    }

    /// Settles and waits for the prompt; returns its time.
    fn to_prompt(c: &mut ChallengeRun, t: &mut u64) -> u64 {
        for _ in 0..100 {
            let p = c.update(*t, &neutral());
            *t += 66;
            if p == Progress::Prompt {
                return *t - 66;
            }
            assert_eq!(p, Progress::Pending);
        }
        panic!("no prompt");
    }

    fn start(kind: ChallengeKind, previous: Option<ChallengeKind>) -> ChallengeRun {
        ChallengeRun::start(kind, previous, 0, 500, Baseline::TYPICAL, &policy())
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
    fn the_prompt_comes_after_the_hold_and_the_pause() {
        let mut c = start(ChallengeKind::TurnLeft, None);
        let mut t = 0;
        let shown = to_prompt(&mut c, &mut t);
        // 400 ms hold, then 500 ms pause, at 66 ms frames.
        assert!((900..=1100).contains(&shown), "{shown}");
    }

    #[test]
    fn a_turn_done_as_asked_passes() {
        let mut c = start(ChallengeKind::TurnLeft, None);
        let mut t = 0;
        let shown = to_prompt(&mut c, &mut t);
        // React after ~330 ms, turn through 10°, 20°, 24°.
        let frames = [0.0, 0.0, 0.0, 0.0, 6.0, 14.0, 20.0, 24.0].map(|y| sig(y, 0.3, 0.05, 1.0));
        let out = run(&mut c, &mut t, frames);
        match out.as_slice() {
            [(_, Progress::Passed { reaction_ms })] => {
                assert!(*reaction_ms >= 150, "{reaction_ms} after {shown}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_opposite_turn_fails() {
        let mut c = start(ChallengeKind::TurnLeft, None);
        let mut t = 0;
        to_prompt(&mut c, &mut t);
        let frames = [0.0, 0.0, -6.0, -14.0].map(|y| sig(y, 0.3, 0.05, 1.0));
        let out = run(&mut c, &mut t, frames);
        assert_eq!(
            out[0].1,
            Progress::Failed {
                reason: LivenessFailure::UnrequestedAction,
                action: Some(Action::TurnRight)
            }
        );
    }

    #[test]
    fn a_blink_during_a_turn_fails_and_during_a_smile_does_not() {
        let blink_frames = [0.3, 0.3, 0.3, 0.08, 0.07, 0.3, 0.3].map(|e| sig(0.0, e, 0.05, 1.0));
        let mut c = start(ChallengeKind::TurnRight, None);
        let mut t = 0;
        to_prompt(&mut c, &mut t);
        let out = run(&mut c, &mut t, blink_frames);
        assert_eq!(
            out[0].1,
            Progress::Failed {
                reason: LivenessFailure::UnrequestedAction,
                action: Some(Action::Blink)
            }
        );
        let mut c = start(ChallengeKind::Smile, None);
        let mut t = 0;
        to_prompt(&mut c, &mut t);
        assert!(run(&mut c, &mut t, blink_frames).is_empty());
    }

    #[test]
    fn a_smile_when_asked_to_blink_fails() {
        let mut c = start(ChallengeKind::Blink, None);
        let mut t = 0;
        to_prompt(&mut c, &mut t);
        let frames = [1.0, 1.0, 1.0, 1.2, 1.25].map(|s| sig(0.0, 0.3, 0.05, s));
        let out = run(&mut c, &mut t, frames);
        assert_eq!(
            out[0].1,
            Progress::Failed {
                reason: LivenessFailure::UnrequestedAction,
                action: Some(Action::Smile)
            }
        );
    }

    #[test]
    fn moving_before_the_prompt_fails() {
        // Regression: a looping clip used to pass by doing every action; now a turn during the
        // pause (after the neutral pose was reached) fails the challenge.
        let mut c = start(ChallengeKind::Blink, None);
        let mut t = 0;
        let frames = (0..9)
            .map(|_| neutral())
            .chain([6.0, 14.0, 20.0].map(|y| sig(y, 0.3, 0.05, 1.0)));
        let out = run(&mut c, &mut t, frames);
        assert_eq!(
            out[0].1,
            Progress::Failed {
                reason: LivenessFailure::ActionBeforePrompt,
                action: Some(Action::TurnLeft)
            }
        );
    }

    #[test]
    fn coming_back_from_the_previous_turn_is_not_an_action() {
        let mut c = start(ChallengeKind::Smile, Some(ChallengeKind::TurnLeft));
        let mut t = 0;
        let back = [22.0, 15.0, 8.0, 3.0].map(|y| sig(y, 0.3, 0.05, 1.0));
        assert!(run(&mut c, &mut t, back).is_empty());
        to_prompt(&mut c, &mut t);
    }

    #[test]
    fn reacting_faster_than_a_person_can_fails() {
        let mut c = start(ChallengeKind::TurnLeft, None);
        let mut t = 0;
        to_prompt(&mut c, &mut t);
        // The very next frame (66 ms) is already turned 14°.
        let frames = [14.0, 22.0].map(|y| sig(y, 0.3, 0.05, 1.0));
        let out = run(&mut c, &mut t, frames);
        assert_eq!(
            out[0].1,
            Progress::Failed {
                reason: LivenessFailure::TooEarly,
                action: Some(Action::TurnLeft)
            }
        );
    }

    #[test]
    fn a_turn_that_skips_the_poses_between_fails() {
        // A frontal print swapped for a turned one: 0° then 24° with nothing between.
        let mut c = start(ChallengeKind::TurnLeft, None);
        let mut t = 0;
        to_prompt(&mut c, &mut t);
        let frames = [0.0, 0.0, 0.0, 0.0, 24.0, 24.0].map(|y| sig(y, 0.3, 0.05, 1.0));
        let out = run(&mut c, &mut t, frames);
        assert_eq!(
            out[0].1,
            Progress::Failed {
                reason: LivenessFailure::NotContinuous,
                action: None
            }
        );
    }

    #[test]
    fn no_movement_in_time_fails() {
        let mut c = start(ChallengeKind::Smile, None);
        let mut t = 0;
        to_prompt(&mut c, &mut t);
        let out = run(&mut c, &mut t, (0..60).map(|_| neutral()));
        assert_eq!(
            out[0].1,
            Progress::Failed {
                reason: LivenessFailure::NoResponse,
                action: None
            }
        );
    }

    #[test]
    fn a_blink_answers_a_blink_challenge() {
        let mut c = start(ChallengeKind::Blink, None);
        let mut t = 0;
        to_prompt(&mut c, &mut t);
        let frames = [0.3, 0.3, 0.3, 0.08, 0.07, 0.3].map(|e| sig(0.0, e, 0.05, 1.0));
        let out = run(&mut c, &mut t, frames);
        assert!(matches!(out[0].1, Progress::Passed { .. }), "{out:?}");
    }
}
