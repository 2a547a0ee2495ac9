//! Sessions as integrators see them: create (from an ID photo or an earlier verified identity),
//! read, list, refresh the client secret, cancel.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::Row as _;
use utoipa::IntoParams;

use super::auth::Integrator;
use super::rows::{COLS, DIGIT_CODE_LEN, SessionRow, clip, digit_hash, photo_context};
use super::types::{
    ClientSecret, CreateSession, CreatedSession, RefreshedSecret, SessionEnvelope, SessionList,
    SessionSettings,
};
use crate::config::{DEFAULT_LIFETIME_S, MAX_LIFETIME_S, MIN_LIFETIME_S};
use crate::crypto::{hash_secret, hex, random_bytes, sha256_hex, token};
use crate::db::is_unique_violation;
use crate::error::{ApiError, ApiResult};
use crate::photo::{PhotoRejection, sniff_type};
use crate::state::Shared;

/// Client secrets start with this.
pub const SECRET_PREFIX: &str = "fkcs_";

/// Loads a session of this tenant and mode (others do not exist for the caller), applying
/// its expiry first.
pub(crate) async fn load(
    state: &Shared,
    id: &str,
    tenant_id: &str,
    test: Option<bool>,
) -> ApiResult<Option<SessionRow>> {
    let sql = format!("SELECT {COLS} FROM sessions WHERE id = $1 AND tenant_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(state.db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let s = SessionRow::from_row(&row)?;
    if test.is_some_and(|t| t != s.test) {
        return Ok(None);
    }
    if crate::sweep::expire_one(state, &s).await? {
        let sql = format!("SELECT {COLS} FROM sessions WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(state.db.pool())
            .await?;
        return Ok(Some(SessionRow::from_row(&row)?));
    }
    Ok(Some(s))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(
        "SESSION_NOT_FOUND",
        format!("no session `{}` for this API key", clip(id, 80)),
    )
}

/// Text fields of the multipart form kept as text (the others are JSON).
const TEXT_FIELDS: [&str; 6] = [
    "identityId",
    "clientReferenceId",
    "liveness",
    "locale",
    "defaultLang",
    "nonce",
];

/// The multipart file part with the ID photo.
pub const PHOTO_FIELD: &str = "reference_image";

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "the upload is larger than the ID photo limit",
        )
    } else {
        ApiError::invalid(format!("malformed multipart form: {}", e.body_text()))
    }
}

async fn read_request(state: &Shared, req: Request) -> ApiResult<(CreateSession, Option<Vec<u8>>)> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, state).await.map_err(|e| {
            ApiError::invalid(format!("malformed multipart form: {}", e.body_text()))
        })?;
        let mut fields = Map::new();
        let mut photo: Option<Vec<u8>> = None;
        let photo_limit = state.config.max_photo_mb * 1024 * 1024;
        while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == PHOTO_FIELD {
                if photo.is_some() {
                    return Err(ApiError::invalid("send one `reference_image`"));
                }
                let bytes = field.bytes().await.map_err(multipart_error)?;
                if bytes.len() as u64 > photo_limit {
                    return Err(ApiError::too_large(photo_limit));
                }
                photo = Some(bytes.to_vec());
                continue;
            }
            let text = field.text().await.map_err(multipart_error)?;
            let value = if TEXT_FIELDS.contains(&name.as_str()) {
                Value::String(text)
            } else {
                serde_json::from_str(&text).map_err(|_| {
                    ApiError::invalid(format!(
                        "form field `{}` must hold JSON (a number, true/false, an array or an object)",
                        clip(&name, 40)
                    ))
                })?
            };
            if fields.insert(name.clone(), value).is_some() {
                return Err(ApiError::invalid(format!(
                    "form field `{}` is given twice",
                    clip(&name, 40)
                )));
            }
        }
        let create: CreateSession = serde_json::from_value(Value::Object(fields))
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        Ok((create, photo))
    } else if ctype.starts_with("application/json") || ctype.is_empty() {
        // This route takes photos, so its body limit is the photo's: hold JSON to its own.
        let limit = state.config.max_json_kb * 1024;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::too_large(limit));
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit as usize)
            .await
            .map_err(|_| ApiError::too_large(limit))?;
        let create: CreateSession = serde_json::from_slice(&bytes).map_err(|e| {
            if e.is_data() {
                ApiError::invalid(e.to_string())
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "INVALID_JSON",
                    format!("the body is not valid JSON: {e}"),
                )
            }
        })?;
        Ok((create, None))
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send multipart/form-data with a `reference_image`, or JSON with an `identityId`",
        ))
    }
}

