//! What kiosks call: claim a session (id + client secret, or digit code), post signed results
//! (idempotent on `jti`), post trace batches (idempotent on the batch id), rotate keys.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use facekiosk_identity::{Jwks, VerifyError};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row as _;

use super::auth::Kiosk;
use super::extract::JsonBody;
use super::kiosks::{check_keys, upsert_keys};
use super::result_write::{ResultWrite, Retry};
use super::rows::{COLS, SessionRow, digit_hash, photo_context};
use super::sessions::load;
use super::types::{
    ClaimRequest, ClaimedSession, JwksView, KioskKeys, ReferenceImage, ResultAccepted,
    ResultUpload, TraceBatch, TracesAccepted, WaitingSession, WaitingSessions,
};
use crate::crypto::{secret_matches, sha256_hex};
use crate::error::{ApiError, ApiResult};
use crate::photo::sniff_type;
use crate::state::Shared;

fn expired_or_not_found(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "SESSION_EXPIRED_OR_NOT_FOUND",
        format!("the session {what}"),
    )
}

/// Claims a session for this kiosk: its settings and reference photo. The session moves to
/// `processing`; the same kiosk may claim it again (after a restart), another may not.
#[utoipa::path(
    post,
    path = "/v1/kiosk/sessions/claim",
    tag = "kiosk",
    security(("kiosk" = [])),
    request_body = ClaimRequest,
    responses(
        (status = 200, body = ClaimedSession),
        (status = 401, body = crate::error::ErrorBody, description = "`INVALID_CLIENT_SECRET`, `CLIENT_SECRET_EXPIRED`"),
        (status = 404, body = crate::error::ErrorBody, description = "`SESSION_EXPIRED_OR_NOT_FOUND`, `INVALID_DIGIT_STRING`"),
        (status = 409, body = crate::error::ErrorBody, description = "`SESSION_ALREADY_CLAIMED`, `SESSION_ENDED`"),
        (status = 429, body = crate::error::ErrorBody, description = "`RATE_LIMITED`: too many wrong digit codes from this kiosk"),
    )
)]
pub async fn claim(
    State(state): State<Shared>,
    kiosk: Kiosk,
    JsonBody(req): JsonBody<ClaimRequest>,
) -> ApiResult<Json<ClaimedSession>> {
    let now = state.now_ms() as i64;
    let row = match (&req.session_id, &req.client_secret, &req.digit_string) {
        (Some(id), Some(secret), None) => {
            let s = load(&state, id, &kiosk.tenant_id, None)
                .await?
                .ok_or_else(|| expired_or_not_found("does not exist"))?;
            let ok = s
                .secret_hash
                .as_deref()
                .is_some_and(|h| secret_matches(secret, h));
            if !ok {
                if s.ended() {
                    return Err(ended(&s));
                }
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "INVALID_CLIENT_SECRET",
                    "the client secret is wrong or was replaced by a refresh",
                ));
            }
            if s.secret_expires_at.is_some_and(|e| e <= now) {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "CLIENT_SECRET_EXPIRED",
                    "the client secret expired: the integrator can refresh it",
                ));
            }
            s
        }
        (None, None, Some(code)) if req.staff_operator.is_none() => {
            claim_by_digits(&state, &kiosk, code).await?
        }
        (Some(id), None, None) if staff_operator(&req).is_some() => {
            load(&state, id, &kiosk.tenant_id, None)
                .await?
                .ok_or_else(|| expired_or_not_found("does not exist"))?
        }
        _ => {
            return Err(ApiError::invalid(
                "give `sessionId` and `clientSecret`, or `digitString` alone, or `sessionId` \
                 and `staffOperator`",
            ));
        }
    };
    let by_staff = staff_operator(&req);
    if row.ended() {
        return Err(ended(&row));
    }
    if row.walk_in {
        return Err(expired_or_not_found("is a walk-in"));
    }
    match row.status.as_str() {
        "requiresInput" if by_staff.is_some() => {
            let res = sqlx::query(
                "UPDATE sessions SET status = 'processing', claimed_by = $1, claimed_at = $2, updated_at = $2 \
                 WHERE id = $3 AND status = 'requiresInput' AND walk_in = 0",
            )
            .bind(&kiosk.kiosk_id)
            .bind(now)
            .bind(&row.id)
            .execute(state.db.write().await.pool())
            .await?;
            if res.rows_affected() == 0 {
                return Err(already_claimed());
            }
        }
        "requiresInput" => {
            // The secret is checked again in the claiming statement: one replaced by a refresh
            // since it was read claims nothing.
            let res = sqlx::query(
                "UPDATE sessions SET status = 'processing', claimed_by = $1, claimed_at = $2, updated_at = $2 \
                 WHERE id = $3 AND status = 'requiresInput' AND secret_hash = $4 AND secret_expires_at > $2",
            )
            .bind(&kiosk.kiosk_id)
            .bind(now)
            .bind(&row.id)
            .bind(row.secret_hash.as_deref().unwrap_or(""))
            .execute(state.db.write().await.pool())
            .await?;
            if res.rows_affected() == 0 {
                // Claimed by someone else in between: answer as they would be.
                let s = load(&state, &row.id, &kiosk.tenant_id, None)
                    .await?
                    .ok_or_else(|| expired_or_not_found("does not exist"))?;
                if s.status == "requiresInput" {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "INVALID_CLIENT_SECRET",
                        "the client secret was replaced by a refresh",
                    ));
                }
                if s.claimed_by.as_deref() != Some(kiosk.kiosk_id.as_str()) {
                    return Err(already_claimed());
                }
            }
        }
        "processing" if row.claimed_by.as_deref() == Some(kiosk.kiosk_id.as_str()) => {}
        _ => return Err(already_claimed()),
    }
    if now >= row.expires_at {
        return Err(expired_or_not_found("expired"));
    }
    let (sealed, context) = match &row.identity_id {
        // Read only while the session is open and this kiosk's: a cancel or result landing
        // since the checks above leaves nothing to read.
        None => (
            sqlx::query(
                "SELECT photo FROM sessions WHERE id = $1 AND status = 'processing' AND claimed_by = $2",
            )
            .bind(&row.id)
            .bind(&kiosk.kiosk_id)
            .fetch_optional(state.db.pool())
            .await?
            .map(|r| r.try_get::<Option<Vec<u8>>, _>("photo"))
            .transpose()?
            .flatten(),
            photo_context(&row.id),
        ),
        Some(identity) => (
            sqlx::query(
                "SELECT i.photo FROM identities i JOIN sessions s ON s.identity_id = i.id \
                 WHERE s.id = $1 AND s.status = 'processing' AND s.claimed_by = $2 AND i.deleted_at IS NULL",
            )
                .bind(&row.id)
                .bind(&kiosk.kiosk_id)
                .fetch_optional(state.db.pool())
                .await?
                .map(|r| r.try_get::<Option<Vec<u8>>, _>("photo"))
                .transpose()?
                .flatten(),
            photo_context(identity),
        ),
    };
    let sealed = sealed.ok_or_else(|| expired_or_not_found("has no reference photo any more"))?;
    let photo = state
        .cipher
        .open(&sealed, &context)
        .map_err(ApiError::internal)?;
    match by_staff {
        Some(operator) => {
            tracing::info!(session = %row.id, kiosk = %kiosk.kiosk_id, operator = %operator, "session claimed by staff from the waiting list");
        }
        None => tracing::info!(session = %row.id, kiosk = %kiosk.kiosk_id, "session claimed"),
    }
    Ok(Json(ClaimedSession {
        session_id: row.id.clone(),
        test: row.test,
        expires_at: (row.expires_at / 1000) as u64,
        settings: serde_json::from_str(&row.settings).unwrap_or(Value::Null),
        reference_image: ReferenceImage {
            content_type: sniff_type(&photo)
                .unwrap_or("application/octet-stream")
                .to_owned(),
            sha256: sha256_hex(&photo),
            data: STANDARD.encode(&photo),
        },
    }))
}

