//! The ticket file on disk: reading it, replacing it in one step, sweeping the temporary
//! files of killed writers, and the check a run makes before it writes anything.
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
//! only its hidden temporary file behind; [`clean_stale_temps`] sweeps those,
//! and only those: a `--no-lock` buyer may be writing its own right now.
//!
//! rename(2) replaces whatever has the name, a device node or a socket as well
//! as a file. So procdemo reads and replaces only regular files: [`preflight`]
//! refuses anything else before a run writes anything, and [`write_atomic`]
//! looks again just before its rename.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use nix::fcntl::OFlag;

use super::format::{parse, FormatError, Tickets, MAX_BYTES, MAX_SIZE_TEXT};
use crate::lock;
use crate::quote::shell_quote;

/// Why a ticket file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// There is no such file. The path is kept for the hint in the message.
    Missing { path: PathBuf },
    /// The directory that should hold the file does not exist.
    NoDirectory { dir: PathBuf },
    /// The file is there but is no ticket file.
    Invalid(FormatError),
    /// The path names something that is not a regular file, e.g. "a directory".
    NotAFile(&'static str),
    /// Anything else the system refused, such as EACCES.
    Io(io::Error),
}

impl ReadError {
    /// True where `--tickets N` may simply write a fresh file: the old one is
    /// missing or unreadable as a ticket file. Not for I/O errors (say, no
    /// permission), nor for anything but a regular file (a rename would replace
    /// a device node or a socket), nor for a file over the size limit (it may
    /// be a valid ticket file with keys to keep, or no ticket file at all).
    pub fn is_resettable(&self) -> bool {
        match self {
            ReadError::Missing { .. } => true,
            ReadError::Invalid(e) => *e != FormatError::TooLarge,
            _ => false,
        }
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
            ReadError::NoDirectory { dir } => {
                write!(f, "the directory {} does not exist", shell_quote(dir))
            }
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

/// What a file type is, in words, when it is not a regular file: "a directory",
/// "a character device"... None for a regular file.
pub fn non_regular_kind(file_type: fs::FileType) -> Option<&'static str> {
    Some(if file_type.is_file() {
        return None;
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "something other than a regular file"
    })
}

/// The [`ReadError`] for a failed stat or open of `path`: a missing file, a
/// missing directory, or whatever the system said.
fn read_error(path: &Path, e: io::Error) -> ReadError {
    if e.kind() != io::ErrorKind::NotFound {
        return ReadError::Io(e);
    }
    let dir = parent_dir(path);
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => ReadError::NoDirectory {
            dir: dir.to_owned(),
        },
        _ => ReadError::Missing {
            path: path.to_owned(),
        },
    }
}

/// Reads and checks the ticket file at `path`, without the lock and without
/// changing it. Returns a [`ReadError`] so the caller can tell a missing or
/// invalid file from an I/O failure; [`read`] is the usual entry point.
pub fn read_raw(path: &Path) -> Result<Tickets, ReadError> {
    // Look before opening: opening a device node can do things of its own (a
    // tape rewinds, a terminal may become ours), and only a regular file is read.
    let meta = fs::metadata(path).map_err(|e| read_error(path, e))?;
    if let Some(kind) = non_regular_kind(meta.file_type()) {
        return Err(ReadError::NotAFile(kind));
    }
    let file = OpenOptions::new()
        .read(true)
        // Should the name be switched to a FIFO after the look, O_NONBLOCK keeps
        // open(2) from waiting for a writer; O_NOCTTY keeps a terminal from
        // becoming ours. Regular files ignore both.
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)
        .map_err(|e| read_error(path, e))?;
    // And look again at what was opened.
    let meta = file.metadata().map_err(ReadError::Io)?;
    if let Some(kind) = non_regular_kind(meta.file_type()) {
        return Err(ReadError::NotAFile(kind));
    }
    // One byte past the limit is enough to know the file is too large.
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    parse(&bytes).map_err(ReadError::Invalid)
}

