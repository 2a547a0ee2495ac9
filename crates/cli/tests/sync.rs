//! A kiosk registered with a running API (both real processes on 127.0.0.1): the demo's
//! signed result is queued before its outcome is shown, `facekiosk sync` delivers it, and the
//! API lists it; `queue` shows the states.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::ort_library;

fn facekiosk(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_facekiosk"));
    c.env_remove("FACEKIOSK_CONFIG")
        .env_remove("DATABASE_URL")
        .env("FACEKIOSK_DATA_DIR", data)
        .env("ORT_DYLIB_PATH", ort_library())
        .args(["--threads", "1"]);
    c
}

fn run(data: &Path, args: &[&str]) -> Output {
    facekiosk(data).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} / {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

#[test]
fn a_registered_kiosk_queues_the_demo_result_and_sync_delivers_it() {
    let dir = tempfile::tempdir().unwrap();
    let server_data = dir.path().join("server-data");
    let kiosk_data = dir.path().join("kiosk-data");
    let d = server_data.join("server");
    let d = d.to_str().unwrap();
    let test_key = text(
        &run(
            &server_data,
            &[
                "api-key",
                "create",
                "--tenant",
                "acme",
                "--test",
                "--data-dir",
                d,
            ],
        )
        .stdout,
    )
    .trim()
    .to_owned();
    let token = text(
        &run(
            &server_data,
            &["kiosk", "enrol-token", "--tenant", "acme", "--data-dir", d],
        )
        .stdout,
    )
    .trim()
    .to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let api = format!("http://127.0.0.1:{port}");
    // Before the API runs: a sync is refused for lack of registration, and nothing is queued.
    let out = run(&kiosk_data, &["sync"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not registered"),
        "{}",
        text(&out.stderr)
    );
    let mut server = facekiosk(&server_data)
        .args([
            "serve",
            "--data-dir",
            d,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the API did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let result = std::panic::catch_unwind(|| {
        let out = run(
            &kiosk_data,
            &[
                "kiosk",
                "register",
                "--api",
                &api,
                "--enrolment-token",
                &token,
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("registered"));
        let out = run(
            &kiosk_data,
            &[
                "kiosk",
                "register",
                "--api",
                &api,
                "--enrolment-token",
                &token,
            ],
        );
        assert_eq!(out.status.code(), Some(2), "a used token");
        assert!(
            text(&out.stderr).contains("INVALID_ENROLMENT_TOKEN"),
            "{}",
            text(&out.stderr)
        );

        let out = run(&kiosk_data, &["demo"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("result queued for the API"),
            "{}",
            text(&out.stderr)
        );
        let status = json(&run(&kiosk_data, &["queue", "status", "--json"]));
        assert_eq!(status["pending"], 2, "the result and its traces: {status}");

        let out = run(&kiosk_data, &["sync", "--json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(json(&out)["sync"]["delivered"], 2);
        let status = json(&run(&kiosk_data, &["queue", "status", "--json"]));
        assert_eq!(
            (status["pending"].as_i64(), status["acknowledged"].as_i64()),
            (Some(0), Some(2)),
            "{status}"
        );
        assert!(status["lastSuccessfulSync"].is_i64());

        // The API has it: a test walk-in of the tenant, visible to its test key.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let list: serde_json::Value = rt.block_on(async {
            reqwest::Client::new()
                .get(format!("{api}/v1/sessions"))
                .bearer_auth(&test_key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        let data = list["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "{list}");
        assert_eq!(data[0]["walkIn"], true);
        assert_eq!(data[0]["test"], true);
        assert_eq!(data[0]["status"], "complete");

        let out = run(&kiosk_data, &["queue", "purge", "--acknowledged"]);
        assert!(out.status.success());
        let status = json(&run(&kiosk_data, &["queue", "status", "--json"]));
        assert_eq!(status["acknowledged"], 0);

        // The power-cut model: demos killed at random points. Each either left its result and
        // traces in the outbox together, or left nothing; an outcome printed means it is there.
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut queued = json(&run(&kiosk_data, &["queue", "status", "--json"]))["pending"]
            .as_i64()
            .unwrap();
        for _ in 0..6 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let delay = Duration::from_millis(300 + rng % 2_500);
            let child = facekiosk(&kiosk_data)
                .arg("demo")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let pid = child.id();
            let killer = std::thread::spawn(move || {
                std::thread::sleep(delay);
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            });
            let out = child.wait_with_output().unwrap();
            killer.join().unwrap();
            let shown = text(&out.stdout).contains("VERIFIED");
            let pending = json(&run(&kiosk_data, &["queue", "status", "--json"]))["pending"]
                .as_i64()
                .unwrap();
            assert!(
                pending == queued || pending == queued + 2,
                "a result without its traces, or the reverse: {queued} -> {pending}"
            );
            if shown {
                assert_eq!(
                    pending,
                    queued + 2,
                    "an outcome was shown that is not in the outbox"
                );
            }
            queued = pending;
        }

        // `sync --watch` beside the kiosk: it sends what waits, then sleeps; a demo run in
        // another process is delivered within moments (not at the end of a minute's sleep),
        // and SIGTERM ends it cleanly with its totals.
        let watcher = facekiosk(&kiosk_data)
            .args(["sync", "--watch", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let settled = |want_ack: i64| {
            let started = Instant::now();
            loop {
                let s = json(&run(&kiosk_data, &["queue", "status", "--json"]));
                if s["pending"] == 0 && s["inFlight"] == 0 && s["acknowledged"] == want_ack {
                    return started.elapsed();
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "not delivered: {s} {}",
                    text(&run(&kiosk_data, &["queue", "list"]).stdout)
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        settled(queued);
        let out = run(&kiosk_data, &["demo"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let took = settled(queued + 2);
        assert!(took < Duration::from_secs(5), "delivered after {took:?}");
        let _ = Command::new("kill")
            .args(["-TERM", &watcher.id().to_string()])
            .status();
        let out = watcher.wait_with_output().unwrap();
        assert!(out.status.success(), "{:?}", out.status);
        assert_eq!(json(&out)["sync"]["delivered"], queued + 2);

        // A damaged outbox: no session starts (its result could not be kept), the file is
        // left as it is, and staff are told what to do.
        let outbox = kiosk_data.join("sync").join("outbox.db");
        for ext in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(kiosk_data.join("sync").join(format!("outbox.db{ext}")));
        }
        std::fs::write(&outbox, b"garbage where the outbox was").unwrap();
        let out = run(&kiosk_data, &["demo"]);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(
            err.contains("no session starts") && err.contains("move it aside"),
            "{err}"
        );
        assert!(
            !text(&out.stdout).contains("VERIFIED"),
            "the session did not run"
        );
        assert_eq!(
            std::fs::read(&outbox).unwrap(),
            b"garbage where the outbox was"
        );
    });
    let _ = server.kill();
    let _ = server.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