/// The staff member of a staff claim: 1 to 64 printable characters.
fn staff_operator(req: &ClaimRequest) -> Option<&str> {
    req.staff_operator
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty() && o.chars().count() <= 64 && !o.chars().any(char::is_control))
}

/// The sessions of the kiosk's tenant that wait for a kiosk (newest first, at most 100), for
/// staff to pick one for the customer in front of them. No photo, code or secret is listed.
#[utoipa::path(
    get,
    path = "/v1/kiosk/sessions/waiting",
    tag = "kiosk",
    security(("kiosk" = [])),
    responses((status = 200, body = WaitingSessions))
)]
pub async fn waiting_sessions(
    State(state): State<Shared>,
    kiosk: Kiosk,
) -> ApiResult<Json<WaitingSessions>> {
    let now = state.now_ms() as i64;
    let rows = sqlx::query(
        "SELECT id, client_reference_id, test, created_at, expires_at FROM sessions \
         WHERE tenant_id = $1 AND status = 'requiresInput' AND walk_in = 0 AND expires_at > $2 \
         ORDER BY created_at DESC, id DESC LIMIT 100",
    )
    .bind(&kiosk.tenant_id)
    .bind(now)
    .fetch_all(state.db.pool())
    .await?;
    let mut data = Vec::with_capacity(rows.len());
    for r in rows {
        data.push(WaitingSession {
            session_id: r.try_get("id")?,
            client_reference_id: r.try_get("client_reference_id")?,
            test: r.try_get::<i64, _>("test")? != 0,
            created_at: (r.try_get::<i64, _>("created_at")? / 1000) as u64,
            expires_at: (r.try_get::<i64, _>("expires_at")? / 1000) as u64,
        });
    }
    Ok(Json(WaitingSessions { data }))
}

