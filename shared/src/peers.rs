//! What a process has heard from its peers: messages per kind and the last heartbeat of each
//! peer process, with time passed in so it is testable without sleeping.

use crate::messages::{Message, MessageKind};
use std::collections::BTreeMap;

/// Last heartbeat seen from one peer process.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerState {
    pub pid: u32,
    pub seq: u64,
    /// Local monotonic time of the last message from it, ns.
    pub last_seen_ns: u64,
}

/// Message counts and peer liveness.
#[derive(Debug, Default, Clone)]
pub struct PeerTable {
    counts: BTreeMap<&'static str, u64>,
    peers: BTreeMap<String, PeerState>,
}

impl PeerTable {
    /// Notes a received message at local time `now_ns`.
    pub fn record(&mut self, message: &Message, now_ns: u64) {
        *self.counts.entry(message.kind().topic()).or_default() += 1;
        if let Message::Heartbeat(hb) = message {
            let restarted = self.peers.get(&hb.process).is_some_and(|p| p.pid != hb.pid);
            if restarted {
                tracing::info!(message = "Peer restarted.", peer = %hb.process, pid = hb.pid);
            }
            self.peers.insert(
                hb.process.clone(),
                PeerState {
                    pid: hb.pid,
                    seq: hb.seq,
                    last_seen_ns: now_ns,
                },
            );
        }
    }

    pub fn count(&self, kind: MessageKind) -> u64 {
        self.counts.get(kind.topic()).copied().unwrap_or(0)
    }

    pub fn peer(&self, process: &str) -> Option<&PeerState> {
        self.peers.get(process)
    }

    /// Peers whose last heartbeat is older than `timeout_ns` at `now_ns`.
    pub fn silent_peers(&self, now_ns: u64, timeout_ns: u64) -> Vec<String> {
        self.peers
            .iter()
            .filter(|(_, p)| now_ns.saturating_sub(p.last_seen_ns) > timeout_ns)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// "kind=count ..." for log lines.
    pub fn summary(&self) -> String {
        self.counts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Heartbeat;

    fn hb(process: &str, pid: u32, seq: u64) -> Message {
        Message::Heartbeat(Heartbeat {
            process: process.into(),
            pid,
            seq,
            uptime_ms: 0,
            problem: None,
            metrics: Default::default(),
        })
    }

    #[test]
    fn counts_kinds_and_tracks_silence() {
        let mut t = PeerTable::default();
        t.record(&hb("director", 10, 0), 0);
        t.record(&hb("analyzer", 11, 0), 500);
        t.record(&hb("director", 12, 0), 1000);
        assert_eq!(t.count(MessageKind::Heartbeat), 3);
        assert_eq!(t.peer("director").unwrap().pid, 12);
        assert_eq!(t.silent_peers(2600, 2000), vec!["analyzer".to_string()]);
        assert!(t.summary().contains("hb=3"));
    }
}
