//! Replacing a file atomically: a reader sees the old file or the new one, never half of one.
//!
//! The new contents go to a uniquely named temporary file in the same folder, which is renamed
//! over the target once complete. A write that fails (a full disk, an encoder error) removes
//! its temporary file and leaves the old file as it was. The new file gets the permissions
//! `std::fs::write` would give it (0o666 less the umask), not a temporary file's 0o600.

use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Replaces `path` with what `fill` writes. Errors (`fill`'s own, or the I/O error of creating,
/// writing or renaming) are returned as they are: the caller names the file.
pub fn replace_with<E>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<std::io::Error>,
{
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".touchline-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)?;
    let mut w = BufWriter::new(tmp);
    fill(&mut w)?;
    let tmp = w.into_inner().map_err(|e| e.into_error())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Replaces `path` with `bytes`.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_with(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_file_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        std::fs::write(&p, b"old").unwrap();
        replace(&p, b"new contents").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
        assert_eq!(names_in(dir.path()), vec!["state.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_removes_its_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        std::fs::write(&p, b"old").unwrap();
        let r = replace_with(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("encoder failed"))
        });
        assert_eq!(r.unwrap_err().to_string(), "encoder failed");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(names_in(dir.path()), vec!["state.json"]);
    }

    #[test]
    fn the_new_file_has_the_permissions_a_plain_write_gives() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.json");
        std::fs::write(&plain, b"x").unwrap();
        let p = dir.path().join("state.json");
        replace(&p, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), mode(&plain));
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gone").join("state.json");
        let e = replace(&p, b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
}