fn ended(s: &SessionRow) -> ApiError {
    if s.cancel_reason.as_deref() == Some("expired") {
        expired_or_not_found("expired")
    } else {
        ApiError::conflict("SESSION_ENDED", format!("the session is {}", s.status))
    }
}

fn already_claimed() -> ApiError {
    ApiError::conflict(
        "SESSION_ALREADY_CLAIMED",
        "another kiosk is running this session",
    )
}

async fn claim_by_digits(state: &Shared, kiosk: &Kiosk, code: &str) -> ApiResult<SessionRow> {
    let now = state.now_ms() as i64;
    let window = (state.config.digit_code_window_s * 1000) as i64;
    let limit = i64::from(state.config.digit_code_attempts);
    // Count the attempt first, in one statement that succeeds only while the window's attempts
    // are not used up: guesses sent at once cannot all read the count before it grows.
    let counted = sqlx::query(
        "UPDATE kiosks SET digit_failures = CASE WHEN $1 - digit_window_start >= $2 THEN 1 ELSE digit_failures + 1 END, \
         digit_window_start = CASE WHEN $1 - digit_window_start >= $2 THEN $1 ELSE digit_window_start END \
         WHERE id = $3 AND ($1 - digit_window_start >= $2 OR digit_failures < $4)",
    )
    .bind(now)
    .bind(window)
    .bind(&kiosk.kiosk_id)
    .bind(limit)
    .execute(state.db.write().await.pool())
    .await?;
    if counted.rows_affected() == 0 {
        let start: i64 = sqlx::query("SELECT digit_window_start FROM kiosks WHERE id = $1")
            .bind(&kiosk.kiosk_id)
            .fetch_one(state.db.pool())
            .await?
            .try_get("digit_window_start")?;
        let wait = ((start + window - now) / 1000).max(1) as u64;
        return Err(ApiError::rate_limited(
            "too many wrong digit codes from this kiosk; wait, or use the QR code",
            wait,
        ));
    }
    let well_formed =
        code.len() == super::rows::DIGIT_CODE_LEN && code.bytes().all(|b| b.is_ascii_digit());
    if well_formed {
        // Find, spend and claim in one statement: a code claims once, and a code replaced by a
        // refresh in the meantime claims nothing.
        let claimed = sqlx::query(
            "UPDATE sessions SET status = 'processing', claimed_by = $1, claimed_at = $2, updated_at = $2, \
             digit_hash = NULL, digit_expires_at = NULL \
             WHERE digit_hash = $3 AND digit_expires_at > $2 AND status = 'requiresInput' RETURNING id",
        )
        .bind(&kiosk.kiosk_id)
        .bind(now)
        .bind(digit_hash(&kiosk.tenant_id, code))
        .fetch_optional(state.db.write().await.pool())
        .await?;
        if let Some(row) = claimed {
            let id: String = row.try_get("id")?;
            // A right code is not a guess: give the attempt back.
            sqlx::query(
                "UPDATE kiosks SET digit_failures = digit_failures - 1 WHERE id = $1 AND digit_failures > 0",
            )
            .bind(&kiosk.kiosk_id)
            .execute(state.db.write().await.pool())
            .await?;
            return load(state, &id, &kiosk.tenant_id, None)
                .await?
                .ok_or_else(|| expired_or_not_found("does not exist"));
        }
    }
    Err(ApiError::not_found(
        "INVALID_DIGIT_STRING",
        "no session waits for this code (wrong, used or expired)",
    ))
}

