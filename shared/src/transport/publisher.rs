//! PUB sockets with our own bounded queue, size guard, heartbeats and (for connecting
//! publishers) reconnection driven by the socket monitor.

use super::counters::SocketCounters;
use super::endpoint::Endpoint;
use super::queue::DropOldestQueue;
use super::ratelog::RateLimitedLog;
use super::TransportError;
use crate::messages::{encode, EncodeError, Heartbeat, Message};
use bytes::Bytes;
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use zeromq::{PubSocket, Socket, SocketEvent, SocketSend, ZmqMessage};

/// Who sends heartbeats on a publisher, and how often.
#[derive(Debug, Clone)]
pub struct HeartbeatSource {
    /// Process name written into every heartbeat.
    pub process: String,
    pub interval: Duration,
}

/// Publisher settings.
#[derive(Debug, Clone)]
pub struct PublisherOptions {
    /// Messages held while the socket task is busy or reconnecting; the oldest is dropped
    /// (and counted) beyond this.
    pub queue_capacity: usize,
    /// Heartbeats on this publisher (GUIDE: once per second on every PUB).
    pub heartbeat: Option<HeartbeatSource>,
}

impl Default for PublisherOptions {
    fn default() -> Self {
        Self {
            queue_capacity: 256,
            heartbeat: None,
        }
    }
}

/// Why a message was not queued.
#[derive(Debug, Error)]
pub enum PublishError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// A PUB socket. Publishing never blocks and never awaits the network.
pub struct Publisher {
    name: String,
    queue: Arc<DropOldestQueue<ZmqMessage>>,
    notify: Arc<Notify>,
    counters: Arc<SocketCounters>,
    task: JoinHandle<()>,
    encode_log: RateLimitedLog,
}

impl Publisher {
    /// Binds a PUB socket (removing a stale ipc file first) and starts its sender task.
    pub async fn bind(
        name: &str,
        endpoint: &Endpoint,
        options: PublisherOptions,
    ) -> Result<Publisher, TransportError> {
        let mut socket = PubSocket::new();
        super::bind_socket(&mut socket, endpoint, "Publisher", name).await?;
        Ok(Self::start(name, options, move |shared| {
            run_bound(socket, shared)
        }))
    }

    /// Creates a PUB socket that connects to a bound SUB, in the background: this returns at
    /// once, queues while the peer is absent and reconnects whenever the peer goes away.
    pub fn connect(name: &str, endpoint: &Endpoint, options: PublisherOptions) -> Publisher {
        let endpoint = endpoint.clone();
        Self::start(name, options, move |shared| run_connected(endpoint, shared))
    }

    fn start<F, Fut>(name: &str, options: PublisherOptions, run: F) -> Publisher
    where
        F: FnOnce(TaskShared) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let queue = Arc::new(DropOldestQueue::new(options.queue_capacity));
        let notify = Arc::new(Notify::new());
        let counters = Arc::new(SocketCounters::default());
        let shared = TaskShared {
            name: name.to_string(),
            queue: queue.clone(),
            notify: notify.clone(),
            counters: counters.clone(),
            heartbeat: options.heartbeat,
        };
        let task = tokio::spawn(run(shared));
        Publisher {
            name: name.to_string(),
            queue,
            notify,
            counters,
            task,
            encode_log: RateLimitedLog::new(Duration::from_secs(10)),
        }
    }

    /// Encodes and queues a message. An oversize or unserialisable message is refused with a
    /// counted error; a full queue drops its oldest message (counted).
    pub fn publish(&self, message: &Message) -> Result<(), PublishError> {
        match encode(message) {
            Ok(payload) => {
                self.publish_raw(message.topic(), Bytes::from(payload));
                Ok(())
            }
            Err(e) => {
                SocketCounters::inc(&self.counters.encode_errors);
                if let Some(suppressed) = self.encode_log.check(Instant::now()) {
                    tracing::warn!(message = "Refused to publish a message.", socket = %self.name, error = %e, suppressed);
                }
                Err(e.into())
            }
        }
    }

    /// Queues a payload that [`encode`] accepted (size guard included) under `topic`.
    fn publish_raw(&self, topic: &str, payload: Bytes) {
        let mut m = ZmqMessage::from(Bytes::copy_from_slice(topic.as_bytes()));
        m.push_back(payload);
        let dropped = self.queue.push(m);
        if dropped > 0 {
            self.counters
                .dropped
                .fetch_add(dropped, std::sync::atomic::Ordering::Relaxed);
        }
        self.notify.notify_one();
    }

    pub fn counters(&self) -> Arc<SocketCounters> {
        self.counters.clone()
    }

    /// Messages waiting in our queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct TaskShared {
    name: String,
    queue: Arc<DropOldestQueue<ZmqMessage>>,
    notify: Arc<Notify>,
    counters: Arc<SocketCounters>,
    heartbeat: Option<HeartbeatSource>,
}

