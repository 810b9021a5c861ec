//! REQ/REP. The replier binds (long-lived side); the requester follows the Lazy Pirate
//! pattern: a new REQ socket for every attempt, a timeout on each step, a bounded number of
//! retries, because a REQ socket of the `zeromq` crate is unusable after a lost reply.

use super::counters::SocketCounters;
use super::endpoint::Endpoint;
use super::ratelog::RateLimitedLog;
use super::TransportError;
use crate::messages::{decode, encode, DecodeError, EncodeError, Message};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use zeromq::{RepSocket, ReqSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

/// Topic of the reply sent when a request could not be served.
const ERROR_TOPIC: &str = "error";

/// A request waiting for its reply.
pub struct Request {
    pub message: Message,
    reply: oneshot::Sender<Message>,
}

impl Request {
    /// Sends the reply. If the requester has gone, the reply is dropped.
    pub fn reply(self, message: Message) {
        let _ = self.reply.send(message);
    }
}

/// A bound REP socket delivering requests through a channel.
pub struct Replier {
    rx: mpsc::Receiver<Request>,
    guard: ReplierGuard,
}

impl Replier {
    /// Binds the REP socket. Requests are answered by whoever takes them from [`recv`];
    /// a request not answered within `handler_timeout` gets an error reply.
    ///
    /// [`recv`]: Replier::recv
    pub async fn bind(
        name: &str,
        endpoint: &Endpoint,
        handler_timeout: Duration,
    ) -> Result<Replier, TransportError> {
        let socket = bind_rep(name, endpoint).await?;
        let (tx, rx) = mpsc::channel(16);
        let counters = Arc::new(SocketCounters::default());
        let task = tokio::spawn(serve(
            socket,
            name.to_string(),
            tx,
            counters.clone(),
            handler_timeout,
        ));
        Ok(Replier {
            rx,
            guard: ReplierGuard { task, counters },
        })
    }

    pub async fn recv(&mut self) -> Option<Request> {
        self.rx.recv().await
    }

    pub fn counters(&self) -> Arc<SocketCounters> {
        self.guard.counters.clone()
    }

    /// Splits into the request channel and a guard that keeps the socket alive.
    pub fn split(self) -> (mpsc::Receiver<Request>, ReplierGuard) {
        (self.rx, self.guard)
    }
}

/// Keeps a split replier's socket alive.
pub struct ReplierGuard {
    task: JoinHandle<()>,
    counters: Arc<SocketCounters>,
}

impl ReplierGuard {
    pub fn counters(&self) -> Arc<SocketCounters> {
        self.counters.clone()
    }
}

impl Drop for ReplierGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds a REP socket at `endpoint` (a stale ipc file is removed first).
async fn bind_rep(name: &str, endpoint: &Endpoint) -> Result<RepSocket, TransportError> {
    let mut socket = RepSocket::new();
    super::bind_socket(&mut socket, endpoint, "Replier", name).await?;
    Ok(socket)
}

/// A bound REP socket carrying raw frames, for a protocol of its own (launch's control
/// socket): every [`FrameReplier::recv`] must be followed by one [`FrameReplier::send`].
pub struct FrameReplier {
    socket: RepSocket,
}

impl FrameReplier {
    pub async fn bind(name: &str, endpoint: &Endpoint) -> Result<FrameReplier, TransportError> {
        Ok(FrameReplier {
            socket: bind_rep(name, endpoint).await?,
        })
    }

    /// The next request's frames.
    pub async fn recv(&mut self) -> Result<Vec<Bytes>, String> {
        self.socket
            .recv()
            .await
            .map(|m| m.into_vec())
            .map_err(|e| e.to_string())
    }

    /// Answers the request taken last; `frames` must not be empty.
    pub async fn send(&mut self, frames: Vec<Bytes>) -> Result<(), String> {
        let message = ZmqMessage::try_from(frames).map_err(|e| e.to_string())?;
        self.socket.send(message).await.map_err(|e| e.to_string())
    }
}

/// One Lazy Pirate exchange of raw frames with the REP socket at `endpoint`: a new REQ socket
/// for every attempt (one is unusable after a lost reply), `options.timeout` on each of
/// connect, send and receive, `options.retries` attempts after the first. The reply's frames,
/// or `None` when no attempt got one.
pub async fn request_frames(
    endpoint: &Endpoint,
    request: &[Bytes],
    options: RequesterOptions,
) -> Option<Vec<Bytes>> {
    let ep = endpoint.to_string();
    let t = options.timeout;
    let message = ZmqMessage::try_from(request.to_vec()).ok()?;
    for attempt in 1..=options.retries + 1 {
        let mut socket = ReqSocket::new();
        let result = async {
            tokio::time::timeout(t, socket.connect(&ep))
                .await
                .ok()?
                .ok()?;
            tokio::time::timeout(t, socket.send(message.clone()))
                .await
                .ok()?
                .ok()?;
            tokio::time::timeout(t, socket.recv()).await.ok()?.ok()
        }
        .await;
        match result {
            Some(reply) => return Some(reply.into_vec()),
            None => tracing::debug!(message = "Request attempt failed.", endpoint = %ep, attempt),
        }
    }
    None
}

fn frames(topic: &str, payload: Vec<u8>) -> ZmqMessage {
    let mut m = ZmqMessage::from(Bytes::copy_from_slice(topic.as_bytes()));
    m.push_back(Bytes::from(payload));
    m
}

fn error_reply(text: &str) -> ZmqMessage {
    frames(ERROR_TOPIC, text.as_bytes().to_vec())
}

async fn serve(
    mut socket: RepSocket,
    name: String,
    tx: mpsc::Sender<Request>,
    counters: Arc<SocketCounters>,
    handler_timeout: Duration,
) {
    let log = RateLimitedLog::new(Duration::from_secs(10));
    loop {
        let msg = match socket.recv().await {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(message = "Replier receive error.", socket = %name, error = %e);
                continue;
            }
        };
        let parts = msg.into_vec();
        let decoded = match parts.as_slice() {
            [topic, payload] => decode(topic, payload).map_err(|e| e.to_string()),
            _ => Err(format!("expected 2 frames, got {}", parts.len())),
        };
        let reply = match decoded {
            Err(reason) => {
                SocketCounters::inc(&counters.decode_errors);
                if let Some(suppressed) = log.check(Instant::now()) {
                    tracing::warn!(message = "Request did not decode.", socket = %name, %reason, suppressed);
                }
                error_reply(&format!("request did not decode: {reason}"))
            }
            Ok(message) => {
                SocketCounters::inc(&counters.received);
                let (reply_tx, reply_rx) = oneshot::channel();
                let request = Request {
                    message,
                    reply: reply_tx,
                };
                if tx.try_send(request).is_err() {
                    SocketCounters::inc(&counters.dropped);
                    error_reply("replier is busy")
                } else {
                    match tokio::time::timeout(handler_timeout, reply_rx).await {
                        Ok(Ok(answer)) => match encode(&answer) {
                            Ok(payload) => frames(answer.topic(), payload),
                            Err(e) => {
                                SocketCounters::inc(&counters.encode_errors);
                                error_reply(&e.to_string())
                            }
                        },
                        _ => error_reply("no answer from the handler in time"),
                    }
                }
            }
        };
        match socket.send(reply).await {
            Ok(()) => SocketCounters::inc(&counters.sent),
            Err(e) => {
                SocketCounters::inc(&counters.dropped);
                tracing::debug!(message = "Reply not sent.", socket = %name, error = %e);
            }
        }
    }
}

