//! # daemon: a child that ends when the main ends
//!
//! The tutorial's fourth example: `p.daemon = True` before `p.start()`; the child prints that
//! it is alive every 3 s, forever, while the main prints ten lines 0.1 s apart and ends. A
//! daemonic child does not outlive the main: when the main is done, it sends the child SIGTERM
//! (kill(2)), waits a moment, sends SIGKILL if it must, and reaps it.
//!
//! procdemo goes one step further than Python. If the main is killed with SIGKILL it runs no
//! code at all, so nothing can end the child from the main's side; Python's daemonic children
//! are then orphaned. Here every child has asked the kernel, with `prctl(PR_SET_PDEATHSIG)`,
//! for SIGKILL the moment its parent dies, so it goes too.
//!
//! With `--no-daemon` the child is an ordinary child: it prints three times and ends on its
//! own, and the main waits for it before it exits, as Python does for non-daemonic children.
//!
//! ## `--kill-main`: the fault, shown on purpose
//!
//! Three generations. `main` watches while `Process-1` plays the tutorial's main (it starts
//! `Process-2` as its daemon and prints its lines) and `Process-2` plays the daemon. Once the
//! daemon runs and `Process-1` has printed a few lines, `main` kills `Process-1` with SIGKILL
//! (`killed_main`). By default the daemon dies with it, by the parent-death signal. With
//! `--like-python` the daemon never asked for one, as CPython's never does: it is orphaned,
//! and keeps saying it is alive, with a new parent pid. Which parent? `main` made itself a
//! child subreaper (`PR_SET_CHILD_SUBREAPER`, prctl(2)), so the kernel re-parents the orphan
//! to `main` rather than to init: `main` can still wait for it and reap it. After two of its
//! ticks `main` ends it (`ending_orphan`), where Python would have left it running.
//!
//! Two pipes link `main` to its grandchild, both created by `main` and handed down through
//! `Process-1` (pipe(7)):
//!
//! - the *report* pipe, up: `Process-1` says which line it has printed, `Process-2` its pid,
//!   each tick and its parent pid at that tick. `main` never reads its children's stdout;
//!   this is how it knows when to kill and what became of the daemon.
//! - the *lifeline*, down: only `main` holds its write end, so when `main` is gone for any
//!   reason (SIGKILL included) the kernel closes it, and the daemon, which waits between its
//!   ticks by polling the read end (poll(2)), sees the hang-up at once and ends. That keeps
//!   procdemo's promise that nothing outlives a killed main by more than a second, even for
//!   the daemon that has no parent-death signal. With `--time-scale 0` the daemon does not
//!   sleep between ticks: it waits for `main` to write one byte into the lifeline, so the
//!   events keep their order without a busy loop.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde::Serialize;

use crate::child::{self, bad, DecodeError, Encoder, Fields, Method};
use crate::event::{Accent, Ended, LessonEvent};
use crate::lesson::part::TourPart;
use crate::sink::{Out, Settings};
use crate::supervisor::{self, Supervisor};
use crate::sys;
use crate::time::TimeScale;
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};

/// Seconds between the child's "alive" lines.
const CHILD_PERIOD: f64 = 3.0;
/// Seconds between the main's lines.
const MAIN_PERIOD: f64 = 0.1;
/// How many times an ordinary (`--no-daemon`) child says it is alive before it ends.
const ORDINARY_TICKS: u64 = 3;
/// `--kill-main`: how many of its lines `Process-1` prints before `main` kills it.
const KILL_AFTER_LINES: u64 = 3;
/// `--kill-main --like-python`: how many ticks the orphan shows before `main` ends it.
const ORPHAN_TICKS: usize = 2;
/// `--kill-main`: how long `Process-2` may take to start and say it is alive.
const START_LIMIT: Duration = Duration::from_secs(30);
/// `--kill-main`: how long the daemon may outlive `Process-1` before the run calls the
/// parent-death signal broken. It takes well under a millisecond; this only bounds a bug.
const PDEATHSIG_LIMIT: Duration = Duration::from_secs(5);

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Make the child an ordinary child: it runs 3 ticks and the main waits for it
    #[arg(long, conflicts_with = "kill_main")]
    pub no_daemon: bool,

    /// How many lines the main prints, 0.1 s apart, before it ends (with --kill-main:
    /// Process-1's lines, of which it prints at most 3 before it is killed)
    #[arg(long, value_name = "N", default_value = "10",
          value_parser = |s: &str| crate::number::bounded(s, 0, 10_000))]
    pub ticks: usize,

    /// Three generations: kill Process-1, the tutorial's main, with SIGKILL and watch its
    /// daemon Process-2 end by the parent-death signal
    #[arg(long)]
    pub kill_main: bool,

    /// With --kill-main: start the daemon without a parent-death signal, as CPython does;
    /// it is orphaned and keeps running until main ends it
    #[arg(long, requires = "kill_main")]
    pub like_python: bool,
}