struct HeartbeatState {
    source: HeartbeatSource,
    seq: u64,
    started: Instant,
}

impl HeartbeatState {
    fn next(&mut self) -> ZmqMessage {
        let hb = Message::Heartbeat(Heartbeat {
            process: self.source.process.clone(),
            pid: std::process::id(),
            seq: self.seq,
            uptime_ms: self.started.elapsed().as_millis() as u64,
            problem: crate::process::problem(),
            metrics: crate::process::metrics(),
        });
        self.seq += 1;
        let payload = encode(&hb).expect("a heartbeat always encodes");
        let mut m = ZmqMessage::from(Bytes::from_static(hb.topic().as_bytes()));
        m.push_back(Bytes::from(payload));
        m
    }
}

/// Waits for queued messages or the next heartbeat; returns the messages to send now.
async fn next_batch(
    shared: &TaskShared,
    hb: &mut Option<(HeartbeatState, tokio::time::Interval)>,
) -> Vec<ZmqMessage> {
    match hb {
        Some((state, tick)) => {
            tokio::select! {
                _ = shared.notify.notified() => shared.queue.drain(),
                _ = tick.tick() => {
                    let mut batch = shared.queue.drain();
                    batch.push(state.next());
                    batch
                }
            }
        }
        None => {
            shared.notify.notified().await;
            shared.queue.drain()
        }
    }
}

fn heartbeat_state(shared: &TaskShared) -> Option<(HeartbeatState, tokio::time::Interval)> {
    shared.heartbeat.clone().map(|source| {
        let mut tick = tokio::time::interval(source.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        (
            HeartbeatState {
                source,
                seq: 0,
                started: Instant::now(),
            },
            tick,
        )
    })
}

async fn send_batch(socket: &mut PubSocket, shared: &TaskShared, batch: Vec<ZmqMessage>) {
    for m in batch {
        match socket.send(m).await {
            Ok(()) => SocketCounters::inc(&shared.counters.sent),
            Err(e) => {
                SocketCounters::inc(&shared.counters.dropped);
                tracing::debug!(message = "Publish failed.", socket = %shared.name, error = %e);
            }
        }
    }
}

async fn run_bound(mut socket: PubSocket, shared: TaskShared) {
    let mut hb = heartbeat_state(&shared);
    loop {
        let batch = next_batch(&shared, &mut hb).await;
        send_batch(&mut socket, &shared, batch).await;
    }
}

async fn connect_until_done(
    socket: &mut PubSocket,
    endpoint: &Endpoint,
    shared: &TaskShared,
    log: &RateLimitedLog,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match socket.connect(&endpoint.to_string()).await {
            Ok(()) => {
                SocketCounters::inc(&shared.counters.connects);
                tracing::info!(message = "Publisher connected.", socket = %shared.name, %endpoint);
                return;
            }
            Err(e) => {
                if let Some(suppressed) = log.check(Instant::now()) {
                    tracing::warn!(message = "Publisher cannot connect yet; retrying.", socket = %shared.name, %endpoint, error = %e, suppressed);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

async fn run_connected(endpoint: Endpoint, shared: TaskShared) {
    let log = RateLimitedLog::new(Duration::from_secs(10));
    let mut socket = PubSocket::new();
    let mut monitor = socket.monitor();
    let mut hb = heartbeat_state(&shared);
    connect_until_done(&mut socket, &endpoint, &shared, &log).await;
    loop {
        tokio::select! {
            event = monitor.next() => match event {
                Some(SocketEvent::Disconnected(_)) => {
                    SocketCounters::inc(&shared.counters.disconnects);
                    tracing::info!(message = "Publisher lost its peer; reconnecting.", socket = %shared.name, %endpoint);
                    connect_until_done(&mut socket, &endpoint, &shared, &log).await;
                }
                Some(_) => {}
                None => {
                    // The monitor closed: make a fresh socket and start over.
                    socket = PubSocket::new();
                    monitor = socket.monitor();
                    connect_until_done(&mut socket, &endpoint, &shared, &log).await;
                }
            },
            batch = next_batch(&shared, &mut hb) => send_batch(&mut socket, &shared, batch).await,
        }
    }
}
