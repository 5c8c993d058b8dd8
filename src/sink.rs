//! The sink: where events go. [`Out`] is one process's voice: it renders an event
//! (`render`), records it for the `--timeline` chart and the `--trace` file
//! (`timeline::record`), and writes it as one line with a single `write(2)`.
//!
//! Many processes share one stdout. write(2) on a pipe is atomic up to `PIPE_BUF` (4096 bytes
//! on Linux, pipe(7)), and on a regular file the kernel serialises writers that share the
//! file offset, so a line written in one call never has another process's bytes inside it.
//! Buffered `println!` would split or merge lines at buffer boundaries; that is why no
//! lesson prints directly.
//!
//! Nobody may be reading: `procdemo … | sleep 60` fills the pipe, and a write(2) then waits
//! until the reader reads. Two processes must never wait like that. The main, because it has
//! SIGINT and SIGTERM blocked (it reads them from a signalfd, `watch`): asleep in write(2) it
//! would be deaf to both. So once it watches its signals, it writes only when there is room,
//! and waits for room in ppoll(2) on stdout and the signalfd together ([`write_line`]). And a
//! process holding the ticket lock, because every other buyer, and every other run on the
//! file, would wait for the reader too: while it holds the lock, a line that would have to
//! wait is held back until the release ([`Out::defer`]). Any other child may wait: the
//! SIGTERM or SIGINT that stops the run kills it in write(2) as anywhere else (children keep
//! the default action of both).

use std::cell::RefCell;
use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicU8, Ordering};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::stat::SFlag;
use nix::unistd::Pid;

use crate::error::{OutputClosed, Stopped};
use crate::event::{Common, Emit, Format, Header, Mark};
use crate::render;
use crate::sys;
use crate::time::{Clock, TimeScale};
use crate::timeline::record;
use crate::watch;

/// What every lesson's main side needs to know about the run, resolved from the command line
/// once (`cli::Global::settings`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub format: Format,
    pub scale: TimeScale,
}

/// One process's voice: its name, the run's clock and the output format.
#[derive(Debug)]
pub struct Out {
    format: Format,
    clock: Clock,
    pid: Pid,
    name: String,
    /// The parent pid, when it cannot change any more (see [`Out::with_fixed_parent`]).
    ppid: Option<Pid>,
    /// While a [`Deferred`] lives: the lines held back, stamped and not yet written.
    deferred: RefCell<Option<Vec<Vec<u8>>>>,
}

impl Clone for Out {
    /// The same voice, holding back none of the original's lines.
    fn clone(&self) -> Out {
        Out::new(self.format, self.clock, self.name.clone())
    }
}

impl Out {
    pub fn new(format: Format, clock: Clock, name: impl Into<String>) -> Out {
        Out {
            format,
            clock,
            pid: sys::pid(),
            name: name.into(),
            deferred: RefCell::new(None),
            ppid: None,
        }
    }

    /// The same voice, with the parent pid read once, now, instead of at every line: for a
    /// child whose parent cannot change while it lives, one that dies with its parent
    /// (`sys::die_with_parent`, which every child's `child::run` has called), on a path that
    /// writes many lines. (A child that outlives its parent on purpose, an orphan, must not
    /// use it: its adoption changes its parent pid.)
    pub fn with_fixed_parent(&self) -> Out {
        Out {
            ppid: Some(nix::unistd::getppid()),
            ..self.clone()
        }
    }

    /// The main process's voice, started with its `start` event: the first line of every run,
    /// the tutorial's `print('父进程:', os.getpid())`.
    pub fn main(format: Format, lesson: &'static str) -> Result<Out> {
        let out = Out::new(format, Clock::start(), "main");
        out.emit(&Common::Start { scenario: lesson })?;
        Ok(out)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    fn header(&self) -> Header<'_> {
        Header {
            t_ms: self.clock.elapsed_ms(),
            pid: self.pid,
            // Asked every time (unless fixed): if our parent dies, we are re-parented and
            // this changes.
            ppid: self.ppid.unwrap_or_else(nix::unistd::getppid),
            name: &self.name,
        }
    }

    /// Write one event as one line on stdout (and into the run's record, when one is kept).
    ///
    /// Fails with [`OutputClosed`] when nobody reads stdout any more (`| head -1`): procdemo
    /// ignores SIGPIPE (`sys::ignore_sigpipe`), so write(2) returns EPIPE instead of killing us.
    /// In the main it fails with [`Stopped`] when SIGINT or SIGTERM arrives while the line
    /// waits for room ([`write_line`]). While a [`Deferred`] lives, a line that would have to
    /// wait is held back instead ([`Out::defer`]).
    pub fn emit(&self, event: &impl Emit) -> Result<()> {
        let header = self.header();
        if record::recording() {
            // The record is an in-memory file (memfd): appending to it never waits on anyone.
            record::event(&header, event);
        }
        let line = render::line(self.format, &header, event);
        let stdout = sys::stdout_fd();
        if let Some(held) = self.deferred.borrow_mut().as_mut() {
            // Written at once if there is room and nothing is held before it; else held.
            let written = match held.is_empty() {
                true => write_at_once(stdout, &line)?.unwrap_or(0),
                false => 0,
            };
            if written < line.len() {
                held.push(line[written..].to_vec());
            }
            return Ok(());
        }
        write_line(stdout, &line)
    }

