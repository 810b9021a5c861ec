//! Writing recordings.

use super::{Record, RecordingError, RecordingHeader, MAGIC};
use crate::time::unix_now_ns;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends records to a new recording file.
pub struct RecordingWriter {
    path: PathBuf,
    out: BufWriter<File>,
    records: u64,
    bytes: u64,
}

impl RecordingWriter {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path, producer: &str, description: &str) -> Result<Self, RecordingError> {
        let io = |source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::create(path).map_err(io)?;
        let mut out = BufWriter::new(file);
        let header = RecordingHeader {
            created_unix_ns: unix_now_ns(),
            producer: producer.to_string(),
            description: description.to_string(),
        };
        let h = rmp_serde::to_vec_named(&header).expect("header serialises");
        out.write_all(&MAGIC).map_err(io)?;
        out.write_all(&(h.len() as u32).to_le_bytes()).map_err(io)?;
        out.write_all(&h).map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            out,
            records: 0,
            bytes: (MAGIC.len() + 4 + h.len()) as u64,
        })
    }

    /// Appends one record.
    pub fn write(&mut self, record: &Record) -> Result<(), RecordingError> {
        let r = rmp_serde::to_vec_named(record).expect("record serialises");
        let io = |source| RecordingError::Io {
            path: self.path.clone(),
            source,
        };
        self.out
            .write_all(&(r.len() as u32).to_le_bytes())
            .map_err(io)?;
        self.out.write_all(&r).map_err(io)?;
        self.records += 1;
        self.bytes += 4 + r.len() as u64;
        Ok(())
    }

    /// Convenience: records a payload received now.
    pub fn write_message(
        &mut self,
        recv_unix_ns: u64,
        topic: &str,
        payload: &[u8],
    ) -> Result<(), RecordingError> {
        self.write(&Record {
            recv_unix_ns,
            topic: topic.to_string(),
            payload: payload.to_vec(),
        })
    }

    /// Pushes buffered records to the file.
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        self.out.flush().map_err(|source| RecordingError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Flushes and syncs the file to disk.
    pub fn finish(mut self) -> Result<u64, RecordingError> {
        self.flush()?;
        let path = self.path.clone();
        self.out
            .get_ref()
            .sync_all()
            .map_err(|source| RecordingError::Io { path, source })?;
        Ok(self.records)
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
