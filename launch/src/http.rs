//! The operator page and its JSON API (`[operator]`): served by `launch run` and `launch
//! demo` with axum on the control plane's event loop. Every request becomes a
//! [`ControlRequest`] for the supervision loop, exactly as `launch status|camera|...` from a
//! terminal does, so both take the same path. Snapshots are JPEG files capture writes into
//! the runtime directory; they are served from there.
//!
//! Beyond the loopback interface a token is required (`operator.token_file`): as
//! `Authorization: Bearer <token>`, or `?token=<token>` for the page and its images.

use crate::control::{ControlCommand, ControlRequest};
use crate::desk::OperatorCommand;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use shared::messages::CameraMode;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// File in the runtime directory holding the page's address once it is served.
pub const ADDRESS_FILE: &str = "http-address";

/// Longest wait for the supervision loop to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request body accepted, bytes.
const MAX_BODY: usize = 16 * 1024;

#[derive(Clone)]
struct App {
    tx: mpsc::Sender<ControlRequest>,
    token: Option<Arc<str>>,
    preview_dir: PathBuf,
}

/// Binds the page at `addr` and serves it until the returned task is aborted.
pub async fn serve(
    addr: SocketAddr,
    token: Option<String>,
    tx: mpsc::Sender<ControlRequest>,
    preview_dir: PathBuf,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve the operator page on {addr} (operator.http_bind): {e}; choose another port or set operator.http_bind = \"\" to serve no page"))?;
    let local = listener.local_addr()?;
    let app = App {
        tx,
        token: token.map(Arc::from),
        preview_dir,
    };
    let router = Router::new()
        .route("/", get(page))
        .route("/api/status", get(status))
        .route("/metrics", get(metrics))
        .route("/api/camera", post(camera))
        .route("/api/recording", post(recording))
        .route("/api/schedule", post(schedule_add))
        .route("/api/schedule/remove", post(schedule_remove))
        .route("/preview/{name}", get(preview))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), auth))
        .with_state(app);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(message = "The operator page stopped; the broadcast goes on.", %error);
        }
    });
    Ok((local, task))
}

fn error(status: StatusCode, text: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": text.into() });
    (status, axum::Json(body)).into_response()
}

/// Equal without revealing where two strings differ through timing.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The request's token: `Authorization: Bearer`, else `?token=`.
fn token_of(req: &Request) -> Option<String> {
    if let Some(h) = req.headers().get(header::AUTHORIZATION) {
        return h
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
    }
    req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .map(str::to_string)
    })
}

async fn auth(State(app): State<App>, req: Request, next: Next) -> Response {
    if let Some(expected) = &app.token {
        match token_of(&req) {
            None => {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "a token is required: send `Authorization: Bearer <token>` or add ?token=<token> (operator.token_file)",
                )
            }
            Some(t) if !same(&t, expected) => {
                tracing::warn!(message = "Operator page request with a wrong token refused.", path = %req.uri().path());
                return error(StatusCode::UNAUTHORIZED, "wrong token");
            }
            Some(_) => {}
        }
    }
    next.run(req).await
}

/// Hands a command to the supervision loop; its JSON answer.
async fn ask(app: &App, command: ControlCommand) -> Result<String, Response> {
    let (req, rx) = ControlRequest::new(command);
    if app.tx.try_send(req).is_err() {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "launch is busy; try again",
        ));
    }
    match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
        Ok(Ok(Ok(body))) => Ok(body),
        Ok(Ok(Err(text))) => Err(error(StatusCode::BAD_REQUEST, text)),
        _ => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "launch did not answer in time",
        )),
    }
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

async fn status(State(app): State<App>) -> Response {
    match ask(&app, ControlCommand::Status).await {
        Ok(body) => json(body),
        Err(r) => r,
    }
}

async fn metrics(State(app): State<App>) -> Response {
    let body = match ask(&app, ControlCommand::Status).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match serde_json::from_str::<crate::status::SystemStatus>(&body) {
        Ok(s) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            crate::metrics::render(&s),
        )
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Parses a JSON body, naming what is wrong (an answer of 400).
fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes, what: &str) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("{what} not understood: {e}"),
        ))
    })
}

async fn operator(app: &App, cmd: OperatorCommand) -> Response {
    match ask(app, ControlCommand::Operator(cmd)).await {
        Ok(body) => json(body),
        Err(r) => r,
    }
}

async fn camera(State(app): State<App>, body: Bytes) -> Response {
    let camera: CameraMode = match parse(
        &body,
        "camera mode (expected {\"mode\": \"auto|wide|left|right|hold\"} or {\"mode\": \"manual\", \"yaw\": .., \"pitch\": .., \"fov\": ..})",
    ) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    operator(&app, OperatorCommand::Camera { camera }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordingBody {
    action: String,
}

async fn recording(State(app): State<App>, body: Bytes) -> Response {
    let b: RecordingBody = match parse(
        &body,
        "recording command (expected {\"action\": \"start|stop\"})",
    ) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let on = match b.action.as_str() {
        "start" => true,
        "stop" => false,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown recording action {other:?}; expected \"start\" or \"stop\""),
            )
        }
    };
    operator(&app, OperatorCommand::Recording { on }).await
}

async fn schedule_add(State(app): State<App>, body: Bytes) -> Response {
    match parse(
        &body,
        "match (expected {\"start\": \"2026-12-06T15:00:00+01:00\" or \"start_in_s\": 900, \"duration_s\": 5400, \"preroll_s\": 900})",
    ) {
        Ok(m) => operator(&app, OperatorCommand::ScheduleAdd(m)).await,
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveBody {
    start: String,
}

async fn schedule_remove(State(app): State<App>, body: Bytes) -> Response {
    let b: RemoveBody = match parse(&body, "match to remove (expected {\"start\": \"...\"})") {
        Ok(b) => b,
        Err(r) => return *r,
    };
    operator(&app, OperatorCommand::ScheduleRemove { start: b.start }).await
}

async fn preview(State(app): State<App>, UrlPath(name): UrlPath<String>) -> Response {
    let file = match name.as_str() {
        "programme.jpg" => shared::operator::PREVIEW_PROGRAMME_FILE,
        "panorama.jpg" => shared::operator::PREVIEW_PANORAMA_FILE,
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "no such preview; there are programme.jpg and panorama.jpg",
            )
        }
    };
    match tokio::fs::read(app.preview_dir.join(file)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => error(
            StatusCode::NOT_FOUND,
            "no snapshot yet (capture writes one a second once frames are shown; playout.preview_interval_ms)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abcdef0123456789", "abcdef0123456789"));
        assert!(!same("abcdef0123456789", "abcdef012345678"));
        assert!(!same("abcdef0123456789", "abcdef012345678x"));
    }
}
