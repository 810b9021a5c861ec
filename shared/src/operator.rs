//! The operator's wishes kept in the runtime directory (`operator.json`), written by launch
//! on every change, so that a process (re)started by launch begins in the mode the operator
//! set instead of waiting up to a second for launch's next [`OperatorState`] message.

use crate::messages::OperatorState;
use std::path::{Path, PathBuf};

/// File name in the runtime directory.
pub const OPERATOR_FILE: &str = "operator.json";

/// The operator page's snapshots in the runtime directory: written by capture's playout,
/// served by launch.
pub const PREVIEW_PROGRAMME_FILE: &str = "preview-programme.jpg";
pub const PREVIEW_PANORAMA_FILE: &str = "preview-panorama.jpg";

pub fn path_in(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join(OPERATOR_FILE)
}

/// Writes the state atomically (a reader never sees half a file).
pub fn save(runtime_dir: &Path, state: &OperatorState) -> std::io::Result<()> {
    let path = path_in(runtime_dir);
    let text = serde_json::to_string_pretty(state).map_err(std::io::Error::other)?;
    crate::atomic_file::replace(&path, text.as_bytes())
}

/// The state launch saved, when this process runs under launch (`TOUCHLINE_SUPERVISOR` is
/// set) and the file is readable; a process started by hand ignores a stale file.
pub fn load_if_supervised(runtime_dir: &Path) -> Option<OperatorState> {
    std::env::var_os(crate::process::SUPERVISOR_ENV)?;
    load(runtime_dir)
}

pub fn load(runtime_dir: &Path) -> Option<OperatorState> {
    let path = path_in(runtime_dir);
    let text = std::fs::read_to_string(&path).ok()?;
    match serde_json::from_str(&text) {
        Ok(s) => Some(s),
        Err(error) => {
            tracing::warn!(message = "Ignoring an unreadable operator state file.", path = %path.display(), %error);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::CameraMode;

    #[test]
    fn the_state_round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), None);
        let s = OperatorState {
            seq: 4,
            camera: CameraMode::Manual {
                yaw: 3.0,
                pitch: -2.0,
                fov: 30.0,
            },
            record: false,
            changed_unix_ns: 5,
        };
        save(dir.path(), &s).unwrap();
        assert_eq!(load(dir.path()), Some(s));
        std::fs::write(path_in(dir.path()), "{").unwrap();
        assert_eq!(load(dir.path()), None);
    }
}