/// Reads and checks the ticket file at `path`. The error names the file first,
/// quoted as a shell word: `data.json: "ticket" is missing` (shown with `{:#}`;
/// the [`ReadError`] stays reachable with `downcast_ref`).
pub fn read(path: &Path) -> anyhow::Result<Tickets> {
    read_raw(path).with_context(|| shell_quote(path))
}

/// What a run is going to do with its ticket file; [`preflight`] checks that it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// `--tickets N`: the main replaces the file, which may be missing or invalid.
    pub reset: bool,
    /// The buyers take the lock (no `--no-lock`). A reset takes it in any case.
    pub lock: bool,
}

/// The main's check, before anything is created or written, that the run can
/// do what `plan` says with the file at `path`. Refuses, with one error that
/// names the file:
///
/// - anything that is not a regular file (a directory, a FIFO, a socket, a
///   character or block device), and a missing file unless `plan.reset`;
/// - a missing directory (`--tickets` could not create the file either);
/// - a file that is not a valid ticket file, unless `plan.reset` may replace it
///   (never one over the size limit: it is an error, not a reset);
/// - a lock file that cannot be opened or created, and a directory where a
///   temporary file cannot be created (no write permission, a name so long that
///   `.NAME.tmp.PID` passes NAME_MAX): every buyer would fail the same way.
///
/// The first three create nothing; the last creates the lock file (every run
/// does) and creates and removes one temporary file.
pub fn preflight(path: &Path, plan: Plan) -> anyhow::Result<()> {
    check_file_name(path)?;
    let shown = shell_quote(path);
    match read_raw(path) {
        Ok(_) => {}
        Err(e) if plan.reset && e.is_resettable() => {}
        Err(e) => return Err(e).context(shown),
    }
    check_temp_name_length(path)?;
    if plan.lock || plan.reset {
        lock::open(path)
            .with_context(|| format!("{shown}: cannot open or create the lock file beside it"))?;
    }
    let probe = temp_path(path, std::process::id());
    create_temp(&probe).with_context(|| {
        format!(
            "{shown}: cannot create a temporary file beside it ({})",
            shell_quote(&probe)
        )
    })?;
    fs::remove_file(&probe).with_context(|| shell_quote(&probe))
}

/// The largest process id this system hands out, for the longest temporary name.
fn max_pid() -> u64 {
    fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(4_194_304, |max| max.saturating_sub(1))
}

/// A buyer's temporary name is the data file's name plus `.` and `.tmp.<pid>`:
/// refuse a name that leaves no room for that in the directory's NAME_MAX.
fn check_temp_name_length(path: &Path) -> anyhow::Result<()> {
    let longest = temp_prefix(path).len() + max_pid().to_string().len();
    let dir = parent_dir(path);
    if let Ok(Some(limit)) = nix::unistd::pathconf(dir, nix::unistd::PathconfVar::NAME_MAX) {
        if longest as u64 > limit as u64 {
            bail!(
                "{}: the name is too long: the temporary file procdemo writes beside it \
                 (.NAME.tmp.PID) would have {longest} bytes, over the {limit} a file name \
                 may have there",
                shell_quote(path)
            );
        }
    }
    Ok(())
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
fn temp_prefix(path: &Path) -> OsString {
    let mut name = OsString::from(".");
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
        None => bail!("{}: not a file name", shell_quote(path)),
    }
}