/// In the tour: part 1, the tutorial's own examples.
pub const TOUR: TourPart = TourPart::TUTORIAL;

pub const EXAMPLES: &str = "\
Examples:
  # the daemon dies with the main
  procdemo --timeline daemon --ticks 5
  # an ordinary child is waited for
  procdemo --time-scale 0.1 daemon --no-daemon
  # SIGKILL its main
  procdemo --time-scale 0.1 daemon --kill-main --like-python";

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// child: still alive (`总管正常活着`), tick number from 1.
    Alive { tick: u64 },
    /// main (`Process-1` with `--kill-main`): one of its own lines (`皇帝jason寿正终寝`), from 1.
    Tick { tick: u64, of: u64 },
    /// main: ending the daemon child because the main is done.
    Terminating {
        #[serde(serialize_with = "crate::event::pid")]
        child: Pid,
        child_name: String,
        #[serde(with = "crate::event::signal_name")]
        signal: Signal,
    },
    /// main, `--kill-main`: it has just sent SIGKILL to `Process-1`, the tutorial's main.
    KilledMain {
        #[serde(serialize_with = "crate::event::pid")]
        child: Pid,
        child_name: String,
    },
    /// main, `--kill-main --like-python`: the orphaned daemon still runs after its ticks as
    /// an orphan; Python would leave it so, procdemo ends it now with `signal`.
    EndingOrphan {
        #[serde(serialize_with = "crate::event::pid")]
        child: Pid,
        child_name: String,
        #[serde(with = "crate::event::signal_name")]
        signal: Signal,
    },
}

impl LessonEvent for Event {
    fn accent(&self) -> Accent {
        match self {
            Event::Terminating { .. } | Event::KilledMain { .. } | Event::EndingOrphan { .. } => {
                Accent::Warning
            }
            Event::Alive { .. } | Event::Tick { .. } => Accent::Plain,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub daemon: bool,
    /// The daemon child (`Process-2` with `--kill-main`).
    #[serde(serialize_with = "crate::event::pid")]
    pub child_pid: Pid,
    #[serde(serialize_with = "signal_or_null")]
    pub child_terminated_by: Option<Signal>,
    /// Only with `--kill-main`.
    #[serde(flatten)]
    pub kill_main: Option<KillMain>,
}

/// What `--kill-main` adds to the summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KillMain {
    /// Always true: `Process-1` was killed with SIGKILL.
    pub killed_main: bool,
    /// The daemon outlived `Process-1`: it said it was alive with another parent.
    pub orphaned: bool,
    pub like_python: bool,
    /// From the SIGKILL to the daemon's reap, in milliseconds.
    #[serde(serialize_with = "crate::event::ms")]
    pub outlived_ms: f64,
}

fn signal_or_null<S: serde::Serializer>(sig: &Option<Signal>, s: S) -> Result<S::Ok, S::Error> {
    match sig {
        Some(sig) => s.serialize_str(sig.as_str()),
        None => s.serialize_none(),
    }
}

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    let out = Out::main(s.format, "daemon")?;
    if args.kill_main {
        return kill_main(&out, s.scale, args);
    }
    let mut children = Supervisor::new(&out, s.scale)?;
    let daemon = !args.no_daemon;
    let ticks = (!daemon).then_some(ORDINARY_TICKS);
    // The child's first `alive` comes before the main's first line, as in the tutorial, at
    // any --time-scale: the main waits until the child closes its end of this pipe (or
    // dies, which closes it too).
    let (ready, ready_write) = std::io::pipe().context("pipe")?;
    sys::keep_open_across_exec(&ready_write)?;
    let role = Role::Daemon {
        ticks,
        ready: ready_write.as_raw_fd(),
    };
    let child = children.start("Process-1".into(), role, Method::Exec)?;
    drop(ready_write);
    children.wait_readable(ready.as_fd())?;

