//! Kiosks: enrolment tokens (integrators), registration (a kiosk with a token and its public
//! keys), the public key set integrators verify results with, disabling a kiosk.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sqlx::Row as _;
use utoipa::IntoParams;

use super::auth::{Integrator, KIOSK_PREFIX};
use super::extract::JsonBody;
use super::types::{
    CreateEnrolment, EnrolmentToken, JwkView, JwksView, KioskCredential, KioskList, KioskView,
    RegisterKiosk,
};
use crate::crypto::{hash_secret, token};
use crate::db::{Tx, is_unique_violation};
use crate::error::{ApiError, ApiResult};
use crate::state::Shared;

/// Makes a single-use enrolment token for a new kiosk of the caller's tenant.
#[utoipa::path(
    post,
    path = "/v1/kiosks",
    tag = "kiosks",
    security(("apiKey" = [])),
    request_body = CreateEnrolment,
    responses((status = 201, body = EnrolmentToken))
)]
pub async fn create_enrolment(
    State(state): State<Shared>,
    who: Integrator,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<EnrolmentToken>)> {
    let req: CreateEnrolment = if body.iter().all(u8::is_ascii_whitespace) {
        CreateEnrolment::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_JSON",
                format!("the body: {e}"),
            )
        })?
    };
    if req.name.as_deref().is_some_and(|n| n.chars().count() > 100) {
        return Err(ApiError::invalid("`name` is longer than 100 characters"));
    }
    let (t, expires) = crate::admin::create_enrolment_token_for(
        &state.db,
        &who.tenant_id,
        req.name.as_deref(),
        state.now_ms(),
        state.config.enrolment_token_ttl_s,
    )
    .await
    .map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        Json(EnrolmentToken {
            enrolment_token: t,
            expires_at: expires / 1000,
        }),
    ))
}

pub(crate) async fn keys_of(
    state: &Shared,
    kiosk_id: &str,
    test: bool,
    disabled_at: Option<i64>,
) -> ApiResult<JwksView> {
    let rows = sqlx::query(
        "SELECT kid, x, nbf, exp FROM kiosk_keys WHERE kiosk_id = $1 AND test = $2 ORDER BY created_at, kid",
    )
    .bind(kiosk_id)
    .bind(i64::from(test))
    .fetch_all(state.db.pool())
    .await?;
    let mut keys = Vec::with_capacity(rows.len());
    for r in rows {
        keys.push(jwk_view(&r, disabled_at)?);
    }
    Ok(JwksView { keys })
}

/// A key row as a JWK; a disabled kiosk's keys end when it was disabled (results signed before
/// still verify, later ones do not).
fn jwk_view(r: &sqlx::any::AnyRow, disabled_at: Option<i64>) -> Result<JwkView, sqlx::Error> {
    let mut exp = r.try_get::<Option<i64>, _>("exp")?.map(|v| v.max(0) as u64);
    if let Some(d) = disabled_at {
        let d = (d / 1000) as u64;
        exp = Some(exp.map_or(d, |e| e.min(d)));
    }
    Ok(JwkView {
        kty: "OKP".to_owned(),
        crv: "Ed25519".to_owned(),
        x: r.try_get("x")?,
        kid: r.try_get("kid")?,
        alg: Some("EdDSA".to_owned()),
        key_use: Some("sig".to_owned()),
        nbf: r.try_get::<Option<i64>, _>("nbf")?.map(|v| v.max(0) as u64),
        exp,
    })
}

/// Lists the tenant's kiosks.
#[utoipa::path(
    get,
    path = "/v1/kiosks",
    tag = "kiosks",
    security(("apiKey" = [])),
    responses((status = 200, body = KioskList))
)]
pub async fn list_kiosks(
    State(state): State<Shared>,
    who: Integrator,
) -> ApiResult<Json<KioskList>> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, disabled_at FROM kiosks WHERE tenant_id = $1 ORDER BY created_at, id",
    )
    .bind(&who.tenant_id)
    .fetch_all(state.db.pool())
    .await?;
    let mut data = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.try_get("id")?;
        let disabled_at: Option<i64> = r.try_get("disabled_at")?;
        data.push(KioskView {
            keys: keys_of(&state, &id, false, disabled_at).await?,
            id,
            name: r.try_get("name")?,
            created_at: (r.try_get::<i64, _>("created_at")? / 1000) as u64,
            disabled_at: disabled_at.map(|d| (d / 1000) as u64),
        });
    }
    Ok(Json(KioskList { data }))
}

