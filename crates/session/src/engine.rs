//! The state machine of one face session.
//!
//! It takes the time and an input (a frame's observation, a user action, a camera event) and
//! returns events: status changes, guidance, challenges, trace events, and at the end exactly one
//! `Success(jws)` or `Error(OperationError)` followed by one `Finally`. It never sleeps, never
//! reads a clock, never does I/O: the caller drives it.
//!
//! Flow of an attempt: *positioning* (guidance until the face is good) → *capture before*
//! (good frames collected while the person holds still) → *challenges* (active liveness: for each,
//! back to neutral, a random pause, the prompt, the movement; see [`crate::challenge`]) → *3-D
//! check* over the head turns → *capture after* → *processing* (both captures matched against the
//! reference at the minimum level; passive liveness fused over the captured frames) → success, or
//! a failed attempt and another, up to `maxAttempts`. From the end of the first capture to the end
//! of the last, every frame is chained to the one before it ([`crate::track`]): the face that did
//! the challenges is the face that was matched.

use facekiosk_face::engine::EmbedWhen;
use facekiosk_face::liveness::BlinkEvent;
use facekiosk_face::matching::Calibration;
use facekiosk_identity::ResultSigner;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use crate::status::SessionStatus;

use crate::attempt::Attempt;
use crate::capture::Candidate;
use crate::challenge::{Action, ChallengeOutcome, ChallengeRun, Progress, choose};
use crate::claims::{
    AttemptClaim, AttemptFailure, CalibrationClaim, CaptureClaim, CaptureMatchClaim, CapturePhase,
    CaptureSource, ChallengeClaim, DeviceClaim, LivenessFailure, ModelsClaim, PassiveClaim,
    ThreeDClaim,
};
use crate::error::{ErrorCode, OperationError};
use crate::guidance::{Hint, HintTracker};
use crate::observation::{FrameNeeds, FrameObservation};
use crate::options::{
    ChallengeKind, LivenessMode, SessionOptions, SessionPolicy, Settings, validate,
};
use crate::reference::Reference;
use crate::trace::{TraceCategory, TraceEvent, TraceEventKind, TraceStatus};
use crate::track::{FaceTrack, TrackLimits};

/// A challenge to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengePrompt {
    /// What to do.
    pub kind: ChallengeKind,
    /// Which one (1-based) …
    pub index: usize,
    /// … of how many.
    pub count: usize,
    /// Deadline, unix ms.
    pub deadline: u64,
}

/// What the caller feeds the session.
#[derive(Clone, Debug)]
pub enum Input {
    /// A camera frame, analysed.
    Frame(Box<FrameObservation>),
    /// A frame that could not be used (corrupt, undecodable): traced, skipped.
    FrameSkipped(String),
    /// The person or staff cancelled.
    Cancel,
    /// The person asked to try again after a failed attempt.
    Retry,
    /// The camera was lost (unplugged, busy): the error to end with if it does not come back.
    CameraLost(OperationError),
    /// The camera is back.
    CameraBack,
    /// Time passed without a frame (lets timeouts fire when the camera is silent).
    Tick,
    /// The caller cannot go on (a model failed, the camera became busy or virtual): the
    /// session ends with this error.
    Fail(OperationError),
}

/// What the session tells the caller.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "camelCase")]
pub enum Event {
    /// The status changed.
    Status(SessionStatus),
    /// Show this hint.
    Guidance(Hint),
    /// Show this challenge.
    Challenge(ChallengePrompt),
    /// A trace event for analytics.
    Trace(TraceEvent),
    /// The session succeeded: the signed result (compact JWS).
    Success(String),
    /// The session failed.
    Error(OperationError),
    /// The session is over (always last, exactly once).
    Finally,
}

/// What the result says about where the session ran: the frames' source, the models, the
/// calibration. Filled by the caller from the capture source and the face engine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance {
    /// Where the frames come from.
    pub capture: CaptureClaim,
    /// The kiosk accepts virtual cameras (`capture.allow_virtual_camera`).
    pub allow_virtual_camera: bool,
    /// The models, role → sha256.
    pub models: ModelsClaim,
    /// The calibration's file and set.
    pub calibration: CalibrationClaim,
}

/// What a session needs from its kiosk.
#[derive(Clone, Debug)]
pub struct SessionContext {
    /// Signs the result: the kiosk's current key for a camera, a test key otherwise.
    pub signer: ResultSigner,
    /// The kiosk's setup, for the result (`kiosk` is filled from the signer).
    pub device: DeviceClaim,
    /// Match-level thresholds.
    pub calibration: Calibration,
    /// The passive model's threshold, when one is installed.
    pub passive_threshold: Option<f32>,
    /// Timings and permissions.
    pub policy: SessionPolicy,
    /// Source, models and calibration, for the result.
    pub provenance: Provenance,
}

/// The randomness a session needs, from the caller (the OS's randomness in production, fixed
/// values in tests): the challenge draws and pauses, and the result id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionSeed {
    /// Seeds the challenge order and the pauses.
    pub challenges: u64,
    /// The result's `jti` (made a UUID v4).
    pub result_id: [u8; 16],
}

