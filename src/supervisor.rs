//! The parent's side of every scenario: start children, wait for them, and never lose one.
//!
//! A [`Supervisor`] owns the children it starts. Its wait loop is the classic one from
//! signalfd(2): SIGCHLD, SIGINT and SIGTERM are blocked, so instead of interrupting the
//! program at a random point they queue up on a file descriptor, and `ppoll(2)` sleeps until
//! one arrives or a timeout passes. Each SIGCHLD is followed by `waitpid(-1, WNOHANG)` until
//! nothing is left to collect, because signals of one kind merge while pending (signal(7)):
//! three children ending close together may raise a single SIGCHLD. The signalfd lives in
//! `watch`, below the sink: a main waiting for room on a full stdout waits on it too, so
//! SIGINT and SIGTERM reach it there as well.
//!
//! Dropping the supervisor (after an error, Ctrl-C, SIGTERM, a closed stdout) stops every
//! child still running and reaps it, so no path leaves an orphan or a zombie behind. Every
//! child reaped, on every path, gets exactly one `exit` event, wherever stdout can still
//! take it: after a closed stdout it has nowhere to go, and once the run is stopping it is
//! written only if stdout has room at once (see `sink::write_line`).
//!
//! Two lessons need more than start-and-reap. `zombie` *holds* children: once one has
//! exited, nothing reaps it until the lesson joins it, so it stays a zombie meanwhile
//! ([`hold`](Supervisor::hold), [`wait_exited`](Supervisor::wait_exited)). `orphan` makes the
//! main a child subreaper, which adopts a grandchild whose parent has exited
//! ([`become_subreaper`](Supervisor::become_subreaper), [`adopt`](Supervisor::adopt)), and
//! watches a process that is not its child through a pidfd
//! ([`wait_readable`](Supervisor::wait_readable)).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::BorrowedFd;

use crate::child::{self, Method, Role, Spec};
use crate::error::{code, ChildrenFailed, CouldNotStart, OutputClosed, Stopped};
use crate::event::{Common, Ended, Mark, Span};
use crate::procfs;
use crate::sink::Out;
use crate::sys;
use crate::time::TimeScale;
use crate::timeline::record;
use crate::watch;

/// How long children get to end after SIGTERM before they are sent SIGKILL.
pub const GRACE: Duration = Duration::from_secs(1);

struct Running {
    pid: Pid,
    name: String,
    /// Left unreaped once it has exited, a zombie, until `join` (see [`Supervisor::hold`]).
    held: bool,
    /// How it ended, once seen exited with `waitid(WNOWAIT)` and not reaped yet.
    exited: Option<Ended>,
}

impl Running {
    fn new(pid: Pid, name: String) -> Running {
        Running {
            pid,
            name,
            held: false,
            exited: None,
        }
    }
}

pub struct Supervisor<'o> {
    out: &'o Out,
    scale: TimeScale,
    running: Vec<Running>,
    /// Children reaped but not yet asked for by `join`, with how they ended.
    reaped: Vec<(Pid, Ended)>,
    started: usize,
    /// The exit codes that mean a child did its job (0, unless the lesson says otherwise).
    expected: Vec<i32>,
    /// Children that exited with any other code: (name, pid, code).
    failed: Vec<(String, Pid, i32)>,
    /// The main is a child subreaper: orphans among its descendants become its children.
    subreaper: bool,
    /// Adopted orphans reaped before the lesson named them (see [`Supervisor::adopt`]).
    strays: Vec<(Pid, Ended)>,
    /// The stop path has run (`stop_all`): its `stopping` event is out.
    stopped: bool,
}

