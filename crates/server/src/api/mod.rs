//! The HTTP API: routes, shared state, authentication, body limits, metrics and request ids.

pub mod auth;
mod extract;
mod identities;
mod kiosk;
mod kiosks;
mod ops;
pub mod result_write;
pub(crate) mod rows;
pub(crate) mod sessions;
pub mod types;

use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tracing::Instrument as _;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;

pub use extract::JsonBody;

pub use crate::state::{AppState, Shared};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "FaceKiosk verification API",
        description = "Sessions, client secrets, kiosks and signed results. See docs/API.md."
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "kiosk",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document alone (the same as `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = OpenApiRouter::<Shared>::with_openapi(ApiDoc::openapi())
        .merge(routes_only())
        .split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api
}

fn upload_routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(sessions::create_session, sessions::list_sessions))
}

fn json_routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(auth::token))
        .routes(routes!(sessions::get_session))
        .routes(routes!(
            sessions::refresh_session,
            sessions::refresh_session_post
        ))
        .routes(routes!(sessions::cancel_session))
        .routes(routes!(identities::face_auth_status))
        .routes(routes!(identities::delete_identity))
        .routes(routes!(kiosks::create_enrolment, kiosks::list_kiosks))
        .routes(routes!(kiosks::disable_kiosk))
        .routes(routes!(kiosks::register))
        .routes(routes!(kiosks::jwks))
        .routes(routes!(kiosk::claim))
        .routes(routes!(kiosk::waiting_sessions))
        .routes(routes!(kiosk::post_result))
        .routes(routes!(kiosk::post_traces))
        .routes(routes!(kiosk::update_keys))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

fn routes_only() -> OpenApiRouter<Shared> {
    upload_routes().merge(json_routes())
}

/// The routes and their OpenAPI document, from the same handler annotations (so the document
/// cannot drift from the routes).
pub fn router(state: Shared) -> (axum::Router, utoipa::openapi::OpenApi) {
    let json_limit = state.config.max_json_kb.saturating_mul(1024);
    // Multipart overhead beyond the photo itself.
    let photo_limit = state.config.max_photo_mb.saturating_mul(1024 * 1024) + 256 * 1024;

    let uploads = upload_routes()
        .layer(DefaultBodyLimit::max(photo_limit as usize))
        .layer(axum::middleware::from_fn_with_state(
            photo_limit,
            content_length_limit,
        ));
    let rest = json_routes()
        .layer(DefaultBodyLimit::max(json_limit as usize))
        .layer(axum::middleware::from_fn_with_state(
            json_limit,
            content_length_limit,
        ));

    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(uploads)
        .merge(rest)
        .with_state(state.clone())
        .split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let doc = api.clone();
    let timeout = Duration::from_secs(state.config.request_timeout_s);
    let router = router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc) }
            }),
        )
        .fallback(|| async {
            ApiError::not_found("NOT_FOUND", "no such endpoint; see /openapi.json")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "this endpoint does not take that method; see /openapi.json",
            )
        })
        // On matched routes only, so the route template is known (unmatched paths are not
        // counted: their raw paths could grow the metrics without bound).
        .route_layer(axum::middleware::from_fn_with_state(state, observe))
        .layer(
            ServiceBuilder::new().layer(axum::middleware::from_fn(move |req, next| {
                with_timeout(req, next, timeout)
            })),
        );
    (router, api)
}

/// Refuses a body whose declared length is over `limit` before reading any of it (a 200 MB
/// upload costs nothing); chunked bodies are cut at the limit by `DefaultBodyLimit`.
async fn content_length_limit(State(limit): State<u64>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return ApiError::too_large(limit).into_response();
    }
    next.run(req).await
}

async fn with_timeout(req: Request, next: Next, limit: Duration) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            "TIMEOUT",
            format!("the request took longer than {} s", limit.as_secs()),
        )
        .into_response(),
    }
}

/// Request id (the caller's `x-request-id` when it is sane, else a new one), a span for the
/// request's logs, the metrics, and one log line per request — method, route template, status,
/// latency: never a header, a body or a query string.
async fn observe(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| {
            crate::crypto::random_bytes::<8>()
                .map(|b| crate::crypto::hex(&b))
                .unwrap_or_default()
        });
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let elapsed = start.elapsed().as_secs_f64();
    state.metrics.record(&method, &route, status, elapsed);
    span.in_scope(|| {
        tracing::info!(status, latency_ms = elapsed * 1000.0, "request");
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}