/// Disables a kiosk: its credential stops working at once, results it posts are refused, and
/// its keys' validity ends now (results it signed before still verify).
#[utoipa::path(
    post,
    path = "/v1/kiosks/{id}/disable",
    tag = "kiosks",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "Kiosk id")),
    responses(
        (status = 200, body = KioskView),
        (status = 404, body = crate::error::ErrorBody, description = "`KIOSK_NOT_FOUND`"),
    )
)]
pub async fn disable_kiosk(
    State(state): State<Shared>,
    who: Integrator,
    Path(id): Path<String>,
) -> ApiResult<Json<KioskView>> {
    let now = state.now_ms() as i64;
    sqlx::query(
        "UPDATE kiosks SET disabled_at = $1 WHERE id = $2 AND tenant_id = $3 AND disabled_at IS NULL",
    )
    .bind(now)
    .bind(&id)
    .bind(&who.tenant_id)
    .execute(state.db.write().await.pool())
    .await?;
    let r = sqlx::query(
        "SELECT name, created_at, disabled_at FROM kiosks WHERE id = $1 AND tenant_id = $2",
    )
    .bind(&id)
    .bind(&who.tenant_id)
    .fetch_optional(state.db.pool())
    .await?
    .ok_or_else(|| ApiError::not_found("KIOSK_NOT_FOUND", "no such kiosk for this tenant"))?;
    let disabled_at: Option<i64> = r.try_get("disabled_at")?;
    tracing::info!(kiosk = %id, "kiosk disabled");
    Ok(Json(KioskView {
        keys: keys_of(&state, &id, false, disabled_at).await?,
        id,
        name: r.try_get("name")?,
        created_at: (r.try_get::<i64, _>("created_at")? / 1000) as u64,
        disabled_at: disabled_at.map(|d| (d / 1000) as u64),
    }))
}

/// A kiosk id: 1–64 letters, digits, `-` or `_` (the `iss` of its results).
pub(crate) fn check_kiosk_id(id: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "`kioskId` must be 1–64 letters, digits, `-` or `_`",
        ))
    }
}

/// Checks a key set a kiosk sends: Ed25519 keys whose ids belong to the kiosk.
pub(crate) fn check_keys(kiosk_id: &str, keys: &JwksView, what: &str) -> ApiResult<()> {
    if keys.keys.len() > 100 {
        return Err(ApiError::invalid(format!(
            "`{what}` holds more than 100 keys"
        )));
    }
    for k in &keys.keys {
        if k.kty != "OKP" || k.crv != "Ed25519" {
            return Err(ApiError::invalid(format!(
                "`{what}`: key `{}` is not an Ed25519 (OKP) key",
                super::rows::clip(&k.kid, 80)
            )));
        }
        let belongs = k.kid == kiosk_id
            || k.kid
                .strip_prefix(kiosk_id)
                .is_some_and(|rest| rest.starts_with('.') && rest.len() <= 64);
        if !belongs {
            return Err(ApiError::invalid(format!(
                "`{what}`: key id `{}` must be the kiosk id or start with `{kiosk_id}.`",
                super::rows::clip(&k.kid, 80)
            )));
        }
        match URL_SAFE_NO_PAD.decode(k.x.trim_end_matches('=')) {
            Ok(b) if b.len() == 32 => {}
            _ => {
                return Err(ApiError::invalid(format!(
                    "`{what}`: key `{}` has no 32-byte base64url `x`",
                    k.kid
                )));
            }
        }
        if let (Some(nbf), Some(exp)) = (k.nbf, k.exp)
            && exp <= nbf
        {
            return Err(ApiError::invalid(format!(
                "`{what}`: key `{}` ends before it starts",
                k.kid
            )));
        }
    }
    Ok(())
}

