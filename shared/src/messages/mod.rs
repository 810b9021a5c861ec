//! Wire messages: types, topics and the versioned MessagePack codec.
//!
//! A message travels as two ZeroMQ frames `[topic, payload]`. The payload is a MessagePack map
//! with named fields whose first entry is `v`, the wire version of that kind. Decoding checks
//! the version before the body and returns a typed error for an unknown version or malformed
//! bytes; it never panics.

mod codec;
mod types;

pub use codec::{decode, encode, DecodeError, EncodeError};
pub use types::*;

/// Largest payload any socket may send (the `zeromq` crate drops larger PUB messages silently).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Every message kind, one variant each.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    FrameTick(FrameTick),
    RawDetections(RawDetections),
    Tracks(Tracks),
    CameraPath(CameraPath),
    PlayoutStatus(PlayoutStatus),
    Heartbeat(Heartbeat),
    SnapshotRequest(SnapshotRequest),
    SnapshotReply(SnapshotReply),
    Operator(OperatorState),
}

/// Message kinds, with their topic and current wire version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    FrameTick,
    RawDetections,
    Tracks,
    CameraPath,
    PlayoutStatus,
    Heartbeat,
    SnapshotRequest,
    SnapshotReply,
    Operator,
}

impl MessageKind {
    pub const ALL: [MessageKind; 9] = [
        MessageKind::FrameTick,
        MessageKind::RawDetections,
        MessageKind::Tracks,
        MessageKind::CameraPath,
        MessageKind::PlayoutStatus,
        MessageKind::Heartbeat,
        MessageKind::SnapshotRequest,
        MessageKind::SnapshotReply,
        MessageKind::Operator,
    ];

    /// The ZeroMQ topic frame. No topic is a prefix of another, so SUB prefix matching is exact.
    pub const fn topic(self) -> &'static str {
        match self {
            MessageKind::FrameTick => "tick",
            MessageKind::RawDetections => "dets",
            MessageKind::Tracks => "tracks",
            MessageKind::CameraPath => "path",
            MessageKind::PlayoutStatus => "status",
            MessageKind::Heartbeat => "hb",
            MessageKind::SnapshotRequest => "snapreq",
            MessageKind::SnapshotReply => "snaprep",
            MessageKind::Operator => "op",
        }
    }

    /// The wire version this build writes and reads.
    pub const fn version(self) -> u16 {
        1
    }

    pub fn from_topic(topic: &[u8]) -> Option<MessageKind> {
        MessageKind::ALL
            .into_iter()
            .find(|k| k.topic().as_bytes() == topic)
    }
}

impl std::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.topic())
    }
}

impl Message {
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::FrameTick(_) => MessageKind::FrameTick,
            Message::RawDetections(_) => MessageKind::RawDetections,
            Message::Tracks(_) => MessageKind::Tracks,
            Message::CameraPath(_) => MessageKind::CameraPath,
            Message::PlayoutStatus(_) => MessageKind::PlayoutStatus,
            Message::Heartbeat(_) => MessageKind::Heartbeat,
            Message::SnapshotRequest(_) => MessageKind::SnapshotRequest,
            Message::SnapshotReply(_) => MessageKind::SnapshotReply,
            Message::Operator(_) => MessageKind::Operator,
        }
    }

    pub fn topic(&self) -> &'static str {
        self.kind().topic()
    }

    /// The frame time this message is about, where it has one.
    pub fn pts_ns(&self) -> Option<u64> {
        match self {
            Message::FrameTick(m) => Some(m.pts_ns),
            Message::RawDetections(m) => Some(m.pts_ns),
            Message::Tracks(m) => Some(m.pts_ns),
            Message::CameraPath(m) => m.keyframes.first().map(|k| k.pts_ns),
            Message::PlayoutStatus(m) => Some(m.playout_pts),
            _ => None,
        }
    }
}

impl Message {
    /// The message body as JSON (field names as on the wire), for tools and logs.
    pub fn to_json(&self) -> serde_json::Value {
        let body = match self {
            Message::FrameTick(m) => serde_json::to_value(m),
            Message::RawDetections(m) => serde_json::to_value(m),
            Message::Tracks(m) => serde_json::to_value(m),
            Message::CameraPath(m) => serde_json::to_value(m),
            Message::PlayoutStatus(m) => serde_json::to_value(m),
            Message::Heartbeat(m) => serde_json::to_value(m),
            Message::SnapshotRequest(m) => serde_json::to_value(m),
            Message::SnapshotReply(m) => serde_json::to_value(m),
            Message::Operator(m) => serde_json::to_value(m),
        };
        // Non-finite floats have no JSON form; they become null rather than an error.
        body.unwrap_or(serde_json::Value::Null)
    }
}
