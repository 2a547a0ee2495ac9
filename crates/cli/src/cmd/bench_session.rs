//! The session engine's part of `facekiosk bench`: its own cost per frame (no models), and the
//! time from the first good frame to the decision when a 15 frames/s clip plays through the
//! whole pipeline (decoding, face engine, session).

use std::time::Instant;

use facekiosk_face::embed::Embedding;
use facekiosk_face::engine::FaceEngine;
use facekiosk_face::quality::{QualityMetrics, QualityReport};
use facekiosk_identity::{KioskIdentity, TestJwksFile};
use facekiosk_runner::{FrameStats, Reporter, RunSetup, SourceSpec};
use facekiosk_session::claims::{DeviceClaim, ReferenceClaim, ReferenceSource};
use facekiosk_session::observation::{FaceObservation, FrameObservation};
use facekiosk_session::trace::TraceEventKind;
use facekiosk_session::{
    Event, Input, LivenessMode, Provenance, Reference, Session, SessionContext, SessionOptions,
    SessionPolicy, SessionSeed, SessionStatus,
};
use serde::Serialize;

use crate::cmd::stat::Stat;

/// The session figures.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionBench {
    /// `Session::handle` per frame, µs (positioning and capture frames, no models).
    pub overhead_us: Stat,
    /// From the first good frame to the decision, on the clip's 15 frames/s time line, ms.
    pub first_good_frame_to_decision_ms: f64,
    /// Wall-clock time per frame through decoding, the face engine and the session, ms
    /// (under 66.7 ms keeps up with 15 frames/s).
    pub pipeline_per_frame_ms: Stat,
    /// Frames of the clip the detector ran on.
    pub detector_frames: usize,
    /// Frames of the clip whose face was followed from the frame before, without the detector.
    pub followed_frames: usize,
}

fn observation(similarity: f32) -> FrameObservation {
    let mut v = vec![0.0f32; 192];
    v[0] = similarity;
    v[1] = (1.0 - similarity * similarity).sqrt();
    FrameObservation {
        width: 640,
        height: 480,
        faces: 1,
        quality: QualityReport {
            issues: Vec::new(),
            metrics: Some(QualityMetrics {
                eye_distance_px: 60.0,
                face_fraction: 0.3,
                sharpness: 300.0,
                brightness: 130.0,
                inside_fraction: 1.0,
                faces_counted: 1,
                ..QualityMetrics::default()
            }),
        },
        face: Some(FaceObservation {
            embedding: Embedding::from_raw(v),
            ..FaceObservation::default()
        }),
        image: None,
    }
}

fn context(engine: &FaceEngine, identity: &KioskIdentity) -> SessionContext {
    SessionContext {
        signer: identity.signer(),
        device: DeviceClaim::default(),
        calibration: engine.calibration().0.clone(),
        passive_threshold: None,
        policy: SessionPolicy {
            allow_attended: true,
            ..SessionPolicy::default()
        },
        provenance: Provenance::default(),
    }
}

fn reference(embedding: Embedding) -> Reference {
    Reference {
        embedding,
        claim: ReferenceClaim {
            sha256: String::new(),
            source: ReferenceSource::WalkIn,
        },
    }
}

/// Measures the session engine.
pub fn run(engine: &FaceEngine, iterations: usize) -> anyhow::Result<SessionBench> {
    let identity = KioskIdentity::from_seed("kiosk-bench", [9; 32], 0);
    let mut unit = vec![0.0f32; 192];
    unit[0] = 1.0;
    let embedding = Embedding::from_raw(unit).ok_or_else(|| anyhow::anyhow!("bad reference"))?;
    let options = SessionOptions {
        session_id: "bench".into(),
        liveness: LivenessMode::Attended,
        operator: Some("bench".into()),
        ..SessionOptions::default()
    };
    // 1. Overhead: frames through fresh sessions until each decides (signing included once).
    let mut samples = Vec::new();
    let frame = observation(0.9);
    while samples.len() < iterations.max(10) {
        let seed = SessionSeed {
            challenges: 1,
            result_id: [1; 16],
        };
        let (mut session, _) = Session::start(
            options.clone(),
            context(engine, &identity),
            reference(embedding.clone()),
            seed,
            0,
        );
        let mut now = 0;
        while !session.is_finished() {
            now += 66;
            let input = Input::Frame(Box::new(frame.clone()));
            let t = Instant::now();
            session.handle(now, input);
            samples.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    // 2. The demo clip through the whole pipeline, on its own 15 frames/s time line.
    let dir = tempfile::tempdir()?;
    let photo = facekiosk_face::decode::decode(facekiosk_synth::demo::PHOTO, Default::default())?;
    let clip = dir.path().join("clip.avi");
    facekiosk_capture::video::write_avi(&clip, &facekiosk_synth::demo::clip_frames(&photo), 15)?;
    let clip_reference = {
        let id = facekiosk_synth::demo::id_photo(&photo);
        engine
            .analyze(&id, &engine.photo_options())?
            .face
            .and_then(|f| f.embedding)
            .ok_or_else(|| anyhow::anyhow!("no face in the demo's ID photo"))?
    };
    let mut timer = Timer::default();
    let mut setup = RunSetup::new(engine, &identity, options);
    setup.policy = SessionPolicy {
        allow_attended: true,
        ..SessionPolicy::default()
    };
    setup.test_jwks = TestJwksFile::new(dir.path().join("test-jwks.json"));
    let source = SourceSpec::new(clip.to_string_lossy(), Default::default());
    setup.run(reference(clip_reference), source, &mut timer)?;
    let decision = match (timer.first_good, timer.decided) {
        (Some(a), Some(b)) => (b - a) as f64,
        _ => anyhow::bail!("the benchmark session did not decide"),
    };
    Ok(SessionBench {
        overhead_us: Stat::of(samples),
        first_good_frame_to_decision_ms: decision,
        detector_frames: timer.per_frame.len() - timer.followed,
        followed_frames: timer.followed,
        pipeline_per_frame_ms: Stat::of(timer.per_frame),
    })
}

#[derive(Default)]
struct Timer {
    first_good: Option<u64>,
    decided: Option<u64>,
    per_frame: Vec<f64>,
    followed: usize,
}

impl Reporter for Timer {
    fn event(&mut self, at_ms: u64, event: &Event) {
        match event {
            Event::Trace(t) if t.event == TraceEventKind::Capture && self.first_good.is_none() => {
                self.first_good = Some(at_ms);
            }
            Event::Status(SessionStatus::Complete | SessionStatus::Canceled) => {
                self.decided = Some(at_ms)
            }
            _ => {}
        }
    }

    fn frame_done(&mut self, stats: FrameStats) {
        self.per_frame.push(stats.ms);
        self.followed += usize::from(stats.followed);
    }
}
