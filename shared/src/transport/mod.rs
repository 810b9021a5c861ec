//! Our transport over the `zeromq` crate (0.7). Everything socket-specific lives here so that the
//! backend can change without touching the processes.
//!
//! What the crate does by itself and what we add (GUIDE section 4):
//! - a SUB that connects recovers by itself when the bound PUB restarts;
//! - a PUB that connects to a bound SUB does not reconnect when the SUB restarts: we watch the
//!   socket monitor and connect again ([`Publisher::connect`]);
//! - a REQ socket is dead after a lost reply: [`Requester`] makes a new one per attempt
//!   (Lazy Pirate);
//! - PUB buffers without limit: every [`Publisher`] has our own bounded drop-oldest queue in
//!   front of it, with a counter;
//! - PUB drops large messages silently: we refuse payloads over 64 KiB with a counted error;
//! - dead peers are not detected: every publisher sends a [`Heartbeat`] once per second.
//!
//! [`Heartbeat`]: crate::messages::Heartbeat

mod counters;
mod endpoint;
mod publisher;
mod queue;
mod ratelog;
mod reqrep;
mod sockets;
mod subscriber;

pub use counters::{CounterSnapshot, SocketCounters};
pub use endpoint::{prepare_runtime_dir, Endpoint, EndpointError};
pub use publisher::{HeartbeatSource, PublishError, Publisher, PublisherOptions};
pub use queue::DropOldestQueue;
pub use ratelog::RateLimitedLog;
pub use reqrep::{
    request_frames, FrameReplier, Replier, ReplierGuard, Request, RequestError, Requester,
    RequesterOptions,
};
pub use sockets::{Socket, SocketError, Sockets};
pub use subscriber::{Received, Subscriber, SubscriberGuard, SubscriberOptions};

use thiserror::Error;

/// Binds `socket` at `endpoint` (after [`Endpoint::prepare_bind`]) and logs it as `kind`
/// ("Publisher", "Subscriber", "Replier") named `name`.
async fn bind_socket<S: zeromq::Socket>(
    socket: &mut S,
    endpoint: &Endpoint,
    kind: &str,
    name: &str,
) -> Result<(), TransportError> {
    endpoint.prepare_bind()?;
    socket
        .bind(&endpoint.to_string())
        .await
        .map_err(|e| TransportError::Bind {
            endpoint: endpoint.to_string(),
            reason: e.to_string(),
        })?;
    tracing::info!(message = format!("{kind} bound."), socket = name, %endpoint);
    Ok(())
}

/// Errors of socket set-up.
#[derive(Debug, Error)]
pub enum TransportError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("cannot bind {endpoint}: {reason}")]
    Bind { endpoint: String, reason: String },
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
}