impl<'o> Supervisor<'o> {
    /// Take over SIGCHLD, SIGINT and SIGTERM for the main process.
    pub fn new(out: &'o Out, scale: TimeScale) -> Result<Self> {
        sys::restore_sigchld()?;
        watch::start()?;
        Ok(Supervisor {
            out,
            scale,
            running: Vec::new(),
            reaped: Vec::new(),
            started: 0,
            expected: vec![code::SUCCESS],
            failed: Vec::new(),
            subreaper: false,
            strays: Vec::new(),
            stopped: false,
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
        match self.failed.first() {
            None => Ok(()),
            Some((name, pid, code)) => Err(ChildrenFailed {
                count: self.failed.len(),
                first: name.clone(),
                pid: pid.as_raw(),
                code: *code,
            }
            .into()),
        }
    }

    /// Start a child named `name` doing `role`, by re-executing procdemo or by fork alone.
    pub fn start<R: Role>(&mut self, name: String, role: R, method: Method) -> Result<Pid> {
        // A Ctrl-C during a long start loop should not wait for the loop to finish.
        self.poll(Some(Duration::ZERO))?;
        let spec = spec(self.out, self.scale, &name);
        let started = match method {
            Method::Exec => spec
                .command(&role)
                .spawn()
                .map(|c| Pid::from_raw(c.id() as i32)),
            Method::Fork => sys::fork_child(|| child::run(spec, role))
                .map_err(|e| std::io::Error::other(format!("{e:#}"))),
        };
        let pid = started.context(CouldNotStart {
            name: name.clone(),
            started: self.started,
        })?;
        self.started += 1;
        self.running.push(Running::new(pid, name.clone()));
        self.out.emit(&Common::Spawned {
            child: pid,
            child_name: name,
        })?;
        Ok(pid)
    }

    /// Take charge of `name` (pid `pid`), a process this run did not start itself: a
    /// grandchild that one of our children started, which the kernel re-parents to us when
    /// that child dies because we are a child subreaper (`sys::become_subreaper`). From now on
    /// it is reaped, reported and stopped like our own children.
    ///
    /// Its parent must be one of our children, started before it (so that, when every child
    /// is stopped, its parent is reaped first and it is ours by the time we wait for it), and
    /// it must not have been reaped by that parent: until one of the two reaps it, its pid
    /// cannot be reused, so signalling it never hits an unrelated process.
    pub fn adopt_grandchild(&mut self, pid: Pid, name: String) {
        if !self.is_running(pid) {
            self.running.push(Running::new(pid, name));
        }
    }

    /// Send `sig` to `pid` if it is a child of this run not yet reaped (so the pid is still
    /// ours: see `terminate`). Returns whether it was sent.
    pub fn signal(&self, pid: Pid, sig: Signal) -> Result<bool> {
        if !self.is_running(pid) {
            return Ok(false);
        }
        kill(pid, sig).with_context(|| format!("kill({pid}, {})", sig.as_str()))?;
        Ok(true)
    }

    /// Wait up to `timeout` (real time, not scaled) until `fd` is readable or hung up,
    /// reaping children meanwhile and stopping at once on SIGINT or SIGTERM. Without `fd`,
    /// just wait. Returns whether `fd` is ready.
    pub fn wait_readable_for(
        &mut self,
        fd: Option<BorrowedFd<'_>>,
        timeout: Duration,
    ) -> Result<bool> {
        let fds: Vec<(BorrowedFd<'_>, PollFlags)> =
            fd.into_iter().map(|fd| (fd, PollFlags::POLLIN)).collect();
        let ready = self.poll_with(&fds, Some(timeout))?;
        Ok(ready.first().is_some_and(|r| !r.is_empty()))
    }

    /// Wait until `pid` has ended and been reaped: Python's `p.join()`. A held child is let go
    /// and reaped now.
    pub fn join(&mut self, pid: Pid) -> Result<Ended> {
        let mut waiting = Waiting::new(self.out);
        if let Some(r) = self.running.iter_mut().find(|r| r.pid == pid && r.held) {
            r.held = false;
            // Its SIGCHLD may have been read long ago: collect it now, not at the next signal
            // (a poll, not a bare reap, so that a pending Ctrl-C is seen as well).
            self.poll(Some(Duration::ZERO))?;
        }
        loop {
            if let Some(i) = self.reaped.iter().position(|(p, _)| *p == pid) {
                return Ok(self.reaped.swap_remove(i).1);
            }
            anyhow::ensure!(
                self.running.iter().any(|r| r.pid == pid),
                "{pid} is not a child of this run"
            );
            waiting.begin();
            self.poll(None)?;
        }
    }

    /// Wait until every child has ended and been reaped, held ones included.
    pub fn join_all(&mut self) -> Result<()> {
        let mut waiting = Waiting::new(self.out);
        if self.running.iter().any(|r| r.held) {
            self.running.iter_mut().for_each(|r| r.held = false);
            self.poll(Some(Duration::ZERO))?;
        }
        while !self.running.is_empty() {
            waiting.begin();
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

    /// Hold child `pid`: once it has exited, leave it a zombie, unreaped, until `join(pid)`
    /// (or until the run ends, on whatever path). Call it right after `start`, before anything
    /// waits: a child already reaped cannot be held.
    ///
    /// While any child is held, the wait loop stops calling `waitpid(-1)`, which would reap
    /// whichever child had exited, held or not: it asks child by child instead.
    pub fn hold(&mut self, pid: Pid) -> Result<()> {
        let r = self
            .running
            .iter_mut()
            .find(|r| r.pid == pid)
            .with_context(|| format!("{pid} is not an unreaped child of this run"))?;
        r.held = true;
        Ok(())
    }

    /// Wait until held child `pid` has exited, and say how it ended; it stays a zombie. The
    /// exit is seen with `waitid(WNOWAIT)`, which reports it and leaves the child waitable
    /// (waitid(2)).
    pub fn wait_exited(&mut self, pid: Pid) -> Result<Ended> {
        loop {
            let r = self
                .running
                .iter()
                .find(|r| r.pid == pid && r.held)
                .with_context(|| format!("{pid} is not a held child of this run"))?;
            if let Some(ended) = r.exited {
                return Ok(ended);
            }
            self.poll(None)?;
        }
    }

    /// Make the main a child subreaper (prctl(2) `PR_SET_CHILD_SUBREAPER`): when a child of
    /// ours exits before its own children, they are re-parented to us instead of to init. From
    /// then on, every exit path also ends and reaps such adopted orphans, named or not.
    pub fn become_subreaper(&mut self) -> Result<()> {
        sys::become_subreaper()?;
        self.subreaper = true;
        Ok(())
    }

    /// Take `pid`, an orphan re-parented to this subreaper, as one of our children named
    /// `name`: `join` waits for it, its `exit` is reported, every exit path ends it. If it was
    /// already reaped (the wait loop collects every child), its `exit` is reported now.
    pub fn adopt(&mut self, pid: Pid, name: String) -> Result<()> {
        anyhow::ensure!(self.subreaper, "only a subreaper adopts orphans");
        if let Some(i) = self.strays.iter().position(|(p, _)| *p == pid) {
            let (_, ended) = self.strays.swap_remove(i);
            self.running.push(Running::new(pid, name));
            return self.report(self.running.len() - 1, ended);
        }
        let parent = procfs::stat(Some(pid))
            .with_context(|| format!("{name} (pid {pid}) to adopt"))?
            .ppid;
        anyhow::ensure!(
            parent == nix::unistd::getpid(),
            "{name} (pid {pid}) has parent {parent}, not this process"
        );
        self.running.push(Running::new(pid, name));
        Ok(())
    }

    /// Wait until `fd` is readable (a pidfd: until its process has ended), reaping children
    /// meanwhile and stopping at once on SIGINT or SIGTERM, as `join` does.
    pub fn wait_readable(&mut self, fd: BorrowedFd<'_>) -> Result<()> {
        while self.poll_with(&[(fd, PollFlags::POLLIN)], None)?[0].is_empty() {}
        Ok(())
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

    /// `poll`, also waking when one of `extra` reports one of the events it asks for (or
    /// POLLERR, POLLHUP); returns what each of them reported.
    fn poll_with(
        &mut self,
        extra: &[(BorrowedFd<'_>, PollFlags)],
        timeout: Option<Duration>,
    ) -> Result<Vec<PollFlags>> {
        // A SIGCHLD the sink read while it waited for room on stdout was noted, not lost:
        // this wait then does not sleep, and the reap below collects that child.
        let timeout = match watch::take_child() {
            true => Some(Duration::ZERO),
            false => timeout,
        };
        // Watching stdout with no events requested still reports POLLERR once the reading end
        // of a pipe is closed (pipe(7)), so `procdemo | head -1` ends the run even while
        // the main has nothing to write. Regular files and terminals report nothing here.
        let mut fds = vec![(sys::stdout_fd(), PollFlags::empty())];
        fds.extend_from_slice(extra);
        let revents = watch::wait_any(&fds, timeout)?;
        // Every SIGCHLD just read is answered by the reap below.
        watch::take_child();
        let gone = PollFlags::POLLERR | PollFlags::POLLHUP;
        if revents[0].intersects(gone) {
            return Err(OutputClosed.into());
        }
        let ready = revents[1..].to_vec();
        self.reap()?;
        // Noted by this wait, or earlier by the sink: once stopping, always stopping.
        if let Some(sig) = watch::stopping() {
            if !self.stopped {
                self.stop_all(sig);
            }
            return Err(Stopped(sig).into());
        }
        Ok(ready)
    }

    /// SIGINT or SIGTERM arrived: end every child still running and report how each ended.
    /// After Ctrl-C they usually have died of SIGINT already; SIGTERM to the main alone
    /// reaches only the main, so each child is sent SIGTERM by pid.
    fn stop_all(&mut self, sig: Signal) {
        self.stopped = true;
        // Like every line from here on, written only if stdout has room at once.
        let _ = self.out.emit(&Common::Stopping {
            signal: sig,
            children: self.running.len(),
        });
        self.end_all();
    }

    /// SIGTERM to every running child, up to `GRACE` for them to go, SIGKILL to the rest, and
    /// reap them all, each with its `exit` event (a closed stdout does not keep us from
    /// reaping: the event then has nowhere to go).
    fn end_all(&mut self) {
        // A held zombie is dead already; it only needs reaping, which the loop below does.
        self.running.iter_mut().for_each(|r| r.held = false);
        for r in &self.running {
            // By pid, never our process group: `procdemo | tee` shares that group with tee.
            let _ = kill(r.pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + GRACE;
        loop {
            let _ = self.reap();
            let left = deadline.saturating_duration_since(Instant::now());
            if self.running.is_empty() || left.is_zero() {
                break;
            }
            // Until a child ends, or the grace is over. SIGINT or SIGTERM here is only noted.
            let _ = watch::wait(None, Some(left));
            watch::take_child();
        }
        for r in &self.running {
            let _ = kill(r.pid, Signal::SIGKILL);
        }
        for child in std::mem::take(&mut self.running) {
            // SIGKILL cannot be caught or ignored: this wait is short.
            let ended = loop {
                match waitpid(child.pid, None) {
                    Ok(WaitStatus::Exited(_, c)) => break Some(Ended::Code(c)),
                    Ok(WaitStatus::Signaled(_, sig, _)) => break Some(Ended::Signal(sig)),
                    Ok(_) | Err(Errno::EINTR) => continue,
                    Err(_) => break None, // ECHILD: nothing left to reap
                }
            };
            if let Some(ended) = ended {
                let _ = self.ended(child, ended);
            }
        }
        self.sweep_adopted();
    }

    /// As a subreaper, end and reap every child left that this supervisor was never told
    /// about: an orphan re-parented to us before the lesson learned its pid. It is our child
    /// until we reap it, so its pid cannot pass to another process meanwhile, and signalling
    /// it by pid is safe. Bounded by `GRACE`, should one ever hide from `/proc`.
    fn sweep_adopted(&mut self) {
        if !self.subreaper {
            return;
        }
        let me = nix::unistd::getpid();
        let deadline = Instant::now() + GRACE;
        loop {
            for pid in procfs::children_of(me) {
                let _ = kill(pid, Signal::SIGKILL);
            }
            loop {
                match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) => break,
                    Ok(_) | Err(Errno::EINTR) => continue,
                    Err(_) => return, // ECHILD: no child left at all
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            // Until a child ends, briefly. SIGINT or SIGTERM here is only noted.
            let _ = watch::wait(None, Some(left.min(Duration::from_millis(10))));
            watch::take_child();
        }
    }

    /// Collect every child that has ended, without blocking, and report each one.
    ///
    /// A child that has exited is a zombie until it is reaped. With `--timeline` the moment
    /// the main first sees it so is marked: `waitid(WNOWAIT)` reports an exited child and
    /// leaves it waitable (wait(2)), then `waitpid` reaps it. The chart draws the stretch in
    /// between, however brief.
    ///
    /// A failure to write an `exit` event does not stop the collecting: every child that can
    /// be reaped now is, and the first failure is returned at the end.
    fn reap(&mut self) -> Result<()> {
        if self.running.iter().any(|r| r.held) {
            return self.reap_each();
        }
        let mut said = Ok(());
        loop {
            if record::recording() {
                match exited(None) {
                    // Marked once: a child let go by `join` was marked when it was held.
                    Some((pid, _))
                        if !self
                            .running
                            .iter()
                            .any(|r| r.pid == pid && r.exited.is_some()) =>
                    {
                        self.out.mark(Mark::Exited {
                            child: pid.as_raw(),
                        })
                    }
                    Some(_) => {}
                    None => return said,
                }
            }
            let Some((pid, ended)) = reap_one(None, Some(WaitPidFlag::WNOHANG)) else {
                return said;
            };
            match self.running.iter().position(|r| r.pid == pid) {
                Some(i) => said = said.and(self.report(i, ended)),
                // An orphan re-parented to this subreaper, not named yet: kept for `adopt`.
                None => self.strays.push((pid, ended)),
            }
        }
    }

    /// `reap` while children are held: `waitpid(-1)` could reap a held one, so ask each child
    /// in turn whether it has exited (`waitid(P_PID, WNOWAIT)`), and reap only those not held.
    /// Orphans this supervisor does not know are left to `join_all` and the exit paths.
    fn reap_each(&mut self) -> Result<()> {
        let mut i = 0;
        while i < self.running.len() {
            let r = &mut self.running[i];
            if r.exited.is_none() {
                if let Some((_, ended)) = exited(Some(r.pid)) {
                    r.exited = Some(ended);
                    self.out.mark(Mark::Exited {
                        child: r.pid.as_raw(),
                    });
                }
            }
            let r = &self.running[i];
            if r.exited.is_some() && !r.held {
                if let Some((_, ended)) = reap_one(Some(r.pid), Some(WaitPidFlag::WNOHANG)) {
                    self.report(i, ended)?;
                    continue;
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// Child `running[i]` was reaped: take it off the list and report how it ended.
    fn report(&mut self, i: usize, ended: Ended) -> Result<()> {
        let child = self.running.remove(i);
        self.ended(child, ended)
    }

    /// A child of ours was reaped: keep how it ended for `join` and `finish`, and say it, once.
    fn ended(&mut self, child: Running, ended: Ended) -> Result<()> {
        if let Ended::Code(c) = ended {
            if !self.expected.contains(&c) {
                self.failed.push((child.name.clone(), child.pid, c));
            }
        }
        self.reaped.push((child.pid, ended));
        self.out.emit(&Common::Exit {
            child: child.pid,
            child_name: child.name,
            ended,
        })
    }
}

/// The timeline's mark for a main blocked in a join: begun the first time the main blocks
/// (a join of a child that already ended does not wait), ended when the guard goes.
struct Waiting<'o> {
    out: &'o Out,
    begun: bool,
}

impl<'o> Waiting<'o> {
    fn new(out: &'o Out) -> Self {
        Waiting { out, begun: false }
    }

    fn begin(&mut self) {
        if !self.begun {
            self.begun = true;
            self.out.mark(Mark::Begin(Span::Joining));
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.begun {
            self.out.mark(Mark::End(Span::Joining));
        }
    }
}

/// What a child of this process is told: its name, and the run's clock, scale and output.
fn spec(out: &Out, scale: TimeScale, name: &str) -> Spec {
    Spec {
        name: name.to_owned(),
        parent: sys::pid(),
        clock: out.clock(),
        scale,
        format: out.format(),
        timeline: record::inherited(),
    }
}

/// Start a child that no [`Supervisor`] owns: nothing waits for it, stops it or reaps it
/// here. For a child process that starts a grandchild and is then meant to vanish without
/// a word (killed, or exiting at once) while the grandchild lives on: a supervisor's guard
/// would end the grandchild with it. Whoever is meant to reap the grandchild in the end (the
/// main, as a child subreaper) must know it exists. Emits `spawned`, as `Supervisor::start`.
pub fn start_unowned<R: Role>(out: &Out, scale: TimeScale, name: &str, role: &R) -> Result<Pid> {
    let child = spec(out, scale, name)
        .command(role)
        .spawn()
        .with_context(|| format!("could not start {name}"))?;
    let pid = Pid::from_raw(child.id() as i32);
    out.emit(&Common::Spawned {
        child: pid,
        child_name: name.to_owned(),
    })?;
    Ok(pid)
}

/// A child (any child, or the one given) that has exited and not been reaped yet, and how it
/// ended, leaving it as it is (`WNOWAIT`).
fn exited(who: Option<Pid>) -> Option<(Pid, Ended)> {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    loop {
        let id = who.map_or(Id::All, Id::Pid);
        return match waitid(id, flags) {
            Ok(WaitStatus::Exited(pid, code)) => Some((pid, Ended::Code(code))),
            Ok(WaitStatus::Signaled(pid, sig, _)) => Some((pid, Ended::Signal(sig))),
            Err(Errno::EINTR) => continue,
            Ok(_) | Err(_) => None,
        };
    }
}

/// One `waitpid` for any child (`None`) or the one given: `None` when nothing (more) can be
/// collected now.
fn reap_one(who: Option<Pid>, flags: Option<WaitPidFlag>) -> Option<(Pid, Ended)> {
    loop {
        return match waitpid(who, flags) {
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
    /// The guard: whatever path led here (an error, a closed stdout, a child that could not
    /// be started, a SIGINT or SIGTERM that the sink read while the main waited for room on
    /// stdout), no child outlives the supervisor, and each one reaped here gets its `exit`.
    fn drop(&mut self) {
        match watch::stopping() {
            Some(sig) if !self.stopped => self.stop_all(sig),
            _ if !self.running.is_empty() || self.subreaper => self.end_all(),
            _ => {}
        }
    }
}
