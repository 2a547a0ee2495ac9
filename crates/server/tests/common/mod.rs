//! The test harness: a real server on 127.0.0.1 (an ephemeral port) over a real database —
//! a fresh SQLite file, or a fresh PostgreSQL database on the server `make test` starts
//! (`$FACEKIOSK_TEST_POSTGRES_URL`) — with the real face engine checking ID photos, a manual
//! clock, and kiosks with real Ed25519 keys.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use facekiosk_face::decode::DecodeLimits;
use facekiosk_face::engine::{FaceConfig, FaceEngine};
use facekiosk_face::runtime::RuntimeConfig;
use facekiosk_identity::{KioskIdentity, ResultSigner, TestKey};
use facekiosk_server::{
    Db, EnginePhotoCheck, ManualClock, Parts, PhotoCipher, RunningServer, ServerConfig,
};
use serde_json::{Value, json};

/// Which database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The start of every test's clock: 2026-06-01.
pub const T0_MS: u64 = 1_780_272_000_000;

pub const PG_ENV: &str = "FACEKIOSK_TEST_POSTGRES_URL";

pub fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data")
            .join(name),
    )
    .unwrap()
}

fn photo_check() -> Arc<EnginePhotoCheck> {
    static CHECK: OnceLock<Arc<EnginePhotoCheck>> = OnceLock::new();
    CHECK
        .get_or_init(|| {
            let runtime = RuntimeConfig {
                intra_threads: 1,
                ..RuntimeConfig::default()
            };
            let engine = FaceEngine::load(&runtime, &FaceConfig::default())
                .expect("the face engine loads (run scripts/setup)");
            Arc::new(EnginePhotoCheck::new(engine, DecodeLimits::default()))
        })
        .clone()
}

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub url: String,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub db: Db,
    pub live_key: String,
    pub test_key: String,
    pub other_tenant_key: String,
    _dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
}

async fn database(backend: Backend, dir: &std::path::Path) -> (String, Option<(String, String)>) {
    match backend {
        Backend::Sqlite => (
            format!("sqlite://{}?mode=rwc", dir.join("facekiosk.db").display()),
            None,
        ),
        Backend::Postgres => {
            let admin = std::env::var(PG_ENV).unwrap_or_else(|_| {
                panic!(
                    "${PG_ENV} is not set: these tests need PostgreSQL; `make test` starts a throw-away one (scripts/with-postgres)"
                )
            });
            let name = format!(
                "fk_{}",
                facekiosk_server::crypto::hex(
                    &facekiosk_server::crypto::random_bytes::<6>().unwrap()
                )
            );
            let admin_db = Db::connect(&admin, 1).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(admin_db.pool())
                .await
                .unwrap();
            let base = admin
                .rsplit_once('/')
                .map_or(admin.as_str(), |(b, _)| b)
                .to_owned();
            (format!("{base}/{name}"), Some((admin, name)))
        }
    }
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, ServerConfig::default()).await
    }

    pub async fn start_with(backend: Backend, mut config: ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_drop) = database(backend, dir.path()).await;
        config.listen = "127.0.0.1:0".to_owned();
        config.database_url = Some(url.clone());
        config.db_max_connections = 4;
        let clock = ManualClock::new(T0_MS);
        let db = Db::connect(&url, 4).await.unwrap();
        db.migrate(T0_MS).await.unwrap();
        let (live_key, _) = facekiosk_server::admin::create_api_key(&db, "bank", false, T0_MS)
            .await
            .unwrap();
        let (test_key, _) = facekiosk_server::admin::create_api_key(&db, "bank", true, T0_MS)
            .await
            .unwrap();
        let (other_tenant_key, _) =
            facekiosk_server::admin::create_api_key(&db, "other-bank", false, T0_MS)
                .await
                .unwrap();
        let server = facekiosk_server::start(Parts {
            config,
            db: db.clone(),
            clock: Arc::new(clock.clone()),
            cipher: PhotoCipher::new([42; 32]),
            photos: photo_check(),
        })
        .await
        .unwrap();
        TestServer {
            url: server.url(),
            server: Some(server),
            clock,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap(),
            db,
            live_key,
            test_key,
            other_tenant_key,
            _dir: dir,
            pg_drop,
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
        self.db.pool().close().await;
        if let Some((admin, name)) = self.pg_drop.take() {
            let admin_db = Db::connect(&admin, 1).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(admin_db.pool())
            .await
            .unwrap();
        }
    }

    pub fn u(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// `(status, body)` of a request.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    pub async fn get(&self, key: &str, path: &str) -> (u16, Value) {
        self.send(self.http.get(self.u(path)).bearer_auth(key))
            .await
    }

    pub async fn post_json(&self, key: &str, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.http.post(self.u(path)).bearer_auth(key).json(body))
            .await
    }

    /// Creates a session from an ID photo with extra form fields.
    pub async fn create_with_photo(
        &self,
        key: &str,
        photo: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut form = reqwest::multipart::Form::new().part(
            "reference_image",
            reqwest::multipart::Part::bytes(photo).file_name("id.jpg"),
        );
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        self.send(
            self.http
                .post(self.u("/v1/sessions"))
                .bearer_auth(key)
                .multipart(form),
        )
        .await
    }

    /// A session from the astronaut's photo: `(id, secret, body)`.
    pub async fn session(&self, key: &str, fields: &[(&str, &str)]) -> (String, String, Value) {
        let (status, body) = self
            .create_with_photo(key, data("astronaut.jpg"), fields)
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["session"]["id"].as_str().unwrap().to_owned(),
            body["clientSecret"]["secret"].as_str().unwrap().to_owned(),
            body,
        )
    }

    /// Registers a kiosk of the `bank` tenant.
    pub async fn kiosk(&self, id: &str, seed: u8) -> TestKiosk {
        let (status, body) = self
            .post_json(&self.live_key, "/v1/kiosks", &json!({}))
            .await;
        assert_eq!(status, 201, "{body}");
        let token = body["enrolmentToken"].as_str().unwrap().to_owned();
        let identity = KioskIdentity::from_seed(id, [seed; 32], self.clock.now_s_value() - 10);
        let test_key =
            TestKey::generate(&identity, self.clock.now_s_value() - 10, 30 * 24 * 3600).unwrap();
        let (status, body) = self
            .send(self.http.post(self.u("/v1/kiosks/register")).json(&json!({
                "enrolmentToken": token,
                "kioskId": id,
                "keys": identity.jwks(),
                "testKeys": { "keys": [test_key.jwk()] },
            })))
            .await;
        assert_eq!(status, 201, "{body}");
        TestKiosk {
            id: id.to_owned(),
            credential: body["credential"].as_str().unwrap().to_owned(),
            live: identity.signer(),
            test: test_key.signer(),
            identity,
        }
    }

    pub async fn claim(&self, kiosk: &TestKiosk, body: &Value) -> (u16, Value) {
        self.post_json(&kiosk.credential, "/v1/kiosk/sessions/claim", body)
            .await
    }

    pub async fn post_result(&self, kiosk: &TestKiosk, jws: &str) -> (u16, Value) {
        self.send(
            self.http
                .post(self.u("/v1/kiosk/results"))
                .bearer_auth(&kiosk.credential)
                .header("content-type", "application/jose")
                .body(jws.to_owned()),
        )
        .await
    }
}

