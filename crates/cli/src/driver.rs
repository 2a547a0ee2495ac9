//! Runs one face session headless: frames from a source, analysed by the face engine, fed to
//! the session state machine with the time; the session's events reported as they come.
//!
//! Time: file sources run on their own time line (start + the frame's timestamp), so a clip
//! replays the same way at any speed; cameras run on the wall clock. `realtime` paces files at
//! their frame rate.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use facekiosk_capture::{CaptureError, FrameSource, SourceKind};
use facekiosk_face::engine::{EmbedWhen, FaceEngine};
use facekiosk_identity::{KioskIdentity, Verified};
use facekiosk_session::claims::DeviceClaim;
use facekiosk_session::observation::FrameObservation;
use facekiosk_session::{
    ErrorCode, Event, Input, OperationError, Session, SessionContext, SessionOptions, SessionPolicy,
};

/// How a session run ended.
#[derive(Debug)]
pub enum Ending {
    /// The signed result and its verified claims.
    Success { jws: String, verified: Verified },
    /// The error, and the partial result's claims when there is one.
    Error {
        error: OperationError,
        partial: Option<Verified>,
    },
}

/// What to report while the session runs.
pub trait Reporter {
    /// One event (never the final success/error, which the caller gets as [`Ending`]).
    fn event(&mut self, at_ms: u64, event: &Event);
    /// One frame went through reading, decoding, analysis and the session in `ms`.
    fn frame_done(&mut self, _ms: f64) {}
}

/// The unix time now, ms (the edge of the program: the session itself never reads a clock).
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Fresh randomness for the session's challenges and result id.
pub fn seed() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::getrandom(&mut b).is_err() {
        // No OS randomness is not worth stopping a kiosk for; the clock still varies per session.
        return unix_ms() ^ 0x9E37_79B9_7F4A_7C15;
    }
    u64::from_le_bytes(b)
}

/// Maps a source error to the session's error.
pub fn media_error(e: &CaptureError) -> OperationError {
    let code = match e {
        CaptureError::NotFound(_) | CaptureError::Disconnected(_) => ErrorCode::MediaNotFoundError,
        CaptureError::NotAllowed(_) => ErrorCode::MediaNotAllowedError,
        CaptureError::VirtualCamera(_) => ErrorCode::MediaVirtualCameraDetected,
        CaptureError::Invalid(_) | CaptureError::Io { .. } | CaptureError::CorruptFrame { .. } => {
            ErrorCode::InvalidConfig
        }
    };
    OperationError::new(code, e.to_string())
}

/// Everything a run needs.
pub struct Run<'a> {
    /// The face engine.
    pub engine: &'a FaceEngine,
    /// The kiosk's identity.
    pub identity: &'a KioskIdentity,
    /// What the kiosk allows.
    pub policy: SessionPolicy,
    /// The session's options.
    pub options: SessionOptions,
    /// Pace file sources at their frame rate.
    pub realtime: bool,
}

