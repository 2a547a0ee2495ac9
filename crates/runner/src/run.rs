//! The session loop: a capture thread, the analysis of the latest frame, the session's clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use facekiosk_capture::{CaptureError, CaptureOptions, FrameSource, SourceInfo, SourceKind};
use facekiosk_face::engine::FaceEngine;
use facekiosk_identity::{KioskIdentity, TEST_JWKS_FILE, TestJwksFile, Verified};
use facekiosk_session::claims::DeviceClaim;
use facekiosk_session::{
    ErrorCode, Event, Input, OperationError, Reference, Session, SessionContext, SessionOptions,
    SessionPolicy,
};

use crate::RunError;
use crate::clock::SessionClock;
use crate::provenance::{media_error, provenance};
use crate::queue::{Item, Queue};
use crate::signing::{SessionSigner, session_seed, signer_for};
use crate::step::FrameStep;

/// How long the analysis loop waits for a frame before it lets the session's timers run, ms.
const TICK_MS: u64 = 100;
/// How long a source may take to open (a camera starting up), s.
const OPEN_TIMEOUT_S: u64 = 30;
/// Pause between attempts to get a lost camera back, ms.
const RECONNECT_MS: u64 = 500;

/// Where frames come from: a source spec (`camera`, `camera:N`, a folder, a video file) and how
/// to open it.
#[derive(Clone, Debug)]
pub struct SourceSpec {
    /// The spec, as [`facekiosk_capture::open`] takes it.
    pub spec: String,
    /// Capture options.
    pub options: CaptureOptions,
}

impl SourceSpec {
    /// A source.
    pub fn new(spec: impl Into<String>, options: CaptureOptions) -> Self {
        Self {
            spec: spec.into(),
            options,
        }
    }
}

/// What the kiosk's UI (or staff) can do during a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Cancel the session.
    Cancel,
    /// Try again after a failed attempt.
    Retry,
}

/// One analysed frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameStats {
    /// Analysis and session step, ms.
    pub ms: f64,
    /// Frames dropped so far (a newer one arrived while the engine was busy).
    pub dropped: u64,
    /// The frame's time, ms from the session's start.
    pub at_ms: u64,
    /// The main face's box as fractions of the frame (x, y, width, height; as the camera
    /// sees it, not mirrored), when a face was found.
    pub face: Option<[f32; 4]>,
    /// The face was followed from the frame before, without the detector.
    pub followed: bool,
}

/// The main face's box as fractions of the frame.
fn face_box(a: &facekiosk_face::engine::FrameAnalysis) -> Option<[f32; 4]> {
    let d = a.faces.first()?;
    let (w, h) = (a.width.max(1) as f32, a.height.max(1) as f32);
    let b = &d.bbox;
    Some([b.x / w, b.y / h, b.width / w, b.height / h])
}

/// What a run reports as it goes.
pub trait Reporter {
    /// The source opened and the signer was chosen.
    fn started(&mut self, _source: &SourceInfo, _signer: &SessionSigner) {}
    /// One event (never the final success/error, which the caller gets as [`Ending`]).
    fn event(&mut self, at_ms: u64, event: &Event);
    /// One frame went through analysis and the session.
    fn frame_done(&mut self, _stats: FrameStats) {}
}

/// A reporter that reports nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoReport;

impl Reporter for NoReport {
    fn event(&mut self, _at_ms: u64, _event: &Event) {}
}

/// How a run ended.
#[derive(Debug)]
pub enum Ending {
    /// The signed result and its verified claims.
    Success {
        /// The result (compact JWS).
        jws: String,
        /// Its claims, verified with the key that signed it.
        verified: Verified,
        /// For a test result: the JWKS file that verifies it.
        test_jwks: Option<PathBuf>,
    },
    /// The error, and the partial result's claims when there is one.
    Error {
        /// The session's error.
        error: OperationError,
        /// The partial result, verified, when the session returned one.
        partial: Option<Verified>,
        /// For a test session: the JWKS file that verifies its partial result.
        test_jwks: Option<PathBuf>,
    },
}