/// Why an attempt failed (internal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    NoMatch,
    Liveness {
        reason: LivenessFailure,
        challenge: Option<ChallengeKind>,
        action: Option<Action>,
    },
}

impl Failure {
    fn liveness(reason: LivenessFailure) -> Self {
        Failure::Liveness {
            reason,
            challenge: None,
            action: None,
        }
    }
}

#[derive(Clone, Debug)]
enum Phase {
    Positioning,
    CaptureBefore {
        since: u64,
        bad_since: Option<u64>,
    },
    Challenges {
        list: Vec<ChallengeKind>,
        index: usize,
        run: Box<ChallengeRun>,
    },
    CaptureAfter {
        since: u64,
        first_good: Option<u64>,
        watch: Box<ChallengeRun>,
    },
    AwaitingRetry {
        since: u64,
    },
    CameraLost {
        since: u64,
        error: OperationError,
    },
    Done,
}

/// One face session.
#[derive(Debug)]
pub struct Session {
    pub(crate) settings: Settings,
    pub(crate) ctx: SessionContext,
    pub(crate) reference: Reference,
    rng: ChaCha8Rng,
    pub(crate) result_id: [u8; 16],
    status: Option<SessionStatus>,
    pub(crate) started_at: u64,
    last_activity: u64,
    hints: HintTracker,
    phase: Phase,
    pub(crate) attempt: Attempt,
    /// Every finished attempt; the deciding one holds the match and liveness of the result.
    pub(crate) attempts: Vec<AttemptClaim>,
    /// The last attempt that got as far as matching or liveness (for the result's details).
    pub(crate) decided: Option<Attempt>,
    /// The attempt under way, 1-based.
    attempt_no: u8,
    finished: bool,
}

impl Session {
    /// Starts a session at `now` (unix ms) against `reference`. Invalid options, or a source
    /// the result could not honestly vouch for, end the session at once (the events say so).
    pub fn start(
        options: SessionOptions,
        ctx: SessionContext,
        reference: Reference,
        seed: SessionSeed,
        now: u64,
    ) -> (Session, Vec<Event>) {
        let passive_installed = ctx.passive_threshold.is_some();
        let validated = validate(&options, &ctx.policy, passive_installed)
            .and_then(|v| check_provenance(&ctx).map(|()| v));
        let (settings, warnings, error) = match validated {
            Ok((s, w)) => (s, w, None),
            Err(e) => (
                Settings {
                    options: options.clone(),
                    max_attempts: 1,
                    minimum_level: facekiosk_face::matching::MatchLevel::DEFAULT,
                    challenges: Vec::new(),
                    challenge_count: 0,
                },
                Vec::new(),
                Some(e),
            ),
        };
        let hold = ctx.policy.hint_hold_ms;
        let mut session = Session {
            settings,
            ctx,
            reference,
            rng: ChaCha8Rng::seed_from_u64(seed.challenges),
            result_id: seed.result_id,
            status: None,
            started_at: now,
            last_activity: now,
            hints: HintTracker::new(hold),
            phase: Phase::Positioning,
            attempt: Attempt::new(),
            attempts: Vec::new(),
            decided: None,
            attempt_no: 1,
            finished: false,
        };
        let mut ev = Vec::new();
        ev.push(session.trace(now, TraceEventKind::View, TraceStatus::Info, None, None));
        if let Some(e) = error {
            session.finish_error(now, e, &mut ev);
            return (session, ev);
        }
        if let Some(deadline) = session.settings.options.deadline
            && now >= deadline
        {
            let e = OperationError::new(
                ErrorCode::SessionExpiredOrNotFound,
                "the session expired before it started",
            );
            session.finish_error(now, e, &mut ev);
            return (session, ev);
        }
        ev.push(session.trace(now, TraceEventKind::Start, TraceStatus::Success, None, None));
        for w in warnings {
            ev.push(session.trace(
                now,
                TraceEventKind::Warning,
                TraceStatus::Info,
                Some("CONFIG_ADJUSTED"),
                Some(w),
            ));
        }
        session.set_status(SessionStatus::RequiresInput, &mut ev);
        session.force_hint(now, Hint::LookAtCamera, &mut ev);
        (session, ev)
    }

    /// The current status (`None` only before the first event).
    pub fn status(&self) -> Option<SessionStatus> {
        self.status
    }

