//! What the API reads and writes (camelCase JSON). Times are unix seconds.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A face session's settings: what the kiosk runs (see docs/SESSION.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSettings {
    /// Failed face-match attempts before the session ends (1–3).
    pub max_attempts: u8,
    /// The match level the comparison must reach (1–5).
    pub minimum_match_level: u8,
    /// Return the partial signed result when a session ends after a failed attempt.
    pub return_data_for_incomplete_session: bool,
    /// `active`, `passive`, `both` or `attended`.
    pub liveness: String,
    /// The session's lifetime, s.
    pub lifetime: u64,
    /// Locale (e.g. `fr-FR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Languages the kiosk offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub langs: Vec<String>,
    /// The language the kiosk shows the session in (absent: the kiosk's own choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_lang: Option<String>,
    /// Theme and text overrides for the kiosk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customization: Option<Value>,
    /// Whether a digit code was made.
    pub generate_digit_string: bool,
    /// Echoed in the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// `POST /v1/sessions` as JSON (a session from an earlier verified identity), or the text
/// fields of the multipart form (with the `reference_image` file part).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSession {
    /// An earlier complete, verified session whose face this session matches against.
    pub identity_id: Option<String>,
    /// The integrator's own reference (≤ 256 characters).
    pub client_reference_id: Option<String>,
    /// Up to 50 string values, keys ≤ 40 characters, values ≤ 500 characters.
    pub metadata: Option<Value>,
    /// 1–3, default 3.
    pub max_attempts: Option<u8>,
    /// 1–5, default 3.
    pub minimum_match_level: Option<u8>,
    /// Default false.
    pub return_data_for_incomplete_session: Option<bool>,
    /// `active` (default), `passive`, `both` or `attended`.
    pub liveness: Option<String>,
    /// Seconds, default 1800, 60 to 30 days.
    pub lifetime: Option<u64>,
    /// Locale.
    pub locale: Option<String>,
    /// Languages offered.
    pub langs: Option<Vec<String>>,
    /// The language shown first (default the first of `langs`, else the kiosk's own).
    pub default_lang: Option<String>,
    /// Theme and text overrides (an object, ≤ 16 KB).
    pub customization: Option<Value>,
    /// Make a short digit code the customer types at the kiosk.
    pub generate_digit_string: Option<bool>,
    /// Echoed in the result (≤ 256 characters).
    pub nonce: Option<String>,
}

/// A client secret: what a kiosk needs to claim the session. Shown once.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientSecret {
    /// The secret.
    pub secret: String,
    /// Unix s.
    pub created_at: u64,
    /// Unix s (1 hour, or the session's end if sooner).
    pub expire_at: u64,
    /// A link holding the session id and secret (the QR code a kiosk scans).
    pub url: String,
}

/// A session as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// `ses_…` (or the kiosk's id for a walk-in).
    pub id: String,
    /// `requiresInput`, `processing`, `complete` or `canceled`.
    pub status: String,
    /// A test-mode session.
    pub test: bool,
    /// Made at a kiosk without an API session.
    pub walk_in: bool,
    /// Unix s.
    pub created_at: u64,
    /// When a kiosk claimed it, unix s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// When it ended, unix s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    /// When it expires, unix s.
    pub expires_at: u64,
    /// The integrator's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_reference_id: Option<String>,
    /// The integrator's metadata.
    pub metadata: Value,
    /// The settings.
    pub settings: Value,
    /// The identity it matches against (face authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
    /// The kiosk that claimed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk_id: Option<String>,
    /// Why it was canceled (`userCanceled`, `expired`, `canceledByIntegrator`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// The outcome, once complete (or canceled by the kiosk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Value>,
}

/// `{ session }`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionEnvelope {
    /// The session.
    pub session: SessionView,
}

/// `201` of `POST /v1/sessions`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedSession {
    /// The session.
    pub session: SessionView,
    /// Its client secret.
    pub client_secret: ClientSecret,
    /// The digit code, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digit_string: Option<String>,
}

/// `GET|POST /v1/sessions/{id}/refresh`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshedSecret {
    /// The new client secret (the previous one no longer works).
    pub client_secret: ClientSecret,
    /// A new digit code, when the session has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digit_string: Option<String>,
}

/// A page of sessions, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionList {
    /// The sessions.
    pub data: Vec<SessionView>,
    /// Whether more follow (pass the last id as `startingAfter`).
    pub has_more: bool,
}

/// `POST /v1/token`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// A bearer token for the API (not for minting more tokens).
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds it lives.
    pub expires_in: u64,
    /// Unix s.
    pub expires_at: u64,
}

/// `face-auth-status`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FaceAuthStatus {
    /// `AUTHENTICATION` (the person can authenticate by face) or `IDENTIFICATION` (they must
    /// verify against an ID photo again).
    #[serde(rename = "type")]
    pub kind: String,
}

/// `POST /v1/kiosks`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEnrolment {
    /// A name for the kiosk-to-be (e.g. its branch), ≤ 100 characters.
    pub name: Option<String>,
}

