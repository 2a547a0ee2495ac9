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