    /// True once `Finally` was emitted; later inputs are ignored.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// What to compute for the next frame: nothing beyond detection while the session waits,
    /// landmarks and quality while positioning (embedding only good frames, which can start
    /// the capture), and everything — every frame embedded — from the first capture to the
    /// last, where each frame is chained to the one before.
    pub fn frame_needs(&self) -> FrameNeeds {
        let passive = self.settings.options.liveness.passive();
        match self.phase {
            Phase::Positioning => FrameNeeds {
                landmarks: true,
                embed: EmbedWhen::IfGood,
                passive: false,
            },
            Phase::CaptureBefore { .. } | Phase::CaptureAfter { .. } => FrameNeeds {
                landmarks: true,
                embed: EmbedWhen::Always,
                passive,
            },
            Phase::Challenges { .. } => FrameNeeds {
                landmarks: true,
                embed: EmbedWhen::Always,
                passive: false,
            },
            Phase::AwaitingRetry { .. } | Phase::CameraLost { .. } | Phase::Done => FrameNeeds {
                landmarks: false,
                embed: EmbedWhen::Never,
                passive: false,
            },
        }
    }

    /// The hint on screen.
    pub fn hint(&self) -> Option<Hint> {
        self.hints.shown()
    }

    /// Feeds one input at `now` (unix ms) and returns what happened.
    pub fn handle(&mut self, now: u64, input: Input) -> Vec<Event> {
        let mut ev = Vec::new();
        if self.finished {
            return ev;
        }
        match input {
            Input::Cancel => {
                let e = OperationError::new(ErrorCode::UserCancel, "the session was cancelled");
                self.finish_error(now, e, &mut ev);
                return ev;
            }
            Input::Fail(e) => {
                self.finish_error(now, e, &mut ev);
                return ev;
            }
            _ => {}
        }
        if let Some(deadline) = self.settings.options.deadline
            && now >= deadline
        {
            let e = OperationError::new(ErrorCode::SessionExpiredOrNotFound, "the session expired");
            self.finish_error(now, e, &mut ev);
            return ev;
        }
        if let Phase::CameraLost { since, error } = &self.phase {
            let (since, error) = (*since, error.clone());
            match input {
                Input::CameraBack => {
                    ev.push(self.trace(
                        now,
                        TraceEventKind::Camera,
                        TraceStatus::Success,
                        Some("CAMERA_BACK"),
                        None,
                    ));
                    self.last_activity = now;
                    self.restart_capture(now, &mut ev);
                }
                _ if now.saturating_sub(since) >= self.ctx.policy.camera_grace_ms => {
                    self.finish_error(now, error, &mut ev);
                }
                _ => {}
            }
            return ev;
        }
        match input {
            Input::CameraLost(error) => {
                self.camera_lost(now, error, &mut ev);
                return ev;
            }
            Input::FrameSkipped(reason) => {
                ev.push(self.trace(
                    now,
                    TraceEventKind::FrameSkipped,
                    TraceStatus::Info,
                    None,
                    Some(reason),
                ));
            }
            Input::Retry => {
                if matches!(self.phase, Phase::AwaitingRetry { .. }) {
                    self.last_activity = now;
                    self.restart_capture(now, &mut ev);
                }
            }
            Input::Frame(obs) => self.frame(now, *obs, &mut ev),
            Input::Tick | Input::CameraBack | Input::Cancel | Input::Fail(_) => {}
        }
        if !self.finished {
            self.timeouts(now, &mut ev);
        }
        ev
    }

    fn camera_lost(&mut self, now: u64, error: OperationError, ev: &mut Vec<Event>) {
        if self.proving() {
            // Losing the camera must not be a free way out of a challenge (to redraw the
            // challenges, or to escape a time-out): it costs the attempt.
            self.attempt_failed(
                now,
                Failure::liveness(LivenessFailure::CameraLost),
                None,
                ev,
            );
            if self.finished {
                return;
            }
        }
        let message = error.message.clone();
        ev.push(self.trace(
            now,
            TraceEventKind::Camera,
            TraceStatus::Failure,
            Some(error.code.as_str()),
            message,
        ));
        self.phase = Phase::CameraLost { since: now, error };
        self.attempt = Attempt::new();
        self.force_hint(now, Hint::CameraUnavailable, ev);
    }

    /// True while a failed attempt waits for the person to try again (or to stop).
    pub fn awaits_retry(&self) -> bool {
        matches!(self.phase, Phase::AwaitingRetry { .. })
    }

    /// True from the end of the first capture to the decision, while the frames are chained.
    fn proving(&self) -> bool {
        matches!(
            self.phase,
            Phase::Challenges { .. } | Phase::CaptureAfter { .. }
        )
    }

