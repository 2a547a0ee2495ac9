//! Delivery against the real API on 127.0.0.1: results and traces delivered once, a server
//! that is down, a result refused for good, a test key the API learns on the way, and the
//! watching worker sending a new entry at once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::{Arc, OnceLock};

use facekiosk_face::decode::DecodeLimits;
use facekiosk_face::engine::{FaceConfig, FaceEngine};
use facekiosk_face::runtime::RuntimeConfig;
use facekiosk_identity::{Jwks, KioskIdentity, Sealer, TestKey};
use facekiosk_server::{Db, EnginePhotoCheck, ManualClock, Parts, PhotoCipher, ServerConfig};
use facekiosk_sync::{
    ApiClient, Claim, EntryState, KeyPublisher, NewResult, Outbox, SyncConfig, WatchEvent,
    WorkerEnv, drain_once, watch,
};
use serde_json::json;

const T0: u64 = 1_780_272_000_000;

struct Env {
    now: i64,
}

impl WorkerEnv for Env {
    fn now_ms(&mut self) -> i64 {
        self.now
    }
    fn random(&mut self) -> u64 {
        200
    }
}

fn photos() -> Arc<EnginePhotoCheck> {
    static CHECK: OnceLock<Arc<EnginePhotoCheck>> = OnceLock::new();
    CHECK
        .get_or_init(|| {
            let runtime = RuntimeConfig {
                intra_threads: 1,
                ..RuntimeConfig::default()
            };
            let engine = FaceEngine::load(&runtime, &FaceConfig::default())
                .expect("the face engine loads (run scripts/setup)");
            Arc::new(EnginePhotoCheck::new(engine, DecodeLimits::default()))
        })
        .clone()
}

async fn server(db: &Db, listen: &str) -> facekiosk_server::RunningServer {
    facekiosk_server::start(Parts {
        config: ServerConfig {
            listen: listen.to_owned(),
            // The server's clock stands still here, so its rate limit never refills: room
            // for the backlog of a kiosk that was off line.
            kiosk_rate_limit_burst: 5000,
            ..ServerConfig::default()
        },
        db: db.clone(),
        clock: Arc::new(ManualClock::new(T0)),
        cipher: PhotoCipher::new([3; 32]),
        photos: photos(),
    })
    .await
    .unwrap()
}

