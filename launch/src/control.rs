//! The control socket of `launch run` and its client (`launch status|restart|stop`).
//!
//! The shared `Requester`/`Replier` carry only the system's wire messages, and control
//! commands are launch's own business, so this is a small protocol of its own over the raw
//! frames of `shared::transport` ([`FrameReplier`] bound by the long-lived side,
//! [`request_frames`]: the same Lazy Pirate loop as every requester, with the timeout and
//! retries of `[transport]`).
//!
//! Frames (UTF-8):
//! - request: `[command, request_id, args...]` with command `status`, `restart <process>`,
//!   `stop` or `operator <json>` (an [`OperatorCommand`]: camera mode, recording, schedule);
//! - reply: `["ok", json]` or `["error", text]`.
//!
//! A retried request reuses its id; the server answers a repeated id from a small cache
//! instead of acting twice, so a retry after a lost reply never restarts a process twice.

use crate::desk::OperatorCommand;
use bytes::Bytes;
use shared::transport::{request_frames, Endpoint, FrameReplier, RequesterOptions};
use std::collections::VecDeque;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// File name of the control socket in the runtime directory.
pub const CONTROL_SOCKET: &str = "launch-control.sock";

const OK: &str = "ok";
const ERROR: &str = "error";
/// Replies remembered for repeated request ids.
const REPLY_CACHE: usize = 32;
/// Limit for the supervisor loop to answer one request.
const HANDLER_TIMEOUT: Duration = Duration::from_secs(5);

/// A control command.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlCommand {
    Status,
    Restart(String),
    Stop,
    Operator(OperatorCommand),
}

impl ControlCommand {
    fn frames(&self, id: &str) -> Vec<String> {
        let mut f = match self {
            ControlCommand::Status => vec!["status".to_string()],
            ControlCommand::Restart(_) => vec!["restart".to_string()],
            ControlCommand::Stop => vec!["stop".to_string()],
            ControlCommand::Operator(_) => vec!["operator".to_string()],
        };
        f.push(id.to_string());
        match self {
            ControlCommand::Restart(p) => f.push(p.clone()),
            ControlCommand::Operator(c) => {
                f.push(serde_json::to_string(c).unwrap_or_else(|_| "{}".into()))
            }
            _ => {}
        }
        f
    }

    /// Parses request frames into the request id and the command.
    fn parse(frames: &[Bytes]) -> Result<(String, ControlCommand), String> {
        let text: Vec<&str> = frames
            .iter()
            .map(|f| std::str::from_utf8(f).map_err(|_| "frames must be UTF-8".to_string()))
            .collect::<Result<_, _>>()?;
        match text.as_slice() {
            ["status", id] => Ok((id.to_string(), ControlCommand::Status)),
            ["stop", id] => Ok((id.to_string(), ControlCommand::Stop)),
            ["restart", id, p] => Ok((id.to_string(), ControlCommand::Restart(p.to_string()))),
            ["operator", id, json] => serde_json::from_str(json)
                .map(|c| (id.to_string(), ControlCommand::Operator(c)))
                .map_err(|e| format!("operator command {json:?} not understood: {e}")),
            _ => Err(format!(
                "unknown request {:?}; expected [status|stop, id], [restart, id, process] or [operator, id, json]",
                text
            )),
        }
    }
}

fn message(frames: &[String]) -> Vec<Bytes> {
    frames
        .iter()
        .map(|f| Bytes::copy_from_slice(f.as_bytes()))
        .collect()
}

/// A request taken from the control socket, waiting for the supervisor's answer.
pub struct ControlRequest {
    pub command: ControlCommand,
    reply: oneshot::Sender<Result<String, String>>,
}

impl ControlRequest {
    /// A request from elsewhere in launch (the operator page), and where its answer comes.
    pub fn new(
        command: ControlCommand,
    ) -> (ControlRequest, oneshot::Receiver<Result<String, String>>) {
        let (reply, rx) = oneshot::channel();
        (ControlRequest { command, reply }, rx)
    }

    /// Answers with a JSON body, or an error text.
    pub fn reply(self, answer: Result<String, String>) {
        let _ = self.reply.send(answer);
    }
}

/// The bound REP socket; requests come out of [`ControlServer::recv`].
pub struct ControlServer {
    rx: mpsc::Receiver<ControlRequest>,
    tx: mpsc::Sender<ControlRequest>,
    task: JoinHandle<()>,
    /// True while the socket task holds a request whose reply it has not sent yet.
    busy: watch::Receiver<bool>,
}

