//! `/proc/locks`: every file lock on the system, one line each (proc(5)). It is what
//! lslocks(8) reads.
//!
//! ```text
//! 1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF
//! 1: -> FLOCK  ADVISORY  WRITE 12346 08:01:1234567 0 EOF
//! ```
//!
//! The lock's number; `->` on a line for a process blocked waiting for that lock (under the
//! line of the lock it waits for); the kind (`FLOCK` for flock(2), `POSIX` for fcntl(2)
//! record locks, `OFDLCK`, `LEASE`, …); `ADVISORY`; `READ` or `WRITE`; the pid of the process
//! that took the lock; the file, as `MAJOR:MINOR:INODE`, with the device numbers in
//! hexadecimal and the inode in decimal (the kernel prints `%02x:%02x:%lu`, fs/locks.c); the
//! locked byte range (`0 EOF`: the whole file, as always for flock).
//!
//! So the process holding a flock on a file is the `FLOCK` line, without `->`, whose device
//! and inode are the file's, as stat(2) gives them.

use std::os::unix::fs::MetadataExt;

use anyhow::{Context, Result};
use nix::unistd::Pid;

/// A file, as `/proc/locks` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    pub major: u64,
    pub minor: u64,
    pub ino: u64,
}

impl FileId {
    /// The file that stat(2) describes.
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        FileId {
            major: nix::sys::stat::major(meta.dev()),
            minor: nix::sys::stat::minor(meta.dev()),
            ino: meta.ino(),
        }
    }
}

/// One line of `/proc/locks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// A flock(2) lock (`FLOCK`), rather than a record lock or a lease.
    pub flock: bool,
    /// `WRITE` (exclusive) rather than `READ` (shared).
    pub write: bool,
    /// `->`: the process is waiting for this lock, not holding it.
    pub waiting: bool,
    /// The process that took it (or waits for it); -1 for an open-file-description lock.
    pub pid: i32,
    pub file: FileId,
}

/// Reads one line; `None` for anything that is not a lock line it understands.
pub fn parse_line(line: &str) -> Option<Lock> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (number, rest) = words.split_first()?;
    number.strip_suffix(':')?.parse::<u64>().ok()?;
    let (waiting, rest) = match rest.split_first()? {
        (&"->", rest) => (true, rest),
        _ => (false, rest),
    };
    // The file is the first word that reads MAJOR:MINOR:INODE; the pid comes just before it.
    let at = rest.iter().position(|w| file_id(w).is_some())?;
    let file = file_id(rest[at])?;
    let pid = rest.get(at.checked_sub(1)?)?.parse().ok()?;
    let words = &rest[..at];
    Some(Lock {
        flock: words.first() == Some(&"FLOCK"),
        write: words.contains(&"WRITE"),
        waiting,
        pid,
        file,
    })
}

/// `08:01:1234567`: hexadecimal major and minor, decimal inode.
fn file_id(word: &str) -> Option<FileId> {
    let mut parts = word.split(':');
    let major = u64::from_str_radix(parts.next()?, 16).ok()?;
    let minor = u64::from_str_radix(parts.next()?, 16).ok()?;
    let ino = parts.next()?.parse().ok()?;
    parts
        .next()
        .is_none()
        .then_some(FileId { major, minor, ino })
}

/// The processes that hold a flock on `file` (not those waiting for one), in the order of
/// `text`, the contents of `/proc/locks`.
///
/// The device must match too, except where no line names it as stat(2) does: on overlayfs
/// (a container's root) and on btrfs subvolumes, stat(2) reports another device number than
/// the one the lock is filed under. Then the inode alone decides; the caller only ever acts
/// on a pid it knows is its own child.
pub fn flock_holders(text: &str, file: FileId) -> Vec<Pid> {
    let held: Vec<Lock> = text
        .lines()
        .filter_map(parse_line)
        .filter(|l| l.flock && !l.waiting && l.pid > 0 && l.file.ino == file.ino)
        .collect();
    let exact = held.iter().any(|l| l.file == file);
    held.iter()
        .filter(|l| !exact || l.file == file)
        .map(|l| Pid::from_raw(l.pid))
        .collect()
}

