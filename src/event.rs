//! Events are data: every scenario reports what happens as an [`Event`], and [`Out`] turns it
//! into one line, human or JSON, written with a single `write(2)`.
//!
//! Many processes share one stdout. write(2) on a pipe is atomic up to `PIPE_BUF` (4096 bytes
//! on Linux, pipe(7)), and on a regular file the kernel serialises writers that share the
//! file offset, so a line written in one call never has another process's bytes inside it.
//! Buffered `println!` would split or merge lines at buffer boundaries; that is why no
//! scenario prints directly.

use std::fmt;
use std::io::ErrorKind;
use std::os::fd::AsFd;

use anyhow::Result;
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::cli::{JoinMode, Method};
use crate::error::OutputClosed;
use crate::messages::Lang;
use crate::render;
use crate::time::Clock;
use crate::timeline;

/// The most a line may take to stay atomic on a pipe (`PIPE_BUF`, pipe(7)).
pub const MAX_LINE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Spawn,
    Join,
    Isolate,
    Daemon,
    Tickets,
}

impl Scenario {
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Spawn => "spawn",
            Scenario::Join => "join",
            Scenario::Isolate => "isolate",
            Scenario::Daemon => "daemon",
            Scenario::Tickets => "tickets",
        }
    }
}

/// How a child ended, as waitpid(2) reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Code(i32),
    Signal(Signal),
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Code(c) => write!(f, "exit code {c}"),
            Ended::Signal(s) => f.write_str(s.as_str()),
        }
    }
}

/// Everything a process of procdemo can report. The comment names who emits it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Every process, first: the tutorial's `print(os.getpid(), os.getppid())`.
    Start {
        scenario: Scenario,
    },
    /// main: a child was created (`p.start()`).
    Spawned {
        child: Pid,
        child_name: String,
    },
    /// main: a child was reaped by waitpid(2).
    Exit {
        child: Pid,
        child_name: String,
        ended: Ended,
    },
    /// main: SIGINT or SIGTERM arrived; the children still running are being stopped.
    Stopping {
        signal: Signal,
        children: usize,
    },
    /// main, last line of every run.
    Summary(Summary),

    /// spawn: the main goes on without waiting for its children.
    NotWaiting {
        children: usize,
    },
    /// spawn, join: a child is done (`is over`).
    Over,
    /// join: the tutorial's `print('主')` and the elapsed time, after joining (or not).
    MainDone {
        elapsed_ms: f64,
        mode: JoinMode,
    },

    /// isolate, child: it set its global `money`.
    MoneySet {
        value: i64,
        address: usize,
    },
    /// isolate, child: it wrote its value into the pipe.
    PipeSent {
        value: i64,
    },
    /// isolate, main: after the join it reads its own `money`.
    MoneyRead {
        value: i64,
        address: usize,
    },
    /// isolate, main: what came out of the pipe.
    PipeReceived {
        value: i64,
    },

    /// daemon, child: still alive (`总管正常活着`), tick number from 1.
    Alive {
        tick: u64,
    },
    /// daemon, main: one of its own lines (`皇帝jason寿正终寝`), from 1.
    Tick {
        tick: u64,
        of: u64,
    },
    /// daemon, main: ending the daemon child because the main is done.
    Terminating {
        child: Pid,
        child_name: String,
        signal: Signal,
    },

    /// tickets, main: `--tickets N` set the count, under the lock, before any buyer started.
    Reset {
        tickets: u64,
    },
    /// tickets, main: temporary files left by killed writers were removed.
    TempsCleaned {
        count: usize,
    },
    /// tickets, buyer: read the file without the lock.
    Search {
        remaining: u64,
    },
    /// tickets, buyer: about to block in flock(2).
    LockWait,
    LockAcquired,
    LockReleased,
    /// tickets, buyer: decremented the count and wrote it back.
    Bought {
        remaining: u64,
    },
    /// tickets, buyer: the count it read under the lock was 0.
    SoldOut,
    /// tickets, main: the file has no ticket left before any buyer starts (and no
    /// `--tickets N` was given): an earlier run sold them.
    AlreadySoldOut {
        data: std::path::PathBuf,
    },
}

