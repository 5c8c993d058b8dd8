//! The thin layer over the operating system: every `unsafe` block of procdemo lives here.
//!
//! Lessons never call `fork(2)`, `signal(2)` or `prctl(2)` themselves; they call the safe
//! wrappers below, each of which states the condition that makes it sound. Keeping the list
//! short makes it easy to audit: `fork` (only while single-threaded), resetting signal
//! dispositions in a new child, `_exit`, the Linux `prctl` calls that tie a child's life
//! to its parent's (or make a process the adopter of orphans), `pidfd_open`, and `pwritev2`
//! for a write that must not wait.

use std::ffi::CStr;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{bail, Context, Result};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::signal::{self, SigHandler, SigSet, Signal};
use nix::unistd::{ForkResult, Pid};

/// The signals the main process turns into events instead of letting them kill it.
/// SIGCHLD: a child changed state (wait(2)); SIGINT: Ctrl-C; SIGTERM: `kill PID`.
pub const WATCHED: [Signal; 3] = [Signal::SIGCHLD, Signal::SIGINT, Signal::SIGTERM];

/// `fork(2)` without `exec`: the child runs `child` and leaves with `_exit(2)` and its return
/// value, never returning into the caller's code (so no destructor of the parent's state, such
/// as the guard that kills children, ever runs twice).
///
/// Returns the child's pid in the parent.
pub fn fork_child(child: impl FnOnce() -> i32) -> Result<Pid> {
    // After fork(2) only the calling thread exists in the child; a lock held by another thread
    // at that moment (the allocator's, stdout's) stays locked forever. Refuse rather than risk it.
    let threads = crate::procfs::stat(None)
        .context("/proc/self/stat")?
        .threads;
    if threads != 1 {
        bail!("cannot fork safely: this process has {threads} threads, fork needs exactly one");
    }
    // Anything still buffered in user space would be copied into the child and printed twice.
    // procdemo writes each line with one write(2), but flush anyway so the rule holds for all.
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();

    // SAFETY: the process is single-threaded (checked just above), so the child is a complete
    // copy with no lock held by a vanished thread; the child never returns from this function.
    match unsafe { nix::unistd::fork() }.context("fork")? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
            exit_now(code)
        }
    }
}

/// `_exit(2)`: end the process at once, without running `atexit` handlers or flushing stdio
/// buffers inherited from the parent (exit(3) would, and could print them a second time).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and has no preconditions.
    unsafe { nix::libc::_exit(code) }
}

/// Ignore SIGPIPE, so that writing to a closed pipe fails with EPIPE instead of killing us
/// (signal(7)): the main then stops its children and reaps them before it exits. The standard
/// library's start-up does this for ordinary programs; procdemo's `main` starts without it.
pub fn ignore_sigpipe() {
    // SAFETY: SIG_IGN installs no handler code; called first thing in main, single-threaded.
    let _ = unsafe { signal::signal(Signal::SIGPIPE, SigHandler::SigIgn) };
}

