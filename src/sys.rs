//! The thin layer over the operating system: every `unsafe` block of procdemo lives here.
//!
//! Lessons never call `fork(2)`, `signal(2)` or `prctl(2)` themselves; they call the safe
//! wrappers below, each of which states the condition that makes it sound. Keeping the list
//! short makes it easy to audit: `fork` (only while single-threaded), resetting signal
//! dispositions in a new child, `_exit`, the Linux `prctl` calls that tie a child's life
//! to its parent's (or make a process the adopter of orphans), `pidfd_open`, `pwritev2` for a
//! write that must not wait, and three kernel objects that processes share: memory mapped by
//! several processes ([`SharedMemory`]), a process-shared robust mutex inside it
//! ([`RobustMutex`]), and a POSIX message queue ([`MessageQueue`]).

use std::ffi::CStr;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

use anyhow::{bail, Context, Result};
use nix::fcntl::{fcntl, FcntlArg, FdFlag, SealFlag};
use nix::libc;
use nix::sys::signal::{self, SigHandler, SigSet, Signal};
use nix::unistd::{ForkResult, Pid};

/// The signals the main process turns into events instead of letting them kill it.
/// SIGCHLD: a child changed state (wait(2)); SIGINT: Ctrl-C; SIGTERM: `kill PID`.
pub const WATCHED: [Signal; 3] = [Signal::SIGCHLD, Signal::SIGINT, Signal::SIGTERM];

/// This process's pid, from getpid(2) once and then remembered (glibc no longer caches it, so
/// every getpid() is a system call, and the main asks at every wait and every line). Sound
/// because procdemo makes a new process in two ways only: execve(2), which starts with fresh
/// memory, and [`fork_child`], which forgets the parent's pid in the child.
pub fn pid() -> Pid {
    match PID.load(Ordering::Relaxed) {
        0 => {
            let pid = nix::unistd::getpid();
            PID.store(pid.as_raw(), Ordering::Relaxed);
            pid
        }
        pid => Pid::from_raw(pid),
    }
}

/// [`pid`]'s memory: 0 until asked.
static PID: AtomicI32 = AtomicI32::new(0);

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
            // A new process: not the parent's pid any more.
            PID.store(0, Ordering::Relaxed);
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

/// How many columns wide the terminal on `fd` is (TIOCGWINSZ, tty_ioctl(4)); `None` where
/// `fd` is no terminal, or one that says 0 (a pseudo-terminal nobody sized). Only the columns
/// count: a terminal whose rows are still 0 wraps lines all the same.
pub fn terminal_columns(fd: BorrowedFd) -> Option<u16> {
    use std::os::fd::AsRawFd;
    let mut size = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which points to ours for
    // the length of the call; on a descriptor that is not a terminal it fails and writes
    // nothing.
    let r = unsafe { nix::libc::ioctl(fd.as_raw_fd(), nix::libc::TIOCGWINSZ, &mut size) };
    (r == 0 && size.ws_col > 0).then_some(size.ws_col)
}

