//! The liveness protocol as an attacker meets it, and what a result attests: scripted sessions
//! on a fake clock (see `common`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use facekiosk_session::claims::{CaptureClaim, CaptureSource};
use facekiosk_session::options::ChallengeKind;
use facekiosk_session::{ErrorCode, Event, Input, OperationError, SessionOptions, SessionPolicy};

fn one_attempt() -> SessionOptions {
    SessionOptions {
        max_attempts: 1,
        ..options()
    }
}

fn last_error(s: &Script) -> Option<OperationError> {
    s.events.iter().rev().find_map(|(_, e)| match e {
        Event::Error(err) => Some(err.clone()),
        _ => None,
    })
}

fn failed_with(s: &Script, reason: &str) {
    let err = last_error(s).unwrap_or_else(|| panic!("no error:\n{}", s.transcript()));
    assert_eq!(err.code, ErrorCode::SessionInvalidatedLivenessFailed);
    let msg = err.message.unwrap_or_default();
    assert!(msg.contains(reason), "{msg}\n{}", s.transcript());
}

/// Does every action, whatever the prompt, over and over.
fn eager_face(frame: u32) -> Face {
    let phase = frame % 16;
    let mut f = Face::genuine();
    match phase {
        0..=3 => f.yaw = 24.0,
        4..=7 => f.yaw = -24.0,
        8..=9 => f.ear = 0.08,
        10..=12 => f.smile = 1.3,
        _ => {}
    }
    f
}

#[test]
fn an_eager_attacker_who_does_everything_fails() {
    for seed in 0..20u64 {
        let mut s = Script::start(one_attempt(), context(SessionPolicy::default(), false));
        // Genuine until the first prompt, then everything at once.
        s.until_challenge();
        let mut yaw = s.yaw;
        for i in 0..300u32 {
            if s.finished() {
                break;
            }
            let mut f = eager_face(i + seed as u32);
            yaw += (f.yaw - yaw).clamp(-8.0, 8.0);
            f.yaw = yaw;
            s.feed(f.frame());
        }
        assert_eq!(s.ends().0, 0, "seed {seed}:\n{}", s.transcript());
        failed_with(&s, "");
    }
}

/// A clip that loops neutral → turn left → turn right → blink → smile, whatever the prompts.
fn loop_face(frame: u32, neutral_frames: u32) -> Face {
    let cycle = neutral_frames + 30;
    let t = frame % cycle;
    let mut f = Face::genuine();
    if t < neutral_frames {
        return f;
    }
    match t - neutral_frames {
        0..=7 => f.yaw = 24.0,
        8..=17 => f.yaw = -24.0,
        18..=20 => {}
        21..=22 => f.ear = 0.08,
        23..=25 => {}
        _ => f.smile = 1.3,
    }
    f
}

#[test]
fn a_looping_clip_fails_whatever_its_timing() {
    for neutral in [8u32, 15, 25, 40] {
        for phase in 0..12u32 {
            let mut s = Script::start(one_attempt(), context(SessionPolicy::default(), false));
            let mut yaw = 0.0f32;
            for i in 0..600u32 {
                if s.finished() {
                    break;
                }
                let mut f = loop_face(i + phase * 5, neutral);
                yaw += (f.yaw - yaw).clamp(-8.0, 8.0);
                f.yaw = yaw;
                s.feed(f.frame());
            }
            assert_eq!(
                s.ends().0,
                0,
                "neutral {neutral} phase {phase}:\n{}",
                s.transcript()
            );
        }
    }
}

#[test]
fn another_face_after_the_challenges_fails() {
    let mut s = Script::start(one_attempt(), context(SessionPolicy::default(), false));
    // The real person does the capture and the challenges …
    for _ in 0..400 {
        if s.finished() {
            break;
        }
        let capture_after = s.events.iter().any(|(_, e)| {
            matches!(e, Event::Trace(t) if t.status_code.as_deref() == Some("AFTER_CHALLENGES"))
        });
        let who = if capture_after {
            // … and someone else stands in for the final capture.
            Face {
                similarity: 0.2,
                axis: 3,
                ..Face::genuine()
            }
        } else {
            Face::genuine()
        };
        let f = s.next_face(who);
        s.feed(f.frame());
    }
    failed_with(&s, "IDENTITY_CHANGED");
}

#[test]
fn another_face_after_the_first_capture_fails() {
    // The reference person's photo is held up for the capture; the attacker's own live face
    // does the challenges.
    let mut s = Script::start(one_attempt(), context(SessionPolicy::default(), false));
    s.until_challenge();
    s.perform(
        Face {
            similarity: 0.25,
            axis: 4,
            ..Face::genuine()
        },
        200,
    );
    failed_with(&s, "IDENTITY_CHANGED");
}

#[test]
fn a_face_that_leaves_the_view_mid_challenge_fails() {
    let mut s = Script::start(one_attempt(), context(SessionPolicy::default(), false));
    s.until_challenge();
    s.feed(empty());
    failed_with(&s, "FACE_LOST");
}

#[test]
fn a_face_the_engine_could_not_embed_is_a_lost_face() {
    let mut s = Script::start(one_attempt(), context(SessionPolicy::default(), false));
    s.until_challenge();
    let mut obs = Face::genuine().observation();
    if let Some(f) = obs.face.as_mut() {
        f.embedding = None;
    }
    s.feed(Input::Frame(Box::new(obs)));
    failed_with(&s, "FACE_LOST");
}

#[test]
fn a_silent_camera_breaks_the_chain() {
    let mut s = Script::start(one_attempt(), context(SessionPolicy::default(), false));
    s.until_challenge();
    s.now += 800;
    s.feed(Input::Tick);
    failed_with(&s, "FRAME_GAP");
}

