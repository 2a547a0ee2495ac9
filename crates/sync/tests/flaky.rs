//! A flaky API: a proxy in front of the real one drops connections, answers 503 with
//! `Retry-After`, answers 500, and stalls past the client's timeout. Nothing is lost, nothing is
//! doubled, and the waits follow the backoff.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use facekiosk_face::decode::DecodeLimits;
use facekiosk_face::engine::{FaceConfig, FaceEngine};
use facekiosk_face::runtime::RuntimeConfig;
use facekiosk_identity::{Jwks, KioskIdentity, Sealer};
use facekiosk_server::{Db, EnginePhotoCheck, Parts, PhotoCipher, ServerConfig, SystemClock};
use facekiosk_sync::{ApiClient, NewResult, Outbox, WorkerEnv, drain_once};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

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

/// What the proxy does with the n-th connection.
fn mode(n: usize) -> &'static str {
    [
        "drop", "503", "pass", "500", "stall", "pass", "drop", "pass",
    ][n % 8]
}

async fn proxy(listener: TcpListener, upstream: String, count: Arc<AtomicUsize>) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            return;
        };
        let n = count.fetch_add(1, Ordering::SeqCst);
        let upstream = upstream.clone();
        tokio::spawn(async move {
            match mode(n) {
                "drop" => drop(client),
                "stall" => {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    drop(client);
                }
                "503" | "500" => {
                    let mut buf = [0u8; 4096];
                    let _ = client.read(&mut buf).await;
                    let head = if mode(n) == "503" {
                        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                    } else {
                        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 7\r\nConnection: close\r\n\r\ngarbage"
                    };
                    let _ = client.write_all(head.as_bytes()).await;
                }
                _ => {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_api_loses_and_doubles_nothing_and_the_waits_back_off() {
    let dir = tempfile::tempdir().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
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
    let engine = FaceEngine::load(
        &RuntimeConfig {
            intra_threads: 1,
            ..RuntimeConfig::default()
        },
        &FaceConfig::default(),
    )
    .unwrap();
    let server = facekiosk_server::start(Parts {
        config: ServerConfig {
            listen: "127.0.0.1:0".to_owned(),
            ..ServerConfig::default()
        },
        db: db.clone(),
        clock: Arc::new(SystemClock),
        cipher: PhotoCipher::new([6; 32]),
        photos: Arc::new(EnginePhotoCheck::new(engine, DecodeLimits::default())),
    })
    .await
    .unwrap();
    let identity = KioskIdentity::from_seed("kiosk-f", [8; 32], now_ms / 1000 - 10);
    let credential = ApiClient::new(&server.url(), None)
        .unwrap()
        .register(&token, "kiosk-f", &identity.jwks(), &Jwks::default())
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(proxy(
        listener,
        server.addr().to_string(),
        connections.clone(),
    ));
    let client = ApiClient::with_timeouts(
        &proxy_url,
        Some(credential),
        Duration::from_secs(1),
        Duration::from_secs(1),
        false,
    )
    .unwrap();
    let outbox = Outbox::open(
        &dir.path().join("outbox.db"),
        Sealer::new([7; 32]),
        now_ms as i64,
    )
    .await
    .unwrap();
    let signer = identity.signer();
    let n = 20;
    for i in 0..n {
        let jti = format!("c1000000-0000-4000-8000-{i:012}");
        let sid = format!("walkin-flaky-{i}");
        let now = now_ms / 1000;
        let jws = signer
            .sign(&json!({
                "jti": jti, "iss": "kiosk-f", "sub": sid, "sessionId": sid, "iat": now, "exp": now + 86_400,
                "status": "complete", "isVerified": true, "test": false, "walkIn": true, "match": {},
                "liveness": {}, "attempts": [], "device": {}, "lang": "en",
                "startedAt": now_ms - 20_000, "finishedAt": now_ms - 1_000,
                "reference": { "sha256": "00", "source": "walkIn" },
            }))
            .unwrap();
        let traces = [json!({ "event": "COMPLETE" })];
        outbox
            .enqueue_result(
                &NewResult {
                    jti: &jti,
                    session_id: &sid,
                    test: false,
                    jws: &jws,
                    traces: &traces,
                },
                now_ms as i64,
            )
            .await
            .unwrap();
    }
    let mut env = Env { now: now_ms as i64 };
    let mut saw_retry_after = false;
    let mut checked_waits = 0;
    // Entry → the retry time last seen: a wait is checked when it was just scheduled.
    let mut seen = std::collections::HashMap::new();
    // Bounded: at most 200 drains, each followed by a jump past the longest wait seen.
    for _ in 0..200 {
        let report = drain_once(&outbox, &client, None, 4, &mut env, &mut |_| {})
            .await
            .unwrap();
        let _ = report;
        let pending = outbox
            .list(Some(facekiosk_sync::EntryState::Pending), 1_000)
            .await
            .unwrap();
        for e in &pending {
            let wait = e.next_attempt_at - env.now;
            if e.last_error.as_deref().is_some_and(|r| r.contains("503")) && wait >= 7_000 {
                saw_retry_after = true;
            }
            let rescheduled = seen.insert(e.id, e.next_attempt_at) != Some(e.next_attempt_at);
            if rescheduled && e.attempts >= 1 && e.next_attempt_at > env.now {
                // Every wait is at least the schedule's shortest for its attempt count.
                let least = facekiosk_sync::backoff::delay_ms(e.attempts as u32, None, 0) as i64;
                assert!(
                    wait >= least,
                    "attempt {}: waited {wait} ms < {least} ms",
                    e.attempts
                );
                checked_waits += 1;
            }
        }
        let status = outbox.status().await.unwrap();
        if status.pending == 0 && status.in_flight == 0 {
            break;
        }
        // On to the next retry (traces waiting for their result are due but not taken).
        if let Some(next) = pending
            .iter()
            .map(|e| e.next_attempt_at)
            .filter(|&t| t > env.now)
            .min()
        {
            env.now = next;
        }
    }
    let status = outbox.status().await.unwrap();
    assert_eq!(
        (
            status.pending,
            status.in_flight,
            status.dead,
            status.acknowledged
        ),
        (0, 0, 0, 2 * n as i64),
        "{status:?}"
    );
    let (stored, distinct) = facekiosk_server::admin::count_results(&db).await.unwrap();
    assert_eq!((stored, distinct), (n as i64, n as i64));
    assert!(saw_retry_after, "a 503's Retry-After (7 s) was honoured");
    assert!(
        checked_waits > 0,
        "retries were scheduled and checked against the backoff"
    );
    assert!(
        connections.load(Ordering::SeqCst) >= 8,
        "every proxy mode was met"
    );
    server.shutdown().await.unwrap();
}
