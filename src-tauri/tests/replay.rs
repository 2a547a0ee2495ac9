//! A clip recorded for a session's fixed challenge draw plays out the same every time through
//! the app's visit (so the end-to-end test can rely on it), one visit leaves nothing behind
//! that changes the next (the engine is shared by every customer), and someone else's ID
//! photo fails the match — not the liveness check, which does not look at the ID photo.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use base64::Engine as _;
use facekiosk_face::engine::{FaceConfig, FaceEngine};
use facekiosk_face::manifest::sha256_hex;
use facekiosk_face::runtime::RuntimeConfig;
use facekiosk_kiosk::config::KioskConfig;
use facekiosk_kiosk::store::KioskStore;
use facekiosk_kiosk::visit::{ClaimedVisit, Outcome, VisitEvent, VisitSetup, run_visit};
use facekiosk_session::guidance::Hint;
use serde_json::json;

mod support;
use support::{jpeg_of, record_clip};

fn visit(photo: &[u8]) -> ClaimedVisit {
    ClaimedVisit::from_answer(&json!({
        "sessionId": "ses_replay", "test": true,
        "settings": { "maxAttempts": 3, "minimumMatchLevel": 3, "liveness": "active" },
        "referenceImage": {
            "data": base64::engine::general_purpose::STANDARD.encode(photo),
            "sha256": sha256_hex(photo),
        },
    }))
    .unwrap()
}

#[test]
fn a_recorded_clip_replays_the_same_and_a_stranger_fails_the_match() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = RuntimeConfig {
        intra_threads: 1,
        ..RuntimeConfig::default()
    };
    let engine = FaceEngine::load(&runtime, &FaceConfig::default()).unwrap();
    let id_photo = jpeg_of(
        facekiosk_synth::demo::PHOTO,
        facekiosk_synth::demo::id_photo,
    );
    let clip = dir.path().join("head.avi");
    let seed = (1..=12)
        .find(|&s| record_clip(&engine, &id_photo, s, &clip))
        .expect("a draw the synthetic head passes, among 12");
    let mut config = KioskConfig {
        runtime,
        ..KioskConfig::default()
    };
    config.kiosk.camera = clip.display().to_string();
    config.kiosk.test_challenge_seed = Some(seed);
    let store = KioskStore::in_dir(&dir.path().join("kiosk"), &config);
    let (identity, _, _) = store.identity().unwrap();
    let run = |photo: &[u8]| {
        let mut events = Vec::new();
        let end = run_visit(
            VisitSetup {
                config: &config,
                store: &store,
                engine: &engine,
                identity: &identity,
                control: None,
                preview: None,
            },
            &visit(photo),
            &mut |e: VisitEvent| events.push(e),
        );
        (end.outcome, events)
    };
    let (first, events) = run(&id_photo);
    assert_eq!(first, Outcome::Success, "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, VisitEvent::AttemptFailed { .. })),
        "at the first attempt, as recorded: {events:?}"
    );
    let (second, again) = run(&id_photo);
    assert_eq!(second, Outcome::Success, "{again:?}");
    let prompts = |ev: &[VisitEvent]| {
        ev.iter()
            .filter(|e| matches!(e, VisitEvent::Challenge { .. }))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(prompts(&events), prompts(&again), "the same challenges");

    let stranger = jpeg_of(
        &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/grace_hopper.jpg"),
        )
        .unwrap(),
        |i| i.clone(),
    );
    let (_, events) = run(&stranger);
    let failed = events.iter().find_map(|e| match e {
        VisitEvent::AttemptFailed {
            hint,
            attempts_left,
        } => Some((*hint, *attempts_left)),
        _ => None,
    });
    assert_eq!(failed, Some((Hint::TryAgain, 2)), "{events:?}");
}
