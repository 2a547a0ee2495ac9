//! Liveness, readiness and metrics for operators.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use sqlx::Row as _;

use crate::error::{ApiError, ApiResult};
use crate::state::Shared;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
pub async fn healthz() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok" }))
}

/// The database answers and every migration is applied.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "`{\"status\":\"ready\",\"database\":\"sqlite\"}`"),
        (status = 503, body = crate::error::ErrorBody, description = "`NOT_READY`"),
    )
)]
pub async fn readyz(State(state): State<Shared>) -> ApiResult<axum::Json<Value>> {
    state
        .db
        .ready()
        .await
        .map_err(|why| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "NOT_READY", why))?;
    Ok(axum::Json(json!({
        "status": "ready",
        "database": state.db.backend().as_str(),
    })))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<Shared>) -> ApiResult<impl IntoResponse> {
    let rows = sqlx::query("SELECT status, test, COUNT(*) AS n FROM sessions GROUP BY status, test ORDER BY status, test")
        .fetch_all(state.db.pool())
        .await?;
    let mut sessions = Vec::with_capacity(rows.len());
    for r in rows {
        sessions.push((
            r.try_get::<String, _>("status")?,
            r.try_get::<i64, _>("test")? != 0,
            r.try_get::<i64, _>("n")?,
        ));
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&sessions),
    ))
}