fn check_text(name: &str, v: &Option<String>, max: usize) -> ApiResult<()> {
    if let Some(v) = v {
        if v.chars().count() > max {
            return Err(ApiError::invalid(format!(
                "`{name}` is longer than {max} characters"
            )));
        }
        if v.chars().any(char::is_control) {
            return Err(ApiError::invalid(format!(
                "`{name}` must not contain control characters"
            )));
        }
    }
    Ok(())
}

fn check_lang(name: &str, v: &str) -> ApiResult<()> {
    let ok = (2..=16).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "`{name}`: `{}` is not a language tag (e.g. en, ar, fr-CA)",
            clip(v, 20)
        )))
    }
}

/// Metadata: an object of at most 50 string values, keys ≤ 40 characters, values ≤ 500.
pub(crate) fn check_metadata(v: Option<Value>) -> ApiResult<Value> {
    let Some(v) = v else {
        return Ok(Value::Object(Map::new()));
    };
    let Value::Object(map) = v else {
        return Err(ApiError::invalid("`metadata` must be an object of strings"));
    };
    if map.len() > 50 {
        return Err(ApiError::invalid(format!(
            "`metadata` has {} keys; at most 50 are allowed",
            map.len()
        )));
    }
    for (k, v) in &map {
        if k.is_empty() || k.chars().count() > 40 {
            return Err(ApiError::invalid(format!(
                "`metadata` key `{}` must be 1–40 characters",
                clip(k, 40)
            )));
        }
        match v {
            Value::String(s) if s.chars().count() <= 500 => {}
            Value::String(_) => {
                return Err(ApiError::invalid(format!(
                    "`metadata.{}` is longer than 500 characters",
                    clip(k, 40)
                )));
            }
            _ => {
                return Err(ApiError::invalid(format!(
                    "`metadata.{}` must be a string",
                    clip(k, 40)
                )));
            }
        }
    }
    Ok(Value::Object(map))
}

/// The settings a request asks for, checked.
pub(crate) fn settings(c: &CreateSession) -> ApiResult<SessionSettings> {
    let max_attempts = c.max_attempts.unwrap_or(3);
    if !(1..=3).contains(&max_attempts) {
        return Err(ApiError::invalid("`maxAttempts` must be 1, 2 or 3"));
    }
    let level = c.minimum_match_level.unwrap_or(3);
    if !(1..=5).contains(&level) {
        return Err(ApiError::invalid("`minimumMatchLevel` must be 1 to 5"));
    }
    let liveness = c.liveness.clone().unwrap_or_else(|| "active".to_owned());
    if !["active", "passive", "both", "attended"].contains(&liveness.as_str()) {
        return Err(ApiError::invalid(
            "`liveness` must be active, passive, both or attended",
        ));
    }
    let lifetime = c.lifetime.unwrap_or(DEFAULT_LIFETIME_S);
    if !(MIN_LIFETIME_S..=MAX_LIFETIME_S).contains(&lifetime) {
        return Err(ApiError::invalid(format!(
            "`lifetime` must be {MIN_LIFETIME_S} to {MAX_LIFETIME_S} seconds (30 days)"
        )));
    }
    check_text("clientReferenceId", &c.client_reference_id, 256)?;
    check_text("nonce", &c.nonce, 256)?;
    check_text("locale", &c.locale, 35)?;
    let langs = c.langs.clone().unwrap_or_default();
    if langs.len() > 20 {
        return Err(ApiError::invalid("`langs` has more than 20 languages"));
    }
    for l in &langs {
        check_lang("langs", l)?;
    }
    // No language at all: the kiosk's own (its default, or the one the customer chose there).
    let default_lang = c.default_lang.clone().or_else(|| langs.first().cloned());
    if let Some(l) = &default_lang {
        check_lang("defaultLang", l)?;
        if !langs.is_empty() && !langs.contains(l) {
            return Err(ApiError::invalid("`defaultLang` must be one of `langs`"));
        }
    }
    if let Some(l) = &c.locale {
        check_lang("locale", l)?;
    }
    if let Some(custom) = &c.customization {
        if !custom.is_object() {
            return Err(ApiError::invalid("`customization` must be an object"));
        }
        if custom.to_string().len() > 16 * 1024 {
            return Err(ApiError::invalid("`customization` is larger than 16 KB"));
        }
    }
    Ok(SessionSettings {
        max_attempts,
        minimum_match_level: level,
        return_data_for_incomplete_session: c.return_data_for_incomplete_session.unwrap_or(false),
        liveness,
        lifetime,
        locale: c.locale.clone(),
        langs,
        default_lang,
        customization: c.customization.clone(),
        generate_digit_string: c.generate_digit_string.unwrap_or(false),
        nonce: c.nonce.clone(),
    })
}

