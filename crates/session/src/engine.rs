//! The state machine of one face session.
//!
//! It takes the time and an input (a frame's observation, a user action, a camera event) and
//! returns events: status changes, guidance, challenges, trace events, and at the end exactly one
//! `Success(jws)` or `Error(OperationError)` followed by one `Finally`. It never sleeps, never
//! reads a clock, never does I/O: the caller drives it.
//!
//! Flow of an attempt: *positioning* (guidance until the face is good) → *hold still* (good
//! frames collected; the sharpest, most frontal one will be matched) → *challenges* (active
//! liveness, random order, each timed; the 3-D consistency check over the head turns; the face
//! must stay the same person) → *processing* (match against the reference at the minimum level,
//! passive liveness fused over the captured frames) → success, or a failed attempt and another,
//! up to `maxAttempts`.

use std::sync::Arc;

use base64::Engine as _;
use facekiosk_face::embed::Embedding;
use facekiosk_face::engine::FrameAnalysis;
use facekiosk_face::geometry::BoundingBox;
use facekiosk_face::liveness::{
    BlinkEvent, LivenessSignals, ParallaxConfig, ParallaxTracker, PassiveScore,
};
use facekiosk_face::matching::Calibration;
use facekiosk_face::quality::{QualityIssue, QualityMetrics};
use facekiosk_identity::ResultSigner;
use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::challenge::{ChallengeOutcome, ChallengeRun, Progress, choose};
use crate::claims::{
    AttemptClaim, AuditImageClaim, ChallengeClaim, DeviceClaim, LivenessClaim, MatchClaim,
    PassiveClaim, ResultClaims, ThreeDClaim,
};
use crate::error::{ErrorCode, OperationError};
use crate::guidance::{Hint, HintTracker};
use crate::observation::FrameObservation;
use crate::options::{
    ChallengeKind, LivenessMode, SessionOptions, SessionPolicy, Settings, validate,
};
use crate::trace::{TraceCategory, TraceEvent, TraceEventKind, TraceStatus};

/// Where a session stands (the API's session statuses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SessionStatus {
    /// Waiting for the person (positioning, capture, challenges).
    RequiresInput,
    /// Deciding.
    Processing,
    /// Finished with a result (check `isVerified`).
    Complete,
    /// Ended without a result (cancelled, expired, too many failures).
    Canceled,
}

impl SessionStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::RequiresInput => "requiresInput",
            SessionStatus::Processing => "processing",
            SessionStatus::Complete => "complete",
            SessionStatus::Canceled => "canceled",
        }
    }
}

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

/// What a session needs from its kiosk.
#[derive(Clone, Debug)]
pub struct SessionContext {
    /// Signs the result (the kiosk's current key).
    pub signer: ResultSigner,
    /// The kiosk's setup, for the result (`kiosk` is filled from the signer).
    pub device: DeviceClaim,
    /// Match-level thresholds.
    pub calibration: Calibration,
    /// The passive model's threshold, when one is installed.
    pub passive_threshold: Option<f32>,
    /// Timings and permissions.
    pub policy: SessionPolicy,
}

/// The reference face from a session's ID photo: exactly one face, good enough to embed.
pub fn reference_from_analysis(a: &FrameAnalysis) -> Result<Embedding, OperationError> {
    let invalid = |m: &str| OperationError::new(ErrorCode::InvalidConfig, m);
    if a.faces.is_empty() {
        return Err(invalid("the reference photo shows no face"));
    }
    if a.quality.issues.contains(&QualityIssue::MultipleFaces) {
        return Err(invalid(
            "the reference photo shows more than one face; it must show only the person to verify",
        ));
    }
    a.face
        .as_ref()
        .and_then(|f| f.embedding.clone())
        .ok_or_else(|| invalid("the reference face could not be measured"))
}

/// Why an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailureKind {
    NoMatch,
    Liveness,
}

#[derive(Clone, Debug)]
struct Candidate {
    embedding: Embedding,
    rank: f32,
    metrics: Option<QualityMetrics>,
    bbox: BoundingBox,
    signals: Option<LivenessSignals>,
    passive: Option<PassiveScore>,
    image: Option<Arc<RgbImage>>,
}