/// Make sure descriptors 0, 1 and 2 are open, on `/dev/null` where they were closed.
///
/// A program started with a standard stream closed (`procdemo … >&-`) would otherwise hand
/// out that number to the next file it opens (open(2) returns the lowest free descriptor):
/// the `--timeline` record would become "stdout", and every event line would land in it. The
/// standard library's own start-up does the same repair; procdemo's `main` starts without it.
pub fn open_standard_streams() {
    use std::os::fd::IntoRawFd;
    // By number, not through `std::io::stdin()` and the like: the first call of each of
    // those sets up a buffer for the stream (8 KiB for stdin), which every child would
    // allocate and never use.
    // In order: each open(2) takes the lowest free number, which is then the one just found
    // closed.
    for fd in 0..=2 {
        // SAFETY: the borrow lasts for this one call, and fcntl(F_GETFD) on any number is
        // sound: it only reads the descriptor table, and fails with EBADF for a closed one.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
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

/// Standard output, by number: what `std::io::stdout().as_fd()` lends, without setting up
/// the standard library's buffer for it (1 KiB, allocated by the first `stdout()` of each
/// process) that procdemo never uses: every line goes out in one write(2) of its own.
pub fn stdout_fd() -> BorrowedFd<'static> {
    // SAFETY: descriptor 1 is open for the whole life of the process: `open_standard_streams`
    // made sure of it first thing (on /dev/null if it was closed), and procdemo never closes
    // or replaces it. The standard library lends it for `'static` on the same grounds.
    unsafe { BorrowedFd::borrow_raw(1) }
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

// ---------------------------------------------------------------------------------------------
// Memory that several processes map: memfd_create(2), then mmap(2) with MAP_SHARED.

/// Where the process-shared mutex sits in a [`SharedMemory`], and the word after it that says
/// it was set up. The words follow at `HEADER`, so the first word (the `shared` lesson's
/// value) shares the mutex's 64-byte cache line: taking the lock and then touching the value
/// moves one line between cores, not two.
const MUTEX_AT: usize = 0;
const READY_AT: usize = std::mem::size_of::<libc::pthread_mutex_t>();
const HEADER: usize = (READY_AT + 4).div_ceil(8) * 8;
/// "PROC": the mutex is initialised (a zero page is not).
const MUTEX_READY: u32 = 0x5052_4f43;
const _: () = assert!(READY_AT.is_multiple_of(4) && HEADER.is_multiple_of(8) && HEADER <= 64);

/// A small anonymous file in memory, mapped shared: every process that maps it (each with
/// its own `mmap(2)` of the descriptor it inherited) sees the same physical page, so a word
/// one process writes, the others read. It has no name in any directory, so it cannot be
/// left behind: the kernel frees it when the last descriptor and mapping are gone, also after
/// SIGKILL. In front of the words sits a [`RobustMutex`].
pub struct SharedMemory {
    fd: OwnedFd,
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

impl SharedMemory {
    /// A new shared memory file of `words` zeroed 64-bit words (and the mutex), mapped here.
    /// Its descriptor is close-on-exec: [`keep_open_across_exec`] hands it to a child.
    pub fn create(name: &CStr, words: usize) -> Result<SharedMemory> {
        use nix::sys::memfd::{memfd_create, MFdFlags};
        let len = words
            .checked_mul(8)
            .and_then(|b| b.checked_add(HEADER))
            .context("shared memory: too many words")?;
        let fd = memfd_create(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
            .context("memfd_create")?;
        nix::unistd::ftruncate(&fd, len as i64).context("ftruncate")?;
        // Sealed: nobody can shrink it any more, so no access to the mapping can ever fault
        // with SIGBUS (memfd_create(2), "File sealing").
        fcntl(
            &fd,
            FcntlArg::F_ADD_SEALS(SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW),
        )
        .context("fcntl(F_ADD_SEALS)")?;
        let mem = Self::map(fd, len)?;
        mem.init_mutex()?;
        Ok(mem)
    }

    /// Map the shared memory our parent handed down as descriptor `fd`, of `words` words.
    pub fn inherited(fd: RawFd, words: usize) -> Result<SharedMemory> {
        let fd = inherited_fd(fd)?;
        let len = words
            .checked_mul(8)
            .and_then(|b| b.checked_add(HEADER))
            .context("shared memory: too many words")?;
        let seals = fcntl(&fd, FcntlArg::F_GET_SEALS).context("fcntl(F_GET_SEALS)")?;
        let size = nix::sys::stat::fstat(&fd).context("fstat")?.st_size;
        if seals & SealFlag::F_SEAL_SHRINK.bits() == 0 || (size as u64) < len as u64 {
            bail!(
                "descriptor {} is not procdemo's sealed shared memory of {len} bytes",
                std::os::fd::AsRawFd::as_raw_fd(&fd)
            );
        }
        Self::map(fd, len)
    }

    fn map(fd: OwnedFd, len: usize) -> Result<SharedMemory> {
        use std::os::fd::AsRawFd;
        // SAFETY: a new mapping at an address the kernel picks (NULL hint), so it overlaps no
        // memory of ours; `fd` is a sealed memfd at least `len` bytes long (checked by both
        // callers); the result is checked for MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(nix::errno::Errno::last()).context("mmap");
        }
        let ptr = std::ptr::NonNull::new(ptr.cast()).context("mmap returned NULL")?;
        Ok(SharedMemory { fd, ptr, len })
    }

    /// The descriptor, to hand to a child.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The inode number of the memory file: the same in every process that maps it.
    pub fn inode(&self) -> Result<u64> {
        Ok(nix::sys::stat::fstat(&self.fd).context("fstat")?.st_ino)
    }

    /// The words, zero at first, shared with every process that maps this memory.
    pub fn words(&self) -> &[AtomicU64] {
        // SAFETY: the mapping is `len` bytes from a page-aligned `ptr`; from HEADER (a multiple
        // of 8) it holds (len - HEADER) / 8 whole, 8-aligned words. AtomicU64 has the size and
        // alignment of u64, and every bit pattern is a valid value. Other processes change
        // these words only through atomic operations as well. The memfd is sealed against
        // shrinking, so every byte stays backed while the mapping lives, as long as `self`.
        unsafe {
            std::slice::from_raw_parts(
                self.ptr.as_ptr().add(HEADER).cast::<AtomicU64>(),
                (self.len - HEADER) / 8,
            )
        }
    }

    /// Where the mutex sits in the mapping.
    fn mutex_ptr(&self) -> *mut libc::pthread_mutex_t {
        self.ptr.as_ptr().wrapping_add(MUTEX_AT).cast()
    }

    fn ready_word(&self) -> &AtomicU32 {
        // SAFETY: READY_AT + 4 <= HEADER <= len, and READY_AT is 4-aligned in a page-aligned
        // mapping; any bit pattern is a valid AtomicU32; it lives as long as `self`.
        unsafe { &*self.ptr.as_ptr().add(READY_AT).cast::<AtomicU32>() }
    }

    /// Set up the process-shared robust mutex in the header, before any child exists.
    fn init_mutex(&self) -> Result<()> {
        let mutex = self.mutex_ptr();
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        // SAFETY: `attr` is initialised by pthread_mutexattr_init before any other use and
        // destroyed after; `mutex` points at MUTEX_AT, inside the mapping, suitably aligned
        // (page-aligned), and no other process can see this memory yet (its descriptor has
        // not been handed to anyone), so initialising it races with nothing.
        unsafe {
            check(
                libc::pthread_mutexattr_init(attr.as_mut_ptr()),
                "pthread_mutexattr_init",
            )?;
            let set = check(
                libc::pthread_mutexattr_setpshared(attr.as_mut_ptr(), libc::PTHREAD_PROCESS_SHARED),
                "pthread_mutexattr_setpshared",
            )
            .and_then(|()| {
                check(
                    libc::pthread_mutexattr_setrobust(
                        attr.as_mut_ptr(),
                        libc::PTHREAD_MUTEX_ROBUST,
                    ),
                    "pthread_mutexattr_setrobust",
                )
            })
            .and_then(|()| {
                check(
                    libc::pthread_mutex_init(mutex, attr.as_ptr()),
                    "pthread_mutex_init",
                )
            });
            libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
            set?;
        }
        self.ready_word().store(MUTEX_READY, Ordering::Release);
        Ok(())
    }

    /// The process-shared robust mutex in front of the words.
    pub fn mutex(&self) -> Result<&RobustMutex> {
        if self.ready_word().load(Ordering::Acquire) != MUTEX_READY {
            bail!("the shared memory's mutex was never set up");
        }
        // SAFETY: the mutex at MUTEX_AT was initialised by `init_mutex` (the ready word says
        // so, with acquire ordering); RobustMutex is a transparent UnsafeCell around it, and
        // the reference lives no longer than the mapping.
        Ok(unsafe { &*self.mutex_ptr().cast::<RobustMutex>() })
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping made in `map`; no reference into it outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// A pthread result code (not errno) as a `Result`.
fn check(code: libc::c_int, what: &str) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(nix::errno::Errno::from_raw(code)).context(what.to_owned())
    }
}

/// A mutex that lives in shared memory and works between processes (`PTHREAD_PROCESS_SHARED`)
/// and that survives the death of its holder (`PTHREAD_MUTEX_ROBUST`).
///
/// It is a futex (futex(2)): taking a free lock or releasing one nobody waits for is one
/// atomic instruction, with no system call; the kernel is asked only to put a waiter to sleep
/// and to wake it. Robust: every thread keeps a list of the robust mutexes it holds, which it
/// registered with the kernel (set_robust_list(2)); when a process dies holding one, even by
/// SIGKILL, the kernel marks it "owner died" and wakes a waiter, whose lock call then returns
/// `EOWNERDEAD` instead of waiting forever (pthread_mutexattr_setrobust(3)).
#[repr(transparent)]
pub struct RobustMutex(std::cell::UnsafeCell<libc::pthread_mutex_t>);

// SAFETY: a pthread mutex is made to be used from many threads (and, process-shared, from
// many processes) at once; every access goes through pthread_mutex_lock/unlock.
unsafe impl Sync for RobustMutex {}

impl RobustMutex {
    /// Wait for the lock and take it. If its last holder died holding it, the lock is handed
    /// over all the same, marked consistent again, and the guard says so (`recovered`).
    pub fn lock(&self) -> Result<Locked<'_>> {
        // SAFETY: the mutex was initialised (process-shared, robust) before any process could
        // reach it (see `SharedMemory::mutex`), in memory mapped while `self` is borrowed.
        match unsafe { libc::pthread_mutex_lock(self.0.get()) } {
            0 => Ok(Locked {
                mutex: self,
                recovered: false,
                _not_send: std::marker::PhantomData,
            }),
            libc::EOWNERDEAD => {
                // SAFETY: EOWNERDEAD means we hold the mutex now; making it consistent again
                // is what pthread_mutex_consistent(3) asks of that new holder.
                check(
                    unsafe { libc::pthread_mutex_consistent(self.0.get()) },
                    "pthread_mutex_consistent",
                )?;
                Ok(Locked {
                    mutex: self,
                    recovered: true,
                    _not_send: std::marker::PhantomData,
                })
            }
            code => Err(nix::errno::Errno::from_raw(code)).context("pthread_mutex_lock"),
        }
    }
}

/// The lock, held until the guard is dropped.
pub struct Locked<'m> {
    mutex: &'m RobustMutex,
    /// The previous holder died holding the lock; the kernel handed it to us.
    pub recovered: bool,
    /// Released by the thread that took it: the guard stays on that thread.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: the guard exists only while this thread holds the mutex, and is dropped once.
        unsafe { libc::pthread_mutex_unlock(self.mutex.0.get()) };
    }
}