/// What the API reads from a result's payload (docs/RESULT.md has every claim).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultPayload {
    jti: String,
    iss: String,
    sub: String,
    session_id: String,
    status: String,
    is_verified: bool,
    test: bool,
    #[serde(default)]
    walk_in: bool,
    r#match: Value,
    liveness: Value,
    attempts: Vec<Value>,
    device: Value,
    lang: String,
    started_at: u64,
    finished_at: u64,
    #[serde(default)]
    nonce: Option<String>,
    reference: ReferencePayload,
}

#[derive(Debug, Deserialize)]
struct ReferencePayload {
    sha256: String,
}

fn verify_error(e: VerifyError) -> ApiError {
    match e {
        VerifyError::UnknownKey(kid) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNKNOWN_KEY",
            format!(
                "key `{}` is not registered for this kiosk (send rotated keys to POST /v1/kiosk/keys)",
                super::rows::clip(&kid, 80)
            ),
        ),
        VerifyError::BadSignature(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SIGNATURE",
            "the result's signature does not verify (altered or forged)",
        ),
        VerifyError::Algorithm(a) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SIGNATURE",
            format!(
                "results are signed with EdDSA, not {}",
                super::rows::clip(&a, 20)
            ),
        ),
        VerifyError::Issuer { .. } => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SIGNATURE",
            "the result's `iss` does not match its key",
        ),
        VerifyError::OutsideKeyWindow { .. } => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "KEY_NOT_VALID",
            "the result is dated outside its key's validity window",
        ),
        VerifyError::Expired { .. } => {
            ApiError::unprocessable("RESULT_EXPIRED", "the result's `exp` has passed")
        }
        VerifyError::IssuedInFuture { .. } => ApiError::unprocessable(
            "MALFORMED_RESULT",
            "the result is dated in the future (check the kiosk's clock)",
        ),
        other => ApiError::unprocessable("MALFORMED_RESULT", other.to_string()),
    }
}

fn result_text(headers: &HeaderMap, body: &Bytes) -> ApiResult<String> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::unprocessable("MALFORMED_RESULT", "the body is not UTF-8 text"))?;
    if ctype.starts_with("application/json") {
        let upload: ResultUpload = serde_json::from_str(text).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_JSON",
                format!("expected {{\"result\": \"<JWS>\"}}: {e}"),
            )
        })?;
        Ok(upload.result)
    } else if ctype.starts_with("application/jose")
        || ctype.starts_with("application/jwt")
        || ctype.starts_with("text/plain")
    {
        Ok(text.trim().to_owned())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the JWS as application/jose, or JSON {\"result\": \"<JWS>\"}",
        ))
    }
}

