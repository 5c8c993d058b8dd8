//! The main's watch for SIGCHLD, SIGINT and SIGTERM: one signalfd, shared by the supervisor,
//! which waits for its children, and the sink, which may have to wait for room on stdout.
//!
//! The main blocks the three signals and reads them from a signalfd(2) (see `supervisor`).
//! Blocked, SIGINT and SIGTERM interrupt nothing: a main asleep in write(2) on a pipe nobody
//! reads would never learn of them, and `procdemo … | sleep 60` could not be stopped. So every
//! wait of the main, for a child or for room on stdout, is one ppoll(2) on this descriptor
//! and on what it waits for ([`wait`]). Whoever reads a signal notes it here for the other: a
//! SIGINT or SIGTERM stays noted for the rest of the process (the run is stopping:
//! [`stopping`]), a SIGCHLD until the supervisor takes the note ([`take_child`]) and reaps.
//!
//! Layers: `watch` <- `sink` <- `supervisor`. The watch belongs to the process that started
//! it: a child made by fork(2) inherits this module's memory, not its role ([`active`]).

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::time::TimeSpec;
use nix::unistd::Pid;

use crate::sys;

struct Watch {
    /// The process that blocked the signals and reads them here.
    owner: Pid,
    fd: SignalFd,
    /// The first SIGINT or SIGTERM read: the run is stopping.
    stop: Option<Signal>,
    /// A SIGCHLD was read and the supervisor has not taken the note yet.
    child: bool,
}

/// The main is single-threaded; the lock only makes the static sound.
static WATCH: Mutex<Option<Watch>> = Mutex::new(None);

/// The watch, if this process owns it.
fn mine() -> MutexGuard<'static, Option<Watch>> {
    let mut w = WATCH.lock().unwrap_or_else(PoisonError::into_inner);
    if w.as_ref().is_some_and(|w| w.owner != sys::pid()) {
        *w = None; // a forked child's copy: not its watch
    }
    w
}

/// Block SIGCHLD, SIGINT and SIGTERM in this (only) thread and read them from a signalfd
/// from now on. Once per process: they stay blocked, so a signal that arrives between two
/// supervisors (in the tour) waits on the same descriptor for the next one.
pub fn start() -> Result<()> {
    let mut w = mine();
    if w.is_some() {
        return Ok(());
    }
    let mut mask = SigSet::empty();
    for sig in sys::WATCHED {
        mask.add(sig);
    }
    // Children do not inherit the block: the standard library's spawn clears the mask, and a
    // forked child clears it itself (`sys::reset_child_signals`).
    mask.thread_block().context("sigprocmask")?;
    let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .context("signalfd")?;
    *w = Some(Watch {
        owner: sys::pid(),
        fd,
        stop: None,
        child: false,
    });
    Ok(())
}

/// Does this process read its signals from the watch (the main, once it supervises)?
pub fn active() -> bool {
    mine().is_some()
}

/// The SIGINT or SIGTERM that stopped the run, once one has been read.
pub fn stopping() -> Option<Signal> {
    mine().as_ref().and_then(|w| w.stop)
}

/// Was a SIGCHLD read since the last call? Clears the note.
pub fn take_child() -> bool {
    mine()
        .as_mut()
        .is_some_and(|w| std::mem::take(&mut w.child))
}

/// Wait up to `timeout` (`None`: no limit) until a watched signal arrives, or until `fd`
/// reports one of `events` (POLLERR and POLLHUP are reported even when not asked for,
/// poll(2)). Every pending signal is then read and noted. Returns what `fd` reported.
///
/// Without a watch (a child), waits for `fd` alone.
pub fn wait(fd: Option<(BorrowedFd, PollFlags)>, timeout: Option<Duration>) -> Result<PollFlags> {
    let fds: Vec<(BorrowedFd, PollFlags)> = fd.into_iter().collect();
    let revents = wait_any(&fds, timeout)?;
    Ok(revents.first().copied().unwrap_or(PollFlags::empty()))
}

/// [`wait`] on several descriptors at once: what each of them reported, in order.
pub fn wait_any(
    watched: &[(BorrowedFd, PollFlags)],
    timeout: Option<Duration>,
) -> Result<Vec<PollFlags>> {
    let mut w = mine();
    let mut fds = Vec::with_capacity(watched.len() + 1);
    if let Some(watch) = w.as_ref() {
        fds.push(PollFd::new(watch.fd.as_fd(), PollFlags::POLLIN));
    }
    let first = fds.len();
    for (fd, events) in watched {
        fds.push(PollFd::new(*fd, *events));
    }
    let ts = timeout.map(TimeSpec::from_duration);
    match ppoll(&mut fds, ts, None) {
        Ok(_) | Err(Errno::EINTR) => {}
        Err(e) => return Err(e).context("ppoll"),
    }
    let theirs: Vec<PollFlags> = fds[first..]
        .iter()
        .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
        .collect();
    let signalled = w.is_some()
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN));
    drop(fds);
    if let (Some(watch), true) = (w.as_mut(), signalled) {
        while let Some(info) = watch.fd.read_signal().context("reading signalfd")? {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(sig @ (Signal::SIGINT | Signal::SIGTERM)) => {
                    watch.stop = watch.stop.or(Some(sig));
                }
                Ok(Signal::SIGCHLD) => watch.child = true,
                _ => {}
            }
        }
    }
    Ok(theirs)
}