/// Everything a run needs besides the reference and the source.
pub struct RunSetup<'a> {
    /// The face engine.
    pub engine: &'a FaceEngine,
    /// The kiosk's identity (its key signs camera sessions).
    pub identity: &'a KioskIdentity,
    /// What the kiosk allows and how it times a session.
    pub policy: SessionPolicy,
    /// The session's options.
    pub options: SessionOptions,
    /// Play files at their frame rate (dropping frames the engine cannot keep up with), as a
    /// camera would deliver them; by default files run as fast as the engine goes, every frame.
    pub realtime: bool,
    /// Where test keys are published.
    pub test_jwks: TestJwksFile,
    /// Cancel and retry from the UI.
    pub control: Option<Receiver<Control>>,
    /// Shown every frame the source delivers, on the capture thread, before analysis (the
    /// app's live preview: it must be quick, or it slows the capture).
    pub preview: Option<Preview>,
    /// The challenges' seed, fixed: only for a recorded clip made for that seed (a test or a
    /// demonstration). Refused on a camera: predictable challenges defeat liveness.
    pub challenge_seed: Option<u64>,
}

/// A live preview: called with every frame the source delivers.
pub type Preview = Arc<dyn Fn(&image::RgbImage) + Send + Sync>;

impl std::fmt::Debug for RunSetup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunSetup")
            .field("options", &self.options)
            .field("realtime", &self.realtime)
            .finish_non_exhaustive()
    }
}

impl<'a> RunSetup<'a> {
    /// A setup with the default policy, test keys published in the data directory.
    pub fn new(
        engine: &'a FaceEngine,
        identity: &'a KioskIdentity,
        options: SessionOptions,
    ) -> Self {
        let dir = facekiosk_face::runtime::data_dir()
            .unwrap_or_else(|| std::env::temp_dir().join("facekiosk"));
        Self {
            engine,
            identity,
            policy: SessionPolicy::default(),
            options,
            realtime: false,
            test_jwks: TestJwksFile::new(dir.join(TEST_JWKS_FILE)),
            control: None,
            preview: None,
            challenge_seed: None,
        }
    }

    /// Runs the session to its end.
    pub fn run(
        &self,
        reference: Reference,
        source: SourceSpec,
        reporter: &mut dyn Reporter,
    ) -> Result<Ending, RunError> {
        let clock = SessionClock::start();
        let allow_virtual = source.options.allow_virtual_camera;
        let queue = Arc::new(Queue::new(
            !self.realtime && !source.spec.starts_with("camera"),
        ));
        let thread = spawn_capture(
            source,
            queue.clone(),
            clock,
            self.realtime,
            self.preview.clone(),
        )?;
        let result = self.drive(reference, &queue, clock, allow_virtual, reporter);
        queue.stop();
        // The thread ends at its next frame (a camera delivers one within a frame period).
        let _ = thread.join();
        result
    }

