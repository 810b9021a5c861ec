//! The recording file format: what crossed the sockets, for replay and tuning.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic      8 bytes  b"TLREC\0\0\x01"   (format version 1 in the last byte)
//! hlen       u32      length of the header
//! header     hlen bytes, MessagePack map (RecordingHeader)
//! records    repeated:
//!   len      u32      length of the record
//!   record   len bytes, MessagePack map (Record: recv_unix_ns, topic, payload)
//! ```
//!
//! Payloads are kept as received (versioned message payloads), so a recording made by one
//! build can be read by another that knows the version. A record cut short by a crash or a
//! full disk ends the file: the reader returns every complete record, then reports the
//! truncation as an error it can continue past.

mod reader;
mod writer;

pub use reader::RecordingReader;
pub use writer::RecordingWriter;

use crate::messages::{decode, DecodeError, Message};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use thiserror::Error;

/// File magic: "TLREC", two zero bytes, format version.
pub const MAGIC: [u8; 8] = *b"TLREC\0\0\x01";
/// Largest record or header accepted by the reader (guards against reading garbage lengths).
pub const MAX_RECORD_BYTES: u32 = 16 * 1024 * 1024;

/// Describes a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingHeader {
    /// Wall-clock creation time (ns since the Unix epoch).
    pub created_unix_ns: u64,
    /// What wrote it (e.g. `analyzer record`).
    pub producer: String,
    /// Free text (e.g. the endpoints recorded).
    pub description: String,
}

/// One recorded message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Wall-clock receive time (ns since the Unix epoch).
    pub recv_unix_ns: u64,
    pub topic: String,
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
}

impl Record {
    /// Decodes the payload.
    pub fn message(&self) -> Result<Message, DecodeError> {
        decode(self.topic.as_bytes(), &self.payload)
    }
}

/// Errors of reading or writing recordings.
#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("recording {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a Touchline recording (bad magic bytes)")]
    BadMagic { path: PathBuf },
    #[error(
        "{path} is a recording of format version {found}; this build reads version {supported}"
    )]
    UnsupportedFormat {
        path: PathBuf,
        found: u8,
        supported: u8,
    },
    #[error("{path}: header is corrupt: {reason}")]
    BadHeader { path: PathBuf, reason: String },
    #[error("{path}: record at byte {offset} is cut short (the file ends inside it; everything before it was read)")]
    Truncated { path: PathBuf, offset: u64 },
    #[error("{path}: record at byte {offset} is corrupt: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
}
