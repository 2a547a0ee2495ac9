//! A customer's visit end to end, as the app runs it: the verification API on 127.0.0.1, a
//! registered kiosk, a test session made by an integrator with an ID photo and a digit code,
//! claimed by that code, run on a video file standing in for the camera (the demo's clip of
//! the built-in photo, in attended mode), its result queued before the outcome was reported,
//! then delivered; the API then says the session is complete and verified. Then a walk-in:
//! the ID photo taken from an ID card held up to the camera, the session the kiosk's own, its
//! result delivered like any other.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use facekiosk_face::decode::{DecodeLimits, decode};
use facekiosk_face::engine::{FaceConfig, FaceEngine};
use facekiosk_face::runtime::RuntimeConfig;
use facekiosk_kiosk::config::KioskConfig;
use facekiosk_kiosk::scan::Watch;
use facekiosk_kiosk::store::{KioskStore, Registration};
use facekiosk_kiosk::visit::{
    ClaimedVisit, Outcome, VisitEvent, VisitSetup, claim, preview_jpeg, run_visit,
};
use facekiosk_kiosk::walkin::{STEADY_FRAMES, capture_id_photo};
use facekiosk_server::{Db, EnginePhotoCheck, Parts, PhotoCipher, ServerConfig, SystemClock};
use facekiosk_session::guidance::Hint;
use facekiosk_sync::{ApiClient, Claim, SystemEnv, drain_once};

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn a_claimed_session_runs_on_the_camera_is_queued_then_delivered_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let runtime = RuntimeConfig {
        intra_threads: 1,
        ..RuntimeConfig::default()
    };
    let engine = FaceEngine::load(&runtime, &FaceConfig::default()).unwrap();
    let server_engine = FaceEngine::load(&runtime, &FaceConfig::default()).unwrap();

    // The API, a tenant with a test API key, and an enrolment token.
    let t0 = now_ms();
    let (db, server, test_key, token) = rt.block_on(async {
        let db = Db::connect(
            &format!("sqlite://{}?mode=rwc", dir.path().join("api.db").display()),
            4,
        )
        .await
        .unwrap();
        db.migrate(t0).await.unwrap();
        facekiosk_server::admin::ensure_tenant(&db, "bank", t0)
            .await
            .unwrap();
        let (key, _) = facekiosk_server::admin::create_api_key(&db, "bank", true, t0)
            .await
            .unwrap();
        let (token, _) = facekiosk_server::admin::create_enrolment_token(&db, "bank", t0, 3600)
            .await
            .unwrap();
        let server = facekiosk_server::start(Parts {
            config: ServerConfig {
                listen: "127.0.0.1:0".to_owned(),
                ..ServerConfig::default()
            },
            db: db.clone(),
            clock: Arc::new(SystemClock),
            cipher: PhotoCipher::new([2; 32]),
            photos: Arc::new(EnginePhotoCheck::new(
                server_engine,
                DecodeLimits::default(),
            )),
        })
        .await
        .unwrap();
        (db, server, key, token)
    });
    let api = server.url();

    // The kiosk: its camera is the demo clip; attended mode is allowed for it.
    let photo = decode(facekiosk_synth::demo::PHOTO, DecodeLimits::default()).unwrap();
    let clip = dir.path().join("camera.avi");
    facekiosk_capture::video::write_avi(
        &clip,
        &facekiosk_synth::demo::clip_frames(&photo),
        facekiosk_synth::demo::FPS,
    )
    .unwrap();
    let mut config = KioskConfig::default();
    config.kiosk.camera = clip.display().to_string();
    config.session.allow_attended = true;
    let store = KioskStore::in_dir(&dir.path().join("kiosk"), &config);
    let (identity, _, created) = store.identity().unwrap();
    assert!(created);
    let test_keys = store.test_jwks().unwrap().read().unwrap_or_default();
    let credential = rt
        .block_on(ApiClient::new(&api, None).unwrap().register(
            &token,
            identity.kiosk_id(),
            &identity.jwks(),
            &test_keys,
        ))
        .unwrap();
    store
        .save_registration(&Registration {
            api: api.clone(),
            kiosk_id: identity.kiosk_id().to_owned(),
            credential: credential.clone(),
        })
        .unwrap();
    let client = store
        .client(&config, &store.registration().unwrap().unwrap())
        .unwrap();

    // An integrator's test session, with the ID photo and a digit code.
    let mut id = Vec::new();
    facekiosk_synth::demo::id_photo(&photo)
        .write_to(&mut std::io::Cursor::new(&mut id), image::ImageFormat::Jpeg)
        .unwrap();
    let created: serde_json::Value = rt.block_on(async {
        let form = reqwest::multipart::Form::new()
            .part(
                "reference_image",
                reqwest::multipart::Part::bytes(id).file_name("id.jpg"),
            )
            .text("generateDigitString", "true")
            .text("liveness", "attended");
        reqwest::Client::new()
            .post(format!("{api}/v1/sessions"))
            .bearer_auth(&test_key)
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let digits = created["digitString"].as_str().unwrap().to_owned();
    let session_id = created["session"]["id"].as_str().unwrap().to_owned();

    // A wrong code is the API's refusal, with its code for the screen.
    let err = rt
        .block_on(claim(&client, &Claim::Digits("000000")))
        .unwrap_err();
    assert_eq!(err.code, "INVALID_DIGIT_STRING", "{err:?}");
    let mut visit = rt
        .block_on(claim(&client, &Claim::Digits(&digits)))
        .unwrap();
    // Attended mode needs the staff member who watches (a still photo cannot do challenges).
    visit.options.operator = Some("staff-7".to_owned());
    assert_eq!(visit.session_id, session_id);
    assert!(visit.test);

    // The visit, with a live preview.
    let frames = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(Mutex::new(Vec::new()));
    let (f, l) = (frames.clone(), last.clone());
    let preview: facekiosk_runner::Preview = Arc::new(move |img: &image::RgbImage| {
        if let Some(jpeg) = preview_jpeg(img, 640, 480) {
            f.fetch_add(1, Ordering::SeqCst);
            *l.lock().unwrap() = jpeg;
        }
    });
    let mut events = Vec::new();
    let end = run_visit(
        VisitSetup {
            config: &config,
            store: &store,
            engine: &engine,
            identity: &identity,
            control: None,
            preview: Some(preview),
        },
        &visit,
        &mut |e: VisitEvent| events.push(e),
    );
    assert_eq!(
        (end.outcome, end.queued),
        (Outcome::Success, true),
        "{events:?}"
    );
    assert_eq!(
        events.first(),
        Some(&VisitEvent::Status {
            status: "opening".to_owned()
        })
    );
    assert_eq!(
        events.last(),
        Some(&VisitEvent::Outcome {
            outcome: Outcome::Success,
            code: None,
            queued: true
        })
    );
    assert!(
        events.iter().any(|e| matches!(e, VisitEvent::Hint { .. })),
        "{events:?}"
    );
    // The face's box for the oval: first none (the clip starts far), then one, in the middle
    // of the mirrored frame; far fewer than one a frame.
    let boxes: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            VisitEvent::Face { face_box } => Some(*face_box),
            _ => None,
        })
        .collect();
    let near = boxes.iter().flatten().last().copied().unwrap();
    assert!((near.x + near.w / 2.0 - 0.5).abs() < 0.15, "{boxes:?}");
    assert!(boxes.len() < frames.load(Ordering::SeqCst), "{boxes:?}");
    // Holding still shows its progress, up to done.
    let progress: Vec<f32> = events
        .iter()
        .filter_map(|e| match e {
            VisitEvent::Progress { value } => Some(*value),
            _ => None,
        })
        .collect();
    assert!(
        progress.windows(2).all(|w| w[0] < w[1]) && progress.last() == Some(&1.0),
        "{progress:?}"
    );
    assert!(frames.load(Ordering::SeqCst) >= 10, "preview frames");
    assert_eq!(&last.lock().unwrap()[..2], &[0xFF, 0xD8]);

    // Delivered; the API says the session is complete and verified.
    rt.block_on(async {
        let outbox = store.open_outbox().await.unwrap();
        let publisher = store.key_publisher();
        let report = drain_once(
            &outbox,
            &client,
            Some(&publisher),
            4,
            &mut SystemEnv,
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!((report.delivered, report.dead), (2, 0), "{report:?}");
        let got: serde_json::Value = reqwest::Client::new()
            .get(format!("{api}/v1/sessions/{session_id}"))
            .bearer_auth(&test_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["session"]["status"], "complete", "{got}");
        assert_eq!(got["session"]["report"]["isVerified"], true, "{got}");
    });

    // A walk-in: staff hold the customer's ID card up to the camera; the photo is taken once
    // it passes the photo checks in a few frames in a row, after hints while it did not.
    let card = dir.path().join("card.avi");
    let card_frames: Vec<image::RgbImage> = (0..16)
        .map(|i| facekiosk_synth::demo::id_card_frame((i >= 5).then_some(&photo), i))
        .collect();
    facekiosk_capture::video::write_avi(&card, &card_frames, 15).unwrap();
    let mut card_config = config.clone();
    card_config.kiosk.camera = card.display().to_string();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let shown = Arc::new(AtomicUsize::new(0));
    let s = shown.clone();
    let card_preview: facekiosk_runner::Preview = Arc::new(move |_img: &image::RgbImage| {
        s.fetch_add(1, Ordering::SeqCst);
    });
    let watch = Watch {
        preview: Some(&card_preview),
        stop: &stop,
        timeout: std::time::Duration::from_secs(60),
        timeout_code: "PHOTO_TIMEOUT",
        what: "usable ID photo",
    };
    let mut hints = Vec::new();
    let id_photo = capture_id_photo(&card_config, &engine, &watch, &mut |h| hints.push(h)).unwrap();
    assert_eq!(hints.first(), Some(&Hint::LookAtCamera), "{hints:?}");
    assert_eq!(hints.last(), Some(&Hint::HoldStill), "{hints:?}");
    // Five empty frames, then three in a row that pass.
    assert_eq!(shown.load(Ordering::SeqCst), 5 + STEADY_FRAMES as usize);
    let mut walk_in = ClaimedVisit::walk_in(&config, identity.kiosk_id(), id_photo, now_ms());
    assert!(walk_in.is_walk_in() && walk_in.test);
    assert!(walk_in.session_id.starts_with("walkin-"));
    walk_in.options.liveness = facekiosk_session::LivenessMode::Attended;
    walk_in.options.operator = Some("staff-7".to_owned());
    let end = run_visit(
        VisitSetup {
            config: &config,
            store: &store,
            engine: &engine,
            identity: &identity,
            control: None,
            preview: None,
        },
        &walk_in,
        &mut |_e: VisitEvent| {},
    );
    assert_eq!((end.outcome, end.queued), (Outcome::Success, true));
    let Some(facekiosk_runner::Ending::Success { verified, .. }) = &end.ending else {
        panic!("{end:?}");
    };
    assert_eq!(verified.claims["walkIn"], true);
    assert_eq!(verified.claims["reference"]["source"], "walk-in");

    // A clip without a card ends with PHOTO_TIMEOUT; a canceled capture with SCAN_CANCELED.
    let empty = dir.path().join("empty.avi");
    let empty_frames: Vec<image::RgbImage> = (0..6)
        .map(|i| facekiosk_synth::demo::id_card_frame(None, i))
        .collect();
    facekiosk_capture::video::write_avi(&empty, &empty_frames, 15).unwrap();
    card_config.kiosk.camera = empty.display().to_string();
    let err = capture_id_photo(&card_config, &engine, &watch, &mut |_| {}).unwrap_err();
    assert_eq!(err.code, "PHOTO_TIMEOUT", "{err:?}");
    stop.store(true, Ordering::SeqCst);
    let err = capture_id_photo(&card_config, &engine, &watch, &mut |_| {}).unwrap_err();
    assert_eq!(err.code, "SCAN_CANCELED", "{err:?}");

    // Delivered: the API holds the walk-in, the tenant's, complete and verified.
    rt.block_on(async {
        let outbox = store.open_outbox().await.unwrap();
        let publisher = store.key_publisher();
        let report = drain_once(
            &outbox,
            &client,
            Some(&publisher),
            4,
            &mut SystemEnv,
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!((report.delivered, report.dead), (2, 0), "{report:?}");
        let got: serde_json::Value = reqwest::Client::new()
            .get(format!("{api}/v1/sessions/{}", walk_in.session_id))
            .bearer_auth(&test_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["session"]["walkIn"], true, "{got}");
        assert_eq!(got["session"]["status"], "complete", "{got}");
        assert_eq!(got["session"]["report"]["isVerified"], true, "{got}");
        server.shutdown().await.unwrap();
        let _ = db;
    });
}