pub trait NowS {
    fn now_s_value(&self) -> u64;
}

impl NowS for ManualClock {
    fn now_s_value(&self) -> u64 {
        use facekiosk_server::Clock as _;
        self.now_s()
    }
}

pub struct TestKiosk {
    pub id: String,
    pub credential: String,
    pub live: ResultSigner,
    pub test: ResultSigner,
    pub identity: KioskIdentity,
}

/// What a result says (the claims the API reads, as the session engine writes them).
pub struct Outcome<'a> {
    pub session_id: &'a str,
    pub jti: &'a str,
    pub verified: bool,
    pub test: bool,
    pub walk_in: bool,
    pub reference_sha256: &'a str,
    pub nonce: Option<&'a str>,
}

impl TestKiosk {
    pub fn sign(&self, clock: &ManualClock, o: &Outcome<'_>) -> String {
        let signer = if o.test { &self.test } else { &self.live };
        signer.sign(&self.claims(clock, o)).unwrap()
    }

    pub fn claims(&self, clock: &ManualClock, o: &Outcome<'_>) -> Value {
        use facekiosk_server::Clock as _;
        let now = clock.now_ms();
        let mut c = json!({
            "jti": o.jti,
            "iss": self.id,
            "sub": o.session_id,
            "sessionId": o.session_id,
            "iat": now / 1000,
            "exp": now / 1000 + 30 * 24 * 3600,
            "status": "complete",
            "isVerified": o.verified,
            "test": o.test,
            "match": { "score": 0.81, "level": 4, "minimumLevel": 3, "threshold": 0.557, "levelExtrapolated": false },
            "liveness": { "detected": true, "method": "active", "score": null, "challenges": [] },
            "attempts": [ { "score": 0.81, "level": 4, "liveness": true } ],
            "device": { "kiosk": self.id, "camera": "test", "appVersion": "0.1.0", "executionProvider": "cpu" },
            "capture": { "source": "camera" },
            "lang": "en",
            "startedAt": now - 20_000,
            "finishedAt": now - 1_000,
            "walkIn": o.walk_in,
            "reference": { "sha256": o.reference_sha256, "source": if o.walk_in { "walkIn" } else { "api" } },
        });
        if let Some(n) = o.nonce {
            c["nonce"] = json!(n);
        }
        c
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    facekiosk_server::crypto::sha256_hex(bytes)
}

/// The error code of an error answer.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}
