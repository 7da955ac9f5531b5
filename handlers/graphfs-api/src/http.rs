//! The HTTP listener, with the limits that keep slow or idle clients from
//! holding the server: a cap on open connections, a deadline for a request's
//! headers, a deadline between two pieces of a request body, and one for the
//! answer. axum's own `serve` sets none of these, so connections are served
//! here with hyper.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What a connection may cost the server.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers (per request on a
    /// kept-alive connection), after which the connection is closed.
    pub header_read_timeout: Duration,
    /// Longest pause inside a request body; a stalled upload ends there.
    pub body_idle_timeout: Duration,
    /// Time from a request to its answer's headers (a download's body then
    /// streams for as long as it takes), but for the requests that carry or
    /// copy a file's bytes ([`moves_file_bytes`]), whose time grows with the
    /// file and which the body deadline bounds instead.
    pub request_timeout: Duration,
    /// How long in-flight requests may finish after shutdown is asked.
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open
/// requests finish for up to the grace period.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let app = app
        .layer(middleware::from_fn_with_state(
            limits.request_timeout,
            answer_deadline,
        ))
        .layer(middleware::from_fn_with_state(
            limits.body_idle_timeout,
            body_idle_deadline,
        ));
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // A free slot first, so that over the cap new clients wait in the
        // kernel's backlog instead of holding a task and a buffer here.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it
                    // was accepted: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish within the grace period");
    }
    Ok(())
}

/// Ends a request body that pauses longer than the deadline, as an I/O
/// error the handler sees (an upload is then refused and stores nothing).
async fn body_idle_deadline(State(idle): State<Duration>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.size_hint().exact() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let guarded =
        futures::stream::unfold(Some(body.into_data_stream()), move |chunks| async move {
            let mut chunks = chunks?;
            match tokio::time::timeout(idle, chunks.next()).await {
                Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(chunks))),
                Ok(Some(Err(e))) => Some((Err(io::Error::other(e)), None)),
                Ok(None) => None,
                Err(_) => Some((
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the request body paused for more than {} s",
                            idle.as_secs_f32()
                        ),
                    )),
                    None,
                )),
            }
        });
    next.run(Request::from_parts(parts, Body::from_stream(guarded)))
        .await
}

/// Whether a request carries or copies a file's bytes, so that its time
/// grows with the file: an upload, a version restored, and the drive's PUT,
/// COPY and MOVE.
pub fn moves_file_bytes(method: &Method, path: &str) -> bool {
    let drive = path == crate::dav::PREFIX || path.starts_with(&format!("{}/", crate::dav::PREFIX));
    match method.as_str() {
        "POST" => {
            path == "/api/v1/files"
                || (path.starts_with("/api/v1/files/") && path.ends_with("/restore"))
        }
        "PUT" | "COPY" | "MOVE" => drive,
        _ => false,
    }
}

/// Answers 503 when a request takes longer than the deadline (a backend
/// that stopped answering), instead of holding the client and a task for
/// as long as the backend hangs. What the handler did not finish is dropped
/// as if the client had gone.
async fn answer_deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if moves_file_bytes(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%method, %path, limit_s = limit.as_secs_f32(), "request timed out");
            let mut p = crate::problem::Problem::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "Request timed out",
                format!(
                    "the server did not finish this request within {} s; try again shortly",
                    limit.as_secs()
                ),
            );
            p.retry_after = Some(5);
            p.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_that_move_file_bytes_are_left_without_the_answer_deadline() {
        let post = Method::POST;
        assert!(moves_file_bytes(&post, "/api/v1/files"));
        assert!(moves_file_bytes(
            &post,
            "/api/v1/files/0123/versions/2/restore"
        ));
        assert!(moves_file_bytes(&Method::PUT, "/dav/a/b.txt"));
        let copy = Method::from_bytes(b"COPY").unwrap();
        assert!(moves_file_bytes(&copy, "/dav/a.txt"));
        assert!(!moves_file_bytes(&Method::GET, "/api/v1/files"));
        assert!(
            !moves_file_bytes(&Method::GET, "/dav/a.txt"),
            "a download answers at once, then streams"
        );
        assert!(!moves_file_bytes(&Method::PUT, "/api/v1/taxonomy"));
        assert!(!moves_file_bytes(&Method::PUT, "/davx/a"));
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        assert!(!moves_file_bytes(&propfind, "/dav/"));
        assert!(!moves_file_bytes(&post, "/api/v1/files/0123/retag"));
    }
}