/// Write all of `buf` to `fd`, again after a short write or EINTR. For the run's record, a
/// file in memory that never blocks; lines for stdout go through `sink::write_line`.
pub fn write_all(fd: BorrowedFd, mut buf: &[u8]) -> nix::Result<()> {
    while !buf.is_empty() {
        match nix::unistd::write(fd, buf) {
            Ok(n) => buf = &buf[n..],
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Make sure descriptors 0, 1 and 2 are open, on `/dev/null` where they were closed.
///
/// A program started with a standard stream closed (`procdemo … >&-`) would otherwise hand
/// out that number to the next file it opens (open(2) returns the lowest free descriptor):
/// the `--timeline` record would become "stdout", and every event line would land in it. The
/// standard library's own start-up does the same repair; procdemo's `main` starts without it.
pub fn open_standard_streams() {
    use std::os::fd::IntoRawFd;
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    // In order: each open(2) takes the lowest free number, which is then the one just found
    // closed.
    for fd in [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()] {
        if fcntl(fd, FcntlArg::F_GETFD) == Err(nix::errno::Errno::EBADF) {
            if let Ok(null) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                // Kept open for the life of the process, as the stream it stands in for.
                let _ = null.into_raw_fd();
            }
        }
    }
}

/// Put a new child's signal state back to the defaults a fresh program expects.
///
/// Signal dispositions set to "ignore" and the blocked mask survive both fork(2) and
/// execve(2) (signal(7)). A shell starts background jobs with SIGINT ignored, procdemo
/// itself ignores SIGPIPE ([`ignore_sigpipe`]), and the main process blocks SIGCHLD, SIGINT and SIGTERM to read them
/// from a signalfd. A child must die of Ctrl-C, SIGTERM and a closed pipe like any program.
pub fn reset_child_signals() -> Result<()> {
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGPIPE,
        Signal::SIGCHLD,
    ] {
        // SAFETY: SIG_DFL installs no handler code, so there is nothing to make
        // async-signal-safe; no other thread exists to race with.
        unsafe { signal::signal(sig, SigHandler::SigDfl) }.context("signal")?;
    }
    SigSet::empty().thread_set_mask().context("sigprocmask")?;
    Ok(())
}

/// Make sure SIGCHLD is not ignored in the main process.
///
/// If a parent started us with SIGCHLD set to SIG_IGN, the kernel reaps our children itself
/// and waitpid(2) fails with ECHILD (wait(2), NOTES): we could report no exit status at all.
pub fn restore_sigchld() -> Result<()> {
    // SAFETY: SIG_DFL installs no handler; called before any child exists.
    unsafe { signal::signal(Signal::SIGCHLD, SigHandler::SigDfl) }.context("signal")?;
    Ok(())
}

/// Tie this child's life to its parent: when the parent dies, the kernel sends us SIGKILL.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that created us exits, not the whole process
/// (prctl(2)); procdemo's main is single-threaded and starts every child from that thread.
/// The parent may already be gone before this call; then the signal never comes, which is why
/// we compare `getppid()` with the pid the parent gave us.
pub fn die_with_parent(expected_parent: Pid) -> Result<()> {
    #[cfg(target_os = "linux")]
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).context("prctl(PR_SET_PDEATHSIG)")?;
    check_parent(expected_parent)
}

/// Fail with [`ParentGone`] if our parent is not (or no longer) the process that started us:
/// it died before we got this far, and we were re-parented (getppid(2) then names the
/// adopter).
pub fn check_parent(expected_parent: Pid) -> Result<()> {
    if nix::unistd::getppid() != expected_parent {
        return Err(ParentGone(expected_parent).into());
    }
    Ok(())
}

/// Stop dying with the parent: undo [`die_with_parent`], for the one child that is meant to
/// outlive its parent (`orphan`'s Process-2). Its parent-death signal would fire when its
/// parent exits, and again each time a subreaper it was re-parented to exits (prctl(2)).
pub fn outlive_parent() -> Result<()> {
    #[cfg(target_os = "linux")]
    nix::sys::prctl::set_pdeathsig(None).context("prctl(PR_SET_PDEATHSIG, 0)")?;
    Ok(())
}

/// Make this process a child subreaper (prctl(2) `PR_SET_CHILD_SUBREAPER`): a descendant
/// orphaned by its parent's exit is re-parented to us instead of to init, and we reap it.
pub fn become_subreaper() -> Result<()> {
    nix::sys::prctl::set_child_subreaper(true).context("prctl(PR_SET_CHILD_SUBREAPER)")
}

/// `pidfd_open(2)`: a descriptor that names process `pid` for as long as it is open, and that
/// poll(2) reports readable once that process has ended. Unlike a bare pid, it can never come
/// to name another process; but it names the right one only if `pid` was still this process
/// when it was opened, which the caller must make sure of.
pub fn pidfd_open(pid: Pid) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and a flags word (0) by value and touches no memory of
    // ours; it returns a new descriptor or -1.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("pidfd_open({pid})"));
    }
    // SAFETY: the kernel just returned this descriptor to us, open and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A child's parent is not the process that started it. If that process has ended, the
/// run is being torn down and nobody is left to tell: the child ends without a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentGone(pub Pid);

