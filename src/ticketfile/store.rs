//! The ticket file on disk: reading it, and replacing it in one step.
//!
//! Rewriting a file in place (`open(2)` with `O_TRUNC`, then `write(2)`) has a
//! window in which the file is empty or half-written: a reader that does not
//! take the lock sees it, and a writer killed inside the window leaves it so
//! for good. [`write_atomic`] therefore never touches the old file. It writes a
//! new, hidden file beside it, forces its bytes to disk with `fsync(2)`, and
//! `rename(2)`s it over the old name: rename(2) swaps the name to the new inode
//! in one step, so every reader opens either the complete old file or the
//! complete new one. A final `fsync(2)` on the directory makes the rename
//! itself durable, so a power cut cannot bring the old count back after a
//! buyer was told it had a ticket. A writer killed before the rename leaves
//! only its hidden temporary file behind; [`clean_stale_temps`] sweeps those.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::format::{parse, FormatError, Tickets, MAX_BYTES};

/// Why a ticket file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// There is no such file. The path is kept for the hint in the message.
    Missing { path: PathBuf },
    /// The file is there but is no ticket file.
    Invalid(FormatError),
    /// The path names something that is not a file, e.g. "a directory".
    NotAFile(&'static str),
    /// Anything else the system refused, such as EACCES.
    Io(io::Error),
}

impl ReadError {
    /// True where `--tickets N` may simply write a fresh file: the old one is
    /// missing or unreadable as a ticket file. Not for I/O errors (say, no
    /// permission) nor for a directory, which a rename cannot replace.
    pub fn is_resettable(&self) -> bool {
        matches!(self, ReadError::Missing { .. } | ReadError::Invalid(_))
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Missing { path } => write!(
                f,
                "no such file; create it with `{}` (or: echo '{{\"ticket\": 1}}' > {})",
                reset_command(path),
                shell_quote(path)
            ),
            ReadError::Invalid(e) => write!(f, "{e}"),
            ReadError::NotAFile(kind) => write!(f, "is {kind}, not a ticket file"),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// The command that puts one ticket in the file at `path`, ready to paste:
/// `procdemo tickets --tickets 1`, with `--data PATH` unless it is the default.
pub fn reset_command(path: &Path) -> String {
    let data = if path == Path::new("data.json") {
        String::new()
    } else {
        format!(" --data {}", shell_quote(path))
    };
    format!("procdemo tickets{data} --tickets 1")
}

/// `path` as a shell word, so that the hint can be pasted as it is.
fn shell_quote(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-+=.,/:@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Reads and checks the ticket file at `path`, without the lock and without
/// changing it. Returns a [`ReadError`] so the caller can tell a missing or
/// invalid file from an I/O failure; [`read`] is the usual entry point.
pub fn read_raw(path: &Path) -> Result<Tickets, ReadError> {
    let file = OpenOptions::new()
        .read(true)
        // A FIFO would make open(2) wait for a writer; with O_NONBLOCK it
        // returns at once and we refuse it below. Regular files ignore it.
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ReadError::Missing {
                path: path.to_owned(),
            },
            _ => ReadError::Io(e),
        })?;
    let file_type = file.metadata().map_err(ReadError::Io)?.file_type();
    if file_type.is_dir() {
        return Err(ReadError::NotAFile("a directory"));
    }
    if file_type.is_fifo() {
        return Err(ReadError::NotAFile("a FIFO"));
    }
    // One byte past the limit is enough to know the file is too large.
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    parse(&bytes).map_err(ReadError::Invalid)
}

/// Reads and checks the ticket file at `path`. The error names the file first,
/// as the user gave it: `data.json: "ticket" is missing` (shown with `{:#}`;
/// the [`ReadError`] stays reachable with `downcast_ref`).
pub fn read(path: &Path) -> anyhow::Result<Tickets> {
    read_raw(path).with_context(|| path.display().to_string())
}

/// The temporary file a writer with process id `pid` uses for `path`:
/// `.data.json.tmp.<pid>`, hidden, in the same directory. It has to be in the
/// same directory, since rename(2) cannot move a file to another filesystem.
pub fn temp_path(path: &Path, pid: u32) -> PathBuf {
    let mut name = temp_prefix(path);
    name.push(pid.to_string());
    path.with_file_name(name)
}

/// `.data.json.tmp.`, the start of every temporary file name for `path`.
fn temp_prefix(path: &Path) -> std::ffi::OsString {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".tmp.");
    name
}

/// The directory that holds `path`; `.` for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn check_file_name(path: &Path) -> anyhow::Result<()> {
    match path.file_name() {
        Some(_) => Ok(()),
        None => anyhow::bail!("{}: not a file name", path.display()),
    }
}

