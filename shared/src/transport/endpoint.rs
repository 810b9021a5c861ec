//! Endpoints (`ipc://path`, `tcp://127.0.0.1:port`), the runtime directory and stale ipc
//! socket clean-up.

use std::fmt;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Errors about endpoints and the runtime directory.
#[derive(Debug, Error)]
pub enum EndpointError {
    #[error("endpoint {0:?} is not valid: expected ipc://<path> or tcp://<host>:<port>")]
    Invalid(String),
    #[error("endpoint {endpoint:?}: {reason}")]
    Rejected { endpoint: String, reason: String },
    #[error("ipc socket {path} is in use by a running process; stop it or choose another runtime directory")]
    InUse { path: PathBuf },
    #[error("cannot remove stale ipc socket {path}: {source}")]
    StaleNotRemovable { path: PathBuf, source: io::Error },
    #[error("runtime directory {path}: {reason}")]
    RuntimeDir { path: PathBuf, reason: String },
}

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Ipc(PathBuf),
    Tcp { host: String, port: u16 },
}

impl Endpoint {
    pub fn parse(s: &str) -> Result<Endpoint, EndpointError> {
        if let Some(path) = s.strip_prefix("ipc://") {
            if path.is_empty() {
                return Err(EndpointError::Invalid(s.into()));
            }
            // Linux limits unix socket paths to 107 bytes.
            if path.len() > 107 {
                return Err(EndpointError::Rejected {
                    endpoint: s.into(),
                    reason: format!(
                        "ipc path is {} bytes, over the 107 byte limit of unix sockets; use a shorter runtime directory",
                        path.len()
                    ),
                });
            }
            return Ok(Endpoint::Ipc(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("tcp://") {
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| EndpointError::Invalid(s.into()))?;
            let port: u16 = port.parse().map_err(|_| EndpointError::Invalid(s.into()))?;
            if host.is_empty() {
                return Err(EndpointError::Invalid(s.into()));
            }
            return Ok(Endpoint::Tcp {
                host: host.to_string(),
                port,
            });
        }
        Err(EndpointError::Invalid(s.into()))
    }

    /// An ipc endpoint for `name` inside `dir`.
    pub fn ipc_in(dir: &Path, name: &str) -> Endpoint {
        Endpoint::Ipc(dir.join(name))
    }

    /// True when a tcp endpoint is on the loopback interface.
    pub fn is_loopback(&self) -> bool {
        match self {
            Endpoint::Ipc(_) => true,
            Endpoint::Tcp { host, .. } => {
                host == "localhost" || host.starts_with("127.") || host == "[::1]"
            }
        }
    }

    /// Before binding an ipc endpoint: creates its directory and removes a socket file left
    /// by a process that died without closing it. A socket that still accepts connections
    /// belongs to a live process and is an error.
    pub fn prepare_bind(&self) -> Result<(), EndpointError> {
        let Endpoint::Ipc(path) = self else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                prepare_runtime_dir(dir)?;
            }
        }
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(EndpointError::StaleNotRemovable {
                    path: path.clone(),
                    source: e,
                })
            }
        };
        if !meta.file_type().is_socket() {
            return Err(EndpointError::Rejected {
                endpoint: self.to_string(),
                reason: format!("{} exists and is not a socket", path.display()),
            });
        }
        if UnixStream::connect(path).is_ok() {
            return Err(EndpointError::InUse { path: path.clone() });
        }
        std::fs::remove_file(path).map_err(|e| EndpointError::StaleNotRemovable {
            path: path.clone(),
            source: e,
        })?;
        tracing::info!(message = "Removed stale ipc socket.", path = %path.display());
        Ok(())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Ipc(p) => write!(f, "ipc://{}", p.display()),
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

/// Creates the runtime directory (for ipc sockets) with mode 0700, or tightens the mode of an
/// existing one we own.
pub fn prepare_runtime_dir(dir: &Path) -> Result<(), EndpointError> {
    let err = |reason: String| EndpointError::RuntimeDir {
        path: dir.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create it: {e}")))?;
    let meta = std::fs::metadata(dir).map_err(|e| err(e.to_string()))?;
    if !meta.is_dir() {
        return Err(err("exists and is not a directory".into()));
    }
    if meta.permissions().mode() & 0o777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| err(format!("cannot set mode 0700: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipc_and_tcp() {
        assert_eq!(
            Endpoint::parse("ipc:///tmp/x.sock").unwrap(),
            Endpoint::Ipc("/tmp/x.sock".into())
        );
        let tcp = Endpoint::parse("tcp://127.0.0.1:5555").unwrap();
        assert!(tcp.is_loopback());
        assert_eq!(tcp.to_string(), "tcp://127.0.0.1:5555");
        assert!(!Endpoint::parse("tcp://10.0.0.1:1").unwrap().is_loopback());
        for bad in [
            "",
            "udp://x",
            "tcp://nohost",
            "tcp://:5",
            "tcp://h:99999",
            "ipc://",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn runtime_dir_is_0700() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("rt");
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare_runtime_dir(&d).unwrap();
        assert_eq!(
            std::fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn stale_socket_is_removed_live_one_is_not() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("s.sock");
        let listener = std::os::unix::net::UnixListener::bind(&p).unwrap();
        let ep = Endpoint::Ipc(p.clone());
        assert!(matches!(
            ep.prepare_bind(),
            Err(EndpointError::InUse { .. })
        ));
        drop(listener); // the file stays, nobody listens: stale
        assert!(p.exists());
        ep.prepare_bind().unwrap();
        assert!(!p.exists());
    }

    #[test]
    fn regular_file_is_not_removed() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f.sock");
        std::fs::write(&p, b"x").unwrap();
        assert!(Endpoint::Ipc(p.clone()).prepare_bind().is_err());
        assert!(p.exists());
    }
}