/// Adds new keys and updates the windows of known ones; a known kid with another public key,
/// or a kid of another kiosk, is a conflict.
pub(crate) async fn upsert_keys(
    tx: &mut Tx,
    kiosk_id: &str,
    keys: &JwksView,
    test: bool,
    now_ms: u64,
) -> ApiResult<()> {
    for k in &keys.keys {
        let existing = sqlx::query("SELECT kiosk_id, x, test, exp FROM kiosk_keys WHERE kid = $1")
            .bind(&k.kid)
            .fetch_optional(&mut **tx)
            .await?;
        let nbf = k.nbf.map(|v| v as i64);
        let exp = k.exp.map(|v| v as i64);
        match existing {
            Some(r) => {
                let owner: String = r.try_get("kiosk_id")?;
                let x: String = r.try_get("x")?;
                let was_test = r.try_get::<i64, _>("test")? != 0;
                if owner != kiosk_id || x != k.x || was_test != test {
                    return Err(ApiError::conflict(
                        "KEY_CONFLICT",
                        format!("key `{}` is already registered with another value", k.kid),
                    ));
                }
                // A known key's window may only close (a retirement), never widen or reopen.
                let old_exp: Option<i64> = r.try_get("exp")?;
                let exp = match (old_exp, exp) {
                    (Some(o), Some(n)) => Some(o.min(n)),
                    (Some(o), None) => Some(o),
                    (None, n) => n,
                };
                sqlx::query("UPDATE kiosk_keys SET exp = $1 WHERE kid = $2")
                    .bind(exp)
                    .bind(&k.kid)
                    .execute(&mut **tx)
                    .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO kiosk_keys (kid, kiosk_id, x, test, nbf, exp, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&k.kid)
                .bind(kiosk_id)
                .bind(&k.x)
                .bind(i64::from(test))
                .bind(nbf)
                .bind(exp)
                .bind(now_ms as i64)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// Registers a kiosk: a single-use enrolment token and the kiosk's public keys give it its
/// credential. The kiosk belongs to the token's tenant.
#[utoipa::path(
    post,
    path = "/v1/kiosks/register",
    tag = "kiosks",
    request_body = RegisterKiosk,
    responses(
        (status = 201, body = KioskCredential),
        (status = 400, body = crate::error::ErrorBody, description = "`INVALID_REQUEST`: bad id or keys"),
        (status = 401, body = crate::error::ErrorBody, description = "`INVALID_ENROLMENT_TOKEN`: unknown, used or expired"),
        (status = 409, body = crate::error::ErrorBody, description = "`KIOSK_EXISTS`, `KEY_CONFLICT`"),
    )
)]
pub async fn register(
    State(state): State<Shared>,
    JsonBody(req): JsonBody<RegisterKiosk>,
) -> ApiResult<(StatusCode, Json<KioskCredential>)> {
    check_kiosk_id(&req.kiosk_id)?;
    if req.keys.keys.is_empty() {
        return Err(ApiError::invalid(
            "`keys` must hold the kiosk's live public key",
        ));
    }
    check_keys(&req.kiosk_id, &req.keys, "keys")?;
    check_keys(&req.kiosk_id, &req.test_keys, "testKeys")?;
    if req.name.as_deref().is_some_and(|n| n.chars().count() > 100) {
        return Err(ApiError::invalid("`name` is longer than 100 characters"));
    }
    let now = state.now_ms();
    let credential = token(KIOSK_PREFIX).map_err(ApiError::internal)?;
    let mut tx = state.db.begin().await?;
    let bad_token = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_ENROLMENT_TOKEN",
            "the enrolment token is unknown, used or expired: ask for a new one",
        )
    };
    // Spend the token first, in one statement that succeeds once: two registrations racing
    // with one token cannot both get through (on any database).
    let spent = sqlx::query(
        "UPDATE enrolment_tokens SET used_at = $1, kiosk_id = $2 \
         WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now as i64)
    .bind(&req.kiosk_id)
    .bind(hash_secret(&req.enrolment_token))
    .execute(&mut *tx)
    .await?;
    if spent.rows_affected() != 1 {
        return Err(bad_token());
    }
    let t = sqlx::query("SELECT tenant_id, name FROM enrolment_tokens WHERE token_hash = $1")
        .bind(hash_secret(&req.enrolment_token))
        .fetch_one(&mut *tx)
        .await?;
    let tenant_id: String = t.try_get("tenant_id")?;
    // The kiosk's own name, else the one its tenant gave the token.
    let name = match &req.name {
        Some(n) => Some(n.clone()),
        None => t.try_get::<Option<String>, _>("name")?,
    };
    let inserted = sqlx::query(
        "INSERT INTO kiosks (id, tenant_id, name, credential_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&req.kiosk_id)
    .bind(&tenant_id)
    .bind(name.as_deref())
    .bind(hash_secret(&credential))
    .bind(now as i64)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::conflict(
                "KIOSK_EXISTS",
                format!("a kiosk `{}` is already registered", req.kiosk_id),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    upsert_keys(&mut tx, &req.kiosk_id, &req.keys, false, now).await?;
    upsert_keys(&mut tx, &req.kiosk_id, &req.test_keys, true, now).await?;
    tx.commit().await?;
    tracing::info!(kiosk = %req.kiosk_id, "kiosk registered");
    Ok((
        StatusCode::CREATED,
        Json(KioskCredential {
            kiosk_id: req.kiosk_id,
            credential,
        }),
    ))
}

/// Which keys `GET /v1/kiosks/jwks` lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JwksQuery {
    /// The test keys instead of the live ones.
    pub test: Option<bool>,
    /// Only this kiosk's keys.
    pub kiosk: Option<String>,
}

/// Every kiosk's public keys with their validity windows: verify a result JWS offline with
/// them (docs/API.md). Public: keys are not secrets.
#[utoipa::path(
    get,
    path = "/v1/kiosks/jwks",
    tag = "kiosks",
    params(JwksQuery),
    responses((status = 200, body = JwksView))
)]
pub async fn jwks(
    State(state): State<Shared>,
    query: Result<Query<JwksQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<JwksView>> {
    let Query(q) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    let test = q.test.unwrap_or(false);
    // One query for every kiosk's keys.
    let rows = sqlx::query(
        "SELECT kk.kid, kk.x, kk.nbf, kk.exp, k.disabled_at FROM kiosk_keys kk JOIN kiosks k ON k.id = kk.kiosk_id \
         WHERE kk.test = $1 AND ($2 = '' OR k.id = $2) ORDER BY k.id, kk.created_at, kk.kid",
    )
    .bind(i64::from(test))
    .bind(q.kiosk.as_deref().unwrap_or(""))
    .fetch_all(state.db.pool())
    .await?;
    let mut keys = Vec::with_capacity(rows.len());
    for r in rows {
        keys.push(jwk_view(&r, r.try_get("disabled_at")?)?);
    }
    Ok(Json(JwksView { keys }))
}