impl Event {
    /// The `event` field of the JSON line.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Start { .. } => "start",
            Event::Spawned { .. } => "spawned",
            Event::Exit { .. } => "exit",
            Event::Stopping { .. } => "stopping",
            Event::Summary(_) => "summary",
            Event::NotWaiting { .. } => "not_waiting",
            Event::Over => "over",
            Event::MainDone { .. } => "main_done",
            Event::MoneySet { .. } => "money_set",
            Event::PipeSent { .. } => "pipe_sent",
            Event::MoneyRead { .. } => "money_read",
            Event::PipeReceived { .. } => "pipe_received",
            Event::Alive { .. } => "alive",
            Event::Tick { .. } => "tick",
            Event::Terminating { .. } => "terminating",
            Event::Reset { .. } => "reset",
            Event::TempsCleaned { .. } => "temps_cleaned",
            Event::Search { .. } => "search",
            Event::LockWait => "lock_wait",
            Event::LockAcquired => "lock_acquired",
            Event::LockReleased => "lock_released",
            Event::Bought { .. } => "bought",
            Event::SoldOut => "sold_out",
            Event::AlreadySoldOut { .. } => "already_sold_out",
        }
    }
}

/// The last line of a run, one shape per scenario (see the contract's `summary` table).
#[derive(Clone, Debug, PartialEq)]
pub enum Summary {
    Spawn {
        children: usize,
        method: Method,
    },
    Join {
        children: usize,
        elapsed_ms: f64,
        mode: JoinMode,
    },
    Isolate {
        method: Method,
        parent_value: i64,
        child_value: i64,
        received: Option<i64>,
    },
    Daemon {
        daemon: bool,
        child_pid: Pid,
        child_terminated_by: Option<Signal>,
    },
    Tickets {
        buyers: usize,
        initial: u64,
        sold: u64,
        remaining: u64,
        oversold: bool,
        lock: bool,
    },
}

/// How lines are written: JSON Lines, or human text with or without colour, in a language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Human { color: bool, lang: Lang },
}

/// What goes in front of every line: when, and which process wrote it.
#[derive(Clone, Debug)]
pub struct Header<'a> {
    pub t_ms: f64,
    pub pid: Pid,
    pub ppid: Pid,
    pub name: &'a str,
}

/// One process's voice: its name, the run's clock and the output format.
#[derive(Clone, Debug)]
pub struct Out {
    format: Format,
    clock: Clock,
    pid: Pid,
    name: String,
}

impl Out {
    pub fn new(format: Format, clock: Clock, name: impl Into<String>) -> Out {
        Out {
            format,
            clock,
            pid: nix::unistd::getpid(),
            name: name.into(),
        }
    }

    /// The main process's voice, started with its `start` event: the first line of every run,
    /// the tutorial's `print('父进程:', os.getpid())`.
    pub fn main(format: Format, scenario: Scenario) -> Result<Out> {
        let out = Out::new(format, Clock::start(), "main");
        out.emit(&Event::Start { scenario })?;
        Ok(out)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Write one event as one line on stdout.
    ///
    /// Fails with [`OutputClosed`] when nobody reads stdout any more (`| head -1`): procdemo
    /// ignores SIGPIPE (`sys::ignore_sigpipe`), so write(2) returns EPIPE instead of killing us.
    pub fn emit(&self, event: &Event) -> Result<()> {
        let header = Header {
            t_ms: self.clock.elapsed_ms(),
            pid: self.pid,
            // Asked every time: if our parent dies, we are re-parented and this changes.
            ppid: nix::unistd::getppid(),
            name: &self.name,
        };
        let line = render::line(self.format, &header, event);
        // With --timeline, the same event also goes, as JSON, into the run's shared record.
        if timeline::recording() {
            match self.format {
                Format::Json => timeline::record(&line),
                Format::Human { .. } => {
                    timeline::record(&render::line(Format::Json, &header, event))
                }
            }
        }
        write_line(std::io::stdout().as_fd(), &line)
    }
}

/// One write(2) for the whole line. A short write can only happen to a line larger than
/// `PIPE_BUF` or when a signal interrupts a blocked write; the rest is then written after it.
pub fn write_line(fd: impl AsFd, line: &[u8]) -> Result<()> {
    let fd = fd.as_fd();
    let mut rest = line;
    while !rest.is_empty() {
        match nix::unistd::write(fd, rest) {
            Ok(n) => rest = &rest[n..],
            Err(Errno::EINTR) => continue,
            Err(Errno::EPIPE) => return Err(OutputClosed.into()),
            Err(e) => {
                let e = std::io::Error::from(e);
                if e.kind() == ErrorKind::BrokenPipe {
                    return Err(OutputClosed.into());
                }
                return Err(anyhow::Error::new(e).context("writing to stdout"));
            }
        }
    }
    Ok(())
}