    fn timeouts(&mut self, now: u64, ev: &mut Vec<Event>) {
        // A silent camera must not stall a challenge, nor leave a gap in the chain of frames.
        if self.proving()
            && let Some(track) = &self.attempt.track
            && now.saturating_sub(track.last_at()) > self.ctx.policy.max_frame_gap_ms
        {
            self.attempt_failed(now, Failure::liveness(LivenessFailure::FrameGap), None, ev);
        }
        if let Phase::Challenges { run, list, index } = &self.phase
            && now >= run.deadline()
        {
            let failure = Failure::Liveness {
                reason: run.timeout_reason(),
                challenge: Some(list[*index]),
                action: None,
            };
            self.challenge_failed(now, failure, ev);
        }
        if let Phase::CaptureAfter { since, .. } = self.phase
            && now.saturating_sub(since) >= self.ctx.policy.challenge_timeout_ms
        {
            ev.push(self.trace(
                now,
                TraceEventKind::Capture,
                TraceStatus::Failure,
                Some("NO_FINAL_CAPTURE"),
                Some("no good frame after the challenges".to_owned()),
            ));
            self.attempt_failed(now, Failure::NoMatch, None, ev);
        }
        if let Phase::AwaitingRetry { since } = self.phase
            && now.saturating_sub(since) >= self.ctx.policy.retry_pause_ms
        {
            self.restart_capture(now, ev);
        }
        if !self.finished
            && now.saturating_sub(self.last_activity) >= self.settings.options.inactivity_timeout_ms
        {
            let e = OperationError::new(
                ErrorCode::InactivityTimeout,
                "nobody was in front of the camera",
            );
            self.finish_error(now, e, ev);
        }
    }

    fn frame(&mut self, now: u64, obs: FrameObservation, ev: &mut Vec<Event>) {
        if obs.face.is_some() {
            self.last_activity = now;
        }
        match self.phase.clone() {
            Phase::Positioning => self.positioning(now, obs, ev),
            Phase::CaptureBefore { since, bad_since } => {
                self.capture_before(now, since, bad_since, obs, ev)
            }
            Phase::Challenges { .. } => self.challenge_frame(now, obs, ev),
            Phase::CaptureAfter {
                since,
                first_good,
                watch,
            } => self.capture_after(now, since, first_good, watch, obs, ev),
            Phase::AwaitingRetry { .. } | Phase::CameraLost { .. } | Phase::Done => {}
        }
    }

    fn positioning(&mut self, now: u64, obs: FrameObservation, ev: &mut Vec<Event>) {
        if let Some(c) = Candidate::of(&obs) {
            self.attempt = Attempt::new();
            self.add_frontal(&obs);
            self.attempt.before.push(c);
            self.phase = Phase::CaptureBefore {
                since: now,
                bad_since: None,
            };
            ev.push(self.trace(now, TraceEventKind::Capture, TraceStatus::Info, None, None));
            self.force_hint(now, Hint::HoldStill, ev);
            self.check_capture_before(now, now, &obs, ev);
            return;
        }
        let wanted = obs
            .quality
            .top_issue()
            .map_or(Hint::HoldSteady, Hint::for_issue);
        self.offer_hint(now, wanted, ev);
    }

    fn add_frontal(&mut self, obs: &FrameObservation) {
        if let Some(face) = &obs.face
            && let (Some(head), Some(s)) = (&face.head, &face.signals)
        {
            self.attempt
                .three_d
                .add_frontal(head, s.pose.yaw, s.pose.pitch);
        }
    }

    fn capture_before(
        &mut self,
        now: u64,
        since: u64,
        bad_since: Option<u64>,
        obs: FrameObservation,
        ev: &mut Vec<Event>,
    ) {
        match Candidate::of(&obs) {
            Some(c) => {
                let moved = self.attempt.before.first().is_some_and(|first| {
                    first.bbox.center().distance(c.bbox.center()) > 0.15 * first.bbox.width.max(1.0)
                });
                if moved {
                    // The person moved: the capture starts over from this frame.
                    self.attempt = Attempt::new();
                    self.add_frontal(&obs);
                    self.attempt.before.push(c);
                    self.phase = Phase::CaptureBefore {
                        since: now,
                        bad_since: None,
                    };
                    return;
                }
                self.add_frontal(&obs);
                self.attempt.before.push(c);
                self.phase = Phase::CaptureBefore {
                    since,
                    bad_since: None,
                };
                self.check_capture_before(now, since, &obs, ev);
            }
            None => {
                let bad_since = bad_since.unwrap_or(now);
                if now.saturating_sub(bad_since) >= self.ctx.policy.hint_hold_ms {
                    self.attempt = Attempt::new();
                    self.phase = Phase::Positioning;
                    self.positioning(now, obs, ev);
                } else {
                    self.phase = Phase::CaptureBefore {
                        since,
                        bad_since: Some(bad_since),
                    };
                }
            }
        }
    }

    fn capture_complete(&self, now: u64, since: u64, frames: usize) -> bool {
        now.saturating_sub(since) >= self.ctx.policy.hold_still_ms
            && frames >= self.ctx.policy.hold_still_frames
    }

