//! What a server answers is not trusted: a huge body is not read past 1 MB (and the delivery
//! is tried again later), garbage in an error answer is reported as such, a 401 says how to
//! register again. The worker sends several at once, never more than it is allowed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use facekiosk_identity::Sealer;
use facekiosk_sync::{ApiClient, Delivery, NewResult, Outbox, WorkerEnv, drain_once};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// A server that answers every request with `head` then `body_len` bytes of `x`.
async fn server(head: &'static str, body_len: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(
                        format!("{head}Content-Length: {body_len}\r\nConnection: close\r\n\r\n")
                            .as_bytes(),
                    )
                    .await;
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = body_len;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if sock.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn huge_garbage_and_refusals_are_sorted_without_trusting_the_body() {
    let huge = server("HTTP/1.1 200 OK\r\n", 50 * 1024 * 1024).await;
    let c = ApiClient::new(&huge, Some("fkk_x".to_owned())).unwrap();
    match c.post_result("a.b.c").await {
        Delivery::Retry { reason, .. } => {
            assert!(reason.contains("over 1048576 bytes"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let garbage = server("HTTP/1.1 422 Unprocessable Entity\r\n", 300).await;
    let c = ApiClient::new(&garbage, Some("fkk_x".to_owned())).unwrap();
    match c.post_result("a.b.c").await {
        Delivery::Dead { code, reason } => {
            assert_eq!(code, None);
            assert!(reason.contains("HTTP 422 (no error code)"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let unauthorized = server("HTTP/1.1 401 Unauthorized\r\n", 0).await;
    let c = ApiClient::new(&unauthorized, Some("fkk_x".to_owned())).unwrap();
    match c.post_result("a.b.c").await {
        Delivery::Dead { reason, .. } => {
            assert!(reason.contains("facekiosk kiosk register"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let busy = server("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 12\r\n", 0).await;
    let c = ApiClient::new(&busy, Some("fkk_x".to_owned())).unwrap();
    assert_eq!(
        c.post_result("a.b.c").await,
        Delivery::Retry {
            reason: "HTTP 429 (no error code): no message".to_owned(),
            retry_after_s: Some(12)
        }
    );
}

/// A server that holds every request until `gate` of them are open at once (or 2 s passed,
/// then answers 503): it answers 200 only to requests that really were in flight together.
/// Returns its URL and the most requests it saw open at once.
async fn gate_server(gate: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let seen = most.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (open, most) = (open.clone(), most.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let _ = sock.read(&mut buf).await;
                let now_open = open.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now_open, Ordering::SeqCst);
                let mut reached = false;
                for _ in 0..200 {
                    if most.load(Ordering::SeqCst) >= gate {
                        reached = true;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let head = if reached {
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                } else {
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                };
                // No longer counted before the client can see the answer and send the next.
                open.fetch_sub(1, Ordering::SeqCst);
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (url, seen)
}

struct Env;

impl WorkerEnv for Env {
    fn now_ms(&mut self) -> i64 {
        1_780_272_000_000
    }
    fn random(&mut self) -> u64 {
        0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_sends_up_to_its_concurrency_at_once_and_no_more() {
    let (url, most) = gate_server(3).await;
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(&dir.path().join("outbox.db"), Sealer::new([1; 32]), 0)
        .await
        .unwrap();
    for i in 0..9 {
        let (jti, sid) = (format!("jti-{i}"), format!("ses-{i}"));
        outbox
            .enqueue_result(
                &NewResult {
                    jti: &jti,
                    session_id: &sid,
                    test: false,
                    jws: "a.b.c",
                    traces: &[],
                },
                0,
            )
            .await
            .unwrap();
    }
    let client = ApiClient::new(&url, Some("fkk_x".to_owned())).unwrap();
    // Three at a time: every request is answered 200 only because two others were open with
    // it, so all nine go in three rounds, none refused or retried.
    let report = drain_once(&outbox, &client, None, 3, &mut Env, &mut |_| {})
        .await
        .unwrap();
    assert_eq!((report.delivered, report.retried), (9, 0), "{report:?}");
    assert_eq!(
        most.load(Ordering::SeqCst),
        3,
        "never more than three at once"
    );

    // One at a time the gate is never reached: the server answers 503 and the entry waits.
    let (url, most) = gate_server(2).await;
    outbox
        .enqueue_result(
            &NewResult {
                jti: "jti-one",
                session_id: "ses-one",
                test: false,
                jws: "a.b.c",
                traces: &[],
            },
            0,
        )
        .await
        .unwrap();
    let client = ApiClient::new(&url, Some("fkk_x".to_owned())).unwrap();
    let report = drain_once(&outbox, &client, None, 1, &mut Env, &mut |_| {})
        .await
        .unwrap();
    assert_eq!((report.delivered, report.retried), (0, 1), "{report:?}");
    assert_eq!(most.load(Ordering::SeqCst), 1);
}
