//! `facekiosk bench-queue`: the kiosk's outbox measured — enqueue latency (one durable
//! transaction per finished session), drain rate against the API on 127.0.0.1, and memory
//! while many entries wait.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use facekiosk_identity::{Jwks, KioskIdentity, Sealer};
use facekiosk_server::{Db, EnginePhotoCheck, Parts, PhotoCipher, ServerConfig, SystemClock};
use facekiosk_sync::{ApiClient, NewResult, Outbox, SystemEnv, drain_once};
use serde::Serialize;
use serde_json::json;

use crate::args::BenchQueueArgs;
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    results: usize,
    enqueue_p50_ms: f64,
    enqueue_p99_ms: f64,
    enqueue_max_ms: f64,
    drained_entries: u64,
    drain_seconds: f64,
    drain_entries_per_second: f64,
    waiting: usize,
    rss_before_mb: f64,
    rss_with_waiting_mb: f64,
    rss_after_take_mb: f64,
    take_due_ms: f64,
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn result(
    signer: &facekiosk_identity::ResultSigner,
    kiosk: &str,
    i: usize,
    now_ms: u64,
) -> anyhow::Result<(String, String, String)> {
    let jti = format!("b0000000-0000-4000-8000-{i:012}");
    let sid = format!("walkin-bench-{i}");
    let now = now_ms / 1000;
    let jws = signer.sign(&json!({
        "jti": jti, "iss": kiosk, "sub": sid, "sessionId": sid, "iat": now, "exp": now + 86_400,
        "status": "complete", "isVerified": true, "test": false, "walkIn": true,
        "match": { "score": 0.8, "level": 4, "minimumLevel": 3 },
        "liveness": { "detected": true, "method": "active", "challenges": [] },
        "attempts": [ { "score": 0.8, "level": 4 } ], "device": { "kiosk": kiosk }, "lang": "en",
        "startedAt": now_ms - 20_000, "finishedAt": now_ms - 1_000,
        "reference": { "sha256": "0".repeat(64), "source": "walkIn" },
    }))?;
    Ok((jti, sid, jws))
}

/// `facekiosk bench-queue`.
pub fn run(config: &KioskConfig, a: &BenchQueueArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = super::engine(config)?;
    let photos = Arc::new(EnginePhotoCheck::new(engine, config.face.decode));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = rt.block_on(async move {
        let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
        let now_ms = super::unix_ms();
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("api.db").display()), 8).await?;
        db.migrate(now_ms).await?;
        facekiosk_server::admin::ensure_tenant(&db, "bench", now_ms).await?;
        let (token, _) = facekiosk_server::admin::create_enrolment_token(&db, "bench", now_ms, 3600).await?;
        let server = facekiosk_server::start(Parts {
            config: ServerConfig {
                listen: "127.0.0.1:0".to_owned(),
                kiosk_rate_limit_per_s: 1e6,
                kiosk_rate_limit_burst: 1_000_000,
                ..ServerConfig::default()
            },
            db: db.clone(),
            clock: Arc::new(SystemClock),
            cipher: PhotoCipher::new([5; 32]),
            photos,
        })
        .await
        .map_err(anyhow::Error::msg)?;
        let identity = KioskIdentity::generate(Some("bench-queue".to_owned()), now_ms / 1000 - 60)?;
        let credential = ApiClient::new(&server.url(), None)?
            .register(&token, identity.kiosk_id(), &identity.jwks(), &Jwks::default())
            .await?;
        let client = ApiClient::new(&server.url(), Some(credential))?;
        let signer = identity.signer();
        let sealer = Sealer::new(facekiosk_server::crypto::random_bytes::<32>().map_err(anyhow::Error::msg)?);
        let outbox = Outbox::open(&dir.path().join("outbox.db"), sealer, now_ms as i64).await?;
        let traces: Vec<serde_json::Value> = (0..10)
            .map(|i| json!({ "deviceIdentifier": "bench-queue", "category": "FACE_SESSION", "event": "HINT", "status": "INFO", "elapsedMs": i * 300, "timestamp": now_ms }))
            .collect();
        // Enqueue: one durable transaction (result + its traces) per finished session.
        let mut ms = Vec::with_capacity(a.results);
        for i in 0..a.results {
            let (jti, sid, jws) = result(&signer, identity.kiosk_id(), i, now_ms)?;
            let t = Instant::now();
            outbox
                .enqueue_result(&NewResult { jti: &jti, session_id: &sid, test: false, jws: &jws, traces: &traces }, now_ms as i64)
                .await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        let q = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
        // Drain against the API.
        let t = Instant::now();
        let drained = drain_once(&outbox, &client, None, config.sync.concurrency, &mut SystemEnv, &mut |_| {}).await?;
        let drain_seconds = t.elapsed().as_secs_f64();
        // Memory while many entries wait.
        let rss_before_mb = rss_mb();
        for i in 0..a.waiting {
            let (jti, sid, jws) = result(&signer, identity.kiosk_id(), a.results + i, now_ms)?;
            outbox
                .enqueue_result(&NewResult { jti: &jti, session_id: &sid, test: false, jws: &jws, traces: &traces }, now_ms as i64)
                .await?;
        }
        let rss_with_waiting_mb = rss_mb();
        let t = Instant::now();
        let due = outbox.take_due(super::unix_ms() as i64, 32).await?;
        let take_due_ms = t.elapsed().as_secs_f64() * 1000.0;
        let _ = outbox.status().await?;
        let rss_after_take_mb = rss_mb();
        drop(due);
        server.shutdown().await?;
        anyhow::Ok(Report {
            results: a.results,
            enqueue_p50_ms: q(0.5),
            enqueue_p99_ms: q(0.99),
            enqueue_max_ms: ms.last().copied().unwrap_or(0.0),
            drained_entries: drained.delivered,
            drain_seconds,
            drain_entries_per_second: drained.delivered as f64 / drain_seconds.max(1e-9),
            waiting: a.waiting,
            rss_before_mb,
            rss_with_waiting_mb,
            rss_after_take_mb,
            take_due_ms,
        })
    })?;
    out.print(&report, || {
        format!(
            "enqueue (result + 10 traces, one durable transaction): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {}\n\
             drain to the API on 127.0.0.1: {} entries in {:.2} s = {:.0} entries/s ({:.0} results/s)\n\
             {} results waiting: RSS {:.1} MB before, {:.1} MB with them queued, {:.1} MB after taking the next 32 ({:.1} ms)",
            report.enqueue_p50_ms,
            report.enqueue_p99_ms,
            report.enqueue_max_ms,
            report.results,
            report.drained_entries,
            report.drain_seconds,
            report.drain_entries_per_second,
            report.drain_entries_per_second / 2.0,
            report.waiting,
            report.rss_before_mb,
            report.rss_with_waiting_mb,
            report.rss_after_take_mb,
            report.take_due_ms
        )
    })?;
    Ok(Outcome::Success)
}
