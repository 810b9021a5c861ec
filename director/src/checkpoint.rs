//! The plan saved in the runtime directory, so that a restarted director continues exactly
//! the path the old one was following.
//!
//! Why: after a crash the director has no memory, capture's `PlayoutStatus` carries no pose,
//! and rebuilding the path from the analyzer's snapshot only lands near the old one (the
//! minimal-motion path depends on where it started). The checkpoint holds the states of the
//! planned frames; a new run takes it over if it covers the frame being shown, is recent
//! and uses the same keyframe spacing. It is written (temporary file, then rename, so a
//! crash never leaves half a file) at most once per second; losing it only costs exactness.

use crate::planner::PlanFrame;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// File name in the runtime directory.
pub const FILE_NAME: &str = "director-plan.json";
/// Format version of the file.
const VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("checkpoint {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint {path} is not usable: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// A saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    /// Wall-clock time of writing, ns since the Unix epoch.
    pub saved_unix_ns: u64,
    pub step_ns: u64,
    pub frames: Vec<PlanFrame>,
}

impl Checkpoint {
    pub fn new(step_ns: u64, frames: Vec<PlanFrame>, saved_unix_ns: u64) -> Checkpoint {
        Checkpoint {
            version: VERSION,
            saved_unix_ns,
            step_ns,
            frames,
        }
    }

    /// Writes atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let io = |source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = serde_json::to_vec(self).map_err(|e| io(std::io::Error::other(e)))?;
        shared::atomic_file::replace(path, &text).map_err(io)
    }

    /// Reads a checkpoint no older than `max_age_ns` at `now_unix_ns`.
    pub fn load(
        path: &Path,
        now_unix_ns: u64,
        max_age_ns: u64,
    ) -> Result<Checkpoint, CheckpointError> {
        let invalid = |reason: String| CheckpointError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let c: Checkpoint = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        if c.version != VERSION {
            return Err(invalid(format!(
                "version {} (this build reads {VERSION})",
                c.version
            )));
        }
        if now_unix_ns.saturating_sub(c.saved_unix_ns) > max_age_ns {
            return Err(invalid("too old".into()));
        }
        let finite = c.frames.iter().all(|f| {
            [f.yaw, f.pitch, f.fov]
                .iter()
                .all(|s| s.p.is_finite() && s.v.is_finite() && s.a.is_finite())
        });
        if !finite {
            return Err(invalid("non-finite numbers".into()));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::FramingMode;
    use crate::tracker::AxisState;

    #[test]
    fn round_trip_and_refusals() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(FILE_NAME);
        let f = PlanFrame {
            k: 7,
            yaw: AxisState {
                p: 1.0,
                v: 2.0,
                a: 3.0,
            },
            pitch: AxisState::at(-10.0),
            fov: AxisState::at(40.0),
            mode: FramingMode::Ball,
        };
        let c = Checkpoint::new(40_000_000, vec![f], 1_000);
        c.save(&p).unwrap();
        assert_eq!(Checkpoint::load(&p, 2_000, 10_000).unwrap(), c);
        assert!(Checkpoint::load(&p, 100_000, 10_000).is_err());
        std::fs::write(&p, b"{ not json").unwrap();
        assert!(Checkpoint::load(&p, 2_000, 10_000)
            .unwrap_err()
            .to_string()
            .contains("not usable"));
        assert!(Checkpoint::load(&d.path().join("missing"), 0, 1).is_err());
    }
}