fn walk_in(
    signer: &facekiosk_identity::ResultSigner,
    kiosk: &str,
    i: usize,
    test: bool,
) -> (String, String) {
    let jti = format!("e0000000-0000-4000-8000-{i:012}");
    let sid = format!("walkin-{i}");
    let now = T0 / 1000;
    let jws = signer
        .sign(&json!({
            "jti": jti, "iss": kiosk, "sub": sid, "sessionId": sid, "iat": now, "exp": now + 86_400,
            "status": "complete", "isVerified": true, "test": test, "walkIn": true,
            "match": { "level": 4, "minimumLevel": 3 }, "liveness": { "detected": true },
            "attempts": [], "device": { "kiosk": kiosk }, "lang": "en",
            "startedAt": T0 - 20_000, "finishedAt": T0 - 1_000,
            "reference": { "sha256": "00", "source": "walkIn" },
        }))
        .unwrap();
    (jti, jws)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_results_reach_the_api_once_whatever_the_network_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(
        &format!("sqlite://{}?mode=rwc", dir.path().join("api.db").display()),
        4,
    )
    .await
    .unwrap();
    db.migrate(T0).await.unwrap();
    let (token, _) = {
        facekiosk_server::admin::ensure_tenant(&db, "bank", T0)
            .await
            .unwrap();
        facekiosk_server::admin::create_enrolment_token(&db, "bank", T0, 3600)
            .await
            .unwrap()
    };
    let api = server(&db, "127.0.0.1:0").await;
    let addr = api.addr();
    let identity = KioskIdentity::from_seed("kiosk-s", [5; 32], T0 / 1000 - 10);
    let credential = ApiClient::new(&api.url(), None)
        .unwrap()
        .register(&token, "kiosk-s", &identity.jwks(), &Jwks::default())
        .await
        .unwrap();
    let client = ApiClient::new(&api.url(), Some(credential)).unwrap();
    let outbox = Outbox::open(
        &dir.path().join("outbox.db"),
        Sealer::new([4; 32]),
        T0 as i64,
    )
    .await
    .unwrap();
    let signer = identity.signer();
    let traces = vec![json!({ "event": "START" }), json!({ "event": "COMPLETE" })];
    let mut env = Env { now: T0 as i64 };

    // On line: three results and their traces.
    for i in 0..3 {
        let (jti, jws) = walk_in(&signer, "kiosk-s", i, false);
        let sid = format!("walkin-{i}");
        outbox
            .enqueue_result(
                &NewResult {
                    jti: &jti,
                    session_id: &sid,
                    test: false,
                    jws: &jws,
                    traces: &traces,
                },
                env.now,
            )
            .await
            .unwrap();
    }
    let report = drain_once(&outbox, &client, None, 4, &mut env, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.delivered, report.dead, report.retried),
        (6, 0, 0),
        "{report:?}"
    );

    // The API goes down: 1,000 results wait; nothing is lost.
    api.shutdown().await.unwrap();
    for i in 3..1003 {
        let (jti, jws) = walk_in(&signer, "kiosk-s", i, false);
        let sid = format!("walkin-{i}");
        outbox
            .enqueue_result(
                &NewResult {
                    jti: &jti,
                    session_id: &sid,
                    test: false,
                    jws: &jws,
                    traces: &[],
                },
                env.now,
            )
            .await
            .unwrap();
    }
    let report = drain_once(&outbox, &client, None, 4, &mut env, &mut |_| {})
        .await
        .unwrap();
    assert!(report.offline && report.delivered == 0, "{report:?}");
    let status = outbox.status().await.unwrap();
    assert_eq!((status.pending, status.in_flight), (1000, 0));
    // Back on line (same address): after the backoff, every result arrives once.
    let api = server(&db, &addr.to_string()).await;
    // The worker notices the network is back and wakes what waited for it, at once.
    assert!(client.reachable().await);
    // (Those tried or taken while it was down; the others were never due later.)
    assert!(outbox.wake_network_failures(env.now).await.unwrap() > 0);
    let report = drain_once(&outbox, &client, None, 4, &mut env, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(report.delivered, 1000, "{report:?}");
    let (stored, distinct) = facekiosk_server::admin::count_results(&db).await.unwrap();
    assert_eq!((stored, distinct), (1003, 1003));

    // A result the API refuses for good is dead with its reason; the others keep flowing.
    let bad_jti = "e0000000-0000-4000-8000-999999999999";
    let now = T0 / 1000;
    let bad = signer
        .sign(&json!({
            "jti": bad_jti, "iss": "kiosk-s", "sub": "ses_unknown", "sessionId": "ses_unknown",
            "iat": now, "exp": now + 86_400, "status": "complete", "isVerified": true, "test": false,
            "match": {}, "liveness": {}, "attempts": [], "device": {}, "lang": "en",
            "startedAt": T0 - 20_000, "finishedAt": T0 - 1_000, "reference": { "sha256": "00" },
        }))
        .unwrap();
    outbox
        .enqueue_result(
            &NewResult {
                jti: bad_jti,
                session_id: "ses_unknown",
                test: false,
                jws: &bad,
                traces: &[],
            },
            env.now,
        )
        .await
        .unwrap();
    // A demo's result, signed with a test key the API has not seen: the worker publishes it.
    let test_key = TestKey::generate(&identity, now - 5, 3600).unwrap();
    let (jti, jws) = walk_in(&test_key.signer(), "kiosk-s", 5000, true);
    outbox
        .enqueue_result(
            &NewResult {
                jti: &jti,
                session_id: "walkin-5000",
                test: true,
                jws: &jws,
                traces: &[],
            },
            env.now,
        )
        .await
        .unwrap();
    let publisher = KeyPublisher::fixed(
        identity.clone(),
        Jwks {
            keys: vec![test_key.jwk().clone()],
        },
    );
    let report = drain_once(&outbox, &client, Some(&publisher), 4, &mut env, &mut |_| {})
        .await
        .unwrap();
    assert_eq!((report.delivered, report.dead), (1, 1), "{report:?}");
    let dead = outbox.list(Some(EntryState::Dead), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("SESSION_EXPIRED_OR_NOT_FOUND"),
        "{:?}",
        dead[0].last_error
    );
    let status = outbox.status().await.unwrap();
    assert_eq!((status.pending, status.in_flight, status.dead), (0, 0, 1));
    assert_eq!(status.acknowledged, 1007);

    // Claiming: by digit code, with the photo and settings; a wrong code is the API's refusal.
    let (key, _) = facekiosk_server::admin::create_api_key(&db, "bank", false, T0)
        .await
        .unwrap();
    let photo = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/astronaut.jpg"),
    )
    .unwrap();
    let form = reqwest::multipart::Form::new()
        .part(
            "reference_image",
            reqwest::multipart::Part::bytes(photo).file_name("id.jpg"),
        )
        .text("generateDigitString", "true");
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/sessions", api.url()))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let digits = created["digitString"].as_str().unwrap();
    let claimed = client.claim(&Claim::Digits(digits)).await.unwrap();
    assert_eq!(claimed["sessionId"], created["session"]["id"]);
    assert!(claimed["referenceImage"]["data"].as_str().unwrap().len() > 1000);
    let err = client.claim(&Claim::Digits("000000")).await.unwrap_err();
    assert!(err.to_string().contains("INVALID_DIGIT_STRING"), "{err}");
    api.shutdown().await.unwrap();
    // Off line: a claim fails fast with NETWORK_ERROR.
    let started = std::time::Instant::now();
    let err = client
        .claim(&Claim::Secret {
            session_id: "ses_x",
            client_secret: "fkcs_x",
        })
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("NETWORK_ERROR"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(6));
}