#[derive(Clone, Debug)]
enum Phase {
    Positioning,
    HoldStill {
        since: u64,
        bad_since: Option<u64>,
    },
    Challenges {
        list: Vec<ChallengeKind>,
        index: usize,
        run: ChallengeRun,
        lost_since: Option<u64>,
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

#[derive(Clone, Debug)]
struct Attempt {
    candidates: Vec<Candidate>,
    /// The last challenge frame's face: its box and landmark subset (for jump detection).
    last_track: Option<TrackPoint>,
    parallax: ParallaxTracker,
    challenges: Vec<ChallengeClaim>,
    three_d: Option<ThreeDClaim>,
    passive: Option<PassiveClaim>,
}

impl Attempt {
    fn new() -> Self {
        Self {
            candidates: Vec::new(),
            last_track: None,
            parallax: ParallaxTracker::new(ParallaxConfig::default()),
            challenges: Vec::new(),
            three_d: None,
            passive: None,
        }
    }

    fn best(&self) -> Option<&Candidate> {
        self.candidates
            .iter()
            .max_by(|a, b| a.rank.total_cmp(&b.rank))
    }

    /// Records a challenge frame's face and says whether it jumped from the last one: its
    /// centre moved more than half a face width, or its landmarks changed more than a plane's
    /// motion and a head's parallax between two frames can explain.
    fn track_jumps(&mut self, face: &crate::observation::FaceObservation) -> bool {
        let current = (face.bbox, face.parallax.clone());
        let Some((last_box, last_pts)) = self.last_track.replace(current) else {
            return false;
        };
        let width = last_box.width.max(face.bbox.width).max(1.0);
        if last_box.center().distance(face.bbox.center()) > MAX_TRACK_STEP * width {
            return true;
        }
        match (last_pts, &face.parallax) {
            (Some((a, eyes)), Some((b, _))) if a.len() == b.len() => {
                facekiosk_face::liveness::planar_residual(&a, b, eyes)
                    .is_some_and(|r| r > MAX_TRACK_RESIDUAL)
            }
            _ => false,
        }
    }
}

/// A challenge frame's face, as the jump check remembers it: its box and its landmark subset
/// with the eye distance.
type TrackPoint = (
    BoundingBox,
    Option<(Vec<facekiosk_face::geometry::Point>, f32)>,
);

/// Largest move of the face centre between two challenge frames, in face widths.
const MAX_TRACK_STEP: f32 = 0.5;
/// Largest landmark change between two challenge frames beyond a plane's motion, in eye
/// distances (a head turning 10° in one frame stays well under it).
const MAX_TRACK_RESIDUAL: f32 = 0.15;

/// One face session.
#[derive(Debug)]
pub struct Session {
    settings: Settings,
    ctx: SessionContext,
    reference: Embedding,
    rng: ChaCha8Rng,
    status: Option<SessionStatus>,
    started_at: u64,
    last_activity: u64,
    hints: HintTracker,
    phase: Phase,
    attempt: Attempt,
    /// Every finished attempt; the deciding one holds the match and liveness of the result.
    attempts: Vec<AttemptClaim>,
    /// The last attempt that got as far as matching or liveness (for the result's details).
    decided: Option<Attempt>,
    /// The attempt under way, 1-based.
    attempt_no: u8,
    finished: bool,
}

impl Session {
    /// Starts a session at `now` (unix ms). `seed` drives the challenge order and the result id:
    /// pass fresh randomness in production, a fixed value in tests. Invalid options end the
    /// session at once with `INVALID_CONFIG` (the events say so).
    pub fn start(
        options: SessionOptions,
        ctx: SessionContext,
        reference: Embedding,
        seed: u64,
        now: u64,
    ) -> (Session, Vec<Event>) {
        let passive_installed = ctx.passive_threshold.is_some();
        let validated = validate(&options, &ctx.policy, passive_installed);
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
            rng: ChaCha8Rng::seed_from_u64(seed),
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

    /// True while the session checks every frame's face against the person captured (the
    /// challenges): the caller should then embed every frame with a face, not only good ones.
    pub fn checks_identity(&self) -> bool {
        matches!(self.phase, Phase::Challenges { .. })
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
                if matches!(self.phase, Phase::Challenges { .. }) {
                    // Losing the camera must not be a free way out of a challenge (to redraw
                    // the challenges, or to escape a time-out): it costs the attempt.
                    self.attempt_failed(now, FailureKind::Liveness, "CAMERA_LOST", None, &mut ev);
                    if self.finished {
                        return ev;
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
                self.force_hint(now, Hint::CameraUnavailable, &mut ev);
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
        if self.finished {
            return ev;
        }
        if let Phase::Challenges { run, .. } = &mut self.phase
            && now >= run.deadline()
        {
            // A silent camera must not stall a challenge past its time.
            let progress = run.update(now, None);
            self.challenge_progress(now, progress, &mut ev);
        }
        if let Phase::AwaitingRetry { since } = self.phase
            && now.saturating_sub(since) >= self.ctx.policy.retry_pause_ms
        {
            self.restart_capture(now, &mut ev);
        }
        if !self.finished
            && now.saturating_sub(self.last_activity) >= self.settings.options.inactivity_timeout_ms
        {
            let e = OperationError::new(
                ErrorCode::InactivityTimeout,
                "nobody was in front of the camera",
            );
            self.finish_error(now, e, &mut ev);
        }
        ev
    }

    fn frame(&mut self, now: u64, obs: FrameObservation, ev: &mut Vec<Event>) {
        if obs.face.is_some() {
            self.last_activity = now;
        }
        match self.phase.clone() {
            Phase::Positioning => self.positioning(now, obs, ev),
            Phase::HoldStill { since, bad_since } => {
                self.hold_still(now, since, bad_since, obs, ev)
            }
            Phase::Challenges { .. } => self.challenge_frame(now, obs, ev),
            Phase::AwaitingRetry { .. } | Phase::CameraLost { .. } | Phase::Done => {}
        }
    }

    fn candidate(obs: &FrameObservation) -> Option<Candidate> {
        if !obs.quality.is_good() {
            return None;
        }
        let face = obs.face.as_ref()?;
        let embedding = face.embedding.clone()?;
        let metrics = obs.quality.metrics;
        // Sharp and frontal wins: sharpness (saturating) times the cosine of the pose.
        let rank = metrics.map_or(0.0, |m| {
            let sharp = (m.sharpness / 200.0).min(1.0);
            let frontal = m.pose.yaw.to_radians().cos() * m.pose.pitch.to_radians().cos();
            sharp * frontal
        });
        Some(Candidate {
            embedding,
            rank,
            metrics,
            bbox: face.bbox,
            signals: face.signals,
            passive: face.passive,
            image: obs.image.clone(),
        })
    }

    fn positioning(&mut self, now: u64, obs: FrameObservation, ev: &mut Vec<Event>) {
        if let Some(c) = Self::candidate(&obs) {
            self.attempt.candidates = vec![c];
            self.phase = Phase::HoldStill {
                since: now,
                bad_since: None,
            };
            ev.push(self.trace(now, TraceEventKind::Capture, TraceStatus::Info, None, None));
            self.force_hint(now, Hint::HoldStill, ev);
            self.check_capture_done(now, now, ev);
            return;
        }
        let wanted = obs
            .quality
            .top_issue()
            .map_or(Hint::HoldSteady, Hint::for_issue);
        self.offer_hint(now, wanted, ev);
    }

    fn hold_still(
        &mut self,
        now: u64,
        since: u64,
        bad_since: Option<u64>,
        obs: FrameObservation,
        ev: &mut Vec<Event>,
    ) {
        match Self::candidate(&obs) {
            Some(c) => {
                let moved = self.attempt.candidates.first().is_some_and(|first| {
                    first.bbox.center().distance(c.bbox.center()) > 0.15 * first.bbox.width.max(1.0)
                });
                if moved {
                    // The person moved: the capture starts over from this frame.
                    self.attempt.candidates = vec![c];
                    self.phase = Phase::HoldStill {
                        since: now,
                        bad_since: None,
                    };
                    return;
                }
                self.attempt.candidates.push(c);
                self.phase = Phase::HoldStill {
                    since,
                    bad_since: None,
                };
                self.check_capture_done(now, since, ev);
            }
            None => {
                let bad_since = bad_since.unwrap_or(now);
                if now.saturating_sub(bad_since) >= self.ctx.policy.hint_hold_ms {
                    self.attempt = Attempt::new();
                    self.phase = Phase::Positioning;
                    self.positioning(now, obs, ev);
                } else {
                    self.phase = Phase::HoldStill {
                        since,
                        bad_since: Some(bad_since),
                    };
                }
            }
        }
    }

    fn check_capture_done(&mut self, now: u64, since: u64, ev: &mut Vec<Event>) {
        let policy = &self.ctx.policy;
        if now.saturating_sub(since) < policy.hold_still_ms
            || self.attempt.candidates.len() < policy.hold_still_frames
        {
            return;
        }
        if self.settings.options.liveness.active() {
            let list = choose(
                &self.settings.challenges,
                self.settings.challenge_count,
                &mut self.rng,
            );
            self.start_challenge(now, list, 0, ev);
        } else {
            self.decide(now, ev);
        }
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
        let baseline = self.attempt.best().and_then(|c| c.signals);
        let policy = &self.ctx.policy;
        let run = ChallengeRun::start(
            kind,
            now,
            policy.challenge_timeout_ms,
            policy.turn_degrees,
            baseline.as_ref(),
        );
        ev.push(Event::Challenge(ChallengePrompt {
            kind,
            index: index + 1,
            count: list.len(),
            deadline: run.deadline(),
        }));
        ev.push(self.trace(
            now,
            TraceEventKind::Challenge,
            TraceStatus::Info,
            Some(kind.as_str()),
            None,
        ));
        self.force_hint(now, Hint::FollowChallenge, ev);
        self.phase = Phase::Challenges {
            list,
            index,
            run,
            lost_since: None,
        };
    }

    fn challenge_frame(&mut self, now: u64, obs: FrameObservation, ev: &mut Vec<Event>) {
        let continuity = self
            .ctx
            .calibration
            .threshold(facekiosk_face::matching::MatchLevel::MIN);
        let Phase::Challenges {
            run, lost_since, ..
        } = &mut self.phase
        else {
            return;
        };
        // Faces that count: a small face far behind (a poster, a passer-by) does not.
        let crowded = obs.quality.issues.contains(&QualityIssue::MultipleFaces);
        let usable = obs.face.as_ref().filter(|_| !crowded);
        let progress = match usable {
            None => {
                let since = *lost_since.get_or_insert(now);
                if now.saturating_sub(since) >= self.ctx.policy.face_lost_ms {
                    let detail = if crowded {
                        "MULTIPLE_FACES"
                    } else {
                        "FACE_LOST"
                    };
                    self.attempt_failed(now, FailureKind::Liveness, detail, None, ev);
                    return;
                }
                run.update(now, None)
            }
            Some(face) => {
                *lost_since = None;
                // The person doing the challenges must be the person captured …
                if let (Some(e), Some(best)) = (&face.embedding, self.attempt.best())
                    && e.similarity(&best.embedding) < continuity
                {
                    self.attempt_failed(now, FailureKind::Liveness, "FACE_CHANGED", None, ev);
                    return;
                }
                // … and the face must move as one track: no jump between two frames (a photo
                // swapped for another, or for an accomplice).
                if self.attempt.track_jumps(face) {
                    self.attempt_failed(now, FailureKind::Liveness, "FACE_JUMPED", None, ev);
                    return;
                }
                if let (Some((pts, eyes)), Some(sig)) = (&face.parallax, &face.signals) {
                    self.attempt
                        .parallax
                        .add_points(pts.clone(), sig.pose.yaw, *eyes);
                }
                let Phase::Challenges { run, .. } = &mut self.phase else {
                    return;
                };
                run.update(now, face.signals.as_ref())
            }
        };
        self.challenge_progress(now, progress, ev);
    }

    fn challenge_progress(&mut self, now: u64, progress: Progress, ev: &mut Vec<Event>) {
        let Phase::Challenges {
            list, index, run, ..
        } = &self.phase
        else {
            return;
        };
        let (list, index, kind, started) = (list.clone(), *index, run.kind(), run.started());
        match progress {
            Progress::Pending => {}
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
            Progress::Done(outcome) => {
                self.attempt.challenges.push(ChallengeClaim {
                    r#type: kind,
                    outcome,
                    duration_ms: now.saturating_sub(started),
                });
                if outcome == ChallengeOutcome::TimedOut {
                    ev.push(self.trace(
                        now,
                        TraceEventKind::Challenge,
                        TraceStatus::Failure,
                        Some(kind.as_str()),
                        Some("timed out".to_owned()),
                    ));
                    let detail = format!("CHALLENGE_TIMEOUT:{}", kind.as_str());
                    self.attempt_failed(now, FailureKind::Liveness, &detail, None, ev);
                    return;
                }
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
                // All challenges done: the head turns must show a three-dimensional face.
                let score = self.attempt.parallax.score();
                self.attempt.three_d = Some(ThreeDClaim {
                    residual: score.residual,
                    yaw_range_deg: score.yaw_range_deg,
                    is_3d: score.is_3d,
                });
                if list.iter().any(|c| c.is_turn()) && !score.is_3d {
                    self.attempt_failed(now, FailureKind::Liveness, "NOT_3D", None, ev);
                    return;
                }
                self.decide(now, ev);
            }
        }
    }

    /// Matches the best captured frame and fuses passive liveness; success or a failed attempt.
    fn decide(&mut self, now: u64, ev: &mut Vec<Event>) {
        self.set_status(SessionStatus::Processing, ev);
        self.force_hint(now, Hint::Processing, ev);
        let Some(best) = self.attempt.best().cloned() else {
            self.attempt_failed(now, FailureKind::NoMatch, "NO_FRAME", None, ev);
            return;
        };
        let score = best.embedding.similarity(&self.reference);
        let level = self.ctx.calibration.level_of(score);
        let matched = level.is_some_and(|l| l >= self.settings.minimum_level);
        let mode = self.settings.options.liveness;
        let mut passive_ok = true;
        if mode.passive() {
            let threshold = self.ctx.passive_threshold.unwrap_or(0.0);
            let logits: Vec<f32> = self
                .attempt
                .candidates
                .iter()
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
        let liveness = if mode == LivenessMode::Attended {
            None
        } else {
            Some(passive_ok)
        };
        let result = (Some(score), level.map(u8::from));
        if !passive_ok {
            self.attempt_failed(
                now,
                FailureKind::Liveness,
                "PASSIVE_SPOOF",
                Some(result),
                ev,
            );
        } else if !matched {
            self.attempt_failed(now, FailureKind::NoMatch, "NO_MATCH", Some(result), ev);
        } else {
            self.attempts.push(AttemptClaim {
                attempt: self.attempt_no,
                score: Some(score),
                level: level.map(u8::from),
                liveness,
                reason: None,
                liveness_reason: None,
            });
            self.decided = Some(self.attempt.clone());
            self.finish_success(now, ev);
        }
    }

    fn attempt_failed(
        &mut self,
        now: u64,
        kind: FailureKind,
        detail: &str,
        result: Option<(Option<f32>, Option<u8>)>,
        ev: &mut Vec<Event>,
    ) {
        let (score, level) = result.unwrap_or((None, None));
        let reason = match kind {
            FailureKind::NoMatch => "NO_MATCH",
            FailureKind::Liveness => "LIVENESS_FAILED",
        };
        let liveness = match kind {
            FailureKind::Liveness => Some(false),
            FailureKind::NoMatch if self.settings.options.liveness == LivenessMode::Attended => {
                None
            }
            FailureKind::NoMatch => Some(true),
        };
        self.attempts.push(AttemptClaim {
            attempt: self.attempt_no,
            score,
            level,
            liveness,
            reason: Some(reason.to_owned()),
            liveness_reason: (kind == FailureKind::Liveness).then(|| detail.to_owned()),
        });
        self.decided = Some(self.attempt.clone());
        ev.push(self.trace(
            now,
            TraceEventKind::Attempt,
            TraceStatus::Failure,
            Some(reason),
            Some(detail.to_owned()),
        ));
        if self.attempts.len() >= usize::from(self.settings.max_attempts) {
            let e = match kind {
                FailureKind::NoMatch => OperationError::new(
                    ErrorCode::SessionInvalidatedFaceRecognitionTooManyAttempts,
                    format!("the face did not match in {} attempts", self.attempts.len()),
                ),
                FailureKind::Liveness => OperationError::new(
                    ErrorCode::SessionInvalidatedLivenessFailed,
                    format!("the liveness check failed ({detail}); no attempts left"),
                ),
            };
            self.finish_error(now, e, ev);
            return;
        }
        self.attempt = Attempt::new();
        self.attempt_no = self.attempt_no.saturating_add(1);
        self.phase = Phase::AwaitingRetry { since: now };
        self.set_status(SessionStatus::RequiresInput, ev);
        let hint = match kind {
            FailureKind::NoMatch => Hint::TryAgain,
            FailureKind::Liveness => Hint::LivenessTryAgain,
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

    fn finish_error(&mut self, now: u64, mut error: OperationError, ev: &mut Vec<Event>) {
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

    fn claims(&mut self, now: u64, status: SessionStatus, verified: bool) -> ResultClaims {
        let opts = &self.settings.options;
        let decided = self.decided.as_ref();
        let deciding = self.attempts.last();
        let min = self.settings.minimum_level;
        let level_info = self.ctx.calibration.levels.get(usize::from(min.get()) - 1);
        let best = decided.and_then(Attempt::best);
        let mode = opts.liveness;
        let three_d = decided.and_then(|a| a.three_d);
        let passive = decided.and_then(|a| a.passive);
        let detected = match mode {
            LivenessMode::Attended => None,
            _ => self.attempts.last().and_then(|a| a.liveness),
        };
        let score = match (passive, three_d) {
            (Some(p), _) => Some(1.0 / (1.0 + (-p.mean_logit).exp())),
            (None, Some(t)) => {
                Some((t.residual / (2.0 * ParallaxConfig::default().min_residual)).min(1.0))
            }
            _ => None,
        };
        let audit_image = if opts.audit_image {
            best.and_then(|b| b.image.as_ref().map(|img| (img, b.bbox)))
                .and_then(|(img, bbox)| {
                    crate::audit::render(img, &bbox, opts.audit_image_obfuscation)
                })
                .map(|jpeg| AuditImageClaim {
                    media_type: "image/jpeg".to_owned(),
                    obfuscation: opts.audit_image_obfuscation,
                    data: base64::engine::general_purpose::STANDARD.encode(jpeg),
                })
        } else {
            None
        };
        let mut device = self.ctx.device.clone();
        device.kiosk = self.ctx.signer.kiosk_id().to_owned();
        let jti = uuid::Builder::from_random_bytes(self.rng.r#gen())
            .into_uuid()
            .to_string();
        ResultClaims {
            jti,
            iss: self.ctx.signer.kiosk_id().to_owned(),
            sub: opts.session_id.clone(),
            session_id: opts.session_id.clone(),
            iat: now / 1000,
            exp: (now / 1000).saturating_add(self.ctx.policy.result_ttl_s),
            status: status.as_str().to_owned(),
            is_verified: verified,
            r#match: MatchClaim {
                score: deciding.and_then(|a| a.score),
                level: deciding.and_then(|a| a.level),
                minimum_level: min.get(),
                threshold: self.ctx.calibration.threshold(min),
                level_extrapolated: level_info.is_some_and(|l| l.extrapolated),
            },
            liveness: LivenessClaim {
                detected,
                method: mode.as_str().to_owned(),
                score,
                challenges: decided.map(|a| a.challenges.clone()).unwrap_or_default(),
                three_d,
                passive,
                note: (mode == LivenessMode::Attended).then(|| {
                    "attended session: no liveness check ran; staff watched the person".to_owned()
                }),
            },
            attempts: self.attempts.clone(),
            quality: best.and_then(|b| b.metrics),
            device,
            lang: opts.lang.clone(),
            started_at: self.started_at,
            finished_at: now,
            nonce: opts.nonce.clone(),
            walk_in: opts.walk_in,
            audit_image,
        }
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