/// Creates the temporary file `temp`, removing first a file of that name: with
/// our pid in it, it was left by an earlier writer that had our pid and died.
/// O_EXCL: never write through a file (or symlink) someone put there.
fn create_temp(temp: &Path) -> io::Result<File> {
    match fs::remove_file(temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(temp)
}

/// Refuses to replace `path` if it is anything but a regular file (or missing).
fn check_replaceable(path: &Path) -> anyhow::Result<()> {
    match fs::metadata(path) {
        Ok(meta) => match non_regular_kind(meta.file_type()) {
            None => Ok(()),
            Some(kind) => bail!(
                "{}: is {kind} now, not a ticket file; left as it is",
                shell_quote(path)
            ),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| shell_quote(path)),
    }
}

/// flock(2) `file`, waiting (through EINTR) if someone holds it.
fn flock_exclusive(file: &File) -> io::Result<()> {
    loop {
        match fs2::FileExt::lock_exclusive(file) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Replaces the ticket file at `path` with `tickets`, so that no reader ever
/// sees a partial file: temporary file, fsync(2), rename(2), fsync(2) of the
/// directory. The caller holds the lock (but for `--no-lock`). Refuses to
/// write more than [`MAX_BYTES`], and to rename over anything but a regular
/// file.
pub fn write_atomic(path: &Path, tickets: &Tickets) -> anyhow::Result<()> {
    check_file_name(path)?;
    let bytes = tickets.to_bytes();
    if bytes.len() as u64 > MAX_BYTES {
        bail!(
            "{}: the new contents would be {} bytes, over {MAX_SIZE_TEXT}, procdemo's limit \
             for a ticket file; not written",
            shell_quote(path),
            bytes.len()
        );
    }
    let temp = temp_path(path, std::process::id());
    let written = (|| {
        let mut file = create_temp(&temp)?;
        // A flock(2) on our own temporary file says "its writer is alive" to
        // [`clean_stale_temps`]: held until after the rename, dropped by the
        // kernel when we die. A file system without flock loses only this
        // witness, not the write.
        let _ = flock_exclusive(&file);
        file.write_all(&bytes)?;
        // fsync(2) before rename(2): otherwise a crash could leave the new
        // name pointing at a file whose data never reached the disk.
        file.sync_all()?;
        Ok::<File, io::Error>(file)
    })()
    .with_context(|| shell_quote(&temp))
    .and_then(|file| {
        // Look again, just before: the rename would replace a device node or a
        // socket that someone put at the name since the file was read.
        check_replaceable(path)?;
        fs::rename(&temp, path)
            .with_context(|| format!("renaming {} to {}", shell_quote(&temp), shell_quote(path)))?;
        drop(file);
        Ok(())
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    // The rename changed the directory; fsync(2) it to make the change last.
    let dir = parent_dir(path);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| shell_quote(dir))
}

/// Removes the temporary files that writers of `path` left when they were
/// killed before their rename(2), and returns how many there were. Only names
/// of the form `.data.json.tmp.<digits>` that are regular files are touched,
/// and only when their writer is provably gone (see [`remove_if_stale`]): a
/// `--no-lock` buyer, which never waits for the lock, may be writing its own
/// right now. When in doubt, a file is kept.
pub fn clean_stale_temps(path: &Path) -> anyhow::Result<usize> {
    check_file_name(path)?;
    let prefix = temp_prefix(path);
    let dir = parent_dir(path);
    let mut removed = 0;
    for entry in fs::read_dir(dir).with_context(|| shell_quote(dir))? {
        let entry = entry.with_context(|| shell_quote(dir))?;
        let file_name = entry.file_name();
        let Some(digits) = temp_digits(&file_name, &prefix, &entry) else {
            continue;
        };
        // Too many digits for any pid: no process wrote it under that name.
        let pid = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse::<i32>().ok());
        if remove_if_stale(&entry.path(), pid)? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Are there temporary files of `path` beside it, written by anyone, gone or alive? Only
/// looks, by name (`.data.json.tmp.<digits>`, regular files): the main asks once before it
/// starts its buyers, to tell them whether to sweep ([`clean_stale_temps`]) when they hold
/// the lock. Reading a directory costs a buyer more than anything else it does under the
/// lock but its two fsyncs, and almost always finds nothing.
pub fn has_temps(path: &Path) -> anyhow::Result<bool> {
    check_file_name(path)?;
    let prefix = temp_prefix(path);
    let dir = parent_dir(path);
    for entry in fs::read_dir(dir).with_context(|| shell_quote(dir))? {
        let entry = entry.with_context(|| shell_quote(dir))?;
        if temp_digits(&entry.file_name(), &prefix, &entry).is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The digits of a temporary file's name (`.data.json.tmp.<digits>`, `prefix` being
/// `.data.json.tmp.`), if `entry` is one: a regular file whose name is the prefix and one or
/// more digits, nothing else.
fn temp_digits<'n>(
    file_name: &'n std::ffi::OsStr,
    prefix: &std::ffi::OsStr,
    entry: &fs::DirEntry,
) -> Option<&'n [u8]> {
    let digits = file_name.as_bytes().strip_prefix(prefix.as_bytes())?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    entry
        .file_type()
        .is_ok_and(|t| t.is_file())
        .then_some(digits)
}

/// Removes the temporary file `temp`, written by process `pid`, if its writer is
/// provably gone; returns whether it did. Two witnesses must agree:
///
/// - the kernel: a writer holds a flock(2) on its temporary file from just after
///   creating it until after its rename, and the kernel drops the lock when the
///   writer dies. A lock we can take is a lock nobody holds.
/// - the pid in the name, which covers the instant between a writer's open(2)
///   and its flock(2): no process has it (or only a zombie), or the process that
///   has it now started after the file was last written, so the pid was reused
///   (see [`writer_may_be_alive`]).
fn remove_if_stale(temp: &Path, pid: Option<i32>) -> anyhow::Result<bool> {
    // O_NOFOLLOW: a regular file a moment ago; never follow a symlink put there.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW | OFlag::O_NOCTTY).bits())
        .open(temp)
    {
        Ok(file) => file,
        // Gone (its writer renamed it), replaced, or not ours to read: keep.
        Err(_) => return Ok(false),
    };
    let meta = file.metadata().with_context(|| shell_quote(temp))?;
    if !meta.is_file() {
        return Ok(false);
    }
    match fs2::FileExt::try_lock_exclusive(&file) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == fs2::lock_contended_error().raw_os_error() => {
            return Ok(false)
        }
        // No flock here: the pid alone decides.
        Err(_) => {}
    }
    if pid.is_some_and(|pid| writer_may_be_alive(pid, &meta)) {
        return Ok(false);
    }
    // Still the file we looked at under that name?
    match fs::symlink_metadata(temp) {
        Ok(now) if now.dev() == meta.dev() && now.ino() == meta.ino() => {}
        _ => return Ok(false),
    }
    match fs::remove_file(temp) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| shell_quote(temp)),
    }
}

/// How much later than a file's last write a process must have started for us to
/// call its pid reused. It absorbs the clocks' grain (a process's start time is
/// counted in ticks of 10 ms, a file's time comes from a coarse clock) and small
/// steps of the wall clock.
const REUSE_MARGIN_NS: i128 = 1_000_000_000;

/// Could process `pid` have written a file whose metadata is `written`? False
/// when no process has that pid, when it is a zombie (dead, not yet reaped), and
/// when the process that has it started after the file was last modified. True
/// when in doubt.
fn writer_may_be_alive(pid: i32, written: &Metadata) -> bool {
    if pid <= 0 {
        return false;
    }
    let stat = match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return false,
        Err(_) => return true,
    };
    let Some((state, start_ticks)) = parse_proc_stat(&stat) else {
        return true;
    };
    if matches!(state, 'Z' | 'X' | 'x') {
        return false;
    }
    match (ticks_to_ns(start_ticks), modified_since_boot_ns(written)) {
        (Some(started), Some(modified)) => started <= modified + REUSE_MARGIN_NS,
        _ => true,
    }
}

/// The state (field 3) and start time (field 22, in clock ticks since boot) of a
/// `/proc/<pid>/stat` line. The command name, field 2, is in parentheses and may
/// hold spaces and parentheses itself: count from the last `)`.
fn parse_proc_stat(stat: &str) -> Option<(char, u64)> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(22 - 3)?.parse().ok()?;
    Some((state, start))
}