/// Waits (bounded) until the API holds `n` results.
async fn until_stored(db: &Db, n: i64) -> std::time::Duration {
    let started = std::time::Instant::now();
    for _ in 0..500 {
        let (stored, _) = facekiosk_server::admin::count_results(db).await.unwrap();
        if stored >= n {
            return started.elapsed();
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the API never got {n} results");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watching_worker_sends_a_new_entry_at_once_from_this_process_or_another() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(
        &format!("sqlite://{}?mode=rwc", dir.path().join("api.db").display()),
        4,
    )
    .await
    .unwrap();
    db.migrate(T0).await.unwrap();
    facekiosk_server::admin::ensure_tenant(&db, "bank", T0)
        .await
        .unwrap();
    let (token, _) = facekiosk_server::admin::create_enrolment_token(&db, "bank", T0, 3600)
        .await
        .unwrap();
    let api = server(&db, "127.0.0.1:0").await;
    let identity = KioskIdentity::from_seed("kiosk-w", [6; 32], T0 / 1000 - 10);
    let credential = ApiClient::new(&api.url(), None)
        .unwrap()
        .register(&token, "kiosk-w", &identity.jwks(), &Jwks::default())
        .await
        .unwrap();
    let client = ApiClient::new(&api.url(), Some(credential)).unwrap();
    let path = dir.path().join("outbox.db");
    let outbox = Outbox::open(&path, Sealer::new([4; 32]), T0 as i64)
        .await
        .unwrap();
    // The same file through another connection: what a `facekiosk session` run beside
    // `facekiosk sync --watch` does.
    let other = Outbox::open(&path, Sealer::new([4; 32]), T0 as i64)
        .await
        .unwrap();
    let signer = identity.signer();
    let enqueue = |outbox: Outbox, i: usize| {
        let (jti, jws) = walk_in(&signer, "kiosk-w", i, false);
        async move {
            let sid = format!("walkin-{i}");
            outbox
                .enqueue_result(
                    &NewResult {
                        jti: &jti,
                        session_id: &sid,
                        test: false,
                        jws: &jws,
                        traces: &[json!({ "event": "COMPLETE" })],
                    },
                    T0 as i64,
                )
                .await
                .unwrap();
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let config = SyncConfig::default();
    let mut env = Env { now: T0 as i64 };
    let mut events = Vec::new();
    let mut on_event = |e| events.push(e);
    let worker = watch(
        &outbox,
        &client,
        None,
        &config,
        &mut env,
        async {
            let _ = stop_rx.await;
        },
        &mut on_event,
    );
    let driver = async {
        // Nothing is due: the worker sleeps (up to a minute). A new entry wakes it at once.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        enqueue(outbox.clone(), 1).await;
        let first = until_stored(&db, 1).await;
        // Another connection's entry is seen within its poll (a quarter of a second).
        enqueue(other.clone(), 2).await;
        let second = until_stored(&db, 2).await;
        // Its traces follow it.
        for _ in 0..500 {
            if outbox.status().await.unwrap().acknowledged == 4 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let _ = stop_tx.send(());
        (first, second)
    };
    let (total, (first, second)) = tokio::join!(worker, driver);
    let total = total.unwrap();
    // Each result and its traces (the traces once the result was acknowledged).
    assert_eq!((total.delivered, total.dead), (4, 0), "{total:?}");
    assert!(
        first < std::time::Duration::from_secs(3) && second < std::time::Duration::from_secs(3),
        "woken after {first:?} and {second:?}, not at once"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, WatchEvent::Progress(r) if r.delivered == 4)),
        "{events:?}"
    );
    let status = outbox.status().await.unwrap();
    assert_eq!((status.pending, status.acknowledged), (0, 4));
    api.shutdown().await.unwrap();
}