/// A new session id: `ses_`, the creation time (ms, 12 hex digits) and 64 random bits.
pub(crate) fn new_session_id(now_ms: u64) -> ApiResult<String> {
    let r = random_bytes::<8>().map_err(ApiError::internal)?;
    Ok(format!("ses_{:012x}{}", now_ms & 0xFFFF_FFFF_FFFF, hex(&r)))
}

/// A uniformly random digit code of `len` digits.
fn digit_code(len: usize) -> ApiResult<String> {
    let mut s = String::with_capacity(len);
    while s.len() < len {
        let b = random_bytes::<1>().map_err(ApiError::internal)?[0];
        // 250 = 25 × 10: rejection keeps the digits uniform.
        if b < 250 {
            s.push(char::from(b'0' + b % 10));
        }
    }
    Ok(s)
}

pub(crate) fn secret_url(state: &Shared, id: &str, secret: &str) -> String {
    format!(
        "{}/s/{id}#clientSecret={secret}",
        state.public_url.trim_end_matches('/')
    )
}

/// Makes a new client secret (and digit code) for a session, replacing the previous ones in
/// the same statement, so the old ones stop working at once.
async fn new_secret(
    state: &Shared,
    session: &SessionRow,
    digits: bool,
    now: u64,
) -> ApiResult<(ClientSecret, Option<String>)> {
    let expires = (now + state.config.client_secret_ttl_s * 1000).min(session.expires_at as u64);
    let secret = token(SECRET_PREFIX).map_err(ApiError::internal)?;
    for _ in 0..8 {
        let code = if digits {
            Some(digit_code(DIGIT_CODE_LEN)?)
        } else {
            None
        };
        let digit_expires = (now + state.config.digit_code_ttl_s * 1000).min(expires);
        let res = sqlx::query(
            "UPDATE sessions SET secret_hash = $1, secret_created_at = $2, secret_expires_at = $3, \
             digit_hash = $4, digit_expires_at = $5, updated_at = $2 \
             WHERE id = $6 AND status IN ('requiresInput', 'processing')",
        )
        .bind(hash_secret(&secret))
        .bind(now as i64)
        .bind(expires as i64)
        .bind(code.as_deref().map(|c| digit_hash(&session.tenant_id, c)))
        .bind(code.as_ref().map(|_| digit_expires as i64))
        .bind(&session.id)
        .execute(state.db.write().await.pool())
        .await;
        match res {
            Ok(r) if r.rows_affected() == 0 => {
                return Err(ApiError::conflict(
                    "SESSION_ENDED",
                    "the session ended; it takes no new secret",
                ));
            }
            Ok(_) => {
                return Ok((
                    ClientSecret {
                        url: secret_url(state, &session.id, &secret),
                        secret,
                        created_at: now / 1000,
                        expire_at: expires / 1000,
                    },
                    code,
                ));
            }
            // Another live session of the tenant holds this code: draw again.
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::internal("could not draw a free digit code"))
}

/// Creates a session.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    tag = "sessions",
    security(("apiKey" = [])),
    request_body(
        description = "multipart/form-data with a `reference_image` file (the ID photo) and the options as text fields (JSON values), or application/json with `identityId` and the options",
        content(
            (CreateSession = "application/json"),
            (CreateSession = "multipart/form-data"),
        )
    ),
    responses(
        (status = 201, body = CreatedSession),
        (status = 400, body = crate::error::ErrorBody, description = "`INVALID_REQUEST`, `INVALID_JSON`"),
        (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody, description = "`IDENTITY_NOT_FOUND`"),
        (status = 413, body = crate::error::ErrorBody, description = "`PAYLOAD_TOO_LARGE`"),
        (status = 415, body = crate::error::ErrorBody, description = "`UNSUPPORTED_MEDIA_TYPE`"),
        (status = 422, body = crate::error::ErrorBody, description = "`INVALID_REFERENCE_IMAGE`: not exactly one usable face; `IDENTITY_NEEDS_IDENTIFICATION`"),
    )
)]
pub async fn create_session(
    State(state): State<Shared>,
    who: Integrator,
    req: Request,
) -> ApiResult<(StatusCode, Json<CreatedSession>)> {
    let (create, photo) = read_request(&state, req).await?;
    let settings = settings(&create)?;
    let metadata = check_metadata(create.metadata.clone())?;
    let now = state.now_ms();
    let id = new_session_id(now)?;
    let (sealed, photo_sha, identity_id) = match (photo, &create.identity_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "give either a `reference_image` or an `identityId`, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "a session needs a `reference_image` (multipart) or an `identityId` (an earlier verified session)",
            ));
        }
        (Some(bytes), None) => {
            check_photo(&state, bytes.clone()).await?;
            let sealed = state
                .cipher
                .seal(&bytes, &photo_context(&id))
                .map_err(ApiError::internal)?;
            (Some(sealed), Some(sha256_hex(&bytes)), None)
        }
        (None, Some(identity)) => {
            if identity.is_empty() || identity.len() > 128 {
                return Err(ApiError::invalid("`identityId` must be 1–128 characters"));
            }
            let sha = super::identities::usable_identity(&state, &who, identity).await?;
            (None, Some(sha), Some(identity.clone()))
        }
    };
    let expires_at = now + settings.lifetime * 1000;
    let settings_json = serde_json::to_string(&settings).map_err(ApiError::internal)?;
    let photo_delete_at = sealed
        .as_ref()
        .map(|_| (expires_at + state.config.photo_retention_s * 1000) as i64);
    sqlx::query(
        "INSERT INTO sessions (id, tenant_id, test, status, walk_in, client_reference_id, metadata, \
         settings, identity_id, photo, photo_sha256, created_at, expires_at, updated_at, photo_delete_at) \
         VALUES ($1, $2, $3, 'requiresInput', 0, $4, $5, $6, $7, $8, $9, $10, $11, $10, $12)",
    )
    .bind(&id)
    .bind(&who.tenant_id)
    .bind(i64::from(who.test))
    .bind(create.client_reference_id.as_deref())
    .bind(metadata.to_string())
    .bind(settings_json)
    .bind(identity_id.as_deref())
    .bind(sealed)
    .bind(photo_sha.as_deref())
    .bind(now as i64)
    .bind(expires_at as i64)
    .bind(photo_delete_at)
    .execute(state.db.write().await.pool())
    .await?;
    let row = load(&state, &id, &who.tenant_id, None)
        .await?
        .ok_or_else(|| ApiError::internal("a session vanished after its insert"))?;
    let (client_secret, digit_string) =
        new_secret(&state, &row, settings.generate_digit_string, now).await?;
    tracing::info!(session = %id, test = who.test, "session created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedSession {
            session: row.view(&state.cipher),
            client_secret,
            digit_string,
        }),
    ))
}

