//! Crash safety: `facekiosk sync` is killed with SIGKILL at random points, over 200 times, while
//! it delivers 300 queued results to a real API on 127.0.0.1 — mid-request, mid-write, after
//! the API committed but before the acknowledgement was stored. At the end the API holds every
//! result exactly once and the outbox is empty. Bounded: a fixed number of kills, each within
//! 80 ms, then one final sync.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::ort_library;
use facekiosk_identity::{KeyStore, Sealer};
use facekiosk_server::{Db, EnginePhotoCheck, Parts, PhotoCipher, ServerConfig};
use facekiosk_sync::{NewResult, Outbox};
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;

const RESULTS: usize = 300;
/// Kills in `make test`; `make soak` sets `FACEKIOSK_SOAK_KILLS` for a longer run.
const KILLS: usize = 220;

fn kills() -> usize {
    std::env::var("FACEKIOSK_SOAK_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= KILLS)
        .unwrap_or(KILLS)
}

fn facekiosk(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_facekiosk"));
    c.env_remove("FACEKIOSK_CONFIG")
        .env("FACEKIOSK_DATA_DIR", data)
        .env("ORT_DYLIB_PATH", ort_library())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[test]
fn sync_killed_at_random_points_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let kiosk_data = dir.path().join("kiosk");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // The API, in this process.
    let (db, server, token) = rt.block_on(async {
        let db = Db::connect(
            &format!("sqlite://{}?mode=rwc", dir.path().join("api.db").display()),
            4,
        )
        .await
        .unwrap();
        db.migrate(now_ms).await.unwrap();
        facekiosk_server::admin::ensure_tenant(&db, "bank", now_ms)
            .await
            .unwrap();
        let (token, _) = facekiosk_server::admin::create_enrolment_token(&db, "bank", now_ms, 3600)
            .await
            .unwrap();
        let engine = facekiosk_face::engine::FaceEngine::load(
            &facekiosk_face::runtime::RuntimeConfig::default(),
            &facekiosk_face::engine::FaceConfig::default(),
        )
        .unwrap();
        let server = facekiosk_server::start(Parts {
            config: ServerConfig {
                listen: "127.0.0.1:0".to_owned(),
                ..ServerConfig::default()
            },
            db: db.clone(),
            clock: Arc::new(facekiosk_server::SystemClock),
            cipher: PhotoCipher::new([2; 32]),
            photos: Arc::new(EnginePhotoCheck::new(engine, Default::default())),
        })
        .await
        .unwrap();
        (db, server, token)
    });
    let api = server.url();
    let out = facekiosk(&kiosk_data)
        .args([
            "kiosk",
            "register",
            "--api",
            &api,
            "--enrolment-token",
            &token,
        ])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 300 signed walk-in results in the kiosk's own outbox, as its sessions would leave them.
    let identity = KeyStore::new(kiosk_data.join("identity")).load().unwrap();
    let signer = identity.signer();
    // Dated now: after the key's creation (a result dated before its key's window is refused,
    // and the registration above may take more than a second on a busy machine).
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    rt.block_on(async {
        let (sealer, _) = Sealer::load_or_create(&kiosk_data.join("identity").join("outbox.key")).unwrap();
        let outbox = Outbox::open(&kiosk_data.join("sync").join("outbox.db"), sealer, now_ms as i64)
            .await
            .unwrap();
        let now = now_ms / 1000;
        for i in 0..RESULTS {
            let jti = format!("f0000000-0000-4000-8000-{i:012}");
            let sid = format!("walkin-kill-{i}");
            let jws = signer
                .sign(&json!({
                    "jti": jti, "iss": identity.kiosk_id(), "sub": sid, "sessionId": sid,
                    "iat": now, "exp": now + 86_400, "status": "complete", "isVerified": true,
                    "test": false, "walkIn": true, "match": {}, "liveness": {}, "attempts": [],
                    "device": {}, "lang": "en", "startedAt": now_ms - 20_000, "finishedAt": now_ms - 1_000,
                    "reference": { "sha256": "00", "source": "walkIn" },
                }))
                .unwrap();
            let traces = [json!({ "event": "COMPLETE", "n": i })];
            outbox
                .enqueue_result(&NewResult { jti: &jti, session_id: &sid, test: false, jws: &jws, traces: &traces }, now_ms as i64)
                .await
                .unwrap();
        }
        outbox.close().await;
    });
    // Kill, kill, kill.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut killed_running = 0;
    let kills = kills();
    for _ in 0..kills {
        let mut child = facekiosk(&kiosk_data).arg("sync").spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.gen_range(5..80)));
        if child.try_wait().unwrap().is_none() {
            killed_running += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    assert!(
        killed_running >= 200,
        "only {killed_running} kills hit a running sync"
    );
    // One last sync, to the end.
    let out = facekiosk(&kiosk_data)
        .args(["sync", "--json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success());
    let status = facekiosk(&kiosk_data)
        .args(["queue", "status", "--json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        (
            status["pending"].as_i64(),
            status["inFlight"].as_i64(),
            status["dead"].as_i64()
        ),
        (Some(0), Some(0), Some(0)),
        "{status}"
    );
    assert_eq!(status["acknowledged"].as_i64(), Some(2 * RESULTS as i64));
    let (stored, distinct) = rt
        .block_on(facekiosk_server::admin::count_results(&db))
        .unwrap();
    assert_eq!(
        (stored, distinct),
        (RESULTS as i64, RESULTS as i64),
        "every result exactly once"
    );
    rt.block_on(server.shutdown()).unwrap();
}