/// Receives a signed result. Verified against the kiosk's registered keys; its `sub` must be
/// a session this kiosk claimed (or a new walk-in); `jti` is the idempotency key.
#[utoipa::path(
    post,
    path = "/v1/kiosk/results",
    tag = "kiosk",
    security(("kiosk" = [])),
    request_body(
        description = "The compact JWS as application/jose, or application/json `{\"result\": \"<JWS>\"}`",
        content((ResultUpload = "application/json"), (String = "application/jose"))
    ),
    responses(
        (status = 200, body = ResultAccepted, description = "Accepted, or accepted before (`duplicate`)"),
        (status = 401, body = crate::error::ErrorBody, description = "`INVALID_SIGNATURE`, `UNKNOWN_KEY`, `KEY_NOT_VALID`"),
        (status = 403, body = crate::error::ErrorBody, description = "`SESSION_NOT_CLAIMED`, `TEST_MODE_MISMATCH`"),
        (status = 404, body = crate::error::ErrorBody, description = "`SESSION_EXPIRED_OR_NOT_FOUND`"),
        (status = 409, body = crate::error::ErrorBody, description = "`RESULT_CONFLICT`: the session already has another result; `SESSION_ENDED`"),
        (status = 422, body = crate::error::ErrorBody, description = "`MALFORMED_RESULT`, `RESULT_MISMATCH`, `RESULT_EXPIRED`"),
    )
)]
pub async fn post_result(
    State(state): State<Shared>,
    kiosk: Kiosk,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ResultAccepted>> {
    let jws = result_text(&headers, &body)?;
    if jws.len() > 512 * 1024 {
        return Err(ApiError::unprocessable(
            "MALFORMED_RESULT",
            "the result is larger than 512 KB",
        ));
    }
    let verified =
        facekiosk_identity::verify(&jws, &kiosk.keys, state.clock.now_s()).map_err(verify_error)?;
    let payload: ResultPayload = serde_json::from_value(verified.claims.clone()).map_err(|e| {
        ApiError::unprocessable("MALFORMED_RESULT", format!("the result's claims: {e}"))
    })?;
    if payload.iss != kiosk.kiosk_id {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SIGNATURE",
            "the result was issued by another kiosk",
        ));
    }
    if payload.sub != payload.session_id
        || payload.jti.is_empty()
        || payload.jti.len() > 128
        || payload.sub.is_empty()
        || payload.sub.len() > 128
    {
        return Err(ApiError::unprocessable(
            "MALFORMED_RESULT",
            "`jti`, `sub` and `sessionId` must be present, ≤ 128 characters, and `sub` = `sessionId`",
        ));
    }
    // Times a database can hold, in order, and not in the future.
    let latest_ms = state
        .now_ms()
        .saturating_add(facekiosk_identity::MAX_CLOCK_SKEW_S * 1000);
    let sane = |t: u64| t > 0 && t <= latest_ms && i64::try_from(t).is_ok();
    if !(sane(payload.started_at)
        && sane(payload.finished_at)
        && payload.started_at <= payload.finished_at)
    {
        return Err(ApiError::unprocessable(
            "MALFORMED_RESULT",
            "`startedAt` and `finishedAt` must be unix ms, in order, and not in the future",
        ));
    }
    if !["complete", "canceled"].contains(&payload.status.as_str()) {
        return Err(ApiError::unprocessable(
            "MALFORMED_RESULT",
            "a result's `status` is complete or canceled",
        ));
    }
    let signed_with_test_key = kiosk.test_kids.contains(&verified.kid);
    if signed_with_test_key != payload.test {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "TEST_MODE_MISMATCH",
            "a result signed with a test key must say `test: true`, and only those may",
        ));
    }
    let payload_sha = jws
        .split('.')
        .nth(1)
        .map(|p| sha256_hex(p.as_bytes()))
        .unwrap_or_default();
    // A concurrent post of the same result loses the race on `jti` and is answered as a
    // duplicate on the second pass.
    for _ in 0..3 {
        match store_result(&state, &kiosk, &payload, &jws, &payload_sha).await {
            Err(Retry::Again) => continue,
            Err(Retry::Fail(e)) => return Err(e),
            Ok(accepted) => return Ok(Json(accepted)),
        }
    }
    Err(ApiError::internal("a result kept conflicting with itself"))
}