impl ParentGone {
    /// Has the expected parent ended (gone, or a zombie: `/proc/<pid>/stat`, proc(5))? If
    /// not, someone typed a `--child` command line naming another process as its parent.
    pub fn parent_ended(&self) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", self.0)) {
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| matches!(state, "Z" | "X")),
            Err(_) => true,
        }
    }
}

impl std::fmt::Display for ParentGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parent {} is already gone", self.0)
    }
}

impl std::error::Error for ParentGone {}

/// Name this process `procdemo` in ps(1) and top(1).
///
/// A child started through `/proc/self/exe` would otherwise be listed as `exe`: the kernel
/// takes the name from the last part of the path passed to execve(2).
pub fn set_process_name(name: &CStr) {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_name(name);
    #[cfg(not(target_os = "linux"))]
    let _ = name;
}

/// `pwritev2(fd, [buf], -1, RWF_NOWAIT)`: write(2) for this one call as if the descriptor
/// were non-blocking, without setting `O_NONBLOCK` on the open file description, which a pipe's
/// writers share (the shell, tee, every child). Where write(2) would wait for room it fails
/// with EAGAIN, writing nothing when `buf` is at most `PIPE_BUF` bytes (pipe(7)). Pipes take
/// the flag since Linux 6.4, sockets earlier; elsewhere (regular files, terminals, named
/// FIFOs, older kernels) it fails with EOPNOTSUPP and writes nothing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn write_nowait(fd: BorrowedFd, buf: &[u8]) -> nix::Result<usize> {
    use nix::libc;
    use std::os::fd::AsRawFd;
    let iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `iov` describes `buf`, which stays borrowed, and so valid for reads of
    // `buf.len()` bytes, for the whole call; a write only reads it. One iovec, as the count
    // says. `fd` is open for as long as it is borrowed. Offset -1: the file's own position,
    // as write(2) uses (pwritev2(2)).
    let n = unsafe { libc::pwritev2(fd.as_raw_fd(), &iov, 1, -1, libc::RWF_NOWAIT) };
    nix::errno::Errno::result(n).map(|n| n as usize)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn write_nowait(_fd: BorrowedFd, _buf: &[u8]) -> nix::Result<usize> {
    Err(nix::errno::Errno::EOPNOTSUPP)
}

/// Clear close-on-exec on `fd`, so a child started with execve(2) finds it open under the
/// same number. Everything else procdemo opens stays close-on-exec (the standard library's
/// default), so a child inherits only what it is meant to.
pub fn keep_open_across_exec(fd: &impl AsFd) -> Result<()> {
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).context("fcntl(F_SETFD)")?;
    Ok(())
}

/// Set close-on-exec on `fd`: a program this process starts will not inherit it.
pub fn close_on_exec(fd: &impl AsFd) -> Result<()> {
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).context("fcntl(F_SETFD)")?;
    Ok(())
}

/// Take ownership of a descriptor this process inherited from its parent, by number.
pub fn inherited_fd(fd: RawFd) -> Result<OwnedFd> {
    // F_GETFD fails with EBADF unless `fd` is an open descriptor of this process.
    // SAFETY: the borrow lives only for this call, and we just learned nothing about it yet;
    // fcntl(F_GETFD) on any number is sound (it only reads the descriptor table).
    fcntl(unsafe { BorrowedFd::borrow_raw(fd) }, FcntlArg::F_GETFD)
        .with_context(|| format!("descriptor {fd} was not inherited"))?;
    if fd <= 2 {
        bail!("descriptor {fd} is a standard stream, not a pipe");
    }
    // SAFETY: `fd` is open (checked above), above the standard streams, and was handed to us
    // by our parent for this one purpose: nothing else in this process owns or closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pidfd_becomes_readable_when_its_process_ends() {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut child = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .unwrap();
        let pid = Pid::from_raw(child.id() as i32);
        let fd = pidfd_open(pid).unwrap();
        let readable = |fd: &OwnedFd| {
            let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::ZERO).unwrap() == 1
        };
        assert!(!readable(&fd), "sleep 10 is still running");
        child.kill().unwrap();
        // Readable from the moment it has exited, reaped or not.
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        assert_eq!(poll(&mut fds, PollTimeout::from(5000u16)).unwrap(), 1);
        child.wait().unwrap();
        assert!(readable(&fd));
    }
}