#[test]
fn a_head_that_turns_faster_than_a_head_fails() {
    let mut s = Script::start(one_attempt(), context(SessionPolicy::default(), false));
    s.until_challenge();
    // 0° to 40° in one frame (66 ms): 600°/s.
    s.feed(
        Face {
            yaw: 40.0,
            ..Face::genuine()
        }
        .frame(),
    );
    failed_with(&s, "POSE_JUMP");
}

#[test]
fn a_small_pool_and_count_are_raised_with_a_warning() {
    let s = Script::start(
        SessionOptions {
            challenges: vec![ChallengeKind::TurnLeft],
            challenge_count: 1,
            ..options()
        },
        context(SessionPolicy::default(), false),
    );
    let t = s.transcript();
    assert!(
        t.contains(
            "challenges: 1 kind(s) given; a turn, a nod and at least 3 kinds are used: TURN_LEFT, LOOK_UP, BLINK"
        ),
        "{t}"
    );
    assert!(
        t.contains("challengeCount 1 is outside 2-3; using 2"),
        "{t}"
    );
    assert!(!s.finished());
}

#[test]
fn frames_from_a_file_are_never_signed_with_the_kiosks_key() {
    let mut ctx = context(SessionPolicy::default(), false);
    ctx.provenance.capture = CaptureClaim {
        source: CaptureSource::File,
        device: "clip.avi".into(),
        r#virtual: false,
    };
    let s = Script::start(options(), ctx.clone());
    let err = last_error(&s).unwrap();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
    assert!(err.message.unwrap().contains("test key"));

    // With a test key, the session runs and its result says `test: true`.
    let (signer, jwk) = test_signer();
    ctx.signer = signer;
    let mut s = Script::start(options(), ctx);
    s.perform(Face::genuine(), 400);
    let jwks = facekiosk_identity::Jwks { keys: vec![jwk] };
    let t = s.transcript_with(&jwks);
    assert!(t.contains("\"test\": true"), "{t}");
    assert!(t.contains("\"source\": \"file\""), "{t}");
}

#[test]
fn a_virtual_camera_is_refused_unless_the_kiosk_allows_it() {
    let mut ctx = context(SessionPolicy::default(), false);
    ctx.provenance.capture.r#virtual = true;
    let s = Script::start(options(), ctx.clone());
    assert_eq!(
        last_error(&s).unwrap().code,
        ErrorCode::MediaVirtualCameraDetected
    );
    ctx.provenance.allow_virtual_camera = true;
    let mut s = Script::start(options(), ctx);
    s.perform(Face::genuine(), 400);
    let claims = s.success_claims().expect("a success");
    assert_eq!(claims["capture"]["virtual"], true);
    assert_eq!(claims["policy"]["allowVirtualCamera"], true);
}

#[test]
fn a_result_says_what_it_attests() {
    let mut s = Script::start(options(), context(SessionPolicy::default(), false));
    s.perform(Face::genuine(), 400);
    let c = s.success_claims().expect("a success");
    // jti: a UUID v4.
    let jti = c["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 36);
    assert_eq!(&jti[14..15], "4", "{jti}");
    assert_eq!(c["test"], false);
    assert_eq!(c["capture"]["source"], "camera");
    assert_eq!(c["models"]["sha256"]["embedder"], "e1");
    assert_eq!(c["calibration"]["sha256"], "c1");
    assert_eq!(c["reference"]["sha256"], "ab12");
    assert_eq!(c["reference"]["source"], "api");
    assert_eq!(c["policy"]["livenessMode"], "active");
    assert_eq!(c["policy"]["challengeCount"], 3);
    // Both captures were matched.
    let phases: Vec<&str> = c["match"]["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["before", "after"]);
    // Every challenge has its reaction time.
    for ch in c["liveness"]["challenges"].as_array().unwrap() {
        assert!(ch["reactionMs"].as_u64().unwrap() >= 150, "{ch}");
    }
    // Active liveness is a protocol, not a score.
    assert!(c["liveness"]["score"].is_null());
}

#[test]
fn an_action_after_the_last_challenge_fails() {
    // An eager attacker's burst that runs on past the last challenge, into the final capture.
    let mut s = Script::start(one_attempt(), context(SessionPolicy::default(), false));
    let mut after = 0;
    for _ in 0..400 {
        if s.finished() {
            break;
        }
        let in_final_capture = s.events.iter().any(|(_, e)| {
            matches!(e, Event::Trace(t) if t.status_code.as_deref() == Some("AFTER_CHALLENGES"))
        });
        let mut f = s.next_face(Face::genuine());
        if in_final_capture {
            after += 1;
            if after > 2 {
                f.smile = 1.3;
            }
        }
        s.feed(f.frame());
    }
    failed_with(&s, "UNREQUESTED_ACTION");
}

#[test]
fn every_hint_challenge_and_error_has_a_text() {
    // texts/en.json is what the kiosk's screens show; a code without a text would be a blank.
    use facekiosk_session::ErrorCode;
    use facekiosk_session::guidance::Hint;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../texts/en.json");
    let texts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let has =
        |section: &str, key: &str| texts[section][key].as_str().is_some_and(|t| !t.is_empty());
    for h in Hint::ALL {
        assert!(has("hint", &h.as_str()), "no text for hint {}", h.as_str());
    }
    for c in ChallengeKind::ALL {
        assert!(
            has("challenge", c.as_str()),
            "no text for challenge {}",
            c.as_str()
        );
    }
    for e in ErrorCode::ALL {
        assert!(has("error", e.as_str()), "no text for error {}", e.as_str());
    }
}
