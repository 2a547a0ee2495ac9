//! What a server answers is not trusted: a huge body is not read past 1 MB (and the delivery
//! is tried again later), garbage in an error answer is reported as such, a 401 says how to
//! register again.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use facekiosk_sync::{ApiClient, Delivery};
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