    fn drive(
        &self,
        reference: Reference,
        queue: &Queue,
        clock: SessionClock,
        allow_virtual: bool,
        reporter: &mut dyn Reporter,
    ) -> Result<Ending, RunError> {
        let info = match queue.pop(Duration::from_secs(OPEN_TIMEOUT_S)) {
            Some(Item::Opened(info)) => info,
            Some(Item::Failed(e)) => return Ok(early_error(media_error(&e))),
            _ => {
                return Ok(early_error(OperationError::new(
                    ErrorCode::MediaNotFoundError,
                    format!("the source did not open within {OPEN_TIMEOUT_S} s"),
                )));
            }
        };
        let start = clock.start_ms();
        let signing = signer_for(info.kind, self.identity, &self.test_jwks, start / 1000)?;
        reporter.started(&info, &signing);
        let runtime = self.engine.runtime_info();
        let (calibration, _) = self.engine.calibration();
        let ctx = SessionContext {
            signer: signing.signer.clone(),
            device: DeviceClaim {
                kiosk: String::new(),
                camera: info.name.clone(),
                app_version: env!("CARGO_PKG_VERSION").to_owned(),
                execution_provider: runtime.provider.to_string(),
            },
            calibration: calibration.clone(),
            passive_threshold: self.engine.passive_liveness_threshold(),
            policy: self.policy.clone(),
            provenance: provenance(self.engine, &info, allow_virtual),
        };
        let mut seed = session_seed()?;
        if let Some(fixed) = self.challenge_seed {
            if info.kind == SourceKind::Camera {
                return Ok(early_error(OperationError::new(
                    ErrorCode::InvalidConfig,
                    "a fixed challenge seed is only for recorded clips, never for a camera",
                )));
            }
            seed.challenges = fixed;
        }
        let (session, events) = Session::start(self.options.clone(), ctx, reference, seed, start);
        let mut step = FrameStep::new(self.engine, session, self.options.audit_image);
        let mut outcome: Outcome = None;
        dispatch(reporter, 0, events, &mut outcome);
        let file = info.kind != SourceKind::Camera;
        let mut last_now = start;
        // A clip that ended while a failed attempt waited for the person (a screen with Try
        // again and Stop): nothing is said until they choose; a retry then finds no frames.
        let mut ended_waiting = false;
        // The clip ended before the session did: as a camera that is gone.
        let clip_ended = |step: &mut FrameStep<'_>,
                          last_now: u64,
                          outcome: &mut Outcome,
                          reporter: &mut dyn Reporter| {
            let err = OperationError::new(
                ErrorCode::MediaNotFoundError,
                "the video ended before the session finished",
            );
            let ev = step.input(last_now, Input::CameraLost(err));
            dispatch(reporter, last_now.saturating_sub(start), ev, outcome);
            let after = last_now + self.policy.camera_grace_ms;
            (after, step.input(after, Input::Tick))
        };
        while !step.session().is_finished() {
            if let Some(rx) = &self.control
                && let Ok(c) = rx.try_recv()
            {
                let now = if file { last_now } else { clock.now_ms() };
                let input = match c {
                    Control::Cancel => Input::Cancel,
                    Control::Retry => Input::Retry,
                };
                let ev = step.input(now, input);
                dispatch(reporter, now.saturating_sub(start), ev, &mut outcome);
                if ended_waiting && !step.session().is_finished() {
                    let (after, ev) = clip_ended(&mut step, last_now, &mut outcome, reporter);
                    last_now = last_now.max(after);
                    dispatch(reporter, after.saturating_sub(start), ev, &mut outcome);
                }
                continue;
            }
            let Some(item) = queue.pop(Duration::from_millis(TICK_MS)) else {
                if !file {
                    let now = clock.now_ms();
                    let ev = step.input(now, Input::Tick);
                    dispatch(reporter, now.saturating_sub(start), ev, &mut outcome);
                }
                continue;
            };
            let (now, ev) = match item {
                Item::Frame { at, image } => {
                    let t = Instant::now();
                    let (mut face, mut followed) = (None, false);
                    let ev = step.frame_inspect(at, image, |a| {
                        face = face_box(a);
                        followed = a.followed;
                    });
                    reporter.frame_done(FrameStats {
                        ms: t.elapsed().as_secs_f64() * 1e3,
                        dropped: queue.dropped(),
                        at_ms: at.saturating_sub(start),
                        face,
                        followed,
                    });
                    (at, ev)
                }
                Item::Skipped { at, reason } => {
                    let at = if file { last_now } else { at };
                    (at, step.input(at, Input::FrameSkipped(reason)))
                }
                Item::Lost(e) => {
                    let now = if file { last_now } else { clock.now_ms() };
                    (now, step.input(now, Input::CameraLost(media_error(&e))))
                }
                Item::Back => {
                    let now = clock.now_ms();
                    (now, step.input(now, Input::CameraBack))
                }
                Item::End if self.control.is_some() && step.session().awaits_retry() => {
                    ended_waiting = true;
                    continue;
                }
                Item::End => clip_ended(&mut step, last_now, &mut outcome, reporter),
                Item::Failed(e) => {
                    let now = if file { last_now } else { clock.now_ms() };
                    (now, step.input(now, Input::Fail(media_error(&e))))
                }
                Item::Opened(_) => continue,
            };
            last_now = last_now.max(now);
            dispatch(reporter, now.saturating_sub(start), ev, &mut outcome);
        }
        let verify_now = clock.now_ms().max(last_now) / 1000;
        let test_jwks = signing.test_jwks.clone();
        match outcome {
            Some(Ok(jws)) => {
                let verified = facekiosk_identity::verify(&jws, &signing.jwks, verify_now)?;
                Ok(Ending::Success {
                    jws,
                    verified,
                    test_jwks,
                })
            }
            Some(Err(error)) => {
                let partial = error
                    .data
                    .as_deref()
                    .and_then(|d| facekiosk_identity::verify(d, &signing.jwks, verify_now).ok());
                Ok(Ending::Error {
                    error,
                    partial,
                    test_jwks,
                })
            }
            None => Err(RunError::NoOutcome),
        }
    }
}