/// An enrolment token: single use, short-lived.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnrolmentToken {
    /// `fke_…`.
    pub enrolment_token: String,
    /// Unix s.
    pub expires_at: u64,
}

/// A public key (RFC 8037 JWK with a validity window).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct JwkView {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// base64url public key.
    pub x: String,
    /// Key id.
    pub kid: String,
    /// `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Valid from, unix s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Valid until (exclusive), unix s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

/// A key set.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct JwksView {
    /// The keys.
    pub keys: Vec<JwkView>,
}

/// `POST /v1/kiosks/register`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterKiosk {
    /// From `POST /v1/kiosks` or `facekiosk kiosk enrol-token`.
    pub enrolment_token: String,
    /// The kiosk's id (letters, digits, `-`, `_`; the `iss` of its results).
    pub kiosk_id: String,
    /// A name.
    pub name: Option<String>,
    /// Its live public keys (kid = the kiosk id, or the kiosk id and `.N`).
    pub keys: JwksView,
    /// Its test public keys (accepted only for test sessions).
    #[serde(default)]
    pub test_keys: JwksView,
}

/// A registered kiosk's credential. Shown once.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KioskCredential {
    /// The kiosk id.
    pub kiosk_id: String,
    /// `fkk_…`: the kiosk's bearer credential for `/v1/kiosk/…`.
    pub credential: String,
}

/// `POST /v1/kiosk/keys`: the kiosk's keys after a rotation, signed by a key the server
/// already knows (the credential alone does not add signing keys).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KioskKeys {
    /// A compact JWS (EdDSA) by one of the kiosk's registered, currently valid live keys, whose
    /// claims are `iss` (the kiosk id), `iat`, `exp` (at most 10 minutes later), `keys` (the
    /// live key set) and `testKeys` (optional).
    pub proof: String,
}

/// The claims of a key-update proof.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyUpdateClaims {
    /// The kiosk id.
    pub iss: String,
    /// Issued, unix s.
    pub iat: u64,
    /// Expires, unix s.
    pub exp: u64,
    /// Live keys (new ones are added; known ones may only have their window closed).
    pub keys: JwksView,
    /// Test keys.
    #[serde(default)]
    pub test_keys: JwksView,
}

/// A kiosk, as its tenant sees it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KioskView {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unix s.
    pub created_at: u64,
    /// When it was disabled, unix s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<u64>,
    /// Live keys.
    pub keys: JwksView,
}

/// `GET /v1/kiosks`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct KioskList {
    /// The tenant's kiosks.
    pub data: Vec<KioskView>,
}

/// `POST /v1/kiosk/sessions/claim`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimRequest {
    /// With `clientSecret`.
    pub session_id: Option<String>,
    /// With `sessionId`.
    pub client_secret: Option<String>,
    /// Or the digit code alone.
    pub digit_string: Option<String>,
    /// Or `sessionId` with the staff member who picked it from the kiosk's list of waiting
    /// sessions (`GET /v1/kiosk/sessions/waiting`): staff, not a code, vouch for the customer.
    pub staff_operator: Option<String>,
}

/// A session waiting for a kiosk, as staff pick it (no photo, no code, no secret).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitingSession {
    /// Id.
    pub session_id: String,
    /// The integrator's reference (how staff recognise the customer's session).
    pub client_reference_id: Option<String>,
    /// Test mode.
    pub test: bool,
    /// Unix s.
    pub created_at: u64,
    /// Unix s.
    pub expires_at: u64,
}

/// `GET /v1/kiosk/sessions/waiting`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WaitingSessions {
    /// Newest first, at most 100.
    pub data: Vec<WaitingSession>,
}

/// The reference photo.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceImage {
    /// `image/jpeg`, …
    pub content_type: String,
    /// sha256 of the bytes (the result's `reference.sha256` must equal it).
    pub sha256: String,
    /// base64 of the bytes.
    pub data: String,
}

/// What a kiosk gets for a claimed session.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimedSession {
    /// Id (the result's `sub`).
    pub session_id: String,
    /// Test mode: sign the result with the kiosk's test key.
    pub test: bool,
    /// Unix s: finish before this.
    pub expires_at: u64,
    /// What to run.
    pub settings: Value,
    /// The photo to match against.
    pub reference_image: ReferenceImage,
}

/// `POST /v1/kiosk/results`: the result JWS (or send it as the raw body).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultUpload {
    /// The compact JWS.
    pub result: String,
}

/// A result accepted (or accepted before: `duplicate`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultAccepted {
    /// The result's id.
    pub jti: String,
    /// Whether this exact result had been received before (nothing changed).
    pub duplicate: bool,
    /// The session now.
    pub session: SessionView,
}

/// `POST /v1/kiosk/traces`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TraceBatch {
    /// Unique per kiosk: the idempotency key.
    pub batch_id: String,
    /// Up to 1000 trace events (never images, embeddings or secrets).
    pub events: Vec<Value>,
}

/// A trace batch stored (or stored before).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TracesAccepted {
    /// Events in the batch.
    pub accepted: usize,
    /// Whether this batch id had been received before (nothing changed).
    pub duplicate: bool,
}