/// The report (the JWS itself is stored sealed and added when the session is read).
fn report(p: &ResultPayload, kiosk_id: &str) -> Value {
    json!({
        "isVerified": p.is_verified && p.status == "complete",
        "livenessDetected": p.liveness.get("detected").cloned().unwrap_or(Value::Null),
        "livenessMethod": p.liveness.get("method").cloned().unwrap_or(Value::Null),
        "match": {
            "level": p.r#match.get("level").cloned().unwrap_or(Value::Null),
            "minimumLevel": p.r#match.get("minimumLevel").cloned().unwrap_or(Value::Null),
            "score": p.r#match.get("score").cloned().unwrap_or(Value::Null),
        },
        "attempts": p.attempts,
        "device": p.device,
        "lang": p.lang,
        "startedAt": p.started_at / 1000,
        "finishedAt": p.finished_at / 1000,
        "resultId": p.jti,
        "kioskId": kiosk_id,
    })
}

async fn store_result(
    state: &Shared,
    kiosk: &Kiosk,
    p: &ResultPayload,
    jws: &str,
    payload_sha: &str,
) -> Result<ResultAccepted, Retry> {
    let now = state.now_ms() as i64;
    // Reads first, outside the write transaction (on SQLite writers take turns: the turn is
    // kept short). What changes in between is caught inside it: the session update requires
    // `processing`, and the keys of `sessions` and `results` are unique; either failing sends
    // this post round again, to be answered from what is then stored.
    // One read for both: is this `jti` known, and the session (either may be absent).
    let sql = format!(
        "SELECT {COLS}, r.kiosk_id AS prev_kiosk, r.payload_sha256 AS prev_sha FROM (SELECT 1 AS one) o \
         LEFT JOIN sessions ON sessions.id = $1 LEFT JOIN results r ON r.kiosk_id = $3 AND r.jti = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&p.sub)
        .bind(&p.jti)
        .bind(&kiosk.kiosk_id)
        .fetch_one(state.db.pool())
        .await?;
    if let Some(prev_sha) = row.try_get::<Option<String>, _>("prev_sha")? {
        let same = prev_sha == payload_sha
            && row.try_get::<Option<String>, _>("prev_kiosk")?.as_deref()
                == Some(kiosk.kiosk_id.as_str());
        if !same {
            return Err(ApiError::conflict(
                "RESULT_CONFLICT",
                "another result with this `jti` was received",
            )
            .into());
        }
        let s = load(state, &p.sub, &kiosk.tenant_id, None)
            .await?
            .ok_or_else(|| ApiError::internal("a stored result's session is gone"))?;
        return Ok(ResultAccepted {
            jti: p.jti.clone(),
            duplicate: true,
            session: s.view(&state.cipher),
        });
    }
    let existing = match row.try_get::<Option<String>, _>("id")? {
        Some(_) => Some(SessionRow::from_row(&row)?),
        None => None,
    };
    // Everything that can refuse the result is checked before the write.
    match &existing {
        None if !p.walk_in => return Err(expired_or_not_found("does not exist").into()),
        None => {}
        Some(s) => check_session(s, kiosk, p)?,
    }
    let verified = p.is_verified && p.status == "complete";
    let write = ResultWrite {
        sub: p.sub.clone(),
        tenant_id: kiosk.tenant_id.clone(),
        kiosk_id: kiosk.kiosk_id.clone(),
        jti: p.jti.clone(),
        status: p.status.clone(),
        test: p.test,
        reference_sha256: p.reference.sha256.clone(),
        started_at: p.started_at as i64,
        sealed: super::rows::seal_result(&state.cipher, &p.sub, jws).map_err(ApiError::internal)?,
        report: report(p, &kiosk.kiosk_id).to_string(),
        cancel_reason: (p.status == "canceled").then_some("kioskCanceled"),
        payload_sha256: payload_sha.to_owned(),
        now,
        retention_ms: (state.config.photo_retention_s * 1000) as i64,
        make_identity: verified && state.config.keep_identity_references,
        existing,
    };
    let after = match &state.result_writer {
        // SQLite: results from many kiosks share one transaction (one durable commit).
        Some(writer) => writer.submit(write).await?,
        None => {
            let mut tx = state.db.begin().await?;
            let after = super::result_write::apply(&mut tx, &write).await?;
            tx.commit().await?;
            after
        }
    };
    tracing::info!(session = %p.sub, kiosk = %kiosk.kiosk_id, status = %p.status, walk_in = p.walk_in, "result accepted");
    Ok(ResultAccepted {
        jti: p.jti.clone(),
        duplicate: false,
        session: after.view(&state.cipher),
    })
}

/// Whether a result may end this API session.
fn check_session(s: &SessionRow, kiosk: &Kiosk, p: &ResultPayload) -> Result<(), Retry> {
    if s.tenant_id != kiosk.tenant_id {
        return Err(expired_or_not_found("does not exist").into());
    }
    if s.result_jti.as_deref() == Some(p.jti.as_str()) {
        // This very result landed between the two reads above: answer it as the duplicate it
        // is.
        return Err(Retry::Again);
    }
    if s.ended() || s.walk_in {
        return Err(if s.result_jti.is_some() || s.walk_in {
            ApiError::conflict("RESULT_CONFLICT", "the session already has another result")
        } else {
            ApiError::conflict(
                "SESSION_ENDED",
                format!(
                    "the session was {} ({}) before this result arrived",
                    s.status,
                    s.cancel_reason.as_deref().unwrap_or("ended")
                ),
            )
        }
        .into());
    }
    if s.claimed_by.as_deref() != Some(kiosk.kiosk_id.as_str()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "SESSION_NOT_CLAIMED",
            "this kiosk did not claim the session",
        )
        .into());
    }
    if s.test != p.test {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "TEST_MODE_MISMATCH",
            if s.test {
                "a test session takes only test results"
            } else {
                "a live session never accepts a test result"
            },
        )
        .into());
    }
    if p.walk_in {
        return Err(ApiError::unprocessable(
            "RESULT_MISMATCH",
            "a walk-in result for an API session",
        )
        .into());
    }
    let settings: Value = serde_json::from_str(&s.settings).unwrap_or(Value::Null);
    let want_nonce = settings.get("nonce").and_then(Value::as_str);
    if want_nonce.is_some() && want_nonce != p.nonce.as_deref() {
        return Err(ApiError::unprocessable(
            "RESULT_MISMATCH",
            "the result does not echo the session's nonce",
        )
        .into());
    }
    if s.photo_sha256.as_deref() != Some(p.reference.sha256.as_str()) {
        return Err(ApiError::unprocessable(
            "RESULT_MISMATCH",
            "the result was matched against another reference photo",
        )
        .into());
    }
    if p.finished_at as i64 > s.expires_at + 60_000 {
        return Err(ApiError::unprocessable(
            "RESULT_MISMATCH",
            "the result was finished after the session expired",
        )
        .into());
    }
    Ok(())
}