impl Run<'_> {
    /// Runs the session to its end.
    pub fn run(
        &self,
        reference: facekiosk_face::embed::Embedding,
        source: &mut dyn FrameSource,
        reporter: &mut dyn Reporter,
    ) -> anyhow::Result<Ending> {
        let info = source.info();
        let (calibration, _) = self.engine.calibration();
        let runtime = self.engine.runtime_info();
        let ctx = SessionContext {
            signer: self.identity.signer(),
            device: DeviceClaim {
                kiosk: String::new(),
                camera: info.name.clone(),
                app_version: env!("CARGO_PKG_VERSION").to_owned(),
                execution_provider: runtime.provider.to_string(),
            },
            calibration: calibration.clone(),
            passive_threshold: self.engine.passive_liveness_threshold(),
            policy: self.policy.clone(),
        };
        let keep_image = self.options.audit_image;
        let start_wall = unix_ms();
        let started = Instant::now();
        let (mut session, events) =
            Session::start(self.options.clone(), ctx, reference, seed(), start_wall);
        let mut outcome: Outcome = None;
        let report =
            |reporter: &mut dyn Reporter, now: u64, events: Vec<Event>, outcome: &mut Outcome| {
                dispatch(reporter, now.saturating_sub(start_wall), events, outcome);
            };
        report(reporter, start_wall, events, &mut outcome);
        let file = info.kind != SourceKind::Camera;
        // Files run on their own time line; cameras on the wall clock.
        let clock = |ts: u64| if file { start_wall + ts } else { unix_ms() };
        let mut last_now = start_wall;
        let mut live = self.engine.live_options();
        while !session.is_finished() {
            // During the challenges every frame with a face is embedded, good or not (the
            // session checks it is still the person captured); otherwise only good frames.
            live.embed = if session.checks_identity() {
                EmbedWhen::Always
            } else {
                EmbedWhen::IfGood
            };
            let frame_started = Instant::now();
            let (now, input) = match source.next_frame() {
                Ok(Some(frame)) => {
                    if self.realtime && file {
                        let due = Duration::from_millis(frame.timestamp_ms);
                        if let Some(wait) = due.checked_sub(started.elapsed()) {
                            std::thread::sleep(wait);
                        }
                    }
                    let now = clock(frame.timestamp_ms);
                    match self.engine.analyze(&frame.image, &live) {
                        Ok(analysis) => {
                            let image = keep_image.then(|| Arc::new(frame.image));
                            let obs = FrameObservation::from_analysis(analysis, image);
                            (now, Input::Frame(Box::new(obs)))
                        }
                        // The models failed: the session ends with MODEL_ERROR (and its
                        // trace, error and finally), not with a bare error of this loop.
                        Err(e) => (
                            now,
                            Input::Fail(OperationError::new(ErrorCode::ModelError, e.to_string())),
                        ),
                    }
                }
                Err(CaptureError::CorruptFrame { index, reason }) => {
                    let now = if file { last_now } else { unix_ms() };
                    (now, Input::FrameSkipped(format!("frame {index}: {reason}")))
                }
                Err(e @ CaptureError::Disconnected(_)) => {
                    let now = unix_ms();
                    let ev = session.handle(now, Input::CameraLost(media_error(&e)));
                    report(reporter, now, ev, &mut outcome);
                    self.wait_for_camera(&mut session, source, reporter, start_wall, &mut outcome);
                    continue;
                }
                Err(e) => (
                    if file { last_now } else { unix_ms() },
                    Input::Fail(media_error(&e)),
                ),
                Ok(None) => {
                    // The clip ended before the session did: as a camera that is gone.
                    let err = OperationError::new(
                        ErrorCode::MediaNotFoundError,
                        "the video ended before the session finished",
                    );
                    let ev = session.handle(last_now, Input::CameraLost(err));
                    report(reporter, last_now, ev, &mut outcome);
                    let after = last_now + self.policy.camera_grace_ms;
                    let ev = session.handle(after, Input::Tick);
                    report(reporter, after, ev, &mut outcome);
                    last_now = after;
                    break;
                }
            };
            last_now = now;
            let was_frame = matches!(input, Input::Frame(_));
            let ev = session.handle(now, input);
            report(reporter, now, ev, &mut outcome);
            if was_frame {
                reporter.frame_done(frame_started.elapsed().as_secs_f64() * 1e3);
            }
        }
        let jwks = self.identity.jwks();
        let verify_now = unix_ms().max(last_now) / 1000;
        match outcome {
            Some(Ok(jws)) => {
                let verified = facekiosk_identity::verify(&jws, &jwks, verify_now)?;
                Ok(Ending::Success { jws, verified })
            }
            Some(Err(error)) => {
                let partial = error
                    .data
                    .as_deref()
                    .and_then(|d| facekiosk_identity::verify(d, &jwks, verify_now).ok());
                Ok(Ending::Error { error, partial })
            }
            None => anyhow::bail!("the session ended without a result"),
        }
    }

    fn wait_for_camera(
        &self,
        session: &mut Session,
        source: &mut dyn FrameSource,
        reporter: &mut dyn Reporter,
        start_wall: u64,
        outcome: &mut Outcome,
    ) {
        while !session.is_finished() {
            std::thread::sleep(Duration::from_millis(500));
            let now = unix_ms();
            let (back, input) = match source.reconnect() {
                Ok(()) => (true, Input::CameraBack),
                // Came back as something it must not be (a virtual camera): the session ends.
                Err(e @ CaptureError::VirtualCamera(_)) => (false, Input::Fail(media_error(&e))),
                Err(_) => (false, Input::Tick),
            };
            let ev = session.handle(now, input);
            dispatch(reporter, now.saturating_sub(start_wall), ev, outcome);
            if back {
                return;
            }
        }
    }
}

/// The session's final word: the result JWS or the error.
type Outcome = Option<Result<String, OperationError>>;

/// Hands events to the reporter and keeps the final success or error.
fn dispatch(reporter: &mut dyn Reporter, at_ms: u64, events: Vec<Event>, outcome: &mut Outcome) {
    for e in events {
        match e {
            Event::Success(jws) => *outcome = Some(Ok(jws)),
            Event::Error(err) => *outcome = Some(Err(err)),
            other => reporter.event(at_ms, &other),
        }
    }
}