/// Clock ticks since boot (the unit of `/proc/<pid>/stat`, `sysconf(_SC_CLK_TCK)`
/// a second, usually 100) in nanoseconds since boot.
fn ticks_to_ns(ticks: u64) -> Option<i128> {
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    (hz > 0).then(|| i128::from(ticks) * 1_000_000_000 / i128::from(hz))
}

/// A file's modification time in nanoseconds since boot. The file system keeps
/// wall-clock time (CLOCK_REALTIME); a process's start time is counted since
/// boot (CLOCK_BOOTTIME, which goes on during suspend). Shift by how far apart
/// the two clocks are now. Negative for a file written before the last boot.
fn modified_since_boot_ns(meta: &Metadata) -> Option<i128> {
    use nix::time::{clock_gettime, ClockId};
    let ns = |t: nix::sys::time::TimeSpec| {
        i128::from(t.tv_sec()) * 1_000_000_000 + i128::from(t.tv_nsec())
    };
    let real = clock_gettime(ClockId::CLOCK_REALTIME).ok()?;
    let boot = clock_gettime(ClockId::CLOCK_BOOTTIME).ok()?;
    let modified = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
    Some(modified - ns(real) + ns(boot))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Child, Command};
    use std::time::{Duration, Instant, SystemTime};

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

        // A missing directory is no file to create with --tickets.
        let nowhere = dir.path().join("nodir").join("data.json");
        assert_eq!(
            message(read(&nowhere)),
            format!(
                "{}: the directory {} does not exist",
                nowhere.display(),
                dir.path().join("nodir").display()
            )
        );
        assert!(!read_raw(&nowhere).unwrap_err().is_resettable());
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
        // Bytes that are not UTF-8, and a newline: the hint names this very file, on one line.
        let odd = ReadError::Missing {
            path: PathBuf::from(OsString::from_vec(b"d\xffta\n.json".to_vec())),
        };
        assert_eq!(
            odd.to_string(),
            "no such file; create it with `procdemo tickets --data $'d\\xffta\\n.json' \
             --tickets 1` (or: echo '{\"ticket\": 1}' > $'d\\xffta\\n.json')"
        );
    }

    #[test]
    fn read_refuses_big_files_without_reading_them_whole() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("big.json");
        fs::write(&data, vec![b' '; MAX_BYTES as usize + 100]).unwrap();
        let too_large = "file too large to be a ticket file (over 1 MiB, procdemo's limit)";
        assert_eq!(
            message(read(&data)),
            format!("{}: {too_large}", data.display())
        );
        // Too large is no reason to reset: it may be a ticket file with keys to keep.
        assert!(!read_raw(&data).unwrap_err().is_resettable());

        // A sparse file of 8 GiB: read up to the limit only.
        let huge = dir.path().join("huge.json");
        File::create(&huge).unwrap().set_len(8 << 30).unwrap();
        let start = Instant::now();
        assert_eq!(
            message(read(&huge)),
            format!("{}: {too_large}", huge.display())
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        // And /dev/zero is not a regular file: refused without reading a byte.
        assert_eq!(
            message(read(Path::new("/dev/zero"))),
            "/dev/zero: is a character device, not a ticket file"
        );
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
        // A directory at the name: refused after the temporary file was written, which goes.
        let data = dir.path().join("data.json");
        fs::create_dir(&data).unwrap();
        fs::write(data.join("inside"), "").unwrap();
        let e = write_atomic(&data, &Tickets::new(1)).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            format!(
                "{}: is a directory now, not a ticket file; left as it is",
                data.display()
            )
        );
        assert_eq!(dir_names(dir.path()), ["data.json"]);
        assert_eq!(dir_names(&data), ["inside"]);

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

    /// The pid of a process that has ended and been reaped.
    fn dead_pid() -> u32 {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    /// A child that has exited but is not reaped yet: a zombie. Reap it with `wait`.
    #[allow(clippy::zombie_processes)] // a zombie is the point; the caller reaps it
    fn zombie() -> Child {
        let child = Command::new("true").spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let stat = fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
            if parse_proc_stat(&stat).unwrap().0 == 'Z' {
                return child;
            }
            assert!(Instant::now() < deadline, "no zombie: {stat}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn clean_stale_temps_removes_only_this_files_temps() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        fs::write(&data, "{\"ticket\": 1}\n").unwrap();
        fs::write(temp_path(&data, dead_pid()), "{\"tick").unwrap();
        fs::write(dir.path().join(".data.json.tmp.99999999999999999999"), "").unwrap();
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

    /// A device node of our own, in `dir`: never the real /dev/null.
    fn mknod(path: &Path, kind: nix::sys::stat::SFlag, major: u64, minor: u64) {
        nix::sys::stat::mknod(
            path,
            kind,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(major, minor),
        )
        .expect("mknod (the tests run as root)");
    }

    /// Every kind of file that is not a regular file, made in `dir`, with its name in words.
    fn non_regular_files(dir: &Path) -> Vec<(PathBuf, &'static str)> {
        use nix::sys::stat::SFlag;
        let chr = dir.join("chr");
        mknod(&chr, SFlag::S_IFCHR, 1, 3);
        let blk = dir.join("blk");
        mknod(&blk, SFlag::S_IFBLK, 7, 0);
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let sock = dir.join("sock");
        std::mem::forget(std::os::unix::net::UnixListener::bind(&sock).unwrap());
        let sub = dir.join("sub");
        fs::create_dir(&sub).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink("chr", &link).unwrap();
        vec![
            (chr, "a character device"),
            (blk, "a block device"),
            (fifo, "a FIFO"),
            (sock, "a socket"),
            (sub, "a directory"),
            (link, "a character device"),
        ]
    }

    #[test]
    fn anything_but_a_regular_file_is_refused_by_one_rule() {
        let dir = tempfile::tempdir().unwrap();
        for (path, kind) in non_regular_files(dir.path()) {
            let expected = format!("{}: is {kind}, not a ticket file", path.display());
            assert_eq!(message(read(&path)), expected);
            assert!(!read_raw(&path).unwrap_err().is_resettable());
            for plan in [
                Plan {
                    reset: true,
                    lock: true,
                },
                Plan {
                    reset: false,
                    lock: true,
                },
                Plan {
                    reset: false,
                    lock: false,
                },
            ] {
                let e = preflight(&path, plan).unwrap_err();
                assert_eq!(format!("{e:#}"), expected, "{plan:?}");
            }
        }
        // Nothing was created: no lock file, no temporary file.
        assert_eq!(
            dir_names(dir.path()),
            ["blk", "chr", "fifo", "link", "sock", "sub"]
        );
        let chr = fs::metadata(dir.path().join("chr")).unwrap();
        assert!(chr.file_type().is_char_device());
    }

    #[test]
    fn write_atomic_never_renames_over_anything_but_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        for (path, kind) in non_regular_files(dir.path()) {
            let before = fs::symlink_metadata(&path).unwrap();
            let e = write_atomic(&path, &Tickets::new(4)).unwrap_err();
            assert_eq!(
                format!("{e:#}"),
                format!(
                    "{}: is {kind} now, not a ticket file; left as it is",
                    path.display()
                )
            );
            let after = fs::symlink_metadata(&path).unwrap();
            assert_eq!(
                (before.ino(), before.file_type()),
                (after.ino(), after.file_type())
            );
        }
        assert_eq!(
            dir_names(dir.path()),
            ["blk", "chr", "fifo", "link", "sock", "sub"]
        );
    }

    #[test]
    fn write_atomic_refuses_contents_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        // Compact JSON grows when written back with ", " and ": ".
        let mut compact = String::from(r#"{"ticket":1"#);
        for i in 0.. {
            let member = format!(r#","{i}":[1,2,3,4,5,6,7,8,9]"#);
            if compact.len() + member.len() >= MAX_BYTES as usize {
                break;
            }
            compact.push_str(&member);
        }
        compact.push('}');
        fs::write(&data, &compact).unwrap();
        let t = read(&data).unwrap();
        let e = write_atomic(&data, &t.with_count(0)).unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.starts_with(&format!("{}: the new contents would be ", data.display()))
                && e.ends_with(
                    " bytes, over 1 MiB, procdemo's limit for a ticket file; not written"
                ),
            "{e}"
        );
        assert_eq!(fs::read_to_string(&data).unwrap(), compact);
        assert_eq!(dir_names(dir.path()), ["data.json"]);
    }

    #[test]
    fn preflight_checks_the_directory_the_lock_and_the_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let reset = Plan {
            reset: true,
            lock: true,
        };
        let run = Plan {
            reset: false,
            lock: true,
        };
        let unlocked = Plan {
            reset: false,
            lock: false,
        };

        // A missing directory, with or without --tickets.
        let nowhere = dir.path().join("nodir").join("data.json");
        for plan in [reset, run] {
            assert_eq!(
                format!("{:#}", preflight(&nowhere, plan).unwrap_err()),
                format!(
                    "{}: the directory {} does not exist",
                    nowhere.display(),
                    dir.path().join("nodir").display()
                )
            );
        }

        // A missing file is fine only for a reset; an invalid one too.
        let data = dir.path().join("data.json");
        assert!(format!("{:#}", preflight(&data, run).unwrap_err()).contains("no such file"));
        assert_eq!(dir_names(dir.path()), Vec::<String>::new());
        preflight(&data, reset).unwrap();
        assert_eq!(dir_names(dir.path()), ["data.json.lock"]);
        fs::write(&data, "{oops").unwrap();
        preflight(&data, reset).unwrap();
        assert!(format!("{:#}", preflight(&data, run).unwrap_err()).contains("invalid JSON"));

        // Over the size limit: an error, even for a reset.
        fs::write(&data, vec![b' '; MAX_BYTES as usize + 1]).unwrap();
        assert_eq!(
            format!("{:#}", preflight(&data, reset).unwrap_err()),
            format!(
                "{}: file too large to be a ticket file (over 1 MiB, procdemo's limit)",
                data.display()
            )
        );

        // No lock file for --no-lock.
        let other = dir.path().join("other.json");
        fs::write(&other, "{\"ticket\": 1}").unwrap();
        preflight(&other, unlocked).unwrap();
        assert!(!lock::lock_path(&other).exists());
        preflight(&other, run).unwrap();
        assert!(lock::lock_path(&other).exists());

        // A name with no room for `.NAME.tmp.PID` under NAME_MAX (255 here).
        let long = dir.path().join(format!("{}.json", "x".repeat(245)));
        fs::write(&long, "{\"ticket\": 1}").unwrap();
        let e = format!("{:#}", preflight(&long, run).unwrap_err());
        assert!(
            e.starts_with(&format!("{}: the name is too long: ", long.display()))
                && e.contains(" over the 255 a file name may have there"),
            "{e}"
        );
        fs::remove_file(&long).unwrap();

        // The lock file's place taken by a directory.
        fs::write(&data, "{\"ticket\": 1}").unwrap();
        fs::remove_file(lock::lock_path(&data)).unwrap();
        fs::create_dir(lock::lock_path(&data)).unwrap();
        assert_eq!(
            format!("{:#}", preflight(&data, run).unwrap_err()),
            format!(
                "{}: cannot open or create the lock file beside it: {}: Is a directory (os error 21)",
                data.display(),
                lock::lock_path(&data).display()
            )
        );
        preflight(&data, unlocked).unwrap();

        // Nothing else left behind: the probe is gone.
        assert_eq!(
            dir_names(dir.path()),
            [
                "data.json",
                "data.json.lock",
                "other.json",
                "other.json.lock"
            ]
        );
    }

    #[test]
    fn preflight_in_a_read_only_directory_fails_once_naming_the_file() {
        if fs::metadata("/proc/self").unwrap().uid() == 0 {
            // Root writes anywhere; the integration suite runs this as another user.
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        fs::write(&data, "{\"ticket\": 1}").unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
        let e = format!(
            "{:#}",
            preflight(
                &data,
                Plan {
                    reset: false,
                    lock: true
                }
            )
            .unwrap_err()
        );
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        assert!(
            e.starts_with(&format!(
                "{}: cannot open or create the lock file",
                data.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn proc_stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "42 (a) (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 \
                    1000 10 18446744073709551615";
        assert_eq!(parse_proc_stat(line), Some(('S', 123456)));
        assert_eq!(parse_proc_stat("42 (x) Z 1"), None);
        assert_eq!(parse_proc_stat("garbage"), None);
    }

    #[test]
    fn start_times_and_file_times_are_compared_on_one_clock() {
        // Our own start: since boot, in the past, and not long ago (the test runner started
        // this process seconds ago, a few minutes at most).
        let stat = fs::read_to_string("/proc/self/stat").unwrap();
        let started = ticks_to_ns(parse_proc_stat(&stat).unwrap().1).unwrap();
        let boot_now = {
            let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).unwrap();
            i128::from(t.tv_sec()) * 1_000_000_000 + i128::from(t.tv_nsec())
        };
        assert!(started <= boot_now, "{started} > {boot_now}");
        assert!(
            boot_now - started < 600 * 1_000_000_000,
            "{started} vs {boot_now}"
        );
        // A file written now: its time, moved to the boot clock, is now.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "").unwrap();
        let modified = modified_since_boot_ns(&fs::metadata(&file).unwrap()).unwrap();
        assert!(
            (modified - boot_now).abs() < 1_000_000_000,
            "{modified} vs {boot_now}"
        );
        assert!(modified >= started);
    }

    #[test]
    fn clean_stale_temps_keeps_the_files_of_live_writers() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data.json");
        fs::write(&data, "{\"ticket\": 1}\n").unwrap();
        let me = std::process::id();

        // Written by a live process (this one) after it started: its writer may be writing.
        let live = temp_path(&data, me);
        fs::write(&live, "{\"tick").unwrap();
        assert_eq!(clean_stale_temps(&data).unwrap(), 0);
        assert!(live.exists());

        // Same pid, but the file was last written an hour before this process started: the
        // pid was reused, its writer is gone.
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&live)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        assert_eq!(clean_stale_temps(&data).unwrap(), 1);
        assert!(!live.exists());

        // A zombie writes nothing more.
        let mut zombie = zombie();
        let undead = temp_path(&data, zombie.id());
        fs::write(&undead, "").unwrap();
        assert_eq!(clean_stale_temps(&data).unwrap(), 1);
        zombie.wait().unwrap();

        // The pid is gone, but someone holds the file's flock, as a writer does from just
        // after its open(2) to after its rename(2): the kernel's word wins, the file stays.
        let held = temp_path(&data, dead_pid());
        let writer = File::create(&held).unwrap();
        fs2::FileExt::lock_exclusive(&writer).unwrap();
        assert_eq!(clean_stale_temps(&data).unwrap(), 0);
        assert!(held.exists());
        drop(writer);
        assert_eq!(clean_stale_temps(&data).unwrap(), 1);
        assert_eq!(dir_names(dir.path()), ["data.json"]);
    }

    #[test]
    fn write_atomic_holds_a_flock_on_its_temporary_file() {
        // Seen from outside: while a writer's temporary file exists, its flock is taken. We
        // cannot stop write_atomic half-way, so check the building block on a file of ours.
        let dir = tempfile::tempdir().unwrap();
        let temp = dir.path().join(".data.json.tmp.1");
        let file = create_temp(&temp).unwrap();
        flock_exclusive(&file).unwrap();
        let other = File::open(&temp).unwrap();
        assert!(fs2::FileExt::try_lock_exclusive(&other).is_err());
        drop(file);
        assert!(fs2::FileExt::try_lock_exclusive(&other).is_ok());
    }
}