/// Replaces the ticket file at `path` with `tickets`, so that no reader ever
/// sees a partial file: temporary file, fsync(2), rename(2), fsync(2) of the
/// directory. The caller holds the lock.
pub fn write_atomic(path: &Path, tickets: &Tickets) -> anyhow::Result<()> {
    check_file_name(path)?;
    let temp = temp_path(path, std::process::id());
    let name = |p: &Path| p.display().to_string();

    // Left over from an earlier writer that had our pid and was killed.
    match fs::remove_file(&temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(e).with_context(|| name(&temp));
        }
        _ => {}
    }
    let written = (|| {
        // O_EXCL: never write through a file (or symlink) someone put there.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)?;
        file.write_all(&tickets.to_bytes())?;
        // fsync(2) before rename(2): otherwise a crash could leave the new
        // name pointing at a file whose data never reached the disk.
        file.sync_all()
    })()
    .with_context(|| name(&temp))
    .and_then(|()| {
        fs::rename(&temp, path)
            .with_context(|| format!("renaming {} to {}", name(&temp), name(path)))
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    // The rename changed the directory; fsync(2) it to make the change last.
    let dir = parent_dir(path);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| name(dir))
}

/// Removes the temporary files that writers of `path` left when they were
/// killed before their rename(2), and returns how many there were. Only names
/// of the form `.data.json.tmp.<digits>` are touched. The caller holds the
/// lock, so no live writer of this file can be in the middle of one.
pub fn clean_stale_temps(path: &Path) -> anyhow::Result<usize> {
    use std::os::unix::ffi::OsStrExt;

    check_file_name(path)?;
    let prefix = temp_prefix(path);
    let dir = parent_dir(path);
    let mut removed = 0;
    for entry in fs::read_dir(dir).with_context(|| dir.display().to_string())? {
        let entry = entry.with_context(|| dir.display().to_string())?;
        let file_name = entry.file_name();
        let Some(pid) = file_name.as_bytes().strip_prefix(prefix.as_bytes()) else {
            continue;
        };
        if pid.is_empty() || !pid.iter().all(u8::is_ascii_digit) {
            continue;
        }
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let stale = entry.path();
        match fs::remove_file(&stale) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| stale.display().to_string()),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn message(result: anyhow::Result<Tickets>) -> String {
        format!("{:#}", result.unwrap_err())
    }

    #[test]
    fn read_names_the_file_and_explains_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        let shown = data.display();

        let e = message(read(&data));
        assert_eq!(
            e,
            format!(
                "{shown}: no such file; create it with `procdemo tickets --data {shown} \
                 --tickets 1` (or: echo '{{\"ticket\": 1}}' > {shown})"
            )
        );
        assert!(read_raw(&data).unwrap_err().is_resettable());

        fs::write(&data, r#"{"ticket": "5"}"#).unwrap();
        assert_eq!(
            message(read(&data)),
            format!(r#"{shown}: "ticket" must be a non-negative integer, found "5""#)
        );
        let e = read(&data).unwrap_err();
        assert!(e.downcast_ref::<ReadError>().unwrap().is_resettable());

        fs::write(&data, "{\"ticket\": 9}\n").unwrap();
        assert_eq!(read(&data).unwrap().count, 9);

        let sub = dir.path().join("sub.json");
        fs::create_dir(&sub).unwrap();
        assert_eq!(
            message(read(&sub)),
            format!("{}: is a directory, not a ticket file", sub.display())
        );
        assert!(!read_raw(&sub).unwrap_err().is_resettable());

        let not_dir = data.join("x.json");
        assert_eq!(
            message(read(&not_dir)),
            format!("{}: Not a directory (os error 20)", not_dir.display())
        );
        assert!(!read_raw(&not_dir).unwrap_err().is_resettable());
    }

    #[test]
    fn the_missing_file_hint_fits_the_path() {
        let hint = |p: &str| {
            ReadError::Missing {
                path: PathBuf::from(p),
            }
            .to_string()
        };
        assert_eq!(
            hint("data.json"),
            "no such file; create it with `procdemo tickets --tickets 1` \
             (or: echo '{\"ticket\": 1}' > data.json)"
        );
        assert_eq!(
            hint("my data's.json"),
            "no such file; create it with `procdemo tickets --data 'my data'\\''s.json' \
             --tickets 1` (or: echo '{\"ticket\": 1}' > 'my data'\\''s.json')"
        );
    }

    #[test]
    fn read_refuses_big_files_without_reading_them_whole() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("big.json");
        fs::write(&data, vec![b' '; MAX_BYTES as usize + 100]).unwrap();
        let too_large = "file too large to be a ticket file (over 64 KiB)";
        assert_eq!(
            message(read(&data)),
            format!("{}: {too_large}", data.display())
        );

        let start = Instant::now();
        assert_eq!(
            message(read(Path::new("/dev/zero"))),
            format!("/dev/zero: {too_large}")
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn read_refuses_a_fifo_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("data.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        assert_eq!(
            message(read(&fifo)),
            format!("{}: is a FIFO, not a ticket file", fifo.display())
        );
    }

    #[test]
    fn read_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        for contents in [&b"{\"ticket\":   3 }"[..], b"{\"ticket\": -1}", b"\xff"] {
            fs::write(&data, contents).unwrap();
            let before = fs::metadata(&data).unwrap();
            let _ = read(&data);
            let after = fs::metadata(&data).unwrap();
            assert_eq!(fs::read(&data).unwrap(), contents);
            assert_eq!(before.modified().unwrap(), after.modified().unwrap());
            assert_eq!(before.len(), after.len());
        }
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    fn dir_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");

        write_atomic(&data, &Tickets::new(10)).unwrap();
        assert_eq!(fs::read(&data).unwrap(), b"{\"ticket\": 10}\n");

        fs::write(&data, r#"{"ticket": 10, "event": "concert"}"#).unwrap();
        let t = read(&data).unwrap();
        write_atomic(&data, &t.with_count(9)).unwrap();
        assert_eq!(
            fs::read_to_string(&data).unwrap(),
            "{\"ticket\": 9, \"event\": \"concert\"}\n"
        );
        assert_eq!(dir_names(dir.path()), ["data.json"]);
    }

    #[test]
    fn write_atomic_replaces_a_temp_file_left_by_a_recycled_pid() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        let ours = temp_path(&data, std::process::id());
        fs::write(&ours, "half").unwrap();
        write_atomic(&data, &Tickets::new(1)).unwrap();
        assert_eq!(read(&data).unwrap().count, 1);
        assert_eq!(dir_names(dir.path()), ["data.json"]);
    }

    #[test]
    fn write_atomic_failure_leaves_the_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        // rename(2) cannot replace a non-empty directory.
        let data = dir.path().join("data.json");
        fs::create_dir(&data).unwrap();
        fs::write(data.join("inside"), "").unwrap();
        let e = write_atomic(&data, &Tickets::new(1)).unwrap_err();
        let temp = temp_path(&data, std::process::id());
        assert!(
            format!("{e:#}").starts_with(&format!(
                "renaming {} to {}: ",
                temp.display(),
                data.display()
            )),
            "{e:#}"
        );
        assert_eq!(dir_names(dir.path()), ["data.json"]);

        // In a missing directory the temporary file itself cannot be made.
        let nowhere = dir.path().join("none").join("data.json");
        let e = write_atomic(&nowhere, &Tickets::new(1)).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            format!(
                "{}: No such file or directory (os error 2)",
                temp_path(&nowhere, std::process::id()).display()
            )
        );
    }

    #[test]
    fn temp_path_is_hidden_beside_the_data() {
        assert_eq!(
            temp_path(Path::new("data.json"), 42),
            Path::new(".data.json.tmp.42")
        );
        assert_eq!(
            temp_path(Path::new("a/b.json"), 7),
            Path::new("a/.b.json.tmp.7")
        );
        assert_eq!(parent_dir(Path::new("data.json")), Path::new("."));
        assert_eq!(parent_dir(Path::new("/data.json")), Path::new("/"));
    }

    #[test]
    fn clean_stale_temps_removes_only_this_files_temps() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        fs::write(&data, "{\"ticket\": 1}\n").unwrap();
        fs::write(temp_path(&data, 1234), "{\"tick").unwrap();
        fs::write(temp_path(&data, 99999), "").unwrap();
        let keep = [
            ".data.json.tmp.",
            ".data.json.tmp.12x",
            ".data.json.tmp.backup",
            ".data.json.tmpx.1",
            ".other.json.tmp.1234",
            "data.json.tmp.1234",
            "data.json.lock",
        ];
        for name in keep {
            fs::write(dir.path().join(name), "").unwrap();
        }
        fs::create_dir(temp_path(&data, 5)).unwrap();

        assert_eq!(clean_stale_temps(&data).unwrap(), 2);
        assert_eq!(clean_stale_temps(&data).unwrap(), 0);
        let mut expected: Vec<&str> = keep.to_vec();
        expected.extend([".data.json.tmp.5", "data.json"]);
        expected.sort();
        assert_eq!(dir_names(dir.path()), expected);
        assert_eq!(read(&data).unwrap().count, 1);
    }
}