    // The main's own work: ten lines, 0.1 s apart.
    let of = args.ticks as u64;
    for tick in 1..=of {
        children.sleep(MAIN_PERIOD)?;
        out.emit(&Event::Tick { tick, of })?;
    }

    // The main is done. A daemon child is ended now; an ordinary one is waited for.
    let ended = if daemon {
        if children.is_running(child) {
            out.emit(&Event::Terminating {
                child,
                child_name: "Process-1".into(),
                signal: Signal::SIGTERM,
            })?;
        }
        children.terminate(child)?
    } else {
        children.join(child)?
    };
    out.emit(&Summary {
        daemon,
        child_pid: child,
        child_terminated_by: signal_of(ended),
        kill_main: None,
    })?;
    children.finish()
}

fn signal_of(ended: Ended) -> Option<Signal> {
    match ended {
        Ended::Signal(sig) => Some(sig),
        Ended::Code(_) => None,
    }
}

/// `--kill-main`: main watches, `Process-1` plays the tutorial's main, `Process-2` its daemon.
fn kill_main(out: &Out, scale: TimeScale, args: &Args) -> Result<()> {
    // Orphans of our children come to us, not to init: we can wait for the daemon even
    // after its parent is gone.
    sys::become_subreaper()?;
    let (report_read, report_write) = std::io::pipe().context("pipe")?;
    let (lifeline_read, lifeline_write) = std::io::pipe().context("pipe")?;
    // The children's ends stay open across exec (down to Process-2); ours stay close-on-exec,
    // so that no child holds the lifeline's write end: only our death may close it.
    sys::keep_open_across_exec(&report_write)?;
    sys::keep_open_across_exec(&lifeline_read)?;
    // Declared before the supervisor, so dropped after it, on every path: once the
    // supervisor has stopped and reaped the children it knows, the lifeline hangs up and
    // any daemon it did not know yet ends and is reaped too.
    let mut lifeline = Lifeline(Some(File::from(OwnedFd::from(lifeline_write))));
    let mut children = Supervisor::new(out, scale)?;

    let pipes = Pipes {
        report: report_write.as_raw_fd(),
        lifeline: lifeline_read.as_raw_fd(),
    };
    let tutorial_main = children.start(
        "Process-1".into(),
        Role::TutorialMain {
            lines: args.ticks as u64,
            like_python: args.like_python,
            pipes,
        },
        Method::Exec,
    )?;
    // Our copies: the report pipe ends only when every writer is gone (pipe(7)).
    drop(report_write);
    drop(lifeline_read);
    let mut reports = Reports::new(report_read);

    // Wait until the daemon runs and Process-1 is at work.
    let kill_after = KILL_AFTER_LINES.min(args.ticks as u64);
    let started = Instant::now();
    while reports.daemon.is_none() || reports.lines < kill_after {
        ensure!(
            children.is_running(tutorial_main),
            "Process-1 ended before main could kill it"
        );
        // Process-2 is not our child yet: if it failed to start, only silence tells.
        ensure!(
            reports.daemon.is_some() || started.elapsed() < START_LIMIT,
            "Process-2 did not say it was alive within {} s",
            START_LIMIT.as_secs()
        );
        reports.wait(&mut children, Duration::from_secs(1))?;
    }
    let daemon = reports.daemon.context("no daemon reported")?;
    // Not our child yet, but it will be the moment Process-1 dies (we are a subreaper).
    children.adopt_grandchild(daemon, "Process-2".into());

    // The fault: the tutorial's main is killed, and runs no more code.
    children.signal(tutorial_main, Signal::SIGKILL)?;
    let killed_at = Instant::now();
    out.emit(&Event::KilledMain {
        child: tutorial_main,
        child_name: "Process-1".into(),
    })?;
    children.join(tutorial_main)?;

    let ended = if args.like_python {
        // No parent-death signal: the daemon lives on as an orphan, and says so.
        let mut nudges = 0;
        while reports.orphan_ticks(tutorial_main) < ORPHAN_TICKS {
            ensure!(
                children.is_running(daemon),
                "Process-2 ended by itself, as an orphan"
            );
            if scale.factor() == 0.0 && nudges <= reports.orphan_ticks(tutorial_main) {
                lifeline.nudge()?;
                nudges += 1;
            }
            reports.wait(&mut children, Duration::from_secs(1))?;
        }
        out.emit(&Event::EndingOrphan {
            child: daemon,
            child_name: "Process-2".into(),
            signal: Signal::SIGTERM,
        })?;
        children.terminate(daemon)?
    } else {
        // The kernel sent it SIGKILL as Process-1 died: it only has to be reaped.
        while children.is_running(daemon) {
            let left = PDEATHSIG_LIMIT.saturating_sub(killed_at.elapsed());
            if left.is_zero() {
                bail!(
                    "Process-2 (pid {daemon}) was still running {} s after Process-1 was \
                     killed: PR_SET_PDEATHSIG did not end it",
                    PDEATHSIG_LIMIT.as_secs()
                );
            }
            reports.wait(&mut children, left)?;
        }
        children.join(daemon)?
    };
    let outlived_ms = killed_at.elapsed().as_secs_f64() * 1000.0;

    out.emit(&Summary {
        daemon: true,
        child_pid: daemon,
        child_terminated_by: signal_of(ended),
        kill_main: Some(KillMain {
            killed_main: true,
            orphaned: reports.orphan_ticks(tutorial_main) > 0,
            like_python: args.like_python,
            outlived_ms,
        }),
    })?;
    children.finish()
}

