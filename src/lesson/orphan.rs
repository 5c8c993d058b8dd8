//! # orphan: the parent ends first, and another process adopts its child
//!
//! TLPI's `orphan.c`, OSTEP's `fork.py -R`, on real processes. Three generations: `main`
//! starts Process-1, which starts Process-2 and exits at once without waiting for it.
//! Process-2 is now an orphan (孤儿进程). Every process has a parent, so the kernel gives it a
//! new one: the nearest ancestor that has made itself a *child subreaper*, or else init, pid 1
//! (prctl(2), `PR_SET_CHILD_SUBREAPER`). Process-2 sees it happen: getppid() returns
//! Process-1's pid first, then its adopter's.
//!
//! By default `main` makes itself a subreaper first, so the orphan comes back to it and `main`
//! reaps it with waitpid(2) like a child of its own. With `--no-subreaper` the orphan goes past
//! `main`, to a subreaper above it (`systemd --user` in a desktop session, a container's init,
//! the test suite's reaper) or to init; `main` names the adopter from `/proc/<pid>/stat` and
//! `/proc/<pid>/comm`. It cannot wait for a process that is not its child (waitpid fails with
//! ECHILD), so it watches it through a pidfd: pidfd_open(2) gives a descriptor that poll(2)
//! reports readable once that process has ended.
//!
//! How Process-2 ends when `main` is killed with SIGKILL: every other child of procdemo asks
//! for `PR_SET_PDEATHSIG`, but that signal follows the *parent*, Process-1, which exits at once
//! (and it would fire again each time a subreaper Process-2 was handed to exits). So Process-2
//! turns it off and holds instead the read end of a pipe, the *lifeline*, whose only write end
//! `main` keeps. However `main` ends, SIGKILL included, the kernel closes its descriptors, the
//! pipe reports end-of-file, and Process-2, which polls the lifeline through every wait, ends at
//! once. (A pidfd on `main` would also do, but Process-2 could only open it by pid, when `main`
//! might already be gone and its pid reused; the pipe existed before Process-2 did.) Through
//! the same pipe `main` can say two things: `g`, "I am watching you", and `q`, "I am stopping:
//! end now". Whichever way `main` leaves, it says `q` and waits until nobody holds the read end
//! any more (poll(2) reports POLLERR on a write end without readers, pipe(7)).
//!
//! Three small handshakes keep the story in order on any machine, at any `--time-scale`:
//! Process-1 waits until Process-2 has said who its parent is, so that "before" is Process-1;
//! Process-1 writes Process-2's pid into a pipe for `main` (which cannot read its children's
//! output); and Process-2 ends only after `main` has said `g`, so that the pid `main` opens a
//! pidfd for is still Process-2's and no newcomer's.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{getpid, getppid, Pid};
use serde::Serialize;

use crate::child::{self, DecodeError, Encoder, Fields, Method, Spec};
use crate::event::LessonEvent;
use crate::lesson::part::TourPart;
use crate::procfs;
use crate::sink::{Out, Settings};
use crate::supervisor::{Supervisor, GRACE};
use crate::sys;
use crate::time::TimeScale;
use crate::timeline::record;
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};

/// The reference's `time.sleep(1)`: how long Process-2 lives on after its adoption.
const ORPHAN_SECONDS: f64 = 1.0;
/// `main` to Process-2 on the lifeline: "I am watching you; end when your time is up".
const WATCHING: u8 = b'g';
/// `main` to Process-2 on the lifeline: "I am stopping; end now".
const STOPPING: u8 = b'q';

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Do not make main a child subreaper: the orphan goes to a subreaper above main, or init
    #[arg(long)]
    pub no_subreaper: bool,
}

/// In the tour: part 2, the lessons after the tutorial.
pub const TOUR: TourPart = TourPart::AFTER;