async fn check_photo(state: &Shared, bytes: Vec<u8>) -> ApiResult<()> {
    if bytes.is_empty() {
        return Err(ApiError::unprocessable(
            "INVALID_REFERENCE_IMAGE",
            "the ID photo is empty",
        ));
    }
    if sniff_type(&bytes).is_none() {
        return Err(ApiError::unprocessable(
            "INVALID_REFERENCE_IMAGE",
            "the ID photo is not a JPEG, PNG, WebP or BMP image",
        ));
    }
    // A JPEG's scan ends with its EOI marker (FF D9 never occurs inside the entropy-coded
    // data); a truncated upload would otherwise decode with its lower part grey.
    let marker = |m: u8| bytes.windows(2).position(|w| w == [0xFF, m]);
    let last_eoi = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    if sniff_type(&bytes) == Some("image/jpeg")
        && !matches!((marker(0xDA), last_eoi), (Some(sos), Some(eoi)) if eoi > sos)
    {
        return Err(ApiError::unprocessable(
            "INVALID_REFERENCE_IMAGE",
            "the ID photo is a truncated JPEG (no end-of-image marker)",
        ));
    }
    let _slot = state
        .photo_slots
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let check = state.photos.clone();
    let verdict = tokio::task::spawn_blocking(move || check.check(&bytes))
        .await
        .map_err(ApiError::internal)?;
    match verdict {
        Ok(()) => Ok(()),
        Err(PhotoRejection::Unusable(why)) => {
            Err(ApiError::unprocessable("INVALID_REFERENCE_IMAGE", why))
        }
        Err(PhotoRejection::Engine(e)) => Err(ApiError::internal(format!("face engine: {e}"))),
    }
}