    /// Never wait on stdout until the returned [`Deferred`] ends: for the time this process
    /// holds a lock that others wait for (a buyer, or the main resetting the file).
    ///
    /// A write to stdout can wait for as long as nobody reads it. A buyer waiting there with
    /// the flock held would make every other buyer wait for that reader too, and every other
    /// run on the same file. So meanwhile a line is written only if it can be at once (with a
    /// reader, `lock_acquired` still shows live); the first one that would wait is held back,
    /// with every line after it, and they are written in order when the `Deferred` ends,
    /// after the release. A held line is stamped when it is emitted, so its `t_ms` says when
    /// it happened, and it goes into the `--timeline` record at once. Create the `Deferred`
    /// *before* taking the lock: locals are dropped in reverse order, so on an early return
    /// the lock is released first, and the held lines are written after it.
    pub fn defer(&self) -> Deferred<'_> {
        self.deferred.borrow_mut().get_or_insert_with(Vec::new);
        Deferred { out: self }
    }

    /// Write the lines a [`Deferred`] held, and stop holding.
    fn write_deferred(&self) -> Result<()> {
        let Some(lines) = self.deferred.borrow_mut().take() else {
            return Ok(());
        };
        for line in lines {
            // After a failure (stdout closed, or the run stopping) the rest cannot go either.
            write_line(sys::stdout_fd(), &line)?;
        }
        Ok(())
    }

    /// A mark for the timeline alone, with no line on stdout: the lesson says where a stretch
    /// of its life begins or ends (the race window of an unlocked buyer, for instance).
    pub fn mark(&self, mark: Mark) {
        if record::recording() {
            record::mark(&self.header(), mark);
        }
    }
}

/// Lines emitted while it lives are held back, then written in order: see [`Out::defer`].
/// End it with [`flush`](Self::flush) once the lock is released; dropped, it writes them too
/// (ignoring a failure: that path is already returning an error of its own).
#[must_use = "the held lines are written when it ends"]
pub struct Deferred<'o> {
    out: &'o Out,
}

impl Deferred<'_> {
    /// Write the held lines, in the order they were emitted.
    pub fn flush(self) -> Result<()> {
        self.out.write_deferred()
    }
}

impl Drop for Deferred<'_> {
    fn drop(&mut self) {
        let _ = self.out.write_deferred();
    }
}

/// One write(2) for the whole line. A short write can only happen to a line larger than
/// `PIPE_BUF` or when a signal interrupts a blocked write; the rest is then written after it.
///
/// A child writes with write(2), and waits there for as long as the pipe is full. In the
/// main, once it watches its signals (`watch::active`), no write may wait in write(2): SIGINT
/// and SIGTERM are blocked there, and it would be deaf to both. Instead it writes only when
/// that needs no waiting (`write_at_once`), and where there is no room it waits in ppoll(2)
/// for POLLOUT on the descriptor and for a signal on the watch at once, then tries again. A
/// pipe reports POLLOUT while one of its buffer slots (a page each, 16 by default) is free
/// (`pipe_poll` in fs/pipe.c; pipe(7), "Pipe capacity"), and a line of at most `PIPE_BUF`
/// bytes always fits in a free slot.
///
/// Once SIGINT or SIGTERM has been read (`watch::stopping`), the run is ending and waits for
/// no reader: a line is written if there is room for it at once; otherwise it is dropped,
/// and the call fails with [`Stopped`]. The supervisor's `stopping` and `exit` events go out
/// this way, so stopping and reaping the children never wait for the reader either.
pub fn write_line(fd: impl AsFd, line: &[u8]) -> Result<()> {
    let fd = fd.as_fd();
    if !watch::active() {
        return write_waiting(fd, line);
    }
    let mut rest = line;
    while !rest.is_empty() {
        match write_at_once(fd, rest)? {
            Some(n) => rest = &rest[n..],
            None => {
                if let Some(sig) = watch::stopping() {
                    return Err(Stopped(sig).into());
                }
                // Until there is room (or the reader is gone), or a signal: a SIGCHLD is
                // noted for the supervisor, a SIGINT or SIGTERM makes the next try the last.
                watch::wait(Some((fd, PollFlags::POLLOUT)), None)?;
            }
        }
    }
    Ok(())
}