/// The main's end of the lifeline. Dropping it closes the write end, which every descendant
/// polls: they end at once. Then it reaps whatever was re-parented to us and not reaped yet.
struct Lifeline(Option<File>);

impl Lifeline {
    /// `--time-scale 0`: let the daemon take its next tick now.
    fn nudge(&mut self) -> Result<()> {
        if let Some(w) = &mut self.0 {
            w.write_all(b".").context("writing the lifeline")?;
        }
        Ok(())
    }
}

impl Drop for Lifeline {
    fn drop(&mut self) {
        drop(self.0.take());
        // The supervisor, dropped before us, reaped every child it knew. A daemon it did not
        // know yet (stopped before it said its pid) was re-parented to us when Process-1
        // died; the hang-up ends it within moments. Reap until no child is left, or give up
        // after a while rather than hang.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(2)),
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return, // ECHILD: nothing left
            }
        }
    }
}

/// What main hears from its children on the report pipe.
struct Reports {
    pipe: File,
    open: bool,
    pending: Vec<u8>,
    /// `Process-2`, once it has said its pid.
    daemon: Option<Pid>,
    /// How many lines `Process-1` has printed.
    lines: u64,
    /// The parent pid `Process-2` had at each of its ticks.
    ppids: Vec<Pid>,
}

impl Reports {
    fn new(pipe: std::io::PipeReader) -> Reports {
        Reports {
            pipe: File::from(OwnedFd::from(pipe)),
            open: true,
            pending: Vec::new(),
            daemon: None,
            lines: 0,
            ppids: Vec::new(),
        }
    }

    /// Ticks the daemon took as an orphan: with a parent other than `parent`.
    fn orphan_ticks(&self, parent: Pid) -> usize {
        self.ppids.iter().filter(|&&p| p != parent).count()
    }

    /// Wait up to `timeout` for reports (reaping children, stopping on a signal meanwhile),
    /// and take in what came.
    fn wait(&mut self, children: &mut Supervisor, timeout: Duration) -> Result<()> {
        let fd = self.open.then(|| self.pipe.as_fd());
        if !children.wait_readable_for(fd, timeout)? {
            return Ok(());
        }
        let mut buf = [0u8; 4096];
        // Readable: this read(2) does not block.
        let n = self.pipe.read(&mut buf).context("reading the report pipe")?;
        if n == 0 {
            // Every child holding the write end has ended.
            self.open = false;
            return Ok(());
        }
        self.pending.extend_from_slice(&buf[..n]);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            match std::str::from_utf8(&line).ok().and_then(parse_report) {
                Some(Report::Line) => self.lines += 1,
                Some(Report::Alive { pid, ppid }) => {
                    self.daemon = Some(pid);
                    self.ppids.push(ppid);
                }
                None => bail!("unexpected report {:?}", String::from_utf8_lossy(&line)),
            }
        }
        Ok(())
    }
}

