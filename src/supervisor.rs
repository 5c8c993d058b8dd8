//! The parent's side of every scenario: start children, wait for them, and never lose one.
//!
//! A [`Supervisor`] owns the children it starts. Its wait loop is the classic one from
//! signalfd(2): SIGCHLD, SIGINT and SIGTERM are blocked, so instead of interrupting the
//! program at a random point they queue up on a file descriptor, and `ppoll(2)` sleeps until
//! one arrives or a timeout passes. Each SIGCHLD is followed by `waitpid(-1, WNOHANG)` until
//! nothing is left to collect, because signals of one kind merge while pending (signal(7)):
//! three children ending close together may raise a single SIGCHLD.
//!
//! Dropping the supervisor (after an error, Ctrl-C, SIGTERM, a closed stdout) stops every
//! child still running and reaps it, so no path leaves an orphan or a zombie behind.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::time::TimeSpec;
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, BorrowedFd};

use crate::child::{self, Method, Role, Spec};
use crate::error::{code, OutputClosed, Stopped};
use crate::event::{Common, Ended, Mark};
use crate::sink::Out;
use crate::sys;
use crate::time::TimeScale;
use crate::timeline::record;

/// How long children get to end after SIGTERM before they are sent SIGKILL.
pub const GRACE: Duration = Duration::from_secs(1);

struct Running {
    pid: Pid,
    name: String,
}

pub struct Supervisor<'o> {
    out: &'o Out,
    scale: TimeScale,
    signals: SignalFd,
    running: Vec<Running>,
    /// Children reaped but not yet asked for by `join`, with how they ended.
    reaped: Vec<(Pid, Ended)>,
    started: usize,
    /// The exit codes that mean a child did its job (0, unless the lesson says otherwise).
    expected: Vec<i32>,
    /// Children that exited with any other code: (name, pid, code).
    failed: Vec<(String, Pid, i32)>,
}

impl<'o> Supervisor<'o> {
    /// Take over SIGCHLD, SIGINT and SIGTERM for the main process.
    pub fn new(out: &'o Out, scale: TimeScale) -> Result<Self> {
        sys::restore_sigchld()?;
        let mut mask = SigSet::empty();
        for sig in sys::WATCHED {
            mask.add(sig);
        }
        // Blocked in this (only) thread. Children do not inherit the block: the standard
        // library's spawn clears the mask, and a forked child clears it itself.
        mask.thread_block().context("sigprocmask")?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .context("signalfd")?;
        Ok(Supervisor {
            out,
            scale,
            signals,
            running: Vec::new(),
            reaped: Vec::new(),
            started: 0,
            expected: vec![code::SUCCESS],
            failed: Vec::new(),
        })
    }

    /// The exit codes that mean a child did its job, when 0 is not the only one (a tickets
    /// buyer answers "sold out" with its own code).
    pub fn expect_codes(&mut self, codes: &[i32]) {
        self.expected = codes.to_vec();
    }

    /// The end of a run that went well so far: every child that exited with a code it should
    /// not have fails the run, by name. (A child killed by a signal is not a failure of its
    /// own: its `exit` event already says who ended it.)
    pub fn finish(&mut self) -> Result<()> {
        self.join_all()?;
        match self.failed.as_slice() {
            [] => Ok(()),
            [(name, pid, code)] => {
                anyhow::bail!("{name} (pid {pid}) failed with exit code {code}; it said why above")
            }
            [(name, pid, code), rest @ ..] => anyhow::bail!(
                "{} children failed, the first {name} (pid {pid}) with exit code {code}; \
                 each said why above",
                rest.len() + 1
            ),
        }
    }

    /// Start a child named `name` doing `role`, by re-executing procdemo or by fork alone.
    pub fn start<R: Role>(&mut self, name: String, role: R, method: Method) -> Result<Pid> {
        // A Ctrl-C during a long start loop should not wait for the loop to finish.
        self.poll(Some(Duration::ZERO))?;
        let spec = Spec {
            name: name.clone(),
            parent: nix::unistd::getpid(),
            clock: self.out.clock(),
            scale: self.scale,
            format: self.out.format(),
            timeline: record::inherited(),
        };
        let started = match method {
            Method::Exec => spec
                .command(&role)
                .spawn()
                .map(|c| Pid::from_raw(c.id() as i32)),
            Method::Fork => sys::fork_child(|| child::run(spec, role))
                .map_err(|e| std::io::Error::other(format!("{e:#}"))),
        };
        let pid = started.with_context(|| {
            format!(
                "could not start {name} ({} child(ren) had been started)",
                self.started
            )
        })?;
        self.started += 1;
        self.running.push(Running {
            pid,
            name: name.clone(),
        });
        self.out.emit(&Common::Spawned {
            child: pid,
            child_name: name,
        })?;
        Ok(pid)
    }