/// Receives a batch of trace events (idempotent per batch id).
#[utoipa::path(
    post,
    path = "/v1/kiosk/traces",
    tag = "kiosk",
    security(("kiosk" = [])),
    request_body = TraceBatch,
    responses(
        (status = 200, body = TracesAccepted),
        (status = 400, body = crate::error::ErrorBody, description = "`INVALID_REQUEST`"),
    )
)]
pub async fn post_traces(
    State(state): State<Shared>,
    kiosk: Kiosk,
    JsonBody(batch): JsonBody<TraceBatch>,
) -> ApiResult<Json<TracesAccepted>> {
    if batch.batch_id.is_empty() || batch.batch_id.len() > 128 {
        return Err(ApiError::invalid("`batchId` must be 1–128 characters"));
    }
    if batch.events.len() > 1000 {
        return Err(ApiError::invalid("a batch holds at most 1000 events"));
    }
    for (i, e) in batch.events.iter().enumerate() {
        let ok = e.is_object() && e.get("event").is_some_and(Value::is_string);
        if !ok {
            return Err(ApiError::invalid(format!(
                "event {i} is not a trace event (an object with an `event`)"
            )));
        }
    }
    let events = serde_json::to_string(&batch.events).map_err(ApiError::internal)?;
    let res = sqlx::query(
        "INSERT INTO trace_batches (kiosk_id, batch_id, events, event_count, received_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (kiosk_id, batch_id) DO NOTHING",
    )
    .bind(&kiosk.kiosk_id)
    .bind(&batch.batch_id)
    .bind(events)
    .bind(batch.events.len() as i64)
    .bind(state.now_ms() as i64)
    .execute(state.db.write().await.pool())
    .await?;
    Ok(Json(TracesAccepted {
        accepted: batch.events.len(),
        duplicate: res.rows_affected() == 0,
    }))
}