/// Reads a session.
#[utoipa::path(
    get,
    path = "/v1/sessions/{id}",
    tag = "sessions",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = SessionEnvelope),
        (status = 404, body = crate::error::ErrorBody, description = "`SESSION_NOT_FOUND`"),
    )
)]
pub async fn get_session(
    State(state): State<Shared>,
    who: Integrator,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionEnvelope>> {
    let row = load(&state, &id, &who.tenant_id, Some(who.test))
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(SessionEnvelope {
        session: row.view(&state.cipher),
    }))
}

/// Filters and cursor of the session list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only sessions with this reference.
    pub client_reference_id: Option<String>,
    /// Only sessions with this status.
    pub status: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<u32>,
    /// The last id of the previous page.
    pub starting_after: Option<String>,
}

/// Lists sessions, newest first, with cursor pagination.
#[utoipa::path(
    get,
    path = "/v1/sessions",
    tag = "sessions",
    security(("apiKey" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = SessionList),
        (status = 400, body = crate::error::ErrorBody, description = "`INVALID_REQUEST`: a bad filter or an unknown cursor"),
    )
)]
pub async fn list_sessions(
    State(state): State<Shared>,
    who: Integrator,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<SessionList>> {
    let Query(q) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("`limit` must be 1 to 100"));
    }
    if let Some(s) = &q.status
        && !["requiresInput", "processing", "complete", "canceled"].contains(&s.as_str())
    {
        return Err(ApiError::invalid(
            "`status` must be requiresInput, processing, complete or canceled",
        ));
    }
    let mut sql = format!("SELECT {COLS} FROM sessions WHERE tenant_id = $1 AND test = $2");
    let mut n = 2;
    let mut binds: Vec<Value> = Vec::new();
    if let Some(c) = &q.client_reference_id {
        n += 1;
        sql.push_str(&format!(" AND client_reference_id = ${n}"));
        binds.push(Value::String(c.clone()));
    }
    if let Some(s) = &q.status {
        n += 1;
        sql.push_str(&format!(" AND status = ${n}"));
        binds.push(Value::String(s.clone()));
    }
    if let Some(after) = &q.starting_after {
        let cursor = sqlx::query(
            "SELECT created_at FROM sessions WHERE id = $1 AND tenant_id = $2 AND test = $3",
        )
        .bind(after)
        .bind(&who.tenant_id)
        .bind(i64::from(who.test))
        .fetch_optional(state.db.pool())
        .await?
        .ok_or_else(|| ApiError::invalid("`startingAfter` is not a session of this API key"))?;
        let at: i64 = cursor.try_get("created_at")?;
        sql.push_str(&format!(
            " AND (created_at < ${} OR (created_at = ${} AND id < ${}))",
            n + 1,
            n + 1,
            n + 2
        ));
        binds.push(Value::from(at));
        binds.push(Value::String(after.clone()));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT {}",
        limit + 1
    ));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(who.tenant_id.clone())
        .bind(i64::from(who.test));
    for b in binds {
        query = match b {
            Value::String(s) => query.bind(s),
            Value::Number(n) => query.bind(n.as_i64().unwrap_or(0)),
            _ => query,
        };
    }
    let rows = query.fetch_all(state.db.pool()).await?;
    let mut data = Vec::with_capacity(rows.len());
    for r in rows.iter().take(limit as usize) {
        data.push(SessionRow::from_row(r)?.view(&state.cipher));
    }
    Ok(Json(SessionList {
        has_more: rows.len() > limit as usize,
        data,
    }))
}