/// Why a request got no usable reply.
#[derive(Debug, Error)]
pub enum RequestError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("no reply from {endpoint} after {attempts} attempts of {timeout:?}")]
    NoReply {
        endpoint: String,
        attempts: u32,
        timeout: Duration,
    },
    #[error("{endpoint} could not serve the request: {reason}")]
    Refused { endpoint: String, reason: String },
    #[error("reply from {endpoint} did not decode: {source}")]
    BadReply {
        endpoint: String,
        source: DecodeError,
    },
}

/// Requester settings.
#[derive(Debug, Clone, Copy)]
pub struct RequesterOptions {
    /// Limit for each of connect, send and receive in one attempt.
    pub timeout: Duration,
    /// Attempts after the first.
    pub retries: u32,
}

impl Default for RequesterOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(1000),
            retries: 2,
        }
    }
}

/// A Lazy Pirate client.
pub struct Requester {
    endpoint: Endpoint,
    options: RequesterOptions,
    counters: Arc<SocketCounters>,
}

impl Requester {
    pub fn new(endpoint: &Endpoint, options: RequesterOptions) -> Requester {
        Requester {
            endpoint: endpoint.clone(),
            options,
            counters: Arc::new(SocketCounters::default()),
        }
    }

    pub fn counters(&self) -> Arc<SocketCounters> {
        self.counters.clone()
    }

    /// Sends `message` and waits for the reply, retrying on a fresh socket.
    pub async fn request(&self, message: &Message) -> Result<Message, RequestError> {
        let payload = encode(message)?;
        let endpoint = self.endpoint.to_string();
        let t = self.options.timeout;
        let attempts = self.options.retries + 1;
        let request = [
            Bytes::copy_from_slice(message.topic().as_bytes()),
            Bytes::from(payload),
        ];
        if let Some(parts) = request_frames(&self.endpoint, &request, self.options).await {
            SocketCounters::inc(&self.counters.sent);
            return match parts.as_slice() {
                [topic, payload] if topic.as_ref() == ERROR_TOPIC.as_bytes() => {
                    Err(RequestError::Refused {
                        endpoint,
                        reason: String::from_utf8_lossy(payload).into_owned(),
                    })
                }
                [topic, payload] => {
                    SocketCounters::inc(&self.counters.received);
                    decode(topic, payload).map_err(|source| {
                        SocketCounters::inc(&self.counters.decode_errors);
                        RequestError::BadReply {
                            endpoint: endpoint.clone(),
                            source,
                        }
                    })
                }
                _ => Err(RequestError::Refused {
                    endpoint,
                    reason: format!("reply had {} frames", parts.len()),
                }),
            };
        }
        SocketCounters::inc(&self.counters.dropped);
        Err(RequestError::NoReply {
            endpoint,
            attempts,
            timeout: t,
        })
    }
}