    /// Wait until `pid` has ended and been reaped: Python's `p.join()`.
    pub fn join(&mut self, pid: Pid) -> Result<Ended> {
        loop {
            if let Some(i) = self.reaped.iter().position(|(p, _)| *p == pid) {
                return Ok(self.reaped.swap_remove(i).1);
            }
            anyhow::ensure!(
                self.running.iter().any(|r| r.pid == pid),
                "{pid} is not a child of this run"
            );
            self.poll(None)?;
        }
    }

    /// Wait until every child has ended and been reaped.
    pub fn join_all(&mut self) -> Result<()> {
        while !self.running.is_empty() {
            self.poll(None)?;
        }
        self.reaped.clear();
        Ok(())
    }

    /// Let the tutorial's `seconds` (scaled) pass, reaping children meanwhile and stopping at
    /// once on SIGINT or SIGTERM.
    pub fn sleep(&mut self, seconds: f64) -> Result<()> {
        let Some(d) = self.scale.of(seconds) else {
            return self.poll(Some(Duration::ZERO));
        };
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            self.poll(Some(left))?;
            if left.is_zero() {
                return Ok(());
            }
        }
    }

    /// Is `pid` a child of this run that has not been reaped yet?
    pub fn is_running(&self, pid: Pid) -> bool {
        self.running.iter().any(|r| r.pid == pid)
    }

    /// End a child: SIGTERM, up to `GRACE` to go, then SIGKILL; reap it and say how it ended.
    pub fn terminate(&mut self, pid: Pid) -> Result<Ended> {
        if self.is_running(pid) {
            // Only a pid we have not reaped yet is signalled: until waitpid collects it, the
            // kernel keeps the pid reserved for our child, even as a zombie, so it can never
            // belong to an unrelated process.
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + GRACE;
            while self.is_running(pid) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let _ = kill(pid, Signal::SIGKILL);
                    break;
                }
                self.poll(Some(left))?;
            }
        }
        self.join(pid)
    }

    /// Wait until one of `fds` is ready for what it asks (a queue with room, a pipe with data),
    /// a child ends, or a signal arrives, reaping whatever ended meanwhile: a main that waits
    /// on a queue or a pipe stays responsive to Ctrl-C and to its children. Returns what each
    /// of `fds` reported (empty: not ready yet).
    pub fn wait_ready(&mut self, fds: &[(BorrowedFd<'_>, PollFlags)]) -> Result<Vec<PollFlags>> {
        self.poll_with(fds, None)
    }

    /// Wait up to `timeout` (forever with `None`) for a signal, then reap whatever ended.
    fn poll(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.poll_with(&[], timeout).map(drop)
    }

    fn poll_with(
        &mut self,
        extra: &[(BorrowedFd<'_>, PollFlags)],
        timeout: Option<Duration>,
    ) -> Result<Vec<PollFlags>> {
        let ts = timeout.map(TimeSpec::from_duration);
        let stdout = std::io::stdout();
        // Watching stdout with no events requested still reports POLLERR once the reading end
        // of a pipe is closed (pipe(7)), so `procdemo | head -1` ends the run even while
        // the main has nothing to write. Regular files and terminals report nothing here.
        let mut fds = vec![
            PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(stdout.as_fd(), PollFlags::empty()),
        ];
        fds.extend(extra.iter().map(|&(fd, events)| PollFd::new(fd, events)));
        match ppoll(&mut fds, ts, None) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("ppoll"),
        }
        let gone = PollFlags::POLLERR | PollFlags::POLLHUP;
        if fds[1].revents().is_some_and(|r| r.intersects(gone)) {
            return Err(OutputClosed.into());
        }
        let ready = fds[2..]
            .iter()
            .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
            .collect();
        // No signal pending, so no child has ended since the last reap: a wake-up for one of
        // `extra` alone (a result on a pipe, room in a queue) costs no further system call.
        let signalled = fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN));
        drop(fds);
        if !signalled {
            return Ok(ready);
        }
        let mut stop = None;
        while let Some(info) = self.signals.read_signal().context("reading signalfd")? {
            // SIGCHLD needs nothing here: reap() below collects every ended child.
            if let Ok(sig @ (Signal::SIGINT | Signal::SIGTERM)) =
                Signal::try_from(info.ssi_signo as i32)
            {
                stop = stop.or(Some(sig));
            }
        }
        self.reap()?;
        if let Some(sig) = stop {
            self.stop_all(sig);
            return Err(Stopped(sig).into());
        }
        Ok(ready)
    }

    /// SIGINT or SIGTERM arrived: end every child still running and report how each ended.
    /// After Ctrl-C they usually have died of SIGINT already; SIGTERM to the main alone
    /// reaches only the main, so each child is sent SIGTERM by pid.
    fn stop_all(&mut self, sig: Signal) {
        let _ = self.out.emit(&Common::Stopping {
            signal: sig,
            children: self.running.len(),
        });
        self.end_all(true);
    }

    /// SIGTERM to every running child, up to `GRACE` for them to go, SIGKILL to the rest, and
    /// reap them all. With `report`, each end is an `exit` event (a closed stdout does not
    /// keep us from reaping).
    fn end_all(&mut self, report: bool) {
        for r in &self.running {
            // By pid, never our process group: `procdemo | tee` shares that group with tee.
            let _ = kill(r.pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + GRACE;
        loop {
            if report {
                let _ = self.reap();
            } else {
                while let Some((pid, _)) = reap_one(Some(WaitPidFlag::WNOHANG)) {
                    self.running.retain(|r| r.pid != pid);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if self.running.is_empty() || left.is_zero() {
                break;
            }
            let mut fds = [PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
            let _ = ppoll(&mut fds, Some(TimeSpec::from_duration(left)), None);
            while let Ok(Some(_)) = self.signals.read_signal() {}
        }
        for r in &self.running {
            let _ = kill(r.pid, Signal::SIGKILL);
        }
        for r in self.running.drain(..) {
            // SIGKILL cannot be caught or ignored: this wait is short.
            while let Err(Errno::EINTR) = waitpid(r.pid, None) {}
        }
    }

    /// Collect every child that has ended, without blocking, and report each one.
    ///
    /// A child that has exited is a zombie until it is reaped. With `--timeline` the moment
    /// the main first sees it so is marked: `waitid(WNOWAIT)` reports an exited child and
    /// leaves it waitable (wait(2)), then `waitpid` reaps it. The chart draws the stretch in
    /// between, however brief.
    fn reap(&mut self) -> Result<()> {
        loop {
            if record::recording() {
                match exited_unreaped() {
                    Some(pid) => self.out.mark(Mark::Exited {
                        child: pid.as_raw(),
                    }),
                    None => return Ok(()),
                }
            }
            let Some((pid, ended)) = reap_one(Some(WaitPidFlag::WNOHANG)) else {
                return Ok(());
            };
            let Some(i) = self.running.iter().position(|r| r.pid == pid) else {
                continue;
            };
            let child = self.running.remove(i);
            if let Ended::Code(c) = ended {
                if !self.expected.contains(&c) {
                    self.failed.push((child.name.clone(), pid, c));
                }
            }
            self.reaped.push((pid, ended));
            self.out.emit(&Common::Exit {
                child: pid,
                child_name: child.name,
                ended,
            })?;
        }
    }
}

/// A child that has exited and not been reaped yet, left as it is (`WNOWAIT`).
fn exited_unreaped() -> Option<Pid> {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    loop {
        return match waitid(Id::All, flags) {
            Ok(status) => status.pid(),
            Err(Errno::EINTR) => continue,
            Err(_) => None,
        };
    }
}

/// One `waitpid(-1)`: `None` when nothing (more) can be collected now.
fn reap_one(flags: Option<WaitPidFlag>) -> Option<(Pid, Ended)> {
    loop {
        return match waitpid(None::<Pid>, flags) {
            Ok(WaitStatus::Exited(pid, code)) => Some((pid, Ended::Code(code))),
            Ok(WaitStatus::Signaled(pid, sig, _)) => Some((pid, Ended::Signal(sig))),
            Ok(WaitStatus::StillAlive) => None,
            Ok(_) => continue, // stopped or continued: not an end
            Err(Errno::EINTR) => continue,
            Err(_) => None, // ECHILD: no child left at all
        };
    }
}

impl Drop for Supervisor<'_> {
    /// The guard: whatever path led here (an error, a closed stdout), no child outlives the
    /// supervisor.
    fn drop(&mut self) {
        if !self.running.is_empty() {
            self.end_all(false);
        }
    }
}