async fn refresh(state: Shared, who: Integrator, id: String) -> ApiResult<Json<RefreshedSecret>> {
    let row = load(&state, &id, &who.tenant_id, Some(who.test))
        .await?
        .ok_or_else(|| not_found(&id))?;
    if row.ended() {
        return Err(ApiError::conflict(
            "SESSION_ENDED",
            format!("the session is {}; it takes no new secret", row.status),
        ));
    }
    if row.walk_in {
        return Err(ApiError::conflict(
            "SESSION_ENDED",
            "a walk-in session has no client secret",
        ));
    }
    let digits = serde_json::from_str::<Value>(&row.settings)
        .ok()
        .and_then(|s| s["generateDigitString"].as_bool())
        .unwrap_or(false);
    let now = state.now_ms();
    let (client_secret, digit_string) = new_secret(&state, &row, digits, now).await?;
    Ok(Json(RefreshedSecret {
        client_secret,
        digit_string,
    }))
}

/// A new client secret (and digit code); the previous ones stop working at once.
#[utoipa::path(
    get,
    path = "/v1/sessions/{id}/refresh",
    tag = "sessions",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = RefreshedSecret),
        (status = 404, body = crate::error::ErrorBody, description = "`SESSION_NOT_FOUND`"),
        (status = 409, body = crate::error::ErrorBody, description = "`SESSION_ENDED`"),
    )
)]
pub async fn refresh_session(
    State(state): State<Shared>,
    who: Integrator,
    Path(id): Path<String>,
) -> ApiResult<Json<RefreshedSecret>> {
    refresh(state, who, id).await
}

/// The same as `GET /v1/sessions/{id}/refresh`.
#[utoipa::path(
    post,
    path = "/v1/sessions/{id}/refresh",
    tag = "sessions",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = RefreshedSecret),
        (status = 404, body = crate::error::ErrorBody, description = "`SESSION_NOT_FOUND`"),
        (status = 409, body = crate::error::ErrorBody, description = "`SESSION_ENDED`"),
    )
)]
pub async fn refresh_session_post(
    State(state): State<Shared>,
    who: Integrator,
    Path(id): Path<String>,
) -> ApiResult<Json<RefreshedSecret>> {
    refresh(state, who, id).await
}

/// Cancels a session that has not ended (idempotent for a canceled one).
#[utoipa::path(
    post,
    path = "/v1/sessions/{id}/cancel",
    tag = "sessions",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, body = SessionEnvelope),
        (status = 404, body = crate::error::ErrorBody, description = "`SESSION_NOT_FOUND`"),
        (status = 409, body = crate::error::ErrorBody, description = "`SESSION_ENDED`: it is complete"),
    )
)]
pub async fn cancel_session(
    State(state): State<Shared>,
    who: Integrator,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionEnvelope>> {
    let row = load(&state, &id, &who.tenant_id, Some(who.test))
        .await?
        .ok_or_else(|| not_found(&id))?;
    match row.status.as_str() {
        "canceled" => {}
        "complete" => {
            return Err(ApiError::conflict(
                "SESSION_ENDED",
                "the session is complete; it cannot be canceled",
            ));
        }
        _ => {
            crate::sweep::end_session(&state, &row.id, &row.status, "canceledByIntegrator").await?;
        }
    }
    let row = load(&state, &id, &who.tenant_id, Some(who.test))
        .await?
        .ok_or_else(|| not_found(&id))?;
    tracing::info!(session = %id, "session canceled by the integrator");
    Ok(Json(SessionEnvelope {
        session: row.view(&state.cipher),
    }))
}
