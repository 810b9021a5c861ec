//! Reading recordings.

use super::{Record, RecordingError, RecordingHeader, MAGIC, MAX_RECORD_BYTES};
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

/// Reads a recording record by record. Iterating yields `Ok(record)` for every complete
/// record; a truncated or corrupt tail yields one `Err` and then the iteration ends.
pub struct RecordingReader {
    path: PathBuf,
    input: BufReader<File>,
    header: RecordingHeader,
    offset: u64,
    done: bool,
}

impl RecordingReader {
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let io = |source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut input = BufReader::new(File::open(path).map_err(io)?);
        let mut magic = [0u8; 8];
        if let Err(e) = input.read_exact(&mut magic) {
            return Err(if e.kind() == ErrorKind::UnexpectedEof {
                RecordingError::BadMagic {
                    path: path.to_path_buf(),
                }
            } else {
                io(e)
            });
        }
        if magic[..7] != MAGIC[..7] {
            return Err(RecordingError::BadMagic {
                path: path.to_path_buf(),
            });
        }
        if magic[7] != MAGIC[7] {
            return Err(RecordingError::UnsupportedFormat {
                path: path.to_path_buf(),
                found: magic[7],
                supported: MAGIC[7],
            });
        }
        let bad_header = |reason: String| RecordingError::BadHeader {
            path: path.to_path_buf(),
            reason,
        };
        let mut len = [0u8; 4];
        input
            .read_exact(&mut len)
            .map_err(|e| bad_header(e.to_string()))?;
        let len = u32::from_le_bytes(len);
        if len > MAX_RECORD_BYTES {
            return Err(bad_header(format!("header length {len} is implausible")));
        }
        let mut h = vec![0u8; len as usize];
        input
            .read_exact(&mut h)
            .map_err(|e| bad_header(e.to_string()))?;
        let header: RecordingHeader =
            rmp_serde::from_slice(&h).map_err(|e| bad_header(e.to_string()))?;
        Ok(Self {
            path: path.to_path_buf(),
            input,
            header,
            offset: 12 + len as u64,
            done: false,
        })
    }

    pub fn header(&self) -> &RecordingHeader {
        &self.header
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads exactly `buf.len()` bytes; `Ok(false)` on a clean end of file before any byte.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<bool, RecordingError> {
        let mut got = 0;
        while got < buf.len() {
            match self.input.read(&mut buf[got..]) {
                Ok(0) if got == 0 => return Ok(false),
                Ok(0) => {
                    return Err(RecordingError::Truncated {
                        path: self.path.clone(),
                        offset: self.offset,
                    })
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(RecordingError::Io {
                        path: self.path.clone(),
                        source,
                    })
                }
            }
        }
        Ok(true)
    }

    fn next_record(&mut self) -> Result<Option<Record>, RecordingError> {
        let mut len = [0u8; 4];
        if !self.read_full(&mut len)? {
            return Ok(None);
        }
        let len = u32::from_le_bytes(len);
        if len > MAX_RECORD_BYTES {
            return Err(RecordingError::Corrupt {
                path: self.path.clone(),
                offset: self.offset,
                reason: format!("record length {len} is implausible"),
            });
        }
        let mut buf = vec![0u8; len as usize];
        if !self.read_full(&mut buf)? && len > 0 {
            return Err(RecordingError::Truncated {
                path: self.path.clone(),
                offset: self.offset,
            });
        }
        let record: Record = rmp_serde::from_slice(&buf).map_err(|e| RecordingError::Corrupt {
            path: self.path.clone(),
            offset: self.offset,
            reason: e.to_string(),
        })?;
        self.offset += 4 + len as u64;
        Ok(Some(record))
    }
}

impl Iterator for RecordingReader {
    type Item = Result<Record, RecordingError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::messages::{encode, Heartbeat, Message};

    fn hb(seq: u64) -> Message {
        Message::Heartbeat(Heartbeat {
            process: "test".into(),
            pid: 1,
            seq,
            uptime_ms: seq * 1000,
            problem: None,
            metrics: Default::default(),
        })
    }

    fn write_file(path: &std::path::Path, n: u64) {
        let mut w = RecordingWriter::create(path, "test", "unit test").unwrap();
        for i in 0..n {
            let m = hb(i);
            w.write_message(1000 + i, m.topic(), &encode(&m).unwrap())
                .unwrap();
        }
        assert_eq!(w.finish().unwrap(), n);
    }

    #[test]
    fn write_then_read_back() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("r.tlrec");
        write_file(&p, 10);
        let r = RecordingReader::open(&p).unwrap();
        assert_eq!(r.header().producer, "test");
        let recs: Vec<_> = r.map(|r| r.unwrap()).collect();
        assert_eq!(recs.len(), 10);
        for (i, rec) in recs.iter().enumerate() {
            assert_eq!(rec.recv_unix_ns, 1000 + i as u64);
            assert_eq!(rec.message().unwrap(), hb(i as u64));
        }
    }

    #[test]
    fn empty_recording_has_no_records() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("e.tlrec");
        write_file(&p, 0);
        assert_eq!(RecordingReader::open(&p).unwrap().count(), 0);
    }

    #[test]
    fn truncated_final_record_keeps_the_rest() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("t.tlrec");
        write_file(&p, 5);
        let full = std::fs::read(&p).unwrap();
        // Every cut inside the last record: 4 complete records, then one Truncated error.
        let last_len = {
            let mut r = RecordingReader::open(&p).unwrap();
            let mut offs = 0;
            for _ in 0..4 {
                r.next().unwrap().unwrap();
            }
            offs += r.offset;
            offs
        };
        for cut in (last_len as usize + 1)..full.len() {
            std::fs::write(&p, &full[..cut]).unwrap();
            let items: Vec<_> = RecordingReader::open(&p).unwrap().collect();
            assert_eq!(items.len(), 5, "cut at {cut}");
            assert!(items[..4].iter().all(|r| r.is_ok()));
            assert!(
                matches!(items[4], Err(RecordingError::Truncated { .. })),
                "cut at {cut}: {:?}",
                items[4]
            );
        }
    }

    #[test]
    fn not_a_recording_is_a_clear_error() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x.tlrec");
        std::fs::write(&p, b"hello world, not a recording").unwrap();
        let e = RecordingReader::open(&p).err().unwrap().to_string();
        assert!(e.contains("not a Touchline recording"), "{e}");
        std::fs::write(&p, b"").unwrap();
        assert!(matches!(
            RecordingReader::open(&p),
            Err(RecordingError::BadMagic { .. })
        ));
        let mut future = MAGIC.to_vec();
        future[7] = 9;
        std::fs::write(&p, &future).unwrap();
        assert!(matches!(
            RecordingReader::open(&p),
            Err(RecordingError::UnsupportedFormat { found: 9, .. })
        ));
    }

    #[test]
    fn garbage_record_is_corrupt_not_panic() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("g.tlrec");
        write_file(&p, 1);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(&[0xc1, 0xc1, 0xc1]);
        std::fs::write(&p, &bytes).unwrap();
        let items: Vec<_> = RecordingReader::open(&p).unwrap().collect();
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(RecordingError::Corrupt { .. })));
        // A huge length is refused without allocating it.
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.truncate(bytes.len() - 7);
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&p, &bytes).unwrap();
        let items: Vec<_> = RecordingReader::open(&p).unwrap().collect();
        assert!(matches!(items[1], Err(RecordingError::Corrupt { .. })));
    }
}