pub const EXAMPLES: &str = "\
Examples:
  # main adopts its grandchild
  procdemo orphan
  # someone above main adopts it
  procdemo orphan --no-subreaper
  # three generations on one axis
  procdemo --time-scale 0.2 orphan --timeline";

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// main: whether it made itself a child subreaper before starting Process-1.
    Subreaper { subreaper: bool },
    /// Process-1: it started `child` and exits now, without waiting for it.
    Leaving {
        #[serde(serialize_with = "crate::event::pid")]
        child: Pid,
        child_name: String,
    },
    /// Process-2: its parent pid changed from `old_ppid` (Process-1) to `new_ppid`.
    Adopted {
        #[serde(serialize_with = "crate::event::pid")]
        old_ppid: Pid,
        #[serde(serialize_with = "crate::event::pid")]
        new_ppid: Pid,
    },
    /// main: who adopted the orphan, from `/proc`: its pid and its `comm`; `is_main` is true
    /// when that is main itself.
    Adopter {
        #[serde(serialize_with = "crate::event::pid")]
        child: Pid,
        child_name: String,
        #[serde(serialize_with = "crate::event::pid")]
        adopter: Pid,
        comm: String,
        is_main: bool,
    },
    /// main (`--no-subreaper`): the orphan's pidfd became readable: it has ended. Its exit
    /// status went to its adopter, not to main.
    OrphanEnded {
        #[serde(serialize_with = "crate::event::pid")]
        child: Pid,
        child_name: String,
    },
    /// Process-2: its time is up and main watches it: it ends by itself (`is over`).
    Over,
    /// Process-2: the lifeline reported end-of-file: main is gone (killed), so it ends too.
    MainGone,
}

impl LessonEvent for Event {}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Process-1's pid.
    #[serde(serialize_with = "crate::event::pid")]
    pub parent_pid: Pid,
    /// Process-2's pid.
    #[serde(serialize_with = "crate::event::pid")]
    pub orphan_pid: Pid,
    /// Who Process-2's parent was after Process-1 exited, as `/proc` said.
    #[serde(serialize_with = "crate::event::pid")]
    pub adopted_by: Pid,
    pub subreaper: bool,
}

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    let out = Out::main(s.format, "orphan")?;
    let mut children = Supervisor::new(&out, s.scale)?;
    let subreaper = !args.no_subreaper;
    if subreaper {
        children.become_subreaper()?;
    }
    out.emit(&Event::Subreaper { subreaper })?;

    // Process-1 will tell us Process-2's pid through `report`; Process-2 will hold the read
    // end of the lifeline, whose write end only main keeps (both of ours are close-on-exec).
    let (mut report, report_w) = std::io::pipe().context("pipe")?;
    let (lifeline_r, lifeline_w) = std::io::pipe().context("pipe")?;
    sys::keep_open_across_exec(&report_w)?;
    sys::keep_open_across_exec(&lifeline_r)?;
    let lifeline = Lifeline(lifeline_w);
    let role = Role::Parent {
        report: report_w.as_raw_fd(),
        lifeline: lifeline_r.as_raw_fd(),
    };
    let parent = children.start("Process-1".into(), role, Method::Exec)?;
    drop((report_w, lifeline_r));

    // Process-1 exits at once, without waiting for its child. Once it is reaped, the kernel
    // has already given its orphan a new parent (that happens as Process-1 exits).
    children.join(parent)?;
    let mut text = String::new();
    (&mut report)
        .take(32)
        .read_to_string(&mut text)
        .context("reading Process-2's pid from Process-1")?;
    let Some(orphan) = text.trim().parse().ok().filter(|&p| p > 0).map(Pid::from_raw) else {
        children.finish()?; // Process-1 failed: it said why
        anyhow::bail!("Process-1 did not report its child's pid");
    };
    let name = "Process-2".to_string();

    // Who is its parent now? Process-2 cannot have ended: it waits for our word.
    let adopter = procfs::stat(Some(orphan))
        .with_context(|| format!("{name} (pid {orphan})"))?
        .ppid;
    let comm = procfs::comm(adopter).unwrap_or_else(|_| "?".into());
    // A subreaper's orphan is our child now; anyone else's, we can only watch, by pidfd.
    let watch = if subreaper {
        children.adopt(orphan, name.clone())?;
        None
    } else {
        Some(sys::pidfd_open(orphan)?)
    };
    out.emit(&Event::Adopter {
        child: orphan,
        child_name: name.clone(),
        adopter,
        comm,
        is_main: adopter == getpid(),
    })?;
    lifeline.say(WATCHING);

    match &watch {
        // waitpid(2): ours to reap, its `exit` reported as any child's.
        None => drop(children.join(orphan)?),
        // poll(2) on the pidfd: it turns readable when Process-2 has ended.
        Some(pidfd) => {
            children.wait_readable(pidfd.as_fd())?;
            out.emit(&Event::OrphanEnded {
                child: orphan,
                child_name: name,
            })?;
        }
    }

    out.emit(&Summary {
        parent_pid: parent,
        orphan_pid: orphan,
        adopted_by: adopter,
        subreaper,
    })?;
    children.finish()
}

/// main's end of the lifeline: the write end of the pipe whose read end Process-2 holds.
struct Lifeline(std::io::PipeWriter);

impl Lifeline {
    /// One byte to Process-2. Nobody reading any more (EPIPE) only means it has ended.
    fn say(&self, word: u8) {
        let _ = (&self.0).write_all(&[word]);
    }
}