/// write(2) until the whole line is out, waiting for room as long as it takes.
fn write_waiting(fd: BorrowedFd, line: &[u8]) -> Result<()> {
    let mut rest = line;
    while !rest.is_empty() {
        match nix::unistd::write(fd, rest) {
            Ok(n) => rest = &rest[n..],
            Err(Errno::EINTR) => continue,
            // Someone else set O_NONBLOCK on the open file description we share: wait here.
            Err(Errno::EAGAIN) => {
                watch::wait(Some((fd, PollFlags::POLLOUT)), None)?;
            }
            Err(e) => return Err(write_error(e)),
        }
    }
    Ok(())
}

/// For the standard streams (bit n for descriptor n): `LOOKED_AT`, whether we know yet what
/// file it is; `TAKES_NOWAIT`, whether RWF_NOWAIT is worth trying on it; `ALWAYS_READY`,
/// whether poll(2) would report it ready every time. Their files never change during a run
/// (`sys::open_standard_streams` fixed them first thing), so each is looked at once.
static LOOKED_AT: AtomicU8 = AtomicU8::new(0);
static TAKES_NOWAIT: AtomicU8 = AtomicU8::new(0);
static ALWAYS_READY: AtomicU8 = AtomicU8::new(0);

/// How a write to a descriptor can be made not to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Room {
    /// A pipe or a socket: try RWF_NOWAIT (POLLOUT means room there).
    NoWait,
    /// A regular file, or /dev/null: poll(2) reports it ready every time (regular files
    /// "always poll true", poll(2); /dev/null has no poll method at all), and a write there
    /// does not wait for a reader. No poll first: it could only say yes.
    Always,
    /// Anything else (a terminal, another device): poll(2) for POLLOUT, then write(2).
    Poll,
}

/// What file `fd` is, with fstat(2). Not RWF_NOWAIT on a regular file: a filesystem that
/// takes it may still refuse a write with EAGAIN for reasons no poll reports (a lock, a block
/// to allocate), and the main would spin.
fn room_of(fd: BorrowedFd) -> Room {
    // /dev/null is character device 1:3 (devices.txt), whatever its path.
    const DEV_NULL: (u64, u64) = (1, 3);
    let Ok(st) = nix::sys::stat::fstat(fd) else {
        return Room::Poll;
    };
    let kind = st.st_mode & SFlag::S_IFMT.bits();
    if kind == SFlag::S_IFIFO.bits() || kind == SFlag::S_IFSOCK.bits() {
        Room::NoWait
    } else if kind == SFlag::S_IFREG.bits()
        || (kind == SFlag::S_IFCHR.bits()
            && (
                nix::sys::stat::major(st.st_rdev),
                nix::sys::stat::minor(st.st_rdev),
            ) == DEV_NULL)
    {
        Room::Always
    } else {
        Room::Poll
    }
}

/// [`room_of`], looked at once for a standard stream. Where the kernel refuses RWF_NOWAIT
/// after all, [`no_nowait`] notes it, and the stream is polled from then on.
fn room(fd: BorrowedFd) -> Room {
    let Some(bit) = standard_stream_bit(fd) else {
        return room_of(fd);
    };
    if LOOKED_AT.load(Ordering::Relaxed) & bit == 0 {
        match room_of(fd) {
            Room::NoWait => TAKES_NOWAIT.fetch_or(bit, Ordering::Relaxed),
            Room::Always => ALWAYS_READY.fetch_or(bit, Ordering::Relaxed),
            Room::Poll => 0,
        };
        LOOKED_AT.fetch_or(bit, Ordering::Relaxed);
    }
    if TAKES_NOWAIT.load(Ordering::Relaxed) & bit != 0 {
        Room::NoWait
    } else if ALWAYS_READY.load(Ordering::Relaxed) & bit != 0 {
        Room::Always
    } else {
        Room::Poll
    }
}

/// RWF_NOWAIT was refused on `fd` (a named FIFO, a kernel before 6.4): not again.
fn no_nowait(fd: BorrowedFd) {
    if let Some(bit) = standard_stream_bit(fd) {
        TAKES_NOWAIT.fetch_and(!bit, Ordering::Relaxed);
    }
}

fn standard_stream_bit(fd: BorrowedFd) -> Option<u8> {
    let n = fd.as_raw_fd();
    (0..=2).contains(&n).then(|| 1u8 << n)
}