/// One line on the report pipe.
#[derive(Debug, PartialEq)]
enum Report {
    /// `line`: `Process-1` printed one of its lines.
    Line,
    /// `alive PID PPID`: `Process-2` took a tick, with this parent.
    Alive { pid: Pid, ppid: Pid },
}

fn parse_report(line: &str) -> Option<Report> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let pid = |w: &str, least: i32| w.parse().ok().filter(|&p| p >= least).map(Pid::from_raw);
    match words.as_slice() {
        ["line"] => Some(Report::Line),
        // A parent outside our pid namespace shows as 0 (getppid(2)).
        ["alive", me, parent] => Some(Report::Alive {
            pid: pid(me, 1)?,
            ppid: pid(parent, 0)?,
        }),
        _ => None,
    }
}

/// The two pipes `Process-1` and `Process-2` inherit (see the module's comment).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pipes {
    /// Write end of the report pipe, up to main.
    pub report: RawFd,
    /// Read end of the lifeline, from main.
    pub lifeline: RawFd,
}

/// What a child of `daemon` does.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// The tutorial's child: `while True: print('alive'); time.sleep(3)`, or only `ticks`
    /// times (`--no-daemon`). Once it has said it is alive the first time, it closes `ready`,
    /// the write end of a pipe the main waits on.
    Daemon { ticks: Option<u64>, ready: RawFd },
    /// `--kill-main`, `Process-1`: the tutorial's main. Starts `Process-2` as its daemon and
    /// prints its `lines`, until main kills it.
    TutorialMain {
        lines: u64,
        like_python: bool,
        pipes: Pipes,
    },
    /// `--kill-main`, `Process-2`: the tutorial's daemon, reporting each tick to main.
    /// `like_python`: without the parent-death signal.
    TutorialDaemon { like_python: bool, pipes: Pipes },
}

impl child::Role for Role {
    const LESSON: &'static str = "daemon";

    fn encode(&self, kv: &mut Encoder) {
        let pipes = |kv: &mut Encoder, like_python: bool, p: &Pipes| {
            kv.flag("python", like_python);
            kv.number("report", p.report);
            kv.number("lifeline", p.lifeline);
        };
        match self {
            Role::Daemon { ticks, ready } => {
                match ticks {
                    Some(t) => kv.number("ticks", t),
                    None => kv.put("ticks", "forever"),
                }
                kv.number("ready", ready);
            }
            Role::TutorialMain {
                lines,
                like_python,
                pipes: p,
            } => {
                kv.put("as", "main");
                kv.number("lines", lines);
                pipes(kv, *like_python, p);
            }
            Role::TutorialDaemon {
                like_python,
                pipes: p,
            } => {
                kv.put("as", "daemon");
                pipes(kv, *like_python, p);
            }
        }
    }

    fn decode(kv: &mut Fields) -> Result<Self, DecodeError> {
        let pipes = |kv: &mut Fields| -> Result<(bool, Pipes), DecodeError> {
            Ok((
                kv.flag("python")?,
                Pipes {
                    report: kv.descriptor("report")?,
                    lifeline: kv.descriptor("lifeline")?,
                },
            ))
        };
        match kv.optional("as") {
            None => {
                let ticks = match kv.text("ticks")? {
                    "forever" => None,
                    _ => Some(kv.number_in("ticks", 1..=10_000)?),
                };
                let ready = kv.descriptor("ready")?;
                Ok(Role::Daemon { ticks, ready })
            }
            Some(b"main") => {
                let lines = kv.number_in("lines", 0..=10_000)?;
                let (like_python, pipes) = pipes(kv)?;
                Ok(Role::TutorialMain {
                    lines,
                    like_python,
                    pipes,
                })
            }
            Some(b"daemon") => {
                let (like_python, pipes) = pipes(kv)?;
                Ok(Role::TutorialDaemon { like_python, pipes })
            }
            Some(_) => Err(bad("`as` must be main or daemon")),
        }
    }