fn early_error(error: OperationError) -> Ending {
    Ending::Error {
        error,
        partial: None,
        test_jwks: None,
    }
}

/// Starts the capture thread: it opens the source (so the source never crosses threads), then
/// hands frames and events over until the consumer stops.
fn spawn_capture(
    source: SourceSpec,
    queue: Arc<Queue>,
    clock: SessionClock,
    realtime: bool,
    preview: Option<Preview>,
) -> Result<std::thread::JoinHandle<()>, RunError> {
    std::thread::Builder::new()
        .name("facekiosk-capture".to_owned())
        .spawn(move || {
            let mut src = match facekiosk_capture::open(&source.spec, &source.options) {
                Ok(s) => s,
                Err(e) => {
                    queue.push(Item::Failed(e));
                    return;
                }
            };
            let info = src.info();
            let file = info.kind != SourceKind::Camera;
            if !queue.push(Item::Opened(info)) {
                return;
            }
            capture_loop(
                src.as_mut(),
                &queue,
                clock,
                file,
                realtime,
                preview.as_deref(),
            );
        })
        .map_err(RunError::Thread)
}

fn capture_loop(
    src: &mut dyn FrameSource,
    queue: &Queue,
    clock: SessionClock,
    file: bool,
    realtime: bool,
    preview: Option<&(dyn Fn(&image::RgbImage) + Send + Sync)>,
) {
    let started = Instant::now();
    loop {
        let item = match src.next_frame() {
            Ok(Some(frame)) => {
                if file && realtime {
                    let due = Duration::from_millis(frame.timestamp_ms);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        std::thread::sleep(wait);
                    }
                }
                // Files run on their own time line; a camera's frame is stamped on arrival.
                let at = if file {
                    clock.start_ms() + frame.timestamp_ms
                } else {
                    clock.now_ms()
                };
                if let Some(show) = preview {
                    show(&frame.image);
                }
                Item::Frame {
                    at,
                    image: frame.image,
                }
            }
            Ok(None) => {
                queue.push(Item::End);
                return;
            }
            Err(CaptureError::CorruptFrame { index, reason }) => Item::Skipped {
                at: clock.now_ms(),
                reason: format!("frame {index}: {reason}"),
            },
            Err(e @ CaptureError::Disconnected(_)) => {
                if !queue.push(Item::Lost(e)) || !reconnect(src, queue) {
                    return;
                }
                continue;
            }
            Err(e) => {
                queue.push(Item::Failed(e));
                return;
            }
        };
        if !queue.push(item) {
            return;
        }
    }
}

/// Tries to get a lost camera back until it comes back (true) or the consumer stops (false).
fn reconnect(src: &mut dyn FrameSource, queue: &Queue) -> bool {
    while !queue.stopped() {
        std::thread::sleep(Duration::from_millis(RECONNECT_MS));
        match src.reconnect() {
            Ok(()) => return queue.push(Item::Back),
            // Came back as something it must not be (a virtual camera): the session ends.
            Err(e @ CaptureError::VirtualCamera(_)) => {
                queue.push(Item::Failed(e));
                return false;
            }
            // A file cannot come back.
            Err(CaptureError::Invalid(_)) => return false,
            Err(_) => {}
        }
    }
    false
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
