//! Per-socket counters: everything sent, received, dropped or rejected is counted.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one socket, shared between the socket task and its owner.
#[derive(Debug, Default)]
pub struct SocketCounters {
    /// Messages handed to the socket.
    pub sent: AtomicU64,
    /// Messages received and decoded.
    pub received: AtomicU64,
    /// Messages dropped by our bounded queues (oldest first) or a full receive channel.
    pub dropped: AtomicU64,
    /// Received payloads that did not decode (unknown topic or version, malformed bytes).
    pub decode_errors: AtomicU64,
    /// Messages refused because they were over the size limit or did not serialise.
    pub encode_errors: AtomicU64,
    /// Times the socket (re)connected to a peer.
    pub connects: AtomicU64,
    /// Times a peer went away.
    pub disconnects: AtomicU64,
}

/// A point-in-time copy of [`SocketCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSnapshot {
    pub sent: u64,
    pub received: u64,
    pub dropped: u64,
    pub decode_errors: u64,
    pub encode_errors: u64,
    pub connects: u64,
    pub disconnects: u64,
}

impl SocketCounters {
    pub fn snapshot(&self) -> CounterSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CounterSnapshot {
            sent: g(&self.sent),
            received: g(&self.received),
            dropped: g(&self.dropped),
            decode_errors: g(&self.decode_errors),
            encode_errors: g(&self.encode_errors),
            connects: g(&self.connects),
            disconnects: g(&self.disconnects),
        }
    }

    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