impl Drop for Lifeline {
    /// On every way out of main, success, error, Ctrl-C, SIGTERM, a closed stdout: tell
    /// Process-2 to end now, and give it up to `GRACE` to be gone, which is when no process
    /// holds the read end any more (POLLERR on the write end). So main never leaves it
    /// running, even when it is not main's child to reap.
    fn drop(&mut self) {
        self.say(STOPPING);
        let deadline = Instant::now() + GRACE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::empty())];
            let no_reader = wait_for(&mut fds, Some(left)).is_ok()
                && fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLERR));
            if no_reader || left.is_zero() {
                return;
            }
        }
    }
}

/// ppoll(2) on `fds` for up to `wait` (forever with `None`); an interruption is no error.
fn wait_for(fds: &mut [PollFd], wait: Option<Duration>) -> Result<()> {
    match ppoll(fds, wait.map(TimeSpec::from_duration), None) {
        Ok(_) | Err(Errno::EINTR) => Ok(()),
        Err(e) => Err(e).context("ppoll"),
    }
}

/// Is `fd` readable now? For a pidfd: has its process ended?
fn readable(fd: BorrowedFd) -> bool {
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    wait_for(&mut fds, Some(Duration::ZERO)).is_ok()
        && fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLIN))
}

/// The children: Process-1, the parent that leaves, and Process-2, the orphan.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// Process-1: start Process-2, report its pid into `report`, exit without waiting. The
    /// lifeline's read end it only passes on.
    Parent { report: RawFd, lifeline: RawFd },
    /// Process-2: say who its parent is (one byte into `seen`), see it change, live on a
    /// little, and end at once if the lifeline says main is gone.
    Orphan { lifeline: RawFd, seen: RawFd },
}

impl child::Role for Role {
    const LESSON: &'static str = "orphan";

    fn encode(&self, kv: &mut Encoder) {
        match self {
            Role::Parent { report, lifeline } => {
                kv.put("role", "parent");
                kv.number("report", report);
                kv.number("lifeline", lifeline);
            }
            Role::Orphan { lifeline, seen } => {
                kv.put("role", "orphan");
                kv.number("lifeline", lifeline);
                kv.number("seen", seen);
            }
        }
    }

    fn decode(kv: &mut Fields) -> Result<Self, DecodeError> {
        match kv.text("role")? {
            "parent" => Ok(Role::Parent {
                report: kv.descriptor("report")?,
                lifeline: kv.descriptor("lifeline")?,
            }),
            "orphan" => Ok(Role::Orphan {
                lifeline: kv.descriptor("lifeline")?,
                seen: kv.descriptor("seen")?,
            }),
            other => Err(child::bad(format!("unknown orphan role `{other}`"))),
        }
    }

    fn run(self, out: &Out, scale: TimeScale) -> Result<i32> {
        match self {
            Role::Parent { report, lifeline } => leave(out, scale, report, lifeline),
            Role::Orphan { lifeline, seen } => orphan(out, scale, lifeline, seen),
        }
    }
}

/// Process-1: start Process-2, and exit without waiting for it.
fn leave(out: &Out, scale: TimeScale, report: RawFd, lifeline: RawFd) -> Result<i32> {
    let report = sys::inherited_fd(report)?;
    // Process-2 must not inherit the report pipe: main reads it to its end-of-file.
    sys::close_on_exec(&report)?;
    // The lifeline's read end stays inheritable: it is for Process-2.
    let lifeline = sys::inherited_fd(lifeline)?;
    let (mut seen, seen_w) = std::io::pipe().context("pipe")?;
    sys::keep_open_across_exec(&seen_w)?;

    let spec = Spec {
        name: "Process-2".into(),
        parent: getpid(),
        clock: out.clock(),
        scale,
        format: out.format(),
        timeline: record::inherited(),
    };
    let role = Role::Orphan {
        lifeline: lifeline.as_raw_fd(),
        seen: seen_w.as_raw_fd(),
    };
    let child = spec
        .command(&role)
        .spawn()
        .context("could not start Process-2")?;
    let orphan = Pid::from_raw(child.id() as i32);
    drop((seen_w, lifeline));

    // Wait until Process-2 has said who its parent is: one byte, or end-of-file if it died.
    let _ = seen.read(&mut [0]);
    File::from(report)
        .write_all(format!("{orphan}\n").as_bytes())
        .context("writing Process-2's pid for main")?;
    out.emit(&Event::Leaving {
        child: orphan,
        child_name: "Process-2".into(),
    })?;
    // No wait: `child` is dropped, Process-2 runs on without its parent.
    Ok(crate::error::code::SUCCESS)
}

