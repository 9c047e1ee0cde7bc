//! The data directory holds the database, the server's signing key, webhook secrets, the
//! mailbox and uploaded files: only the user the service runs as may read any of it.

use std::path::Path;

/// Creates `dir` (and its parents) for private data, readable by this user only (0700), and
/// from now on makes every file and folder this process creates private too (umask 077:
/// files 0600, folders 0700; SQLite gives its `-wal` and `-shm` files the database's mode).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    std::fs::create_dir_all(dir)?;
    // A folder made by an earlier version or by hand may be open to others: what is inside
    // can only be reached through it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0
            && let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        {
            tracing::warn!(dir = %dir.display(), error = %e, "the data directory is readable by other users");
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn folders_and_files_are_private() {
        let root = tempfile::tempdir().unwrap();
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        super::create_private_dir(&open).unwrap();
        assert_eq!(std::fs::metadata(&open).unwrap().permissions().mode() & 0o777, 0o700);
        let nested = root.path().join("a/b");
        super::create_private_dir(&nested).unwrap();
        std::fs::write(nested.join("f"), b"x").unwrap();
        assert_eq!(std::fs::metadata(nested.join("f")).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&nested).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