    fn check_capture_before(
        &mut self,
        now: u64,
        since: u64,
        last: &FrameObservation,
        ev: &mut Vec<Event>,
    ) {
        if !self.capture_complete(now, since, self.attempt.before.len()) {
            return;
        }
        if !self.settings.options.liveness.active() {
            self.decide(now, ev);
            return;
        }
        // The chain of frames starts here, anchored on what was just captured.
        let (Some((anchor, _)), Some(face)) = (
            self.attempt.before.fused(self.ctx.policy.fused_frames),
            last.face.as_ref(),
        ) else {
            return;
        };
        let Some(embedding) = face.embedding.clone() else {
            return;
        };
        let level1 = self
            .ctx
            .calibration
            .threshold(facekiosk_face::matching::MatchLevel::MIN);
        let limits = TrackLimits {
            chain_threshold: level1.max(0.5),
            anchor_threshold: level1,
            max_gap_ms: self.ctx.policy.max_frame_gap_ms,
            max_yaw_speed: self.ctx.policy.max_yaw_speed_deg_s,
        };
        self.attempt.track = Some(FaceTrack::start(
            limits,
            anchor,
            now,
            face.bbox,
            embedding,
            face.signals.map(|s| s.pose.yaw),
        ));
        self.attempt.baseline = Some(self.attempt.measure_baseline());
        let list = choose(
            &self.settings.challenges,
            self.settings.challenge_count,
            &mut self.rng,
        );
        self.start_challenge(now, list, 0, ev);
    }

    fn start_challenge(
        &mut self,
        now: u64,
        list: Vec<ChallengeKind>,
        index: usize,
        ev: &mut Vec<Event>,
    ) {
        let Some(&kind) = list.get(index) else {
            return;
        };
        let previous = index.checked_sub(1).and_then(|i| list.get(i).copied());
        let p = &self.ctx.policy;
        let pause = self.rng.gen_range(p.pause_min_ms..=p.pause_max_ms);
        let baseline = self
            .attempt
            .baseline
            .unwrap_or(crate::challenge::Baseline::TYPICAL);
        let run = ChallengeRun::start(kind, previous, now, pause, baseline, p);
        self.phase = Phase::Challenges {
            list,
            index,
            run: Box::new(run),
        };
        self.force_hint(now, Hint::LookAtCamera, ev);
    }

    fn challenge_frame(&mut self, now: u64, obs: FrameObservation, ev: &mut Vec<Event>) {
        if !self.chain(now, &obs, ev) {
            return;
        }
        let Phase::Challenges { list, index, run } = &mut self.phase else {
            return;
        };
        let (kind, list_len, index) = (list[*index], list.len(), *index);
        let Some(signals) = obs.face.as_ref().and_then(|f| f.signals) else {
            // A face without landmarks cannot show a movement: it is lost.
            let f = Failure::Liveness {
                reason: LivenessFailure::FaceLost,
                challenge: Some(kind),
                action: None,
            };
            self.challenge_failed(now, f, ev);
            return;
        };
        let progress = run.update(now, &signals);
        if let Some(head) = obs.face.as_ref().and_then(|f| f.head.as_ref()) {
            self.attempt
                .three_d
                .add(head, signals.pose.yaw, signals.pose.pitch);
        }
        match progress {
            Progress::Pending => {}
            Progress::Prompt => {
                let deadline = now.saturating_add(self.ctx.policy.challenge_timeout_ms);
                ev.push(Event::Challenge(ChallengePrompt {
                    kind,
                    index: index + 1,
                    count: list_len,
                    deadline,
                }));
                self.force_hint(now, Hint::FollowChallenge, ev);
                ev.push(self.trace(
                    now,
                    TraceEventKind::Challenge,
                    TraceStatus::Info,
                    Some(kind.as_str()),
                    Some("prompted".to_owned()),
                ));
            }
            Progress::RejectedBlink(e) => {
                let code = match e {
                    BlinkEvent::TooFast(_) => "BLINK_TOO_FAST",
                    _ => "BLINK_TOO_SLOW",
                };
                ev.push(self.trace(
                    now,
                    TraceEventKind::Challenge,
                    TraceStatus::Info,
                    Some(code),
                    None,
                ));
            }
            Progress::Failed { reason, action } => {
                let f = Failure::Liveness {
                    reason,
                    challenge: Some(kind),
                    action,
                };
                self.challenge_failed(now, f, ev);
            }
            Progress::Passed { reaction_ms } => self.challenge_passed(now, reaction_ms, ev),
        }
    }

    /// Chains the frame to the one before; on a break the attempt fails and this says false.
    fn chain(&mut self, now: u64, obs: &FrameObservation, ev: &mut Vec<Event>) -> bool {
        let Some(track) = self.attempt.track.as_mut() else {
            return true;
        };
        match track.step(now, obs) {
            Ok(()) => true,
            Err(reason) => {
                let challenge = match &self.phase {
                    Phase::Challenges { list, index, .. } => list.get(*index).copied(),
                    _ => None,
                };
                let f = Failure::Liveness {
                    reason,
                    challenge,
                    action: None,
                };
                if challenge.is_some() {
                    self.challenge_failed(now, f, ev);
                } else {
                    self.attempt_failed(now, f, None, ev);
                }
                false
            }
        }
    }