/// The processes holding a flock on `file` right now.
pub fn read_flock_holders(file: FileId) -> Result<Vec<Pid>> {
    let text = std::fs::read_to_string("/proc/locks").context("/proc/locks")?;
    Ok(flock_holders(&text, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: FileId = FileId {
        major: 0xfe,
        minor: 0,
        ino: 5464100,
    };

    #[test]
    fn reads_holders_and_waiters() {
        assert_eq!(
            parse_line("1: FLOCK  ADVISORY  WRITE 18955 fe:00:5464100 0 EOF"),
            Some(Lock {
                flock: true,
                write: true,
                waiting: false,
                pid: 18955,
                file: FILE,
            })
        );
        assert_eq!(
            parse_line("1: -> FLOCK  ADVISORY  WRITE 18956 fe:00:5464100 0 EOF"),
            Some(Lock {
                flock: true,
                write: true,
                waiting: true,
                pid: 18956,
                file: FILE,
            })
        );
        // Nested waiters are indented.
        let nested = parse_line("2:  -> POSIX  ADVISORY  READ 7 08:01:12 0 99").unwrap();
        assert!(nested.waiting && !nested.flock && !nested.write);
        assert_eq!(
            nested.file,
            FileId {
                major: 8,
                minor: 1,
                ino: 12
            }
        );
        let ofd = parse_line("3: OFDLCK ADVISORY  WRITE -1 00:2b:42 0 EOF").unwrap();
        assert_eq!(ofd.pid, -1);
        let lease = parse_line("4: LEASE  ACTIVE    READ 99 103:02:77 0 EOF").unwrap();
        assert_eq!(
            (lease.pid, lease.file.major, lease.file.minor),
            (99, 0x103, 2)
        );
    }

    #[test]
    fn device_numbers_are_hexadecimal() {
        let l = parse_line("1: FLOCK  ADVISORY  WRITE 1 1a:10:9 0 EOF").unwrap();
        assert_eq!((l.file.major, l.file.minor, l.file.ino), (26, 16, 9));
    }

    #[test]
    fn anything_else_is_none() {
        for line in [
            "",
            "garbage",
            "1: FLOCK ADVISORY WRITE 12 0 EOF",
            "x: FLOCK  ADVISORY  WRITE 1 fe:00:1 0 EOF",
            "1: FLOCK  ADVISORY  WRITE pid fe:00:1 0 EOF",
            "1: FLOCK  ADVISORY  WRITE 1 fg:00:1 0 EOF",
            "1: FLOCK  ADVISORY  WRITE 1 fe:00:1:2 0 EOF",
            "1: fe:00:1 0 EOF",
        ] {
            assert_eq!(parse_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn the_holder_is_the_flock_line_of_the_file_without_an_arrow() {
        let text = "\
1: POSIX  ADVISORY  WRITE 10 fe:00:5464100 0 EOF
2: FLOCK  ADVISORY  WRITE 11 fe:00:999 0 EOF
3: FLOCK  ADVISORY  WRITE 12 fe:01:5464100 0 EOF
4: FLOCK  ADVISORY  WRITE 13 fe:00:5464100 0 EOF
4: -> FLOCK  ADVISORY  WRITE 14 fe:00:5464100 0 EOF
4: -> FLOCK  ADVISORY  WRITE 15 fe:00:5464100 0 EOF
not a lock line
";
        assert_eq!(flock_holders(text, FILE), vec![Pid::from_raw(13)]);
        assert!(flock_holders("", FILE).is_empty());
    }

    #[test]
    fn the_inode_decides_where_no_device_matches() {
        // overlayfs: stat(2) says one device, the lock is filed under the overlay's.
        let text = "\
1: FLOCK  ADVISORY  WRITE 21 00:3f:5464100 0 EOF
1: -> FLOCK  ADVISORY  WRITE 22 00:3f:5464100 0 EOF
2: FLOCK  ADVISORY  WRITE 23 00:3f:777 0 EOF
";
        assert_eq!(flock_holders(text, FILE), vec![Pid::from_raw(21)]);
    }

    #[test]
    fn a_lock_held_by_this_process_shows_up() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        let file = crate::lock::open(&data).unwrap();
        let id = FileId::of(&file.metadata().unwrap());
        let me = Pid::this();
        assert!(!read_flock_holders(id).unwrap().contains(&me));
        let guard = crate::lock::lock_exclusive(&data).unwrap();
        assert!(read_flock_holders(id).unwrap().contains(&me));
        drop(guard);
        assert!(!read_flock_holders(id).unwrap().contains(&me));
    }
}