impl ControlServer {
    /// Binds the control socket. A socket file still answered by another process means
    /// another `launch run` uses this runtime directory: that is an error.
    pub async fn bind(endpoint: &Endpoint) -> anyhow::Result<ControlServer> {
        let socket = FrameReplier::bind("launch-control", endpoint)
            .await
            .map_err(|e| anyhow::anyhow!("cannot bind the control socket {endpoint}: {e}"))?;
        let (tx, rx) = mpsc::channel(8);
        let (busy_tx, busy) = watch::channel(false);
        let task = tokio::spawn(serve(socket, tx.clone(), busy_tx));
        Ok(ControlServer { rx, tx, task, busy })
    }

    /// Waits until the socket task has sent the reply of the request it holds (a `launch
    /// stop`'s answer, before the socket closes), at most `limit`. True when it has.
    pub async fn replies_sent(&self, limit: Duration) -> bool {
        let mut busy = self.busy.clone();
        let sent = tokio::time::timeout(limit, busy.wait_for(|b| !*b))
            .await
            .is_ok_and(|r| r.is_ok());
        sent
    }

    /// Where other request sources (the operator page) put their requests.
    pub fn sender(&self) -> mpsc::Sender<ControlRequest> {
        self.tx.clone()
    }

    pub async fn recv(&mut self) -> Option<ControlRequest> {
        self.rx.recv().await
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut socket: FrameReplier,
    tx: mpsc::Sender<ControlRequest>,
    busy: watch::Sender<bool>,
) {
    // (request id, reply frames) of the latest requests, for retried ids.
    let mut answered: VecDeque<(String, Vec<String>)> = VecDeque::new();
    loop {
        let request = match socket.recv().await {
            Ok(frames) => frames,
            Err(e) => {
                tracing::debug!(message = "Control socket receive error.", error = %e);
                continue;
            }
        };
        busy.send_replace(true);
        let reply: Vec<String> = match ControlCommand::parse(&request) {
            Err(text) => {
                tracing::warn!(message = "Refused a malformed control request.", reason = %text);
                vec![ERROR.into(), text]
            }
            Ok((id, _)) if answered.iter().any(|(i, _)| *i == id) => answered
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, r)| r.clone())
                .unwrap_or_default(),
            Ok((id, command)) => {
                let (reply_tx, reply_rx) = oneshot::channel();
                let answer = if tx
                    .try_send(ControlRequest {
                        command,
                        reply: reply_tx,
                    })
                    .is_err()
                {
                    Err("launch is busy; try again".to_string())
                } else {
                    match tokio::time::timeout(HANDLER_TIMEOUT, reply_rx).await {
                        Ok(Ok(a)) => a,
                        _ => Err("launch did not answer in time".to_string()),
                    }
                };
                let frames = match answer {
                    Ok(body) => vec![OK.to_string(), body],
                    Err(text) => vec![ERROR.to_string(), text],
                };
                if answered.len() == REPLY_CACHE {
                    answered.pop_front();
                }
                answered.push_back((id, frames.clone()));
                frames
            }
        };
        if !reply.is_empty() {
            if let Err(e) = socket.send(message(&reply)).await {
                tracing::debug!(message = "Control reply not sent.", error = %e);
            }
        }
        busy.send_replace(false);
    }
}

/// Why a control command got no usable answer.
#[derive(Debug, Error)]
pub enum ControlError {
    #[error("launch is not running with this runtime directory: no control socket answers at {path} (start it with `launch run`, and give `--config` the same file)")]
    NotRunning { path: String },
    #[error("no reply from launch at {endpoint} after {attempts} attempts of {timeout:?}")]
    NoReply {
        endpoint: String,
        attempts: u32,
        timeout: Duration,
    },
    #[error("launch refused: {0}")]
    Refused(String),
    #[error("launch sent a reply that is not understood: {0}")]
    BadReply(String),
}

/// Client settings (from `[transport]`): the Lazy Pirate settings of every requester.
pub type ClientOptions = RequesterOptions;

/// Sends `command` to the `launch run` listening on `endpoint`; the JSON body of the reply.
pub async fn request(
    endpoint: &Endpoint,
    command: &ControlCommand,
    options: ClientOptions,
) -> Result<String, ControlError> {
    // Without a listening socket the crate's connect would wait; say so at once instead.
    if let Endpoint::Ipc(path) = endpoint {
        if std::os::unix::net::UnixStream::connect(path).is_err() {
            return Err(ControlError::NotRunning {
                path: path.display().to_string(),
            });
        }
    }
    let id = format!("{}-{}", std::process::id(), shared::time::unix_now_ns());
    request_with_id(endpoint, command, &id, options).await
}

