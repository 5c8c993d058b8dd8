//! The buyers' lock: an exclusive `flock(2)` on `data.json.lock`.
//!
//! `flock(2)` attaches the lock to the *open file description*, the kernel
//! object that `open(2)` creates, not to the process or to the path. Two
//! consequences matter here. First, every buyer must `open(2)` the lock file
//! itself: two opens, even in the same process, are two descriptions and
//! exclude each other, whereas a descriptor inherited through `fork(2)` shares
//! its parent's description, and with it the lock. Second, the kernel drops the
//! lock when the last descriptor of that description is closed, and a process
//! that dies, even by SIGKILL, has all its descriptors closed. A crashed buyer
//! therefore never leaves the lock held, and there is no "unlock" call in this
//! module: dropping the [`LockGuard`] closes the file, which releases it.
//!
//! Why a separate `data.json.lock` rather than locking `data.json` itself?
//! Writers replace `data.json` with `rename(2)` (see `ticketfile`), which makes
//! the name point at a new inode. A lock taken on the old `data.json` stays on
//! the old inode, so the next buyer opens the new file, finds it unlocked and
//! goes ahead while the first one is still working: updates get lost. The lock
//! file is never renamed, truncated or deleted, so everyone always locks the
//! same inode. A shell script can join in with `flock data.json.lock -c '...'`.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::quote::shell_quote;

/// The lock file beside `data`: the same name with `.lock` appended
/// (`data.json` -> `data.json.lock`). Works on any bytes, UTF-8 or not.
pub fn lock_path(data: &Path) -> PathBuf {
    match data.file_name() {
        Some(name) => {
            let mut lock_name = name.to_os_string();
            lock_name.push(".lock");
            data.with_file_name(lock_name)
        }
        // No final name to extend (such as `..`): append to the whole path.
        None => {
            let mut path = OsString::from(data);
            path.push(".lock");
            PathBuf::from(path)
        }
    }
}

/// Proof that this process holds the exclusive lock. Dropping it closes the
/// lock file's descriptor, and closing is what releases a `flock(2)` lock.
#[derive(Debug)]
pub struct LockGuard {
    // Never read: we keep the file only so that its descriptor stays open.
    _file: File,
}

/// Opens (creating if needed) the lock file that belongs to `data`.
///
/// `O_RDWR | O_CREAT`, mode 0644, and never `O_TRUNC`: the file's contents do
/// not matter, but someone may be holding a lock on it right now. Rust opens
/// every file with `O_CLOEXEC`, so a child started with `exec` does not inherit
/// the descriptor (and with it our lock).
pub fn open(data: &Path) -> anyhow::Result<File> {
    let path = lock_path(data);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&path)
        .with_context(|| shell_quote(&path))
}

/// Waits until this process holds the exclusive lock for `data`.
pub fn lock_exclusive(data: &Path) -> anyhow::Result<LockGuard> {
    let file = open(data)?;
    loop {
        match fs2::FileExt::lock_exclusive(&file) {
            Ok(()) => return Ok(LockGuard { _file: file }),
            // A signal handler ran while we slept in flock(2): just wait again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| shell_quote(&lock_path(data))),
        }
    }
}

/// Takes the exclusive lock for `data` if it is free right now
/// (`LOCK_EX | LOCK_NB`); `Ok(None)` when someone else holds it.
#[cfg(test)]
pub fn try_lock_exclusive(data: &Path) -> anyhow::Result<Option<LockGuard>> {
    let file = open(data)?;
    match fs2::FileExt::try_lock_exclusive(&file) {
        Ok(()) => Ok(Some(LockGuard { _file: file })),
        // flock(2) reports a held lock as EWOULDBLOCK; fs2 names that error.
        Err(e) if e.raw_os_error() == fs2::lock_contended_error().raw_os_error() => Ok(None),
        Err(e) => Err(e).with_context(|| shell_quote(&lock_path(data))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn lock_path_appends_to_the_file_name() {
        assert_eq!(
            lock_path(Path::new("data.json")),
            Path::new("data.json.lock")
        );
        assert_eq!(
            lock_path(Path::new("dir/sub/t.json")),
            Path::new("dir/sub/t.json.lock")
        );
        // Not UTF-8: the bytes are kept as they are.
        let odd = Path::new(OsStr::from_bytes(b"d\xffta"));
        assert_eq!(lock_path(odd).as_os_str().as_bytes(), b"d\xffta.lock");
    }

    #[test]
    fn a_second_open_file_description_is_excluded_until_the_guard_drops() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");

        let first = try_lock_exclusive(&data).unwrap().expect("lock is free");
        // Same process, but a separate open(2): flock(2) makes it wait.
        assert!(try_lock_exclusive(&data).unwrap().is_none());
        drop(first);
        let second = try_lock_exclusive(&data).unwrap();
        assert!(second.is_some());
    }

    #[test]
    fn blocking_lock_is_granted_when_free_and_holds_off_others() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        let guard = lock_exclusive(&data).unwrap();
        assert!(try_lock_exclusive(&data).unwrap().is_none());
        drop(guard);
        drop(lock_exclusive(&data).unwrap());
    }

    #[test]
    fn the_lock_file_is_created_0644_and_never_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        let lock = lock_path(&data);

        drop(open(&data).unwrap());
        let mode = std::fs::metadata(&lock).unwrap().permissions().mode();
        // The umask may take bits away, never add them.
        assert_eq!(mode & 0o7777 & !0o644, 0);

        std::fs::write(&lock, b"x").unwrap();
        drop(lock_exclusive(&data).unwrap());
        drop(try_lock_exclusive(&data).unwrap());
        assert_eq!(std::fs::read(&lock).unwrap(), b"x");
        // Locking never creates or touches the data file itself.
        assert!(!data.exists());
    }

    #[test]
    fn errors_name_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("no-such-dir").join("data.json");
        let err = lock_exclusive(&data).unwrap_err();
        let expected = format!(
            "{}: No such file or directory (os error 2)",
            lock_path(&data).display()
        );
        assert_eq!(format!("{err:#}"), expected);
        let err = try_lock_exclusive(&data).unwrap_err();
        assert_eq!(format!("{err:#}"), expected);
    }
}
