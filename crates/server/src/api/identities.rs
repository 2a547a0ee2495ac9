//! Identities: a complete, verified session whose ID photo is kept as the reference for later
//! face authentication (iDenfy's scanRef). The identity's id is that session's id.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sqlx::Row as _;

use super::auth::Integrator;
use super::types::FaceAuthStatus;
use crate::error::{ApiError, ApiResult};
use crate::state::Shared;

struct IdentityRow {
    has_photo: bool,
    photo_sha256: Option<String>,
    created_at: i64,
}

async fn find(state: &Shared, who: &Integrator, id: &str) -> ApiResult<Option<IdentityRow>> {
    let row = sqlx::query(
        "SELECT photo IS NOT NULL AS has_photo, photo_sha256, created_at FROM identities \
         WHERE id = $1 AND tenant_id = $2 AND test = $3 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(&who.tenant_id)
    .bind(i64::from(who.test))
    .fetch_optional(state.db.pool())
    .await?;
    row.map(|r| {
        Ok(IdentityRow {
            has_photo: r
                .try_get::<bool, _>("has_photo")
                .or_else(|_| r.try_get::<i64, _>("has_photo").map(|v| v != 0))?,
            photo_sha256: r.try_get("photo_sha256")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

fn usable(state: &Shared, i: &IdentityRow) -> bool {
    let max_age_ms = state.config.identity_max_age_days as i64 * 24 * 3600 * 1000;
    i.has_photo && state.now_ms() as i64 - i.created_at < max_age_ms
}

fn unknown(id: &str) -> ApiError {
    ApiError::not_found(
        "IDENTITY_NOT_FOUND",
        format!(
            "no identity `{}` for this API key (an identity is a complete, verified session)",
            super::rows::clip(id, 80)
        ),
    )
}

/// The sha256 of an identity's reference photo, when a session can match against it.
pub(crate) async fn usable_identity(
    state: &Shared,
    who: &Integrator,
    id: &str,
) -> ApiResult<String> {
    let i = find(state, who, id).await?.ok_or_else(|| unknown(id))?;
    if !usable(state, &i) {
        return Err(ApiError::unprocessable(
            "IDENTITY_NEEDS_IDENTIFICATION",
            "this identity cannot authenticate by face (its reference is gone or too old): create a session from an ID photo",
        ));
    }
    i.photo_sha256
        .ok_or_else(|| ApiError::internal("an identity photo without its sha256"))
}

/// Whether a person can authenticate by face, or must identify with an ID photo again.
#[utoipa::path(
    get,
    path = "/v1/identities/{id}/face-auth-status",
    tag = "identities",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "Identity id (the id of a complete, verified session)")),
    responses(
        (status = 200, body = FaceAuthStatus),
        (status = 404, body = crate::error::ErrorBody, description = "`IDENTITY_NOT_FOUND`: unknown or deleted"),
    )
)]
pub async fn face_auth_status(
    State(state): State<Shared>,
    who: Integrator,
    Path(id): Path<String>,
) -> ApiResult<Json<FaceAuthStatus>> {
    let i = find(&state, &who, &id).await?.ok_or_else(|| unknown(&id))?;
    let kind = if usable(&state, &i) {
        "AUTHENTICATION"
    } else {
        "IDENTIFICATION"
    };
    Ok(Json(FaceAuthStatus {
        kind: kind.to_owned(),
    }))
}

/// Deletes an identity's reference photo; the identity no longer exists for the API.
#[utoipa::path(
    delete,
    path = "/v1/identities/{id}",
    tag = "identities",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "Identity id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = crate::error::ErrorBody, description = "`IDENTITY_NOT_FOUND`"),
    )
)]
pub async fn delete_identity(
    State(state): State<Shared>,
    who: Integrator,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let res = sqlx::query(
        "UPDATE identities SET photo = NULL, deleted_at = $1 \
         WHERE id = $2 AND tenant_id = $3 AND test = $4 AND deleted_at IS NULL",
    )
    .bind(state.now_ms() as i64)
    .bind(&id)
    .bind(&who.tenant_id)
    .bind(i64::from(who.test))
    .execute(state.db.write().await.pool())
    .await?;
    if res.rows_affected() == 0 {
        return Err(unknown(&id));
    }
    tracing::info!(identity = %id, "identity deleted");
    Ok(StatusCode::NO_CONTENT)
}