/// [`request`] with a given request id (every retry reuses it).
async fn request_with_id(
    endpoint: &Endpoint,
    command: &ControlCommand,
    id: &str,
    options: ClientOptions,
) -> Result<String, ControlError> {
    let Some(parts) = request_frames(endpoint, &message(&command.frames(id)), options).await else {
        return Err(ControlError::NoReply {
            endpoint: endpoint.to_string(),
            attempts: options.retries + 1,
            timeout: options.timeout,
        });
    };
    let text: Vec<String> = parts
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    match text.as_slice() {
        [kind, body] if kind == OK => Ok(body.clone()),
        [kind, body] if kind == ERROR => Err(ControlError::Refused(body.clone())),
        other => Err(ControlError::BadReply(format!("{other:?}"))),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(frames: &[&str]) -> Vec<Bytes> {
        frames
            .iter()
            .map(|f| Bytes::copy_from_slice(f.as_bytes()))
            .collect()
    }

    #[test]
    fn commands_round_trip_through_frames() {
        for c in [
            ControlCommand::Status,
            ControlCommand::Stop,
            ControlCommand::Restart("analyzer".into()),
            ControlCommand::Operator(OperatorCommand::Camera {
                camera: shared::messages::CameraMode::Wide,
            }),
            ControlCommand::Operator(OperatorCommand::Recording { on: false }),
        ] {
            let f = c.frames("id-1");
            let f: Vec<&str> = f.iter().map(String::as_str).collect();
            assert_eq!(
                ControlCommand::parse(&bytes(&f)).unwrap(),
                ("id-1".to_string(), c)
            );
        }
    }

    #[test]
    fn malformed_requests_are_refused_with_a_reason() {
        for f in [&["restart", "id"][..], &["launch", "id"], &[]] {
            let e = ControlCommand::parse(&bytes(f)).unwrap_err();
            assert!(e.contains("expected"), "{e}");
        }
    }

    /// A server answering every request with a running count.
    async fn counting_server(ep: &Endpoint) -> JoinHandle<()> {
        let mut server = ControlServer::bind(ep).await.unwrap();
        tokio::spawn(async move {
            let mut n = 0;
            while let Some(r) = server.recv().await {
                n += 1;
                r.reply(Ok(format!("{{\"n\":{n}}}")));
            }
        })
    }

    const OPTIONS: ClientOptions = ClientOptions {
        timeout: Duration::from_secs(2),
        retries: 1,
    };

    #[tokio::test]
    async fn each_request_gets_its_answer() {
        let dir = tempfile::tempdir().unwrap();
        let ep = Endpoint::ipc_in(dir.path(), "c.sock");
        let server = counting_server(&ep).await;
        let body = request(&ep, &ControlCommand::Status, OPTIONS)
            .await
            .unwrap();
        assert_eq!(body, "{\"n\":1}");
        let body = request(&ep, &ControlCommand::Stop, OPTIONS).await.unwrap();
        assert_eq!(body, "{\"n\":2}");
        server.abort();
    }

    #[tokio::test]
    async fn a_repeated_request_id_is_answered_without_acting_twice() {
        let dir = tempfile::tempdir().unwrap();
        let ep = Endpoint::ipc_in(dir.path(), "c.sock");
        let server = counting_server(&ep).await;
        let restart = ControlCommand::Restart("analyzer".into());
        let first = request_with_id(&ep, &restart, "same", OPTIONS)
            .await
            .unwrap();
        let again = request_with_id(&ep, &restart, "same", OPTIONS)
            .await
            .unwrap();
        assert_eq!(first, "{\"n\":1}");
        assert_eq!(again, first, "the retry got the cached answer");
        let other = request_with_id(&ep, &restart, "other", OPTIONS)
            .await
            .unwrap();
        assert_eq!(other, "{\"n\":2}");
        server.abort();
    }

    #[tokio::test]
    async fn the_server_knows_when_the_reply_of_a_held_request_is_out() {
        let dir = tempfile::tempdir().unwrap();
        let ep = Endpoint::ipc_in(dir.path(), "c.sock");
        let mut server = ControlServer::bind(&ep).await.unwrap();
        assert!(server.replies_sent(Duration::from_millis(10)).await, "idle");
        let client = tokio::spawn({
            let ep = ep.clone();
            async move { request(&ep, &ControlCommand::Stop, OPTIONS).await }
        });
        let held = server.recv().await.unwrap();
        assert!(
            !server.replies_sent(Duration::from_millis(50)).await,
            "a request is held and not answered"
        );
        held.reply(Ok("{}".into()));
        assert!(server.replies_sent(Duration::from_secs(2)).await);
        assert_eq!(client.await.unwrap().unwrap(), "{}");
    }

    #[tokio::test]
    async fn no_server_is_reported_as_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let ep = Endpoint::ipc_in(dir.path(), "none.sock");
        let options = ClientOptions {
            timeout: Duration::from_millis(200),
            retries: 0,
        };
        let e = request(&ep, &ControlCommand::Status, options)
            .await
            .unwrap_err();
        assert!(matches!(e, ControlError::NotRunning { .. }), "{e}");
    }
}
