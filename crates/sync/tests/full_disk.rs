//! A full disk: the outbox's writes fail with a clear error, and nothing already stored is
//! lost. The disk is made "full" for a child process with a file-size limit (`ulimit -f`, with
//! SIGXFSZ ignored so writes fail with EFBIG instead of killing the process).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::Command;

use facekiosk_identity::Sealer;
use facekiosk_sync::{NewResult, Outbox};

const T0: i64 = 1_780_272_000_000;
const CHILD_ENV: &str = "FACEKIOSK_FULL_DISK_OUTBOX";

async fn fill(path: &Path, from: usize, to: usize) -> Result<usize, String> {
    let outbox = Outbox::open(path, Sealer::new([3; 32]), T0)
        .await
        .map_err(|e| e.to_string())?;
    let payload = "p".repeat(16 * 1024);
    for i in from..to {
        let jti = format!("j-{i}");
        if let Err(e) = outbox
            .enqueue_result(
                &NewResult {
                    jti: &jti,
                    session_id: &jti,
                    test: false,
                    jws: &payload,
                    traces: &[],
                },
                T0,
            )
            .await
        {
            return Err(format!("after {} results: {e}", i - from));
        }
    }
    Ok(to - from)
}

/// The child: enqueues until the disk is "full", and prints what happened.
#[tokio::test]
#[ignore = "the child process of a_full_disk_is_a_clear_error_and_loses_nothing; run by it"]
async fn full_disk_child() {
    let path = std::env::var(CHILD_ENV).expect("run by the full-disk test");
    match fill(Path::new(&path), 1_000, 100_000).await {
        Ok(n) => println!("NO ERROR after {n}"),
        Err(e) => println!("ERROR {e}"),
    }
}

#[tokio::test]
async fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    assert_eq!(fill(&path, 0, 50).await.unwrap(), 50);
    let size_kb = std::fs::metadata(&path).unwrap().len() / 1024;
    let exe = std::env::current_exe().unwrap();
    // Room for some more results (the WAL grows to about 25 MB before it is checkpointed),
    // then writes fail.
    let script = format!(
        "trap '' XFSZ; ulimit -f {}; exec \"$0\" full_disk_child --exact --ignored --nocapture --test-threads 1",
        size_kb * 4 + 20_000
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .arg(&exe)
        .env(CHILD_ENV, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ERROR after"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("NO ERROR"), "{stdout}");
    assert!(
        stdout.contains("the outbox"),
        "a clear error naming the outbox: {stdout}"
    );
    let accepted: usize = stdout
        .split("ERROR after ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        accepted > 0,
        "the limit left room for some results first: {stdout}"
    );
    // Without the limit: every result stored before and during the full disk is there, and the
    // file is sound.
    let outbox = Outbox::open(&path, Sealer::new([3; 32]), T0).await.unwrap();
    let status = outbox.status().await.unwrap();
    assert_eq!(status.pending as usize, 50 + accepted, "{status:?}");
    let due = outbox.take_due(T0, 100_000).await.unwrap();
    assert!(due.iter().all(|d| d.payload.len() == 16 * 1024));
}