    fn challenge_passed(&mut self, now: u64, reaction_ms: u64, ev: &mut Vec<Event>) {
        let Phase::Challenges { list, index, run } = &self.phase else {
            return;
        };
        let (list, index, kind) = (list.clone(), *index, run.kind());
        let shown = run.shown_at().unwrap_or(now);
        self.attempt.challenges.push(ChallengeClaim {
            r#type: kind,
            outcome: ChallengeOutcome::Passed,
            duration_ms: now.saturating_sub(shown),
            reaction_ms: Some(reaction_ms),
        });
        ev.push(self.trace(
            now,
            TraceEventKind::Challenge,
            TraceStatus::Success,
            Some(kind.as_str()),
            None,
        ));
        if index + 1 < list.len() {
            self.start_challenge(now, list, index + 1, ev);
            return;
        }
        // All challenges done. The 3-D check is judged after the final capture (`decide`): the
        // way back to neutral shows the head's depth too.
        let baseline = self
            .attempt
            .baseline
            .unwrap_or(crate::challenge::Baseline::TYPICAL);
        self.phase = Phase::CaptureAfter {
            since: now,
            first_good: None,
            watch: Box::new(ChallengeRun::watch(kind, now, baseline, &self.ctx.policy)),
        };
        ev.push(self.trace(
            now,
            TraceEventKind::Capture,
            TraceStatus::Info,
            Some("AFTER_CHALLENGES"),
            None,
        ));
        self.force_hint(now, Hint::HoldStill, ev);
    }

    fn challenge_failed(&mut self, now: u64, failure: Failure, ev: &mut Vec<Event>) {
        if let Phase::Challenges { run, .. } = &self.phase {
            let outcome = match failure {
                Failure::Liveness {
                    reason: LivenessFailure::ChallengeTimeout,
                    ..
                } => ChallengeOutcome::TimedOut,
                _ => ChallengeOutcome::Failed,
            };
            let shown = run.shown_at();
            let claim = ChallengeClaim {
                r#type: run.kind(),
                outcome,
                duration_ms: shown.map_or(0, |s| now.saturating_sub(s)),
                reaction_ms: run.reaction_ms(),
            };
            let kind = run.kind();
            self.attempt.challenges.push(claim);
            ev.push(self.trace(
                now,
                TraceEventKind::Challenge,
                TraceStatus::Failure,
                Some(kind.as_str()),
                Some(failure_text(failure)),
            ));
        }
        self.attempt_failed(now, failure, None, ev);
    }

    fn capture_after(
        &mut self,
        now: u64,
        since: u64,
        first_good: Option<u64>,
        mut watch: Box<ChallengeRun>,
        obs: FrameObservation,
        ev: &mut Vec<Event>,
    ) {
        if !self.chain(now, &obs, ev) {
            return;
        }
        // After the last challenge, nothing else may happen: a clip or an eager attacker that
        // goes on acting is caught here.
        if let Some(signals) = obs.face.as_ref().and_then(|f| f.signals)
            && let Progress::Failed { action, .. } = watch.update(now, &signals)
        {
            let f = Failure::Liveness {
                reason: LivenessFailure::UnrequestedAction,
                challenge: None,
                action,
            };
            self.attempt_failed(now, f, None, ev);
            return;
        }
        if let Some(face) = &obs.face
            && let (Some(head), Some(s)) = (&face.head, &face.signals)
        {
            self.attempt.three_d.add(head, s.pose.yaw, s.pose.pitch);
        }
        self.phase = Phase::CaptureAfter {
            since,
            first_good,
            watch: watch.clone(),
        };
        let Some(c) = Candidate::of(&obs) else {
            return;
        };
        self.attempt.after.push(c);
        let first = first_good.unwrap_or(now);
        self.phase = Phase::CaptureAfter {
            since,
            first_good: Some(first),
            watch,
        };
        if self.capture_complete(now, first, self.attempt.after.len()) {
            self.decide(now, ev);
        }
    }