// ---------------------------------------------------------------------------------------------
// A POSIX message queue: mq_overview(7).

/// A bounded queue of messages kept by the kernel: `mq_maxmsg` messages at most, each up to
/// `mq_msgsize` bytes, handed out whole and first in, first out. Sending to a full queue and
/// receiving from an empty one block. On Linux its descriptor is an ordinary file descriptor,
/// so it survives execve(2) once close-on-exec is cleared, and poll(2) can wait on it.
pub struct MessageQueue {
    fd: OwnedFd,
    msgsize: usize,
}

impl MessageQueue {
    /// Create the queue `name` (`/something`) for `capacity` messages of up to `msgsize`
    /// bytes, and remove its name at once: from then on it exists only as long as a
    /// descriptor to it is open, in this process or its children, like an unlinked file.
    /// Fails with `EEXIST` when the name is taken.
    pub fn create_unlinked(
        name: &CStr,
        capacity: usize,
        msgsize: usize,
    ) -> std::result::Result<MessageQueue, nix::errno::Errno> {
        use nix::errno::Errno;
        // SAFETY: mq_attr is plain integers (and padding); all zeros is a valid value.
        let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
        attr.mq_maxmsg = capacity as libc::c_long;
        attr.mq_msgsize = msgsize as libc::c_long;
        // SAFETY: `name` is a NUL-terminated string and `attr` a valid mq_attr, both alive for
        // the call; with O_CREAT, mq_open reads exactly the mode and the attribute pointer.
        let mqd = unsafe {
            libc::mq_open(
                name.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
                0o600 as libc::mode_t,
                &attr as *const libc::mq_attr,
            )
        };
        if mqd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: on Linux an mqd_t is a file descriptor (mq_overview(7)), just opened and
        // owned by nobody else; closing it is mq_close(3).
        let fd = unsafe { OwnedFd::from_raw_fd(mqd) };
        // SAFETY: `name` is a NUL-terminated string alive for the call.
        if unsafe { libc::mq_unlink(name.as_ptr()) } != 0 {
            return Err(Errno::last());
        }
        Ok(MessageQueue { fd, msgsize })
    }

