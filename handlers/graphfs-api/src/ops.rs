//! Probes, metrics and the API description.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::SharedState;
use crate::problem::{Problem, ProblemDoc};

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is alive", content_type = "text/plain"))
)]
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Both backends answer", content_type = "text/plain"),
        (status = 503, description = "A backend does not answer (`unavailable`)", content_type = "application/problem+json", body = ProblemDoc),
    )
)]
pub async fn readyz(State(state): State<SharedState>) -> Response {
    let (index, store) = tokio::join!(state.index.ping(), state.store.ping());
    match index.and(store) {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            let mut p = Problem::from(e);
            p.status = StatusCode::SERVICE_UNAVAILABLE;
            p.into_response()
        }
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus metrics", content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<SharedState>) -> Response {
    let queue = state.index.queue_depth().await.ok();
    let mut resp = state.metrics.render(queue).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
pub async fn openapi() -> Response {
    let mut resp = crate::openapi::document_json().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