/// Process-2: its parent pid before and after its parent exits.
fn orphan(out: &Out, scale: TimeScale, lifeline: RawFd, seen: RawFd) -> Result<i32> {
    // Like every child, it was set to die with its parent; this one is meant to outlive it.
    sys::outlive_parent()?;
    let mut lifeline = Watch {
        pipe: File::from(sys::inherited_fd(lifeline)?),
        watched: false,
    };
    let seen = sys::inherited_fd(seen)?;

    // Process-1 waits for our byte, so it is our parent now (our `start` line said so), and
    // a pidfd opened now is certainly Process-1's.
    let old_ppid = getppid();
    let parent = sys::pidfd_open(old_ppid)?;
    // (Should Process-1 be gone already, killed, nobody waits for this byte.)
    let _ = File::from(seen).write_all(&[1]);

    // Until Process-1 has ended. By then the kernel has re-parented us.
    while !readable(parent.as_fd()) {
        match lifeline.wait(Some(parent.as_fd()), None)? {
            Heard::Gone => return main_gone(out),
            Heard::Stop => return Ok(crate::error::code::SUCCESS),
            Heard::Nothing => {}
        }
    }
    out.emit(&Event::Adopted {
        old_ppid,
        new_ppid: getppid(),
    })?;

    // time.sleep(1), and not before main watches us: main opens its pidfd on our pid.
    let deadline = Instant::now() + scale.of(ORPHAN_SECONDS).unwrap_or_default();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if lifeline.watched && left.is_zero() {
            out.emit(&Event::Over)?;
            return Ok(crate::error::code::SUCCESS);
        }
        let wait = (!left.is_zero()).then_some(left);
        match lifeline.wait(None, wait)? {
            Heard::Gone => return main_gone(out),
            Heard::Stop => return Ok(crate::error::code::SUCCESS),
            Heard::Nothing => {}
        }
    }
}

fn main_gone(out: &Out) -> Result<i32> {
    out.emit(&Event::MainGone)?;
    Ok(crate::error::code::SUCCESS)
}

/// Process-2's end of the lifeline.
struct Watch {
    pipe: File,
    /// main said `g`: it watches us, we may end when our time is up.
    watched: bool,
}

/// What the lifeline said.
enum Heard {
    /// Nothing that ends us: a timeout, the other descriptor, or `g`.
    Nothing,
    /// End-of-file: main is gone, killed or not, without a word.
    Gone,
    /// `q`: main is stopping and asks us to end now.
    Stop,
}

impl Watch {
    /// Wait until `other` is readable, main says something, or `wait` has passed (forever
    /// with `None`).
    fn wait(&mut self, other: Option<BorrowedFd>, wait: Option<Duration>) -> Result<Heard> {
        let mut fds = vec![PollFd::new(self.pipe.as_fd(), PollFlags::POLLIN)];
        fds.extend(other.map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
        wait_for(&mut fds, wait)?;
        if fds[0].revents().is_none_or(|r| r.is_empty()) {
            return Ok(Heard::Nothing);
        }
        let mut word = [0];
        Ok(match self.pipe.read(&mut word) {
            Ok(1) if word[0] == WATCHING => {
                self.watched = true;
                Heard::Nothing
            }
            Ok(1) if word[0] == STOPPING => Heard::Stop,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Heard::Nothing,
            // End-of-file, or anything else: main is not there any more.
            _ => Heard::Gone,
        })
    }
}

// ---------------------------------------------------------------------------------------
// The quiz
// ---------------------------------------------------------------------------------------

/// What `procdemo quiz` asks about this lesson (its words: `question` in the message files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Question {
    /// Who becomes the orphan's parent?
    #[strum(serialize = "orphan_adopter")]
    Adopter,
}

impl Ask for Question {
    const ALL: &'static [Question] = &[Question::Adopter];

    fn draw(self, _: &mut Rng) -> Drawn {
        Drawn::one(0)
    }

    fn args(self, _: Drawn) -> Vec<String> {
        vec![]
    }

    fn expected(self, _: Drawn) -> Answer {
        Answer::Choice(0)
    }

    fn observed(self, _: Drawn, run: &Observed) -> Option<Answer> {
        let summary = run.summary()?;
        let adopter = summary["adopted_by"].as_i64()?;
        if adopter == run.main_pid()? {
            Some(Answer::Choice(0))
        } else if adopter == 1 {
            Some(Answer::Choice(1))
        } else if adopter == summary["parent_pid"].as_i64()? {
            Some(Answer::Choice(2))
        } else {
            None
        }
    }
}
