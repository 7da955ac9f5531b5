//! Probes, metrics and the API description.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::SharedState;
use crate::problem::Problem;

pub const OPENAPI: &str = include_str!("../openapi.json");

pub async fn healthz() -> &'static str {
    "ok"
}

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

pub async fn metrics(State(state): State<SharedState>) -> Response {
    let queue = state.index.queue_depth().await.ok();
    let mut resp = state.metrics.render(queue).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

pub async fn openapi() -> Response {
    let mut resp = OPENAPI.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
