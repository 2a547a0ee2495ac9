//! What the app's tests share: a clip of the synthetic head recorded for a session's fixed
//! challenge draw, and JPEG photos made from the project's test images.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

use std::path::Path;

use facekiosk_face::decode::{DecodeLimits, decode};
use facekiosk_face::engine::FaceEngine;

/// Frames per second of the recorded clips.
pub const FPS: u32 = 15;

/// Records a clip of the synthetic head of the built-in photo doing what a session seeded with
/// `seed` asks, frame by frame as the app will see it (each frame JPEG-encoded as the clip
/// stores it, at the clip's timestamps), and writes it to `path`. Returns whether that session
/// passed at its first attempt (a draw the synthetic head cannot do, such as a blink, fails;
/// so does, now and then, a nod right after a turn). Stops at the first failed attempt.
pub fn record_clip(engine: &FaceEngine, id_photo: &[u8], seed: u64, path: &Path) -> bool {
    use facekiosk_face::manifest::sha256_hex;
    use facekiosk_runner::FrameStep;
    use facekiosk_session::claims::{DeviceClaim, ReferenceSource};
    use facekiosk_session::guidance::Hint;
    use facekiosk_session::{
        Event, Reference, Session, SessionContext, SessionOptions, SessionPolicy, SessionSeed,
    };
    use facekiosk_synth::actor::{Action, Actor, Person, Prompt, Scene};
    use rand::SeedableRng as _;

    let limits = DecodeLimits::default();
    let photo = decode(facekiosk_synth::demo::PHOTO, limits).unwrap();
    let analysis = engine.analyze(&photo, &engine.photo_options()).unwrap();
    let landmarks = analysis.face.as_ref().unwrap().landmarks.as_ref().unwrap();
    let head = facekiosk_synth::head::Head::new(&photo, landmarks, 90.0).unwrap();
    let id = decode(id_photo, limits).unwrap();
    let reference = Reference::from_photo(
        &engine.analyze(&id, &engine.photo_options()).unwrap(),
        sha256_hex(id_photo),
        ReferenceSource::Api,
    )
    .unwrap();
    let key = facekiosk_identity::TestKey::generate(
        &facekiosk_identity::KioskIdentity::from_seed("rec", [1; 32], 0),
        0,
        u64::MAX / 4,
    )
    .unwrap();
    let source = facekiosk_capture::SourceInfo {
        name: "recording".to_owned(),
        kind: facekiosk_capture::SourceKind::Video,
        fps: Some(FPS as f32),
        frames: None,
        is_virtual: false,
    };
    let ctx = SessionContext {
        signer: key.signer(),
        device: DeviceClaim::default(),
        calibration: engine.calibration().0.clone(),
        passive_threshold: engine.passive_liveness_threshold(),
        policy: SessionPolicy::default(),
        provenance: facekiosk_runner::provenance(engine, &source, false),
    };
    let options = SessionOptions {
        session_id: "recording".to_owned(),
        ..SessionOptions::default()
    };
    let t0 = 1_800_000_000_000u64;
    let (session, events) = Session::start(
        options,
        ctx,
        reference,
        SessionSeed {
            challenges: seed,
            result_id: [0; 16],
        },
        t0,
    );
    let mut step = FrameStep::new(engine, session, false);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut actor = Person::new(head, Scene::random(&mut rng), &mut rng);
    let mut prompt: Option<Prompt> = None;
    let follow = |events: &[Event], t: f32, prompt: &mut Option<Prompt>| {
        for e in events {
            match e {
                Event::Challenge(c) => {
                    let action = match c.kind {
                        facekiosk_session::options::ChallengeKind::TurnLeft => Action::TurnLeft,
                        facekiosk_session::options::ChallengeKind::TurnRight => Action::TurnRight,
                        facekiosk_session::options::ChallengeKind::LookUp => Action::LookUp,
                        facekiosk_session::options::ChallengeKind::LookDown => Action::LookDown,
                        facekiosk_session::options::ChallengeKind::Smile => Action::Smile,
                        facekiosk_session::options::ChallengeKind::Blink => Action::Blink,
                    };
                    *prompt = Some(Prompt {
                        action,
                        shown_ms: t,
                    });
                }
                Event::Guidance(h) if *h != Hint::FollowChallenge => *prompt = None,
                _ => {}
            }
        }
    };
    follow(&events, 0.0, &mut prompt);
    let mut frames = Vec::new();
    let mut passed = false;
    let mut index = 0u64;
    // Up to 40 s, then one more second after the end so the app's run is never short of
    // frames.
    let mut after_end = 0;
    while index < u64::from(FPS) * 40 && after_end < FPS {
        let ts = (index as f64 * 1000.0 / f64::from(FPS)) as u64;
        let canvas = actor.frame(ts as f32, prompt, &mut rng);
        let image = facekiosk_synth::camera::capture(&canvas, &mut rng);
        if step.session().is_finished() {
            after_end += 1;
        } else {
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
                .encode_image(&image)
                .unwrap();
            let events = step.frame(t0 + ts, decode(&jpeg, limits).unwrap());
            passed |= events.iter().any(|e| matches!(e, Event::Success(_)));
            if events
                .iter()
                .any(|e| matches!(e, Event::Guidance(Hint::TryAgain | Hint::LivenessTryAgain)))
            {
                return false;
            }
            follow(&events, ts as f32, &mut prompt);
        }
        frames.push(image);
        index += 1;
    }
    facekiosk_capture::video::write_avi(path, &frames, FPS).unwrap();
    passed
}

/// `photo` (any format) decoded, passed through `crop`, as a JPEG.
pub fn jpeg_of(photo: &[u8], crop: impl Fn(&image::RgbImage) -> image::RgbImage) -> Vec<u8> {
    let img = decode(photo, DecodeLimits::default()).unwrap();
    let mut out = Vec::new();
    crop(&img)
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    out
}
