//! `facekiosk serve`, `api-key create` and `kiosk enrol-token` as an operator runs them: real
//! processes on a temporary data dir, the API on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{data, ort_library};

fn facekiosk(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_facekiosk"));
    c.env_remove("FACEKIOSK_CONFIG")
        .env_remove("DATABASE_URL")
        .env("FACEKIOSK_DATA_DIR", dir.join("kiosk-data"))
        .env("ORT_DYLIB_PATH", ort_library());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    facekiosk(dir).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn admin_commands_print_only_their_secret_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let d = server_dir.to_str().unwrap();
    let out = run(
        dir.path(),
        &["api-key", "create", "--tenant", "acme", "--data-dir", d],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout);
    let key = key.strip_suffix('\n').unwrap();
    assert!(
        key.starts_with("fk_live_") && key.len() == 56 && !key.contains(char::is_whitespace),
        "{key:?}"
    );
    let err = text(&out.stderr);
    assert!(err.contains("created the database"), "{err}");
    assert!(err.contains("created the tenant `acme`"), "{err}");
    let out = run(
        dir.path(),
        &[
            "api-key",
            "create",
            "--tenant",
            "acme",
            "--test",
            "--data-dir",
            d,
        ],
    );
    assert!(text(&out.stdout).starts_with("fk_test_"));
    assert!(
        !text(&out.stderr).contains("created"),
        "the second run creates nothing"
    );
    // List and revoke: ids, never keys.
    let out = run(dir.path(), &["api-key", "list", "--data-dir", d, "--json"]);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(!text(&out.stdout).contains(key));
    let id = keys[0]["id"].as_str().unwrap().to_owned();
    let out = run(dir.path(), &["api-key", "revoke", &id, "--data-dir", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(dir.path(), &["api-key", "revoke", &id, "--data-dir", d]);
    assert_eq!(out.status.code(), Some(2), "revoking twice");
    let out = run(
        dir.path(),
        &["api-key", "list", "--tenant", "acme", "--data-dir", d],
    );
    assert!(
        text(&out.stdout).contains("revoked"),
        "{}",
        text(&out.stdout)
    );
    let out = run(
        dir.path(),
        &["kiosk", "enrol-token", "--tenant", "acme", "--data-dir", d],
    );
    assert!(out.status.success());
    assert!(text(&out.stdout).trim().starts_with("fke_"));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    // Errors: a tenant that does not exist, a name that cannot be one, a database URL of
    // nothing we support. Exit 2, nothing on stdout.
    for (args, why) in [
        (
            vec![
                "kiosk",
                "enrol-token",
                "--tenant",
                "nobody",
                "--data-dir",
                d,
            ],
            "no tenant `nobody`",
        ),
        (
            vec!["api-key", "create", "--tenant", "a b", "--data-dir", d],
            "tenant name",
        ),
        (
            vec![
                "api-key",
                "create",
                "--tenant",
                "x",
                "--database-url",
                "mysql://x",
            ],
            "expected sqlite://",
        ),
    ] {
        let out = run(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(
            text(&out.stderr).contains(why),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn serve_help_documents_every_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["serve", "--help"]);
    let help = text(&out.stdout);
    for opt in [
        "--listen",
        "--data-dir",
        "--database-url",
        "--public-url",
        "DATABASE_URL",
        "--config",
    ] {
        assert!(help.contains(opt), "{opt} missing from:\n{help}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_starts_on_an_empty_data_dir_serves_and_stops_gracefully_without_logging_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let d = server_dir.to_str().unwrap().to_owned();
    let out = run(
        dir.path(),
        &["api-key", "create", "--tenant", "acme", "--data-dir", &d],
    );
    let key = text(&out.stdout).trim().to_owned();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut child = facekiosk(dir.path())
        .args([
            "serve",
            "--data-dir",
            &d,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let photo = std::fs::read(data("astronaut.jpg")).unwrap();
    let secrets = rt.block_on(async {
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{base}/readyz")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not come up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let form = reqwest::multipart::Form::new().part(
            "reference_image",
            reqwest::multipart::Part::bytes(photo.clone()).file_name("id.jpg"),
        );
        let created: serde_json::Value = http
            .post(format!("{base}/v1/sessions"))
            .bearer_auth(&key)
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = created["clientSecret"]["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let token: serde_json::Value = http
            .post(format!("{base}/v1/token"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["accessToken"].as_str().unwrap().to_owned();
        let r = http
            .get(format!("{base}/v1/sessions?clientReferenceId={secret}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        vec![key.clone(), secret, token]
    });
    // A 200 MB upload without a declared length: cut off at the limit, and the server's memory
    // stays flat (its peak resident size grows by far less than the upload).
    let peak_before = peak_rss_kb(child.id());
    let status = chunked_upload(port, &key, 200);
    assert!(status == Some(413) || status.is_none(), "{status:?}");
    let peak_after = peak_rss_kb(child.id());
    assert!(
        peak_after < peak_before + 64 * 1024,
        "peak RSS {peak_before} kB -> {peak_after} kB"
    );
    // SIGTERM: a graceful stop, exit 0.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(status.success(), "{log}");
    assert!(log.contains("created the photo key"), "{log}");
    assert!(
        log.contains("\"route\":\"/v1/sessions\""),
        "structured request logs: {log}"
    );
    assert!(log.contains("stopped"), "{log}");
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "a secret reached the log");
    }
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&photo[..300]);
    assert!(!log.contains(&b64[..40]), "the photo reached the log");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(server_dir.join("photo.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// The peak resident set of a process, kB (Linux).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Streams `mb` MB as a chunked multipart upload to POST /v1/sessions; the answer's status, or
/// None when the server closed the connection before answering.
fn chunked_upload(port: u16, key: &str, mb: usize) -> Option<u16> {
    use std::io::{Read as _, Write as _};
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).unwrap();
    let first = b"--XYZ\r\nContent-Disposition: form-data; name=\"reference_image\"; filename=\"a.jpg\"\r\n\r\n";
    let _ = sock.write_all(format!("{:x}\r\n", first.len()).as_bytes());
    let _ = sock.write_all(first);
    let _ = sock.write_all(b"\r\n");
    let chunk = vec![0xFFu8; 1024 * 1024];
    for _ in 0..mb {
        if sock
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .is_err()
            || sock.write_all(&chunk).is_err()
            || sock.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = sock.write_all(b"0\r\n\r\n");
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace().nth(1).and_then(|c| c.parse().ok())
}