    /// Python's daemon has no parent-death signal: `--like-python` starts ours without one.
    fn dies_with_parent(&self) -> bool {
        !matches!(
            self,
            Role::TutorialDaemon {
                like_python: true,
                ..
            }
        )
    }

    fn run(self, out: &Out, scale: TimeScale) -> Result<i32> {
        match self {
            Role::Daemon { ticks, ready } => {
                let mut ready = Some(sys::inherited_fd(ready)?);
                for tick in 1.. {
                    out.emit(&Event::Alive { tick })?;
                    // Closing our end tells the main we are alive (end-of-file, pipe(7)).
                    drop(ready.take());
                    if ticks.is_some_and(|t| tick >= t) {
                        break;
                    }
                    if scale.of(CHILD_PERIOD).is_none() && ticks.is_none() {
                        // `--time-scale 0`: the next tick would come at once, and the one
                        // after, a busy loop of lines until the main ends us. Wait for that
                        // end instead, asleep: the lesson (the daemon dies with its main) is
                        // the same.
                        loop {
                            std::thread::park();
                        }
                    }
                    scale.sleep(CHILD_PERIOD);
                }
            }
            Role::TutorialMain {
                lines,
                like_python,
                pipes,
            } => tutorial_main(out, scale, lines, like_python, pipes)?,
            Role::TutorialDaemon { pipes, .. } => tutorial_daemon(out, scale, pipes)?,
        }
        Ok(crate::error::code::SUCCESS)
    }
}

/// `Process-1`: `p.daemon = True; p.start()`, then its lines 0.1 s apart, until main kills
/// it. Its pipes stay open across exec: `Process-2` inherits them under the same numbers.
fn tutorial_main(out: &Out, scale: TimeScale, lines: u64, like_python: bool, pipes: Pipes) -> Result<()> {
    let mut report = File::from(sys::inherited_fd(pipes.report)?);
    let lifeline = sys::inherited_fd(pipes.lifeline)?;
    // Started without a supervisor: when we are killed, no code of ours runs, and while we
    // live we never end it. Whether it dies with us is its own business (its role says).
    supervisor::start_unowned(
        out,
        scale,
        "Process-2",
        &Role::TutorialDaemon { like_python, pipes },
    )?;
    for tick in 1..=lines {
        scale.sleep(MAIN_PERIOD);
        out.emit(&Event::Tick { tick, of: lines })?;
        report.write_all(b"line\n").context("reporting to main")?;
    }
    // The tutorial's main would end here, and its daemon with it. This one is about to be
    // killed: it waits for that (or for main's end, which the lifeline would tell).
    while wait_on_lifeline(&lifeline, None)? != Wake::HungUp {}
    Ok(())
}

/// `Process-2`: "alive" every 3 s, each tick reported to main with our parent pid, until
/// killed, or until main is gone.
fn tutorial_daemon(out: &Out, scale: TimeScale, pipes: Pipes) -> Result<()> {
    let mut report = File::from(sys::inherited_fd(pipes.report)?);
    let lifeline = sys::inherited_fd(pipes.lifeline)?;
    let me = nix::unistd::getpid();
    for tick in 1.. {
        out.emit(&Event::Alive { tick })?;
        // Asked now: once our parent is dead, this names the process that adopted us.
        let ppid = nix::unistd::getppid();
        report
            .write_all(format!("alive {me} {ppid}\n").as_bytes())
            .context("reporting to main")?;
        if wait_on_lifeline(&lifeline, scale.of(CHILD_PERIOD))? == Wake::HungUp {
            break;
        }
    }
    Ok(())
}

#[derive(Debug, PartialEq)]
enum Wake {
    /// The time passed, or main wrote a byte (`--time-scale 0`): take the next tick.
    Tick,
    /// Main is gone: nobody holds the write end any more.
    HungUp,
}

