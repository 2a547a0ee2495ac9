//! The server's configuration: the `[server]` section of `facekiosk.toml`, overridden by the
//! environment and the command line (see docs/CONFIGURATION.md).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything `facekiosk serve` can be told. Every key has a default, so no file is needed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// Where the embedded SQLite database and the photo key live; default
    /// `<FaceKiosk data dir>/server`.
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL (several replicas over one database), or `sqlite://…`;
    /// default: `facekiosk.db` in the data dir. `$DATABASE_URL` overrides it.
    pub database_url: Option<String>,
    /// The public base URL of this API, used in `clientSecret.url`; default `http://<listen>`.
    pub public_url: Option<String>,
    /// The 32-byte key that encrypts ID photos at rest (XChaCha20-Poly1305), as 64 hex digits in
    /// a file; default `photo.key` in the data dir, created on first start. Replicas must share
    /// it: set the same file or `$FACEKIOSK_PHOTO_KEY` (64 hex digits) on each.
    pub photo_key_file: Option<PathBuf>,
    /// How long an ID photo is kept after its session ended or expired, for audit, s (0: deleted
    /// at once).
    pub photo_retention_s: u64,
    /// Keep the ID photo of a verified session as the identity's reference, so later sessions
    /// can be created from `identityId` (face authentication). Deleted with
    /// `DELETE /v1/identities/{id}`.
    pub keep_identity_references: bool,
    /// An identity older than this must identify again (`face-auth-status` says
    /// `IDENTIFICATION`), days.
    pub identity_max_age_days: u64,
    /// Lifetime of a bearer token from `POST /v1/token`, s.
    pub token_ttl_s: u64,
    /// Lifetime of a client secret, s (never longer than its session).
    pub client_secret_ttl_s: u64,
    /// Lifetime of a kiosk enrolment token, s.
    pub enrolment_token_ttl_s: u64,
    /// Lifetime of a session's digit code, s (never longer than its client secret).
    pub digit_code_ttl_s: u64,
    /// Failed digit-code claims a kiosk may make per window before it is refused (HTTP 429).
    pub digit_code_attempts: u32,
    /// The window for `digit_code_attempts`, s.
    pub digit_code_window_s: u64,
    /// How long after its expiry a claimed session still accepts a result that the kiosk
    /// finished before the expiry (an offline kiosk syncing late), s.
    pub offline_grace_s: u64,
    /// Largest ID photo upload, MB.
    pub max_photo_mb: u64,
    /// Largest JSON body, KB.
    pub max_json_kb: u64,
    /// A request that takes longer is answered 408, s.
    pub request_timeout_s: u64,
    /// Requests per second each API key may make (sustained).
    pub rate_limit_per_s: f64,
    /// Requests each API key may make in a burst.
    pub rate_limit_burst: u32,
    /// Requests per second each kiosk may make (sustained; a kiosk draining a backlog).
    pub kiosk_rate_limit_per_s: f64,
    /// Requests each kiosk may make in a burst.
    pub kiosk_rate_limit_burst: u32,
    /// Database connections (SQLite serialises writers anyway).
    pub db_max_connections: u32,
    /// ID-photo face checks that may run at once (0: one per CPU core).
    pub photo_checks: usize,
    /// How often expired sessions, photos and tokens are swept, s.
    pub sweep_interval_s: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: None,
            database_url: None,
            public_url: None,
            photo_key_file: None,
            photo_retention_s: 0,
            keep_identity_references: true,
            identity_max_age_days: 365,
            token_ttl_s: 900,
            client_secret_ttl_s: 3600,
            enrolment_token_ttl_s: 24 * 3600,
            digit_code_ttl_s: 900,
            digit_code_attempts: 5,
            digit_code_window_s: 900,
            offline_grace_s: 7 * 24 * 3600,
            max_photo_mb: 10,
            max_json_kb: 1024,
            request_timeout_s: 30,
            rate_limit_per_s: 100.0,
            rate_limit_burst: 200,
            kiosk_rate_limit_per_s: 200.0,
            kiosk_rate_limit_burst: 400,
            db_max_connections: 8,
            photo_checks: 0,
            sweep_interval_s: 60,
        }
    }
}

/// The longest session lifetime, s (30 days).
pub const MAX_LIFETIME_S: u64 = 30 * 24 * 3600;
/// The default session lifetime, s.
pub const DEFAULT_LIFETIME_S: u64 = 1800;
/// The shortest session lifetime, s.
pub const MIN_LIFETIME_S: u64 = 60;

impl ServerConfig {
    /// Checks values a server cannot run with; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("server.token_ttl_s", self.token_ttl_s),
            ("server.client_secret_ttl_s", self.client_secret_ttl_s),
            ("server.enrolment_token_ttl_s", self.enrolment_token_ttl_s),
            ("server.digit_code_ttl_s", self.digit_code_ttl_s),
            ("server.digit_code_window_s", self.digit_code_window_s),
            ("server.max_photo_mb", self.max_photo_mb),
            ("server.max_json_kb", self.max_json_kb),
            ("server.request_timeout_s", self.request_timeout_s),
            ("server.sweep_interval_s", self.sweep_interval_s),
        ];
        for (key, v) in positive {
            if v == 0 {
                return Err(format!("{key} must be greater than 0"));
            }
        }
        if self.max_photo_mb > 100 {
            return Err("server.max_photo_mb must be at most 100".to_owned());
        }
        if self.digit_code_attempts == 0 {
            return Err("server.digit_code_attempts must be at least 1".to_owned());
        }
        if self.db_max_connections == 0 {
            return Err("server.db_max_connections must be at least 1".to_owned());
        }
        for (key, rate, burst) in [
            (
                "server.rate_limit",
                self.rate_limit_per_s,
                self.rate_limit_burst,
            ),
            (
                "server.kiosk_rate_limit",
                self.kiosk_rate_limit_per_s,
                self.kiosk_rate_limit_burst,
            ),
        ] {
            if !(rate.is_finite() && rate > 0.0) || burst == 0 {
                return Err(format!(
                    "{key}_per_s must be a positive number and {key}_burst at least 1"
                ));
            }
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!(
                "server.public_url `{url}` must start with http:// or https://"
            ));
        }
        Ok(())
    }
}