    /// The queue our parent handed down as descriptor `fd`.
    pub fn inherited(fd: RawFd) -> Result<MessageQueue> {
        use std::os::fd::AsRawFd;
        let fd = inherited_fd(fd)?;
        // SAFETY: mq_attr is plain integers; all zeros is a valid value to be overwritten.
        let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
        // SAFETY: `attr` is a valid, writable mq_attr; an fd that is no queue gives EBADF.
        if unsafe { libc::mq_getattr(fd.as_raw_fd(), &mut attr) } != 0 {
            return Err(nix::errno::Errno::last())
                .with_context(|| format!("descriptor {} is not a message queue", fd.as_raw_fd()));
        }
        Ok(MessageQueue {
            fd,
            msgsize: attr.mq_msgsize as usize,
        })
    }

    /// The largest message, in bytes.
    pub fn msgsize(&self) -> usize {
        self.msgsize
    }

    /// Put `msg` on the queue if there is room now; `false` when the queue is full.
    pub fn try_send(&self, msg: &[u8]) -> Result<bool> {
        self.send_until(msg, Some(&PAST))
    }

    /// Put `msg` on the queue, waiting while it is full.
    pub fn send(&self, msg: &[u8]) -> Result<()> {
        self.send_until(msg, None).map(drop)
    }