/// Wait `period` (with `None`: until main writes a byte) on the lifeline's read end.
/// poll(2) reports POLLHUP once every write end is closed, which happens when main ends,
/// however it ends.
fn wait_on_lifeline(lifeline: &OwnedFd, period: Option<Duration>) -> Result<Wake> {
    let timeout = match period {
        Some(d) => PollTimeout::try_from(d).unwrap_or(PollTimeout::MAX),
        None => PollTimeout::NONE,
    };
    let mut fds = [PollFd::new(lifeline.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, timeout) {
        Ok(0) | Err(nix::errno::Errno::EINTR) => return Ok(Wake::Tick),
        Ok(_) => {}
        Err(e) => return Err(e).context("poll"),
    }
    let mut byte = [0u8; 1];
    match nix::unistd::read(lifeline, &mut byte) {
        Ok(0) => Ok(Wake::HungUp),
        Ok(_) => Ok(Wake::Tick),
        Err(nix::errno::Errno::EINTR) => Ok(Wake::Tick),
        Err(e) => Err(e).context("reading the lifeline"),
    }
}

// ---------------------------------------------------------------------------------------
// The quiz
// ---------------------------------------------------------------------------------------

/// What `procdemo quiz` asks about this lesson (its words: `question` in the message files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Question {
    /// What happens to the daemon child when the main is done?
    #[strum(serialize = "daemon_ends")]
    Ends,
    /// --no-daemon: and to an ordinary child?
    #[strum(serialize = "daemon_ordinary")]
    Ordinary,
}

impl Ask for Question {
    const ALL: &'static [Question] = &[Question::Ends, Question::Ordinary];

    fn draw(self, rng: &mut Rng) -> Drawn {
        Drawn::one(rng.between(3, 6))
    }

    fn args(self, d: Drawn) -> Vec<String> {
        let mut args = vec!["--ticks".into(), d.n.to_string()];
        if self == Question::Ordinary {
            args.push("--no-daemon".into());
        }
        args
    }

    fn expected(self, _: Drawn) -> Answer {
        match self {
            Question::Ends => Answer::Choice(0),
            Question::Ordinary => Answer::Choice(2),
        }
    }

    fn observed(self, _: Drawn, run: &Observed) -> Option<Answer> {
        let summary = run.summary()?;
        Some(
            match (
                summary["daemon"].as_bool()?,
                summary["child_terminated_by"].is_null(),
            ) {
                (_, false) => Answer::Choice(0),
                (true, true) => Answer::Choice(1),
                (false, true) => Answer::Choice(2),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_parse_and_nothing_else_does() {
        assert_eq!(parse_report("line\n"), Some(Report::Line));
        assert_eq!(
            parse_report("alive 42 7\n"),
            Some(Report::Alive {
                pid: Pid::from_raw(42),
                ppid: Pid::from_raw(7)
            })
        );
        for bad in [
            "", "alive", "alive 42", "alive 0 7", "alive x 7", "alive 42 7 9", "line 1", "tick",
        ] {
            assert_eq!(parse_report(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_the_python_daemon_lives_without_a_parent_death_signal() {
        use crate::child::Role as _;
        let pipes = Pipes {
            report: 5,
            lifeline: 6,
        };
        assert!(Role::Daemon { ticks: None, ready: 3 }.dies_with_parent());
        for like_python in [false, true] {
            assert!(Role::TutorialMain {
                lines: 3,
                like_python,
                pipes
            }
            .dies_with_parent());
            assert_eq!(
                Role::TutorialDaemon { like_python, pipes }.dies_with_parent(),
                !like_python
            );
        }
    }

    #[test]
    fn the_lifeline_hangs_up_when_its_writer_is_gone() {
        let (r, w) = std::io::pipe().unwrap();
        let r = OwnedFd::from(r);
        let mut w = File::from(OwnedFd::from(w));
        assert_eq!(
            wait_on_lifeline(&r, Some(Duration::from_millis(1))).unwrap(),
            Wake::Tick
        );
        w.write_all(b".").unwrap();
        assert_eq!(wait_on_lifeline(&r, None).unwrap(), Wake::Tick);
        drop(w);
        assert_eq!(wait_on_lifeline(&r, None).unwrap(), Wake::HungUp);
    }
}