/// Sends the kiosk's keys after a rotation: new keys are added, windows of known ones updated.
#[utoipa::path(
    post,
    path = "/v1/kiosk/keys",
    tag = "kiosk",
    security(("kiosk" = [])),
    request_body = KioskKeys,
    responses(
        (status = 200, body = JwksView, description = "The kiosk's live keys now"),
        (status = 400, body = crate::error::ErrorBody, description = "`INVALID_REQUEST`"),
        (status = 401, body = crate::error::ErrorBody, description = "`INVALID_SIGNATURE`, `UNKNOWN_KEY`, `KEY_NOT_VALID`: the proof is not signed by a registered, valid live key"),
        (status = 409, body = crate::error::ErrorBody, description = "`KEY_CONFLICT`"),
    )
)]
pub async fn update_keys(
    State(state): State<Shared>,
    kiosk: Kiosk,
    JsonBody(body): JsonBody<KioskKeys>,
) -> ApiResult<Json<JwksView>> {
    // Only the kiosk's live keys vouch for new keys (a test key never does).
    let live = Jwks {
        keys: kiosk
            .keys
            .keys
            .iter()
            .filter(|k| !kiosk.test_kids.contains(&k.kid))
            .cloned()
            .collect(),
    };
    let verified = facekiosk_identity::verify(&body.proof, &live, state.clock.now_s())
        .map_err(verify_error)?;
    let req: super::types::KeyUpdateClaims = serde_json::from_value(verified.claims)
        .map_err(|e| ApiError::invalid(format!("the proof's claims: {e}")))?;
    if req.iss != kiosk.kiosk_id || req.exp > req.iat + 600 {
        return Err(ApiError::invalid(
            "the proof must be issued by this kiosk and expire within 10 minutes",
        ));
    }
    check_keys(&kiosk.kiosk_id, &req.keys, "keys")?;
    check_keys(&kiosk.kiosk_id, &req.test_keys, "testKeys")?;
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    upsert_keys(&mut tx, &kiosk.kiosk_id, &req.keys, false, now).await?;
    upsert_keys(&mut tx, &kiosk.kiosk_id, &req.test_keys, true, now).await?;
    tx.commit().await?;
    // The kiosk's live keys now (it is not disabled: its credential just worked).
    Ok(Json(
        super::kiosks::keys_of(&state, &kiosk.kiosk_id, false, None).await?,
    ))
}
