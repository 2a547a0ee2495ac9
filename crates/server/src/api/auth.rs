//! Who is calling: an integrator (a tenant API key, or a short-lived token minted from one) or
//! a registered kiosk (its credential). Secrets are looked up by their sha256, never stored.

use axum::extract::FromRequestParts;
use axum::http::{StatusCode, header, request::Parts};
use sqlx::Row as _;

use super::types::TokenResponse;
use crate::crypto::{hash_secret, token as new_token};
use crate::error::{ApiError, ApiResult};
use crate::state::Shared;

/// Live API keys start with this.
pub const LIVE_KEY_PREFIX: &str = "fk_live_";
/// Test API keys start with this.
pub const TEST_KEY_PREFIX: &str = "fk_test_";
/// Access tokens start with this.
pub const TOKEN_PREFIX: &str = "fkat_";
/// Kiosk credentials start with this.
pub const KIOSK_PREFIX: &str = "fkk_";

fn bearer(parts: &Parts) -> ApiResult<&str> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing `Authorization: Bearer …`"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    let (scheme, secret) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("expected `Authorization: Bearer …`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
        return Err(ApiError::unauthorized("expected `Authorization: Bearer …`"));
    }
    Ok(secret.trim())
}

/// An integrator: a tenant, in live or test mode.
#[derive(Clone, Debug)]
pub struct Integrator {
    /// The tenant.
    pub tenant_id: String,
    /// Test mode (`fk_test_…` or a token minted from one).
    pub test: bool,
    /// The API key (or the key behind the token).
    pub key_id: String,
    /// Whether the caller used the API key itself (only keys mint tokens).
    pub is_key: bool,
}

impl FromRequestParts<Shared> for Integrator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> ApiResult<Self> {
        let secret = bearer(parts)?;
        let now = state.now_ms() as i64;
        let hash = hash_secret(secret);
        let who = if secret.starts_with(LIVE_KEY_PREFIX) || secret.starts_with(TEST_KEY_PREFIX) {
            let row = sqlx::query(
                "SELECT id, tenant_id, test FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            )
            .bind(&hash)
            .fetch_optional(state.db.pool())
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))?;
            Integrator {
                key_id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                test: row.try_get::<i64, _>("test")? != 0,
                is_key: true,
            }
        } else if secret.starts_with(TOKEN_PREFIX) {
            let row = sqlx::query(
                "SELECT t.api_key_id, t.tenant_id, t.test, t.expires_at FROM access_tokens t \
                 JOIN api_keys k ON k.id = t.api_key_id WHERE t.token_hash = $1 AND k.revoked_at IS NULL",
            )
            .bind(&hash)
            .fetch_optional(state.db.pool())
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown access token"))?;
            if row.try_get::<i64, _>("expires_at")? <= now {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "TOKEN_EXPIRED",
                    "the access token expired; get a new one from POST /v1/token",
                ));
            }
            Integrator {
                key_id: row.try_get("api_key_id")?,
                tenant_id: row.try_get("tenant_id")?,
                test: row.try_get::<i64, _>("test")? != 0,
                is_key: false,
            }
        } else {
            return Err(ApiError::unauthorized(
                "expected an API key (fk_live_…, fk_test_…) or an access token (fkat_…)",
            ));
        };
        state
            .key_limiter
            .check(&who.key_id, now as u64)
            .map_err(|wait| ApiError::rate_limited("too many requests for this API key", wait))?;
        Ok(who)
    }
}

/// A registered, enabled kiosk.
#[derive(Clone, Debug)]
pub struct Kiosk {
    /// Its id.
    pub kiosk_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its registered keys (live and test), read with the credential.
    pub keys: facekiosk_identity::Jwks,
    /// The ids of its test keys.
    pub test_kids: Vec<String>,
}

impl FromRequestParts<Shared> for Kiosk {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> ApiResult<Self> {
        let secret = bearer(parts)?;
        if !secret.starts_with(KIOSK_PREFIX) {
            return Err(ApiError::unauthorized(
                "expected a kiosk credential (fkk_…) from POST /v1/kiosks/register",
            ));
        }
        // The kiosk and its keys in one read.
        let rows = sqlx::query(
            "SELECT k.id, k.tenant_id, k.disabled_at, kk.kid, kk.x, kk.test, kk.nbf, kk.exp \
             FROM kiosks k LEFT JOIN kiosk_keys kk ON kk.kiosk_id = k.id WHERE k.credential_hash = $1",
        )
        .bind(hash_secret(secret))
        .fetch_all(state.db.pool())
        .await?;
        let Some(first) = rows.first() else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "unknown kiosk credential: register the kiosk again (facekiosk kiosk register)",
            ));
        };
        if first.try_get::<Option<i64>, _>("disabled_at")?.is_some() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "KIOSK_DISABLED",
                "this kiosk was disabled by its tenant",
            ));
        }
        let mut keys = Vec::with_capacity(rows.len());
        let mut test_kids = Vec::new();
        for r in &rows {
            let Some(kid) = r.try_get::<Option<String>, _>("kid")? else {
                continue;
            };
            if r.try_get::<Option<i64>, _>("test")?.unwrap_or(0) != 0 {
                test_kids.push(kid.clone());
            }
            keys.push(facekiosk_identity::Jwk {
                kty: "OKP".to_owned(),
                crv: "Ed25519".to_owned(),
                x: r.try_get::<Option<String>, _>("x")?.unwrap_or_default(),
                kid,
                alg: Some("EdDSA".to_owned()),
                key_use: Some("sig".to_owned()),
                nbf: r.try_get::<Option<i64>, _>("nbf")?.map(|v| v.max(0) as u64),
                exp: r.try_get::<Option<i64>, _>("exp")?.map(|v| v.max(0) as u64),
            });
        }
        let kiosk = Kiosk {
            kiosk_id: first.try_get("id")?,
            tenant_id: first.try_get("tenant_id")?,
            keys: facekiosk_identity::Jwks { keys },
            test_kids,
        };
        state
            .kiosk_limiter
            .check(&kiosk.kiosk_id, state.now_ms())
            .map_err(|wait| ApiError::rate_limited("too many requests from this kiosk", wait))?;
        Ok(kiosk)
    }
}

/// Exchanges an API key for a short-lived bearer token (FaceKi's getToken).
#[utoipa::path(
    post,
    path = "/v1/token",
    tag = "auth",
    security(("apiKey" = [])),
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = crate::error::ErrorBody, description = "`UNAUTHORIZED`: unknown key, or a token instead of a key"),
    )
)]
pub async fn token(
    axum::extract::State(state): axum::extract::State<Shared>,
    who: Integrator,
) -> ApiResult<axum::Json<TokenResponse>> {
    if !who.is_key {
        return Err(ApiError::unauthorized(
            "tokens are minted from an API key, not from another token",
        ));
    }
    let now = state.now_ms();
    let ttl = state.config.token_ttl_s;
    let secret = new_token(TOKEN_PREFIX).map_err(ApiError::internal)?;
    let expires_ms = now + ttl * 1000;
    sqlx::query(
        "INSERT INTO access_tokens (token_hash, api_key_id, tenant_id, test, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_secret(&secret))
    .bind(&who.key_id)
    .bind(&who.tenant_id)
    .bind(i64::from(who.test))
    .bind(expires_ms as i64)
    .execute(state.db.write().await.pool())
    .await?;
    Ok(axum::Json(TokenResponse {
        access_token: secret,
        token_type: "Bearer".to_owned(),
        expires_in: ttl,
        expires_at: expires_ms / 1000,
    }))
}