    /// mq_timedsend(3) with a deadline already past: it returns ETIMEDOUT at once instead of
    /// waiting when the queue is full. (O_NONBLOCK would do it too, but it belongs to the open
    /// queue description, which every process of the run shares.)
    fn send_until(&self, msg: &[u8], deadline: Option<&libc::timespec>) -> Result<bool> {
        use nix::errno::Errno;
        use std::os::fd::AsRawFd;
        loop {
            let r = match deadline {
                // SAFETY: `msg` is valid for `msg.len()` bytes and `t` a valid timespec, both
                // alive for the call.
                Some(t) => unsafe {
                    libc::mq_timedsend(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0, t)
                },
                // SAFETY: as above, without a deadline.
                None => unsafe {
                    libc::mq_send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0)
                },
            };
            if r == 0 {
                return Ok(true);
            }
            match Errno::last() {
                Errno::ETIMEDOUT | Errno::EAGAIN => return Ok(false),
                Errno::EINTR => continue,
                e => return Err(e).context("mq_send"),
            }
        }
    }

    /// Take the oldest message into `buf` if there is one now: its length, or `None` when
    /// the queue is empty.
    pub fn try_receive(&self, buf: &mut [u8]) -> Result<Option<usize>> {
        self.receive_until(buf, Some(&PAST))
    }

    /// Take the oldest message into `buf`, waiting while the queue is empty.
    pub fn receive(&self, buf: &mut [u8]) -> Result<usize> {
        self.receive_until(buf, None)?
            .context("mq_receive returned nothing")
    }

    fn receive_until(
        &self,
        buf: &mut [u8],
        deadline: Option<&libc::timespec>,
    ) -> Result<Option<usize>> {
        use nix::errno::Errno;
        use std::os::fd::AsRawFd;
        if buf.len() < self.msgsize {
            bail!(
                "a buffer of {} bytes for messages of {}",
                buf.len(),
                self.msgsize
            );
        }
        loop {
            let mut prio = 0;
            let n = match deadline {
                // SAFETY: `buf` is valid and writable for `buf.len()` bytes, `prio` and `t`
                // are valid for the call.
                Some(t) => unsafe {
                    libc::mq_timedreceive(
                        self.fd.as_raw_fd(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        &mut prio,
                        t,
                    )
                },
                // SAFETY: as above, without a deadline.
                None => unsafe {
                    libc::mq_receive(
                        self.fd.as_raw_fd(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        &mut prio,
                    )
                },
            };
            if n >= 0 {
                return Ok(Some(n as usize));
            }
            match Errno::last() {
                Errno::ETIMEDOUT | Errno::EAGAIN => return Ok(None),
                Errno::EINTR => continue,
                e => return Err(e).context("mq_receive"),
            }
        }
    }
}

/// A deadline long past (the epoch, on CLOCK_REALTIME): "do not wait".
const PAST: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

impl AsFd for MessageQueue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
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

    #[test]
    fn a_robust_mutex_survives_its_holders_death() {
        let memory = SharedMemory::create(c"procdemo-test", 1).unwrap();
        let mutex = memory.mutex().unwrap();
        assert!(!mutex.lock().unwrap().recovered);
        // A thread takes the lock and ends holding it: the kernel walks its robust list at
        // exit and marks the lock "owner died", as it would for a killed process.
        std::thread::scope(|s| {
            s.spawn(|| std::mem::forget(mutex.lock().unwrap()));
        });
        let held = mutex.lock().unwrap();
        assert!(held.recovered, "EOWNERDEAD was not reported");
        drop(held);
        // Consistent again: the next holder gets it plainly.
        assert!(!mutex.lock().unwrap().recovered);
    }

    #[test]
    fn shared_words_start_at_zero_and_are_the_same_through_another_mapping() {
        use std::os::fd::IntoRawFd;
        let memory = SharedMemory::create(c"procdemo-test", 3).unwrap();
        assert_eq!(memory.words().len(), 3);
        assert!(memory
            .words()
            .iter()
            .all(|w| w.load(Ordering::Relaxed) == 0));
        // A second mapping of the same file (as a child makes of its inherited descriptor),
        // which takes over the duplicate descriptor.
        let dup = nix::unistd::dup(memory.fd()).unwrap();
        let other = SharedMemory::inherited(dup.into_raw_fd(), 3).unwrap();
        assert_ne!(memory.words().as_ptr(), other.words().as_ptr());
        memory.words()[2].store(42, Ordering::Relaxed);
        assert_eq!(other.words()[2].load(Ordering::Relaxed), 42);
        assert_eq!(memory.inode().unwrap(), other.inode().unwrap());
        // Larger than the file: refused, never mapped past its end.
        let dup = nix::unistd::dup(memory.fd()).unwrap();
        assert!(SharedMemory::inherited(dup.into_raw_fd(), 1000).is_err());
    }

    #[test]
    fn a_message_queue_is_bounded_first_in_first_out_and_has_no_name() {
        let name = format!(
            "/procdemo-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        );
        let name = std::ffi::CString::new(name.replace(['(', ')'], "")).unwrap();
        let queue = MessageQueue::create_unlinked(&name, 2, 16).unwrap();
        // The name is gone at once: opening it again finds nothing.
        // SAFETY (test): a plain mq_open of a NUL-terminated name, without O_CREAT.
        let again = unsafe { libc::mq_open(name.as_ptr(), libc::O_RDONLY) };
        assert_eq!(again, -1);
        assert_eq!(nix::errno::Errno::last(), nix::errno::Errno::ENOENT);
        let mut buf = [0u8; 16];
        assert_eq!(queue.try_receive(&mut buf).unwrap(), None, "empty");
        assert!(queue.try_send(b"a").unwrap());
        assert!(queue.try_send(b"bc").unwrap());
        assert!(!queue.try_send(b"d").unwrap(), "full at its capacity");
        assert_eq!(queue.receive(&mut buf).unwrap(), 1);
        assert_eq!(&buf[..1], b"a");
        assert_eq!(queue.try_receive(&mut buf).unwrap(), Some(2));
        assert_eq!(&buf[..2], b"bc");
        assert!(
            queue.try_receive(&mut [0u8; 8]).is_err(),
            "a buffer too small"
        );
    }
}
