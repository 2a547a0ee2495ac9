//! A session as stored: its row, the columns every query reads, and its view for the API
//! (the sealed result opened into the report); the small helpers every handler shares.

use serde_json::Value;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::types::SessionView;
use crate::crypto::{PhotoCipher, hash_secret};

/// The columns every session query reads (never the photo).
pub(crate) const COLS: &str = "id, tenant_id, test, status, walk_in, client_reference_id, metadata, \
settings, identity_id, photo_sha256, secret_hash, secret_created_at, secret_expires_at, claimed_by, \
claimed_at, result_jti, result_jws, report, cancel_reason, created_at, expires_at, ended_at";

/// A session row.
#[derive(Clone, Debug)]
pub(crate) struct SessionRow {
    pub id: String,
    pub tenant_id: String,
    pub test: bool,
    pub status: String,
    pub walk_in: bool,
    pub client_reference_id: Option<String>,
    pub metadata: String,
    pub settings: String,
    pub identity_id: Option<String>,
    pub photo_sha256: Option<String>,
    pub secret_hash: Option<String>,
    pub secret_expires_at: Option<i64>,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<i64>,
    pub result_jti: Option<String>,
    /// The result JWS, sealed (it may carry the audit image: biometric data is encrypted at
    /// rest), base64.
    pub result_sealed: Option<String>,
    pub report: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

impl SessionRow {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let _: Option<i64> = r.try_get("secret_created_at")?;
        Ok(Self {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            test: r.try_get::<i64, _>("test")? != 0,
            status: r.try_get("status")?,
            walk_in: r.try_get::<i64, _>("walk_in")? != 0,
            client_reference_id: r.try_get("client_reference_id")?,
            metadata: r.try_get("metadata")?,
            settings: r.try_get("settings")?,
            identity_id: r.try_get("identity_id")?,
            photo_sha256: r.try_get("photo_sha256")?,
            secret_hash: r.try_get("secret_hash")?,
            secret_expires_at: r.try_get("secret_expires_at")?,
            claimed_by: r.try_get("claimed_by")?,
            claimed_at: r.try_get("claimed_at")?,
            result_jti: r.try_get("result_jti")?,
            result_sealed: r.try_get("result_jws")?,
            report: r.try_get("report")?,
            cancel_reason: r.try_get("cancel_reason")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            ended_at: r.try_get("ended_at")?,
        })
    }

    /// The API's view; the result JWS is opened into `report.result`.
    pub(crate) fn view(&self, cipher: &PhotoCipher) -> SessionView {
        let parse = |s: &str| serde_json::from_str(s).unwrap_or(Value::Null);
        let mut report = self.report.as_deref().map(parse);
        if let (Some(Value::Object(r)), Some(sealed)) = (report.as_mut(), &self.result_sealed) {
            let jws = open_result(cipher, &self.id, sealed);
            r.insert("result".to_owned(), jws.map_or(Value::Null, Value::String));
        }
        SessionView {
            id: self.id.clone(),
            status: self.status.clone(),
            test: self.test,
            walk_in: self.walk_in,
            created_at: secs(self.created_at),
            started_at: self.claimed_at.map(secs),
            finished_at: self.ended_at.map(secs),
            expires_at: secs(self.expires_at),
            client_reference_id: self.client_reference_id.clone(),
            metadata: parse(&self.metadata),
            settings: parse(&self.settings),
            identity_id: self.identity_id.clone(),
            kiosk_id: self.claimed_by.clone(),
            cancel_reason: self.cancel_reason.clone(),
            report,
        }
    }

    /// Whether it has ended.
    pub(crate) fn ended(&self) -> bool {
        self.status == "complete" || self.status == "canceled"
    }
}

/// Seals a result JWS for its session's row (base64 of nonce ‖ ciphertext).
pub(crate) fn seal_result(
    cipher: &PhotoCipher,
    session_id: &str,
    jws: &str,
) -> Result<String, String> {
    use base64::Engine as _;
    cipher
        .seal(jws.as_bytes(), &format!("result:{session_id}"))
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
}

fn open_result(cipher: &PhotoCipher, session_id: &str, sealed: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .ok()?;
    match cipher.open(&bytes, &format!("result:{session_id}")) {
        Ok(plain) => String::from_utf8(plain).ok(),
        Err(e) => {
            tracing::error!(session = %session_id, error = %e, "a stored result does not open");
            None
        }
    }
}

/// ms → s.
pub(crate) fn secs(ms: i64) -> u64 {
    (ms.max(0) / 1000) as u64
}

/// A value cut for a message.
pub(crate) fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// What a digit code is stored as (codes are per tenant).
pub(crate) fn digit_hash(tenant_id: &str, code: &str) -> String {
    hash_secret(&format!("{tenant_id}:{code}"))
}

/// The digits of a code.
pub const DIGIT_CODE_LEN: usize = 6;

/// The AEAD context of a photo: binds the ciphertext to its row (identities reuse their
/// session's id, so the bytes move unchanged).
pub(crate) fn photo_context(id: &str) -> String {
    format!("photo:{id}")
}
