//! `facekiosk bench-api`: the verification API under load on 127.0.0.1 — concurrent kiosks
//! posting signed walk-in results while integrators poll — with throughput, latency
//! percentiles, errors, and a count of what was stored (no result twice, none lost).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use facekiosk_identity::KioskIdentity;
use facekiosk_server::{Db, EnginePhotoCheck, Parts, PhotoCipher, ServerConfig, SystemClock};
use serde::Serialize;
use serde_json::json;

use crate::args::BenchApiArgs;
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

/// Latency figures of one kind of request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Figures {
    requests: usize,
    errors: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// The report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    database: String,
    offered_per_second: Option<f64>,
    kiosks: usize,
    pollers: usize,
    seconds: f64,
    results: Figures,
    polls: Figures,
    stored_results: i64,
    duplicates: i64,
    lost: i64,
}

fn figures(mut ms: Vec<f64>, errors: usize, seconds: f64) -> Figures {
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if ms.is_empty() {
            0.0
        } else {
            ms[((ms.len() - 1) as f64 * p).round() as usize]
        }
    };
    Figures {
        requests: ms.len() + errors,
        errors,
        per_second: ms.len() as f64 / seconds.max(1e-9),
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        max_ms: ms.last().copied().unwrap_or(0.0),
    }
}

