//! End to end through the real app: the verification API on 127.0.0.1, the app built from this
//! workspace, run under Xvfb and driven by WebDriver (`tauri-driver` in front of Debian's
//! `WebKitWebDriver`) as a person would use it: tap, type the session's digit code on the
//! keypad (or hold its QR code up to the camera), agree, look at the camera (a video file
//! standing in for it), see the outcome.
//!
//! Needs a display (`DISPLAY`), `tauri-driver` and `WebKitWebDriver`: `scripts/e2e` provides
//! them and `make test` runs it. Without them the test fails and says what is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use facekiosk_face::decode::DecodeLimits;
use facekiosk_face::engine::{FaceConfig, FaceEngine};
use facekiosk_face::runtime::RuntimeConfig;
use facekiosk_kiosk::config::KioskConfig;
use facekiosk_kiosk::store::{KioskStore, Registration};
use facekiosk_server::{Db, EnginePhotoCheck, Parts, PhotoCipher, ServerConfig, SystemClock};
use facekiosk_sync::ApiClient;
use serde_json::{Value, json};

mod support;
use support::{jpeg_of, record_clip};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session with the app (W3C protocol over HTTP).
struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
}

impl Driver {
    async fn start(port: u16, app: &Path) -> Driver {
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let session = loop {
            let answer = http
                .post(format!("{base}/session"))
                .json(&json!({ "capabilities": { "alwaysMatch": {
                    "tauri:options": { "application": app.display().to_string() }
                } } }))
                .send()
                .await;
            if let Ok(r) = answer {
                let v: Value = r.json().await.unwrap();
                match v["value"]["sessionId"].as_str() {
                    Some(id) => break id.to_owned(),
                    None => panic!("WebDriver refused a session: {v}"),
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "tauri-driver did not answer on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        Driver {
            http,
            base,
            session,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    /// Runs `script` in the page and returns its value.
    async fn js(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    async fn screen(&self) -> String {
        self.js("return document.getElementById('app').dataset.screen")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits (bounded) until the app shows `screen`.
    async fn until_screen(&self, screen: &str, within: Duration) {
        let started = Instant::now();
        loop {
            let now = self.screen().await;
            if now == screen {
                return;
            }
            assert!(
                started.elapsed() < within,
                "the app shows `{now}`, not `{screen}`, after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element `css` matches, as a person's tap would.
    async fn tap(&self, css: &str) {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        let id = found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element `{css}`: {found}"))
            .to_owned();
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_code(&self, digits: &str) {
        for d in digits.chars() {
            self.tap(&format!("[data-action=digit][data-digit='{d}']"))
                .await;
        }
        self.tap("[data-action=submit]").await;
    }

    /// Presses keys together (held in order, released in reverse), as a keyboard would.
    async fn chord(&self, keys: &[&str]) {
        let mut actions: Vec<Value> = keys
            .iter()
            .map(|k| json!({ "type": "keyDown", "value": k }))
            .collect();
        actions.extend(
            keys.iter()
                .rev()
                .map(|k| json!({ "type": "keyUp", "value": k })),
        );
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .await;
        self.call(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Types a staff PIN on the PIN screen's keypad and submits it.
    async fn type_pin(&self, pin: &str) {
        for d in pin.chars() {
            self.tap(&format!("[data-action=pinDigit][data-digit='{d}']"))
                .await;
        }
        self.tap("[data-action=pinSubmit]").await;
    }

    /// The visible text of the current screen.
    async fn text(&self) -> String {
        self.js("const s = document.querySelector('section.screen:not([hidden])'); return s ? s.innerText : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let b64 = self
            .call(reqwest::Method::GET, "/screenshot", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

/// The newest `facekiosk-app` process's memory: its own RSS, and the PSS of it and everything
/// under it (the WebKit processes), MB.
fn app_memory_mb() -> Option<(u64, u64)> {
    fn children(pid: u32) -> Vec<u32> {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
    let out = Command::new("pgrep")
        .args(["-n", "facekiosk-app"])
        .output()
        .ok()?;
    let root: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    let field = |file: String, name: &str| {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let own = field(format!("/proc/{root}/status"), "VmRSS:");
    let mut todo = vec![root];
    let mut pss = 0u64;
    while let Some(pid) = todo.pop() {
        pss += field(format!("/proc/{pid}/smaps_rollup"), "Pss:");
        todo.extend(children(pid));
    }
    Some((own / 1024, pss / 1024))
}

/// Prints a figure for `make bench-app` (FACEKIOSK_E2E_FIGURES=1).
fn figure(what: &str, value: String) {
    if std::env::var_os("FACEKIOSK_E2E_FIGURES").is_some() {
        println!("figure: {what}: {value}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `tauri-driver`, killed with the test.
struct TauriDriver(Child);

impl Drop for TauriDriver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn prerequisites() -> PathBuf {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: run the end-to-end test through scripts/e2e (it starts Xvfb), or `make test`"
    );
    assert!(
        Path::new("/usr/bin/WebKitWebDriver").is_file(),
        "WebKitWebDriver is missing: apt-get install webkit2gtk-driver (scripts/setup does)"
    );
    std::env::var_os("TAURI_DRIVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/tauri-driver"))
        })
        .filter(|p| p.is_file())
        .expect("tauri-driver is missing: cargo install tauri-driver --locked (scripts/e2e does)")
}

/// The ONNX Runtime library the rest of the tests use (the app gets its own data dir).
fn ort_library() -> PathBuf {
    let lib = facekiosk_face::runtime::data_dir()
        .map(|d| d.join("onnxruntime").join("libonnxruntime.so"))
        .filter(|p| p.is_file());
    lib.expect("ONNX Runtime is missing: run scripts/setup")
}

struct Kiosk {
    data: PathBuf,
    config: PathBuf,
}

/// A kiosk data dir registered with the API, and a configuration file whose camera is `camera`
/// (and `extra` appended). With `registered_with`, the kiosk registers with that API but
/// keeps `api` as its API's address (one that does not answer yet: offline).
#[allow(clippy::too_many_arguments)]
async fn kiosk(
    dir: &Path,
    name: &str,
    api: &str,
    registered_with: Option<&str>,
    token: &str,
    camera: &Path,
    seed: Option<u64>,
    extra: &str,
) -> Kiosk {
    let data = dir.join(name);
    let config_path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config_path,
        format!(
            "[runtime]\nlibrary = {lib:?}\nintra_threads = 1\n[session]\nallow_attended = true\n\
             [kiosk]\ncamera = {camera:?}\noutcome_s = 60\n{seed}{extra}",
            lib = ort_library().display().to_string(),
            camera = camera.display().to_string(),
            seed = seed
                .map(|s| format!("test_challenge_seed = {s}\n"))
                .unwrap_or_default(),
        ),
    )
    .unwrap();
    let config = KioskConfig::default();
    let store = KioskStore::in_dir(&data, &config);
    let (identity, _, _) = store.identity().unwrap();
    let credential = ApiClient::new(registered_with.unwrap_or(api), None)
        .unwrap()
        .register(
            token,
            identity.kiosk_id(),
            &identity.jwks(),
            &Default::default(),
        )
        .await
        .unwrap();
    store
        .save_registration(&Registration {
            api: api.to_owned(),
            kiosk_id: identity.kiosk_id().to_owned(),
            credential,
        })
        .unwrap();
    Kiosk {
        data,
        config: config_path,
    }
}

fn spawn_driver(driver: &Path, port: u16, kiosk: &Kiosk) -> TauriDriver {
    TauriDriver(
        Command::new(driver)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &free_port().to_string(),
            ])
            .env("FACEKIOSK_DATA_DIR", &kiosk.data)
            .env("FACEKIOSK_CONFIG", &kiosk.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver starts"),
    )
}

async fn session_status(api: &str, key: &str, id: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{api}/v1/sessions/{id}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A session with `id_photo` and a digit code: its id, digit code and QR code's URL.
async fn create_session(api: &str, key: &str, id_photo: &[u8]) -> (String, String, String) {
    let form = reqwest::multipart::Form::new()
        .part(
            "reference_image",
            reqwest::multipart::Part::bytes(id_photo.to_vec()).file_name("id.jpg"),
        )
        .text("generateDigitString", "true");
    let created: Value = reqwest::Client::new()
        .post(format!("{api}/v1/sessions"))
        .bearer_auth(key)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        created["session"]["id"].as_str().unwrap().to_owned(),
        created["digitString"].as_str().unwrap().to_owned(),
        created["clientSecret"]["url"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by `make test` through scripts/e2e"]
async fn a_customer_types_the_code_looks_at_the_camera_and_the_api_gets_the_verified_result() {
    let driver = prerequisites();
    let app = PathBuf::from(env!("CARGO_BIN_EXE_facekiosk-app"));
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e");
    std::fs::create_dir_all(&shots).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // The API, with a test API key and enrolment tokens.
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let db = Db::connect(
        &format!("sqlite://{}?mode=rwc", dir.path().join("api.db").display()),
        4,
    )
    .await
    .unwrap();
    db.migrate(t0).await.unwrap();
    facekiosk_server::admin::ensure_tenant(&db, "bank", t0)
        .await
        .unwrap();
    let (key, _) = facekiosk_server::admin::create_api_key(&db, "bank", true, t0)
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
        cipher: PhotoCipher::new([2; 32]),
        photos: Arc::new(EnginePhotoCheck::new(engine, DecodeLimits::default())),
    })
    .await
    .unwrap();
    let api = server.url();
    let id_photo = jpeg_of(
        facekiosk_synth::demo::PHOTO,
        facekiosk_synth::demo::id_photo,
    );

    // A kiosk whose camera is missing: a wrong code is refused and can be typed again; the
    // right one is claimed; the camera error screen follows the consent.
    let (token, _) = facekiosk_server::admin::create_enrolment_token(&db, "bank", t0, 3600)
        .await
        .unwrap();
    let k = kiosk(
        dir.path(),
        "kiosk-a",
        &api,
        None,
        &token,
        &dir.path().join("no-such-camera.avi"),
        None,
        "",
    )
    .await;
    let port = free_port();
    let _driver = spawn_driver(&driver, port, &k);
    let d = Driver::start(port, &app).await;
    let (_, digits, _) = create_session(&api, &key, &id_photo).await;
    let outcome = async {
        d.until_screen("attract", Duration::from_secs(30)).await;
        d.screenshot(&shots.join("attract.png")).await;
        // Kiosk mode: reload, print and find shortcuts do nothing; the page cannot be sent
        // elsewhere; there is no context menu. A reload would forget the marker.
        d.js("window.__marker = 42; return 0").await;
        const CONTROL: &str = "\u{E009}";
        const F5: &str = "\u{E035}";
        for chord in [&[F5][..], &[CONTROL, "r"], &[CONTROL, "p"], &[CONTROL, "f"]] {
            d.chord(chord).await;
        }
        d.js("window.location.href = 'http://127.0.0.1:9/elsewhere'; return 0")
            .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            d.js("return window.__marker").await,
            json!(42),
            "not reloaded"
        );
        assert_eq!(
            d.js("return window.location.protocol").await,
            json!("tauri:"),
            "not navigated away"
        );
        assert_eq!(d.screen().await, "attract");
        let menu = "const e = new MouseEvent('contextmenu', { bubbles: true, cancelable: true }); \
                    document.body.dispatchEvent(e); return e.defaultPrevented";
        assert_eq!(d.js(menu).await, json!(true), "no context menu");
        d.tap("[data-action=start]").await;
        d.until_screen("keypad", Duration::from_secs(5)).await;
        d.type_code("000000").await;
        // Refused by the API: still on the keypad, with the reason.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(d.screen().await, "keypad");
        let shown = d
            .js("return document.getElementById('code-error').hidden")
            .await;
        assert_eq!(shown, json!(false), "the wrong code's error is shown");
        d.type_code(&digits).await;
        d.until_screen("consent", Duration::from_secs(10)).await;
        d.tap("[data-action=agree]").await;
        d.until_screen("cameraError", Duration::from_secs(60)).await;
        let text = d.text().await;
        assert!(!text.trim().is_empty(), "the camera error screen has text");
        d.screenshot(&shots.join("camera-error.png")).await;
    };
    let result = tokio::time::timeout(Duration::from_secs(180), outcome).await;
    d.quit().await;
    drop(_driver);
    assert!(result.is_ok(), "the scenario did not finish in 3 minutes");

    // A kiosk whose camera sees the session's QR code: scanning it claims the session.
    let (_, _, url) = create_session(&api, &key, &id_photo).await;
    let qr_clip = dir.path().join("qr.avi");
    let frames: Vec<image::RgbImage> = (0..45)
        .map(|i| facekiosk_synth::demo::qr_code_frame((i >= 10).then_some(url.as_str()), i))
        .collect();
    facekiosk_capture::video::write_avi(&qr_clip, &frames, 15).unwrap();
    let (token, _) = facekiosk_server::admin::create_enrolment_token(&db, "bank", t0, 3600)
        .await
        .unwrap();
    let k = kiosk(
        dir.path(),
        "kiosk-c",
        &api,
        None,
        &token,
        &qr_clip,
        None,
        "",
    )
    .await;
    let port = free_port();
    let _driver = spawn_driver(&driver, port, &k);
    let d = Driver::start(port, &app).await;
    let outcome = async {
        d.until_screen("attract", Duration::from_secs(30)).await;
        d.tap("[data-action=start]").await;
        d.until_screen("keypad", Duration::from_secs(5)).await;
        d.tap("[data-action=scan]").await;
        d.until_screen("consent", Duration::from_secs(30)).await;
    };
    let result = tokio::time::timeout(Duration::from_secs(90), outcome).await;
    d.quit().await;
    drop(_driver);
    assert!(
        result.is_ok(),
        "the QR code was not scanned and claimed in time"
    );

    // A kiosk whose camera is a clip of the synthetic head following the challenges of a fixed
    // draw: the session passes active liveness and matches; the app queues the result and its
    // sync worker delivers it; the API then says complete and verified.
    let recorder = FaceEngine::load(
        &RuntimeConfig {
            intra_threads: 1,
            ..RuntimeConfig::default()
        },
        &FaceConfig::default(),
    )
    .unwrap();
    let clip = dir.path().join("head.avi");
    let seed = (1..=12)
        .find(|&s| record_clip(&recorder, &id_photo, s, &clip))
        .expect("a draw the synthetic head passes, among 12");
    let (token, _) = facekiosk_server::admin::create_enrolment_token(&db, "bank", t0, 3600)
        .await
        .unwrap();
    let k = kiosk(
        dir.path(),
        "kiosk-b",
        &api,
        None,
        &token,
        &clip,
        Some(seed),
        "",
    )
    .await;
    let port = free_port();
    let _driver = spawn_driver(&driver, port, &k);
    let d = Driver::start(port, &app).await;
    let (session_id, digits, _) = create_session(&api, &key, &id_photo).await;
    let other = jpeg_of(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/grace_hopper.jpg"),
        )
        .unwrap(),
        |i| i.clone(),
    );
    let (_, stranger_digits, _) = create_session(&api, &key, &other).await;
    let outcome = async {
        d.until_screen("attract", Duration::from_secs(30)).await;
        d.tap("[data-action=start]").await;
        d.until_screen("keypad", Duration::from_secs(5)).await;
        d.type_code(&digits).await;
        d.until_screen("consent", Duration::from_secs(10)).await;
        d.tap("[data-action=agree]").await;
        d.until_screen("capture", Duration::from_secs(10)).await;
        let capture_shown = Instant::now();
        // The preview shows frames.
        let shown = "const i = document.getElementById('preview-img'); \
                     return !!(i && !i.hidden && i.naturalWidth > 0)";
        while d.js(shown).await != json!(true) {
            assert!(
                capture_shown.elapsed() < Duration::from_secs(20),
                "no preview frame"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        figure(
            "first preview frame after the capture screen opened",
            format!("{} ms", capture_shown.elapsed().as_millis()),
        );
        d.js(
            "window.__frames = 0; new MutationObserver(() => window.__frames++)\
              .observe(document.getElementById('preview-img'), \
              { attributes: true, attributeFilter: ['src'] }); return 0",
        )
        .await;
        tokio::time::sleep(Duration::from_millis(2000)).await;
        let frames = d.js("return window.__frames").await.as_u64().unwrap_or(0);
        figure(
            "preview frames shown in 2 s (clip played as fast as the engine analyses it)",
            format!("{frames} ({:.1} frames/s)", frames as f64 / 2.0),
        );
        if let Some((own, pss)) = app_memory_mb() {
            figure(
                "memory during the session",
                format!("app process RSS {own} MB; app + WebKit processes PSS {pss} MB"),
            );
        }
        d.screenshot(&shots.join("capture.png")).await;
        d.until_screen("success", Duration::from_secs(120)).await;
        figure(
            "capture screen to the decision (the session's own pace: hold still, challenges)",
            format!("{:.1} s", capture_shown.elapsed().as_secs_f64()),
        );
        tokio::time::sleep(Duration::from_millis(800)).await;
        d.screenshot(&shots.join("success.png")).await;
        // Delivered by the app's sync worker: the API has it, verified.
        let started = Instant::now();
        loop {
            let got = session_status(&api, &key, &session_id).await;
            if got["session"]["status"] == "complete" {
                assert_eq!(got["session"]["report"]["isVerified"], true, "{got}");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the API never got the result: {got}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // Someone else's ID photo: the face does not match (the clip passes liveness at its
        // first attempt), and the screen says so, with the attempts left.
        d.tap("[data-action=done]").await;
        d.until_screen("attract", Duration::from_secs(10)).await;
        d.tap("[data-action=start]").await;
        d.until_screen("keypad", Duration::from_secs(5)).await;
        d.type_code(&stranger_digits).await;
        d.until_screen("consent", Duration::from_secs(10)).await;
        d.tap("[data-action=agree]").await;
        d.until_screen("attemptFailed", Duration::from_secs(120))
            .await;
        // (after the screen's entrance animation)
        tokio::time::sleep(Duration::from_millis(800)).await;
        let text = d.text().await;
        assert!(text.contains('2'), "attempts left are shown: {text}");
        assert!(
            text.contains("That did not work"),
            "a failed match, not a failed liveness check: {text}"
        );
        d.screenshot(&shots.join("attempt-failed.png")).await;
    };
    let result = tokio::time::timeout(Duration::from_secs(400), outcome).await;
    d.quit().await;
    drop(_driver);
    assert!(result.is_ok(), "the scenario did not finish in time");

    // Offline: a kiosk whose API does not answer. The customer's code cannot be claimed; staff
    // open the panel from the offline screen with their PIN (a wrong one first), hold the
    // customer's ID photo up to the camera (here the same clip: its first frames show the
    // face), and the customer does the walk-in session. Its result waits in the queue until
    // the API answers, then the API holds it: a walk-in, complete, verified.
    let offline_port = free_port();
    let offline_api = format!("http://127.0.0.1:{offline_port}");
    let (token, _) = facekiosk_server::admin::create_enrolment_token(&db, "bank", t0, 3600)
        .await
        .unwrap();
    // A short lockout, so that the test sees one end.
    let staff = format!(
        "[staff]\nlockout_s = 5\n[[staff.operators]]\nname = \"Amal\"\npin_hash = {:?}\n",
        facekiosk_kiosk::staff::hash_pin("2468").unwrap()
    );
    let k = kiosk(
        dir.path(),
        "kiosk-d",
        &offline_api,
        Some(&api),
        &token,
        &clip,
        Some(seed),
        &staff,
    )
    .await;
    let port = free_port();
    let _driver = spawn_driver(&driver, port, &k);
    let d = Driver::start(port, &app).await;
    let outcome = async {
        d.until_screen("attract", Duration::from_secs(30)).await;
        d.tap("[data-action=start]").await;
        d.until_screen("keypad", Duration::from_secs(5)).await;
        d.type_code("123456").await;
        d.until_screen("offline", Duration::from_secs(30)).await;
        d.tap("[data-action=staffOpen]").await;
        d.until_screen("staffPin", Duration::from_secs(5)).await;
        d.type_pin("1111").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(d.screen().await, "staffPin", "a wrong PIN opens nothing");
        let text = d.text().await;
        assert!(text.contains('4'), "the tries left are shown: {text}");
        // Four more wrong PINs lock the panel for staff.lockout_s: even the right PIN cannot
        // be typed until then.
        for _ in 0..4 {
            d.type_pin("1111").await;
            tokio::time::sleep(Duration::from_millis(1200)).await;
        }
        let text = d.text().await;
        assert!(
            text.contains("Too many wrong PINs"),
            "the lockout is shown: {text}"
        );
        d.type_pin("2468").await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(
            d.screen().await,
            "staffPin",
            "the right PIN opens nothing while locked"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        // The digits typed while locked are still there: cleared before the right PIN.
        for _ in 0..12 {
            d.tap("[data-action=pinBackspace]").await;
        }
        d.type_pin("2468").await;
        // The walk-in screen takes the ID photo from the clip's first good frame: in a release
        // build that can take less than a poll, so what is checked is where it leads.
        d.until_screen("consent", Duration::from_secs(60)).await;
        let walk_in = d
            .js("return !document.getElementById('walkin-badge').hidden")
            .await;
        assert_eq!(walk_in, json!(true), "the consent screen is a walk-in's");
        d.tap("[data-action=agree]").await;
        d.until_screen("success", Duration::from_secs(120)).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        let text = d.text().await;
        assert!(
            text.to_lowercase().contains("network"),
            "the customer is told the result is sent later: {text}"
        );
    };
    let result = tokio::time::timeout(Duration::from_secs(300), outcome).await;
    assert!(result.is_ok(), "the walk-in did not finish in time");

    // The API comes back on the kiosk's address: the app's sync worker delivers the result.
    let back = facekiosk_server::start(Parts {
        config: ServerConfig {
            listen: format!("127.0.0.1:{offline_port}"),
            ..ServerConfig::default()
        },
        db: db.clone(),
        clock: Arc::new(SystemClock),
        cipher: PhotoCipher::new([2; 32]),
        photos: Arc::new(EnginePhotoCheck::new(
            FaceEngine::load(
                &RuntimeConfig {
                    intra_threads: 1,
                    ..RuntimeConfig::default()
                },
                &FaceConfig::default(),
            )
            .unwrap(),
            DecodeLimits::default(),
        )),
    })
    .await
    .unwrap();
    let started = Instant::now();
    let walk_in = loop {
        let list: Value = reqwest::Client::new()
            .get(format!("{api}/v1/sessions"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = list["data"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["walkIn"] == true).cloned());
        if let Some(s) = found {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the walk-in never reached the API: {list}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(walk_in["status"], "complete", "{walk_in}");
    let id = walk_in["id"].as_str().unwrap();
    assert!(id.starts_with("walkin-"), "{walk_in}");
    let got = session_status(&api, &key, id).await;
    assert_eq!(got["session"]["report"]["isVerified"], true, "{got}");
    d.quit().await;
    back.shutdown().await.unwrap();
    server.shutdown().await.unwrap();
}
