//! SUB sockets: decode in the socket task, count everything, deliver through a bounded channel.

use super::counters::SocketCounters;
use super::endpoint::Endpoint;
use super::ratelog::RateLimitedLog;
use super::TransportError;
use crate::messages::{decode, Message};
use crate::time::unix_now_ns;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zeromq::{Socket, SocketRecv, SubSocket};

/// Subscriber settings.
#[derive(Debug, Clone)]
pub struct SubscriberOptions {
    /// Topic prefixes to receive; empty means every topic.
    pub topics: Vec<String>,
    /// Messages waiting for the owner; beyond this new messages are dropped and counted.
    pub channel_capacity: usize,
}

impl Default for SubscriberOptions {
    fn default() -> Self {
        Self {
            topics: Vec::new(),
            channel_capacity: 1024,
        }
    }
}

/// One received and decoded message, with its raw frames for recording.
#[derive(Debug, Clone)]
pub struct Received {
    pub topic: Bytes,
    pub payload: Bytes,
    /// Wall-clock receive time (ns since the Unix epoch).
    pub recv_unix_ns: u64,
    pub message: Message,
}

/// A SUB socket (or several, one per connected endpoint) feeding one channel.
pub struct Subscriber {
    rx: mpsc::Receiver<Received>,
    guard: SubscriberGuard,
}

impl Subscriber {
    /// Connects to each endpoint in the background and returns at once. Connection and
    /// reconnection (when a publisher restarts) happen without the caller waiting.
    pub fn connect(name: &str, endpoints: &[Endpoint], options: SubscriberOptions) -> Subscriber {
        let (tx, rx) = mpsc::channel(options.channel_capacity.max(1));
        let counters = Arc::new(SocketCounters::default());
        let tasks = endpoints
            .iter()
            .map(|ep| {
                let ctx = TaskCtx {
                    name: name.to_string(),
                    tx: tx.clone(),
                    counters: counters.clone(),
                };
                let ep = ep.clone();
                let topics = options.topics.clone();
                tokio::spawn(async move {
                    let mut socket = SubSocket::new();
                    subscribe_all(&mut socket, &topics, &ctx.name).await;
                    connect_until_done(&mut socket, &ep, &ctx).await;
                    receive_loop(socket, ctx).await;
                })
            })
            .collect();
        Subscriber {
            rx,
            guard: SubscriberGuard { tasks, counters },
        }
    }

    /// Binds a SUB socket (publishers connect to it).
    pub async fn bind(
        name: &str,
        endpoint: &Endpoint,
        options: SubscriberOptions,
    ) -> Result<Subscriber, TransportError> {
        let (tx, rx) = mpsc::channel(options.channel_capacity.max(1));
        let counters = Arc::new(SocketCounters::default());
        let mut socket = SubSocket::new();
        subscribe_all(&mut socket, &options.topics, name).await;
        super::bind_socket(&mut socket, endpoint, "Subscriber", name).await?;
        let ctx = TaskCtx {
            name: name.to_string(),
            tx,
            counters: counters.clone(),
        };
        let task = tokio::spawn(receive_loop(socket, ctx));
        Ok(Subscriber {
            rx,
            guard: SubscriberGuard {
                tasks: vec![task],
                counters,
            },
        })
    }

    /// Next message, or `None` once every socket task has ended.
    pub async fn recv(&mut self) -> Option<Received> {
        self.rx.recv().await
    }

    /// A message if one is waiting.
    pub fn try_recv(&mut self) -> Option<Received> {
        self.rx.try_recv().ok()
    }

    pub fn counters(&self) -> Arc<SocketCounters> {
        self.guard.counters.clone()
    }

    /// Splits into the receiving channel (e.g. for an actor stream) and a guard that keeps
    /// the socket tasks alive; dropping the guard closes the sockets.
    pub fn split(self) -> (mpsc::Receiver<Received>, SubscriberGuard) {
        (self.rx, self.guard)
    }
}

/// Keeps a split subscriber's socket tasks alive.
pub struct SubscriberGuard {
    tasks: Vec<JoinHandle<()>>,
    counters: Arc<SocketCounters>,
}

impl SubscriberGuard {
    pub fn counters(&self) -> Arc<SocketCounters> {
        self.counters.clone()
    }
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct TaskCtx {
    name: String,
    tx: mpsc::Sender<Received>,
    counters: Arc<SocketCounters>,
}

async fn subscribe_all(socket: &mut SubSocket, topics: &[String], name: &str) {
    let all = [String::new()];
    let topics = if topics.is_empty() { &all[..] } else { topics };
    for t in topics {
        if let Err(e) = socket.subscribe(t).await {
            tracing::warn!(message = "Subscribe failed.", socket = name, topic = %t, error = %e);
        }
    }
}

async fn connect_until_done(socket: &mut SubSocket, endpoint: &Endpoint, ctx: &TaskCtx) {
    let log = RateLimitedLog::new(Duration::from_secs(10));
    let mut backoff = Duration::from_millis(50);
    loop {
        match socket.connect(&endpoint.to_string()).await {
            Ok(()) => {
                SocketCounters::inc(&ctx.counters.connects);
                tracing::info!(message = "Subscriber connected.", socket = %ctx.name, %endpoint);
                return;
            }
            Err(e) => {
                if let Some(suppressed) = log.check(Instant::now()) {
                    tracing::warn!(message = "Subscriber cannot connect yet; retrying.", socket = %ctx.name, %endpoint, error = %e, suppressed);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

async fn receive_loop(mut socket: SubSocket, ctx: TaskCtx) {
    let decode_log = RateLimitedLog::new(Duration::from_secs(10));
    let drop_log = RateLimitedLog::new(Duration::from_secs(10));
    loop {
        let msg = match socket.recv().await {
            Ok(m) => m,
            Err(e) => {
                // A publisher went away; the crate reconnects by itself.
                SocketCounters::inc(&ctx.counters.disconnects);
                tracing::debug!(message = "Subscriber peer error.", socket = %ctx.name, error = %e);
                continue;
            }
        };
        let frames = msg.into_vec();
        let (topic, payload) = match frames.as_slice() {
            [topic, payload] => (topic.clone(), payload.clone()),
            _ => {
                SocketCounters::inc(&ctx.counters.decode_errors);
                if let Some(suppressed) = decode_log.check(Instant::now()) {
                    tracing::warn!(message = "Discarded a message without exactly two frames.", socket = %ctx.name, frames = frames.len(), suppressed);
                }
                continue;
            }
        };
        let message = match decode(&topic, &payload) {
            Ok(m) => m,
            Err(error) => {
                SocketCounters::inc(&ctx.counters.decode_errors);
                if let Some(suppressed) = decode_log.check(Instant::now()) {
                    tracing::warn!(message = "Discarded a message that did not decode.", socket = %ctx.name, %error, suppressed);
                }
                continue;
            }
        };
        SocketCounters::inc(&ctx.counters.received);
        let received = Received {
            topic,
            payload,
            recv_unix_ns: unix_now_ns(),
            message,
        };
        match ctx.tx.try_send(received) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                SocketCounters::inc(&ctx.counters.dropped);
                if let Some(suppressed) = drop_log.check(Instant::now()) {
                    tracing::warn!(message = "Subscriber channel full; dropped a message.", socket = %ctx.name, suppressed);
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}