/// `facekiosk bench-api`.
pub fn run(config: &KioskConfig, a: &BenchApiArgs, out: &Output) -> anyhow::Result<Outcome> {
    if a.kiosks == 0 || a.results == 0 {
        anyhow::bail!("--kiosks and --results must be at least 1");
    }
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        anyhow::bail!("--rate must be a number of results per second, or 0");
    }
    let engine = super::engine(config)?;
    let photos = Arc::new(EnginePhotoCheck::new(engine, config.face.decode));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = rt.block_on(bench(a, photos))?;
    out.print(&report, || {
        let f = |n: &str, x: &Figures| {
            format!(
                "{n:<8} {:>6} requests, {:>7.0}/s, p50 {:>6.1} ms, p99 {:>6.1} ms, max {:>6.1} ms, {} errors",
                x.requests, x.per_second, x.p50_ms, x.p99_ms, x.max_ms, x.errors
            )
        };
        format!(
            "verification API on {} (127.0.0.1), {} kiosks posting {}, {} integrators polling, {:.1} s\n{}\n{}\nstored {} results: {} duplicates, {} lost",
            report.database,
            report.kiosks,
            match report.offered_per_second {
                Some(r) => format!("{r:.0} results/s in all (open loop)"),
                None => "as fast as answered (closed loop)".to_owned(),
            },
            report.pollers,
            report.seconds,
            f("results", &report.results),
            f("polls", &report.polls),
            report.stored_results,
            report.duplicates,
            report.lost
        )
    })?;
    let clean = report.results.errors == 0 && report.duplicates == 0 && report.lost == 0;
    Ok(if clean {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}

async fn bench(a: &BenchApiArgs, photos: Arc<EnginePhotoCheck>) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let (url, pg) = match &a.database_url {
        None => (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            ),
            None,
        ),
        Some(admin) => {
            let name = format!("facekiosk_bench_{}", std::process::id());
            let url = facekiosk_server::admin::create_scratch_database(admin, &name).await?;
            (url, Some((admin.clone(), name)))
        }
    };
    let config = ServerConfig {
        listen: "127.0.0.1:0".to_owned(),
        database_url: Some(url.clone()),
        ..ServerConfig::default()
    };
    let now = super::unix_ms();
    let db = Db::connect(&url, config.db_max_connections).await?;
    db.migrate(now).await?;
    let backend = db.backend();
    let (key, _) = facekiosk_server::admin::create_api_key(&db, "bench", false, now).await?;
    let server = facekiosk_server::start(Parts {
        config,
        db: db.clone(),
        clock: Arc::new(SystemClock),
        cipher: PhotoCipher::new(
            facekiosk_server::crypto::random_bytes::<32>().map_err(|e| anyhow::anyhow!(e))?,
        ),
        photos,
    })
    .await
    .map_err(|e| anyhow::anyhow!(e))?;
    let base = server.url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(a.kiosks + a.pollers)
        .build()?;

    // Kiosks, registered as a branch would, each with the results it will post (signed up
    // front: the benchmark measures the server, not the signing).
    let mut kiosks = Vec::with_capacity(a.kiosks);
    for k in 0..a.kiosks {
        let t: serde_json::Value = http
            .post(format!("{base}/v1/kiosks"))
            .bearer_auth(&key)
            .json(&json!({}))
            .send()
            .await?
            .json()
            .await?;
        let id = format!("bench-kiosk-{k:03}");
        let identity = KioskIdentity::generate(Some(id.clone()), now / 1000 - 60)?;
        let reg: serde_json::Value = http
            .post(format!("{base}/v1/kiosks/register"))
            .json(&json!({ "enrolmentToken": t["enrolmentToken"], "kioskId": id, "keys": identity.jwks() }))
            .send()
            .await?
            .json()
            .await?;
        let credential = reg["credential"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("kiosk registration failed: {reg}"))?
            .to_owned();
        let signer = identity.signer();
        let mine: Vec<String> = (0..a.results)
            .filter(|i| i % a.kiosks == k)
            .map(|i| {
                let sid = format!("walkin-{k:03}-{i:06}");
                let jti = format!("00000000-0000-4000-8000-{i:012}");
                signer.sign(&json!({
                    "jti": jti, "iss": id, "sub": sid, "sessionId": sid,
                    "iat": now / 1000, "exp": now / 1000 + 86_400,
                    "status": "complete", "isVerified": true, "test": false, "walkIn": true,
                    "match": { "score": 0.8, "level": 4, "minimumLevel": 3 },
                    "liveness": { "detected": true, "method": "active", "challenges": [] },
                    "attempts": [], "device": { "kiosk": id }, "lang": "en",
                    "startedAt": now - 20_000, "finishedAt": now - 1_000,
                    "reference": { "sha256": "00", "source": "walkIn" },
                }))
            })
            .collect::<Result<_, _>>()?;
        kiosks.push((credential, mine));
    }

    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.max_seconds);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut posters = Vec::new();
    let n_kiosks = kiosks.len();
    // Open loop: kiosk k posts its i-th result at start + (i·n + k)/rate.
    let interval = (a.rate > 0.0).then(|| Duration::from_secs_f64(n_kiosks as f64 / a.rate));
    for (k, (credential, results)) in kiosks.into_iter().enumerate() {
        let http = http.clone();
        let base = base.clone();
        posters.push(tokio::spawn(async move {
            let mut ms = Vec::with_capacity(results.len());
            let mut errors = 0usize;
            for (i, jws) in results.into_iter().enumerate() {
                if Instant::now() > deadline {
                    break;
                }
                let t = match interval {
                    Some(every) => {
                        let at = start + every.mul_f64(i as f64 + k as f64 / n_kiosks as f64);
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => Instant::now(),
                };
                let r = http
                    .post(format!("{base}/v1/kiosk/results"))
                    .bearer_auth(&credential)
                    .header("content-type", "application/jose")
                    .body(jws)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (ms, errors)
        }));
    }
    let mut pollers = Vec::new();
    for p in 0..a.pollers {
        let http = http.clone();
        let base = base.clone();
        // Each integrator has its own API key (and its own rate limit).
        let (key, _) = facekiosk_server::admin::create_api_key(&db, "bench", false, now).await?;
        let done = done.clone();
        pollers.push(tokio::spawn(async move {
            let mut ms = Vec::new();
            let mut errors = 0usize;
            let mut i = p;
            while !done.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
                let url = if i % 2 == 0 {
                    format!("{base}/v1/sessions?limit=20")
                } else {
                    format!("{base}/v1/sessions/walkin-000-{:06}", i % 1000)
                };
                i += 1;
                let t = Instant::now();
                match http.get(url).bearer_auth(&key).send().await {
                    Ok(r) if r.status().is_success() || r.status().as_u16() == 404 => {
                        let _ = r.bytes().await;
                        ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
                // An integrator polls, it does not hammer.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (ms, errors)
        }));
    }
    let mut post_ms = Vec::new();
    let mut post_errors = 0;
    for h in posters {
        let (ms, e) = h.await?;
        post_ms.extend(ms);
        post_errors += e;
    }
    let seconds = start.elapsed().as_secs_f64();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut poll_ms = Vec::new();
    let mut poll_errors = 0;
    for h in pollers {
        let (ms, e) = h.await?;
        poll_ms.extend(ms);
        poll_errors += e;
    }
    let accepted = post_ms.len() as i64;
    let (stored, distinct) = facekiosk_server::admin::count_results(&db).await?;
    server.shutdown().await?;
    db.pool().close().await;
    if let Some((admin, name)) = pg {
        facekiosk_server::admin::drop_scratch_database(&admin, &name).await?;
    }
    Ok(Report {
        database: backend.as_str().to_owned(),
        offered_per_second: (a.rate > 0.0).then_some(a.rate),
        kiosks: a.kiosks,
        pollers: a.pollers,
        seconds,
        results: figures(post_ms, post_errors, seconds),
        polls: figures(poll_ms, poll_errors, seconds),
        stored_results: stored,
        duplicates: stored - distinct,
        lost: (accepted - stored).max(0),
    })
}