    /// Matches the captures and fuses passive liveness; success or a failed attempt.
    fn decide(&mut self, now: u64, ev: &mut Vec<Event>) {
        self.set_status(SessionStatus::Processing, ev);
        self.force_hint(now, Hint::Processing, ev);
        // The turns and nods asked for must show a three-dimensional head.
        let done = &self.attempt.challenges;
        let turned = done.iter().any(|c| c.r#type.is_turn());
        let nodded = done.iter().any(|c| c.r#type.is_nod());
        if turned || nodded {
            let score = self.attempt.three_d.score();
            let is_3d = (!turned || score.turn.is_3d) && (!nodded || score.nod.is_3d);
            self.attempt.three_d_claim = Some(ThreeDClaim {
                turn: turned.then_some(score.turn),
                nod: nodded.then_some(score.nod),
                is_3d,
            });
            if !is_3d {
                self.attempt_failed(now, Failure::liveness(LivenessFailure::Not3d), None, ev);
                return;
            }
        }
        let k = self.ctx.policy.fused_frames;
        let mut matches = Vec::new();
        for (phase, capture) in [
            (CapturePhase::Before, &self.attempt.before),
            (CapturePhase::After, &self.attempt.after),
        ] {
            if let Some((e, frames)) = capture.fused(k) {
                let score = e.similarity(&self.reference.embedding);
                matches.push(CaptureMatchClaim {
                    phase,
                    score,
                    level: self.ctx.calibration.level_of(score).map(u8::from),
                    frames,
                });
            }
        }
        self.attempt.matches = matches.clone();
        let needed = if self.settings.options.liveness.active() {
            2
        } else {
            1
        };
        let Some(weakest) = matches
            .iter()
            .min_by(|a, b| a.score.total_cmp(&b.score))
            .filter(|_| matches.len() == needed)
        else {
            self.attempt_failed(now, Failure::NoMatch, None, ev);
            return;
        };
        let (score, level) = (weakest.score, weakest.level);
        let min = self.settings.minimum_level.get();
        let matched = level.is_some_and(|l| l >= min);
        let mode = self.settings.options.liveness;
        let mut passive_ok = true;
        if mode.passive() {
            let threshold = self.ctx.passive_threshold.unwrap_or(0.0);
            let logits: Vec<f32> = self
                .attempt
                .before
                .frames()
                .iter()
                .chain(self.attempt.after.frames())
                .filter_map(|c| c.passive.map(|p| p.logit))
                .collect();
            let mean = if logits.is_empty() {
                f32::NEG_INFINITY
            } else {
                logits.iter().sum::<f32>() / logits.len() as f32
            };
            passive_ok = mean >= threshold;
            self.attempt.passive = Some(PassiveClaim {
                mean_logit: if mean.is_finite() { mean } else { -100.0 },
                frames: logits.len(),
                threshold,
            });
        }
        let result = Some((score, level));
        if !passive_ok {
            self.attempt_failed(
                now,
                Failure::liveness(LivenessFailure::PassiveSpoof),
                result,
                ev,
            );
        } else if !matched {
            self.attempt_failed(now, Failure::NoMatch, result, ev);
        } else {
            self.attempts.push(AttemptClaim {
                attempt: self.attempt_no,
                score: Some(score),
                level,
                liveness: (mode != LivenessMode::Attended).then_some(true),
                reason: None,
                liveness_reason: None,
                challenge: None,
                action: None,
                three_d: self.attempt.three_d_claim,
            });
            self.decided = Some(self.attempt.clone());
            self.finish_success(now, ev);
        }
    }

    fn attempt_failed(
        &mut self,
        now: u64,
        failure: Failure,
        result: Option<(f32, Option<u8>)>,
        ev: &mut Vec<Event>,
    ) {
        let (score, level) = result.map_or((None, None), |(s, l)| (Some(s), l));
        let attended = self.settings.options.liveness == LivenessMode::Attended;
        let (reason, liveness, liveness_reason, challenge, action) = match failure {
            Failure::NoMatch => (
                AttemptFailure::NoMatch,
                (!attended).then_some(true),
                None,
                None,
                None,
            ),
            Failure::Liveness {
                reason,
                challenge,
                action,
            } => (
                AttemptFailure::LivenessFailed,
                Some(false),
                Some(reason),
                challenge,
                action,
            ),
        };
        // An attempt that failed before its liveness was decided says nothing about liveness.
        let liveness = match failure {
            Failure::NoMatch if self.attempt.matches.is_empty() && !attended => None,
            _ => liveness,
        };
        self.attempts.push(AttemptClaim {
            attempt: self.attempt_no,
            score,
            level,
            liveness,
            reason: Some(reason),
            liveness_reason,
            challenge,
            action,
            three_d: self.attempt.three_d_claim,
        });
        self.decided = Some(self.attempt.clone());
        let code = match reason {
            AttemptFailure::NoMatch => "NO_MATCH",
            AttemptFailure::LivenessFailed => "LIVENESS_FAILED",
        };
        ev.push(self.trace(
            now,
            TraceEventKind::Attempt,
            TraceStatus::Failure,
            Some(code),
            Some(failure_text(failure)),
        ));
        if self.attempts.len() >= usize::from(self.settings.max_attempts) {
            let e = match failure {
                Failure::NoMatch => OperationError::new(
                    ErrorCode::SessionInvalidatedFaceRecognitionTooManyAttempts,
                    format!("the face did not match in {} attempts", self.attempts.len()),
                ),
                Failure::Liveness { .. } => OperationError::new(
                    ErrorCode::SessionInvalidatedLivenessFailed,
                    format!(
                        "the liveness check failed ({}); no attempts left",
                        failure_text(failure)
                    ),
                ),
            };
            self.finish_error(now, e, ev);
            return;
        }
        self.attempt = Attempt::new();
        self.attempt_no = self.attempt_no.saturating_add(1);
        self.phase = Phase::AwaitingRetry { since: now };
        self.set_status(SessionStatus::RequiresInput, ev);
        let hint = match failure {
            Failure::NoMatch => Hint::TryAgain,
            Failure::Liveness { .. } => Hint::LivenessTryAgain,
        };
        self.force_hint(now, hint, ev);
    }

    fn restart_capture(&mut self, now: u64, ev: &mut Vec<Event>) {
        self.attempt = Attempt::new();
        self.phase = Phase::Positioning;
        self.set_status(SessionStatus::RequiresInput, ev);
        self.force_hint(now, Hint::LookAtCamera, ev);
    }

    fn finish_success(&mut self, now: u64, ev: &mut Vec<Event>) {
        let claims = self.claims(now, SessionStatus::Complete, true);
        match self.ctx.signer.sign(&claims) {
            Ok(jws) => {
                self.set_status(SessionStatus::Complete, ev);
                ev.push(self.trace(
                    now,
                    TraceEventKind::Complete,
                    TraceStatus::Success,
                    None,
                    None,
                ));
                ev.push(Event::Success(jws));
                ev.push(Event::Finally);
                self.phase = Phase::Done;
                self.finished = true;
            }
            Err(e) => {
                let err = OperationError::new(ErrorCode::UnexpectedError, e.to_string());
                self.finish_error(now, err, ev);
            }
        }
    }

    pub(crate) fn finish_error(
        &mut self,
        now: u64,
        mut error: OperationError,
        ev: &mut Vec<Event>,
    ) {
        let failed = self.attempts.iter().any(|a| a.reason.is_some());
        if self.settings.options.return_data_for_incomplete_session && failed {
            let claims = self.claims(now, SessionStatus::Canceled, false);
            error.data = self.ctx.signer.sign(&claims).ok();
        }
        self.set_status(SessionStatus::Canceled, ev);
        let kind = if error.code == ErrorCode::UserCancel {
            TraceEventKind::Cancel
        } else {
            TraceEventKind::Failed
        };
        let message = error.message.clone();
        ev.push(self.trace(
            now,
            kind,
            TraceStatus::Failure,
            Some(error.code.as_str()),
            message,
        ));
        ev.push(Event::Error(error));
        ev.push(Event::Finally);
        self.phase = Phase::Done;
        self.finished = true;
    }

    fn set_status(&mut self, status: SessionStatus, ev: &mut Vec<Event>) {
        if self.status != Some(status) {
            self.status = Some(status);
            ev.push(Event::Status(status));
        }
    }

    fn offer_hint(&mut self, now: u64, hint: Hint, ev: &mut Vec<Event>) {
        if let Some(h) = self.hints.offer(now, hint) {
            ev.push(Event::Guidance(h));
            ev.push(self.trace(
                now,
                TraceEventKind::Hint,
                TraceStatus::Info,
                Some(&h.as_str()),
                None,
            ));
        }
    }

    fn force_hint(&mut self, now: u64, hint: Hint, ev: &mut Vec<Event>) {
        if let Some(h) = self.hints.force(hint) {
            ev.push(Event::Guidance(h));
            ev.push(self.trace(
                now,
                TraceEventKind::Hint,
                TraceStatus::Info,
                Some(&h.as_str()),
                None,
            ));
        }
    }

    fn trace(
        &self,
        now: u64,
        event: TraceEventKind,
        status: TraceStatus,
        code: Option<&str>,
        message: Option<String>,
    ) -> Event {
        let attempt = (!matches!(
            event,
            TraceEventKind::View | TraceEventKind::Start | TraceEventKind::Warning
        ))
        .then_some(self.attempt_no);
        Event::Trace(TraceEvent {
            device_identifier: self.ctx.signer.kiosk_id().to_owned(),
            session_id: self.settings.options.session_id.clone(),
            category: TraceCategory::FaceSession,
            event,
            status,
            page: Some("FACE_SESSION".to_owned()),
            status_code: code.map(str::to_owned),
            status_message: message,
            attempt,
            elapsed_ms: now.saturating_sub(self.started_at),
            timestamp: now,
        })
    }
}

/// Refuses a session whose result would vouch for more than it can: frames from a file or a
/// folder signed with the kiosk's own key, or a virtual camera the kiosk does not allow.
fn check_provenance(ctx: &SessionContext) -> Result<(), OperationError> {
    let capture = &ctx.provenance.capture;
    if capture.source != CaptureSource::Camera && !ctx.signer.is_test() {
        return Err(OperationError::new(
            ErrorCode::InvalidConfig,
            "frames from a file or a folder are signed only with a test key, never the kiosk's",
        ));
    }
    if capture.r#virtual && !ctx.provenance.allow_virtual_camera {
        return Err(OperationError::new(
            ErrorCode::MediaVirtualCameraDetected,
            format!(
                "camera {} is a virtual camera, and this kiosk does not accept them",
                capture.device
            ),
        ));
    }
    Ok(())
}

/// A short description of a failure, for traces and error messages.
fn failure_text(f: Failure) -> String {
    match f {
        Failure::NoMatch => "NO_MATCH".to_owned(),
        Failure::Liveness {
            reason,
            challenge,
            action,
        } => {
            let mut s = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            if let Some(c) = challenge {
                s.push_str(&format!(" during {}", c.as_str()));
            }
            if let Some(a) = action {
                s.push_str(&format!(" ({} seen)", a.as_str()));
            }
            s
        }
    }
}