/// Write as much of `buf` as can be written without waiting for a reader: `Some(bytes)`, or
/// `None` when there is no room now (then nothing was written).
///
/// - On a pipe or a socket, `pwritev2(RWF_NOWAIT)` (`sys::write_nowait`): this one call
///   fails with EAGAIN where write(2) would wait for room. `O_NONBLOCK` is never set on
///   stdout: that flag belongs to the open file description, shared with the shell, tee and
///   every child.
/// - On a regular file or /dev/null, write(2) at once: poll(2) would say ready every time,
///   and a write there does not wait long.
/// - Anywhere else, or where RWF_NOWAIT is refused (EOPNOTSUPP: a named FIFO, a pipe before
///   Linux 6.4): poll(2) for POLLOUT without waiting, then write(2). A terminal is ready
///   while its output buffer has room (not after Ctrl-S). On a FIFO, or a pipe on an older
///   kernel, another writer may take the free slot between the poll and the write, and this
///   write(2) then waits for the reader after all: the one window left.
fn write_at_once(fd: BorrowedFd, buf: &[u8]) -> Result<Option<usize>> {
    loop {
        match room(fd) {
            Room::NoWait => match sys::write_nowait(fd, buf) {
                Ok(n) => return Ok(Some(n)),
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Ok(None),
                Err(Errno::EOPNOTSUPP | Errno::ENOSYS | Errno::EINVAL) => no_nowait(fd),
                Err(e) => return Err(write_error(e)),
            },
            Room::Always => match nix::unistd::write(fd, buf) {
                Ok(n) => return Ok(Some(n)),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(write_error(e)),
            },
            Room::Poll => {}
        }
        let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("poll"),
        }
        // POLLERR: the reader is gone, and the write below says so (EPIPE).
        let ready = PollFlags::POLLOUT | PollFlags::POLLERR | PollFlags::POLLHUP;
        if !fds[0].revents().is_some_and(|r| r.intersects(ready)) {
            return Ok(None);
        }
        match nix::unistd::write(fd, buf) {
            Ok(n) => return Ok(Some(n)),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(None),
            Err(e) => return Err(write_error(e)),
        }
    }
}

/// A write that failed: [`OutputClosed`] when the reader is gone, otherwise the error itself.
fn write_error(e: Errno) -> anyhow::Error {
    let e = std::io::Error::from(e);
    if e.kind() == ErrorKind::BrokenPipe {
        return OutputClosed.into();
    }
    anyhow::Error::new(e).context("writing to stdout")
}

/// A paragraph of narration on stdout, each of its lines wrapped to 78 columns (a line that
/// starts with spaces keeps them on its continuation lines), followed by a blank line.
pub fn paragraph(text: &str) -> Result<()> {
    let mut out = String::new();
    for line in text.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        // An indented line (a quiz's choice) hangs its continuation under its text.
        let hang = if indent.is_empty() {
            0
        } else {
            indent.len() + 3
        };
        let pad = format!("\n{}", " ".repeat(hang));
        let width = 78usize.saturating_sub(hang).max(20);
        out.push_str(indent);
        out.push_str(&crate::text::wrap(line.trim_start(), width).join(&pad));
        out.push('\n');
    }
    out.push('\n');
    write_line(std::io::stdout(), out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::OwnedFd;

    /// Fill `w` (a pipe's writing end) with lines until one does not fit at once; the test
    /// hangs here if `write_at_once` ever waits.
    fn fill(w: &OwnedFd) -> usize {
        let line = [b'x'; 100];
        let mut total = 0;
        while let Some(n) = write_at_once(w.as_fd(), &line).unwrap() {
            assert_eq!(
                n,
                line.len(),
                "a line under PIPE_BUF goes whole or not at all"
            );
            total += n;
        }
        total
    }

    #[test]
    fn a_full_pipe_is_no_room_not_a_wait() {
        // pipe(2): RWF_NOWAIT on Linux 6.4 and later, poll-then-write before. Close-on-exec,
        // so that no child another test starts meanwhile holds the reading end open.
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        assert!(fill(&w) > 0);
        // Reading one line frees no slot (a slot is a page), so still no room for one.
        nix::unistd::read(&r, &mut [0u8; 100]).unwrap();
        assert_eq!(write_at_once(w.as_fd(), &[b'y'; 100]).unwrap(), None);
        drop(r);
        // Other tests of this process start children at the same time; between their fork
        // and their exec (close-on-exec acts only at exec) a child holds a copy of every
        // descriptor, this reading end too. So the reader is gone once that copy is: allow
        // it a moment, never forever.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let err = loop {
            match write_at_once(w.as_fd(), b"y\n") {
                Err(e) => break e,
                Ok(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Ok(n) => panic!("the reader is gone, yet the write went on: {n:?}"),
            }
        };
        assert!(err.downcast_ref::<OutputClosed>().is_some(), "{err:#}");
    }

    #[test]
    fn a_full_named_fifo_is_no_room_not_a_wait() {
        // A FIFO opened by name refuses RWF_NOWAIT (EOPNOTSUPP): the poll-then-write path.
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // The reading end first, without waiting for a writer (fifo(7)); never read.
        let _r = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let w = OwnedFd::from(std::fs::OpenOptions::new().write(true).open(&path).unwrap());
        assert!(fill(&w) > 0);
    }
}
