//! # tickets: buyers share one file, and an exclusive lock keeps the count right
//!
//! The tutorial's fifth example: ten buyer processes and a file `{"ticket": 1}`. Each buyer
//! first *searches* (reads the file and prints what is left), then *buys*: it reads the count,
//! waits a second, takes one ticket if there is one, and writes the count back. Reading and
//! writing back is two steps, so two buyers that both read `1` before either wrote would both
//! sell the last ticket. The buy is therefore done holding a lock that only one process at a
//! time can hold: here an exclusive `flock(2)` on `data.json.lock`, the file beside the data
//! (see `lock` for why not on `data.json` itself). Every buyer opens the lock file itself, and
//! the kernel lets go of the lock when that descriptor is closed, also when the buyer is
//! killed. `--no-lock` skips it, and the race shows: every buyer reads `1` and sells.
//!
//! The file never breaks, lock or no lock: a buyer writes a temporary file beside it, forces
//! it to disk with `fsync(2)`, and `rename(2)`s it over `data.json`, which swaps the name to
//! the new file in one step (see `ticketfile`). A reader sees the old file or the new one,
//! never half of one. Without the lock the race loses updates; it never tears the file.
//!
//! How does the main learn how many tickets were sold? It does not read its buyers' output.
//! Each buyer answers with its exit status, which the kernel hands to the parent in
//! `waitpid(2)`: [`code::SUCCESS`] (bought) or [`code::SOLD_OUT`]. Anything else is a failure, and a buyer
//! killed by a signal never answered. A buyer killed after its rename(2) took a ticket all
//! the same: the file's count went down by more than the answers say. The summary counts
//! those tickets as `unconfirmed`; they were never sold twice.
//!
//! `--kill-holder` is the fault the lock is for. While the buyers queue for it, the main
//! finds the one holding it in `/proc/locks` (see `proclocks`; `lslocks` shows the same) and
//! kills it with SIGKILL in the middle of its buy. A process that dies has its files closed
//! by the kernel, and closing the lock file is what releases a flock: the next buyer gets
//! the lock, and the file is whole, since the writer never touched it in place. Python's
//! `multiprocessing.Lock` is a semaphore that only `release()` gives back: the others would
//! wait forever.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use nix::sys::signal::Signal;
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::child::{self, DecodeError, Encoder, Fields, Method};
use crate::error::code;
use crate::event::{Accent, Ended, LessonEvent, Mark, Outcome, Span};
use crate::lesson::part::TourPart;
use crate::lock;
use crate::proclocks::{self, FileId};
use crate::sink::{Out, Settings};
use crate::supervisor::Supervisor;
use crate::ticketfile::{self, Tickets};
use crate::time::TimeScale;
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};

/// The tutorial's `time.sleep(1)` between reading the count and writing it back.
const BUY_SECONDS: f64 = 1.0;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// How many buyer processes
    #[arg(long, value_name = "N", default_value = "10", value_parser = crate::number::count)]
    pub buyers: usize,

    /// First set the count in the file to N (under the lock)
    #[arg(long, value_name = "N",
          value_parser = |s: &str| crate::number::bounded(s, 0, 1_000_000).map(|n| n as u64))]
    pub tickets: Option<u64>,

    /// The ticket file; its lock is this path with `.lock` appended
    #[arg(long, value_name = "PATH", default_value = "data.json")]
    pub data: PathBuf,

    /// Skip the lock, to see the race the lock prevents
    #[arg(long)]
    pub no_lock: bool,

    /// Find the buyer holding the lock in /proc/locks and kill it with SIGKILL mid-buy: the
    /// kernel releases its lock and the others carry on
    #[arg(long, conflicts_with = "no_lock")]
    pub kill_holder: bool,
}

/// In the tour: part 1, the tutorial's own examples.
pub const TOUR: TourPart = TourPart {
    part: 1,
    args: &["--buyers", "10", "--tickets", "1"],
    data_file: true,
};

pub const EXAMPLES: &str = "\
Examples:
  # 10 buyers, 1 ticket, 1 sale
  procdemo --time-scale 0.1 tickets --tickets 1
  # the oversell
  procdemo --time-scale 0.1 tickets --tickets 1 --no-lock --timeline
  # SIGKILL it
  procdemo --lang zh --time-scale 0.1 tickets --tickets 3 --kill-holder";

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// main: `--tickets N` set the count, under the lock, before any buyer started.
    Reset { tickets: u64 },
    /// main or buyer, holding the lock: temporary files left by killed writers were removed.
    TempsCleaned { count: usize },
    /// main: the file has no ticket left before any buyer starts (and no `--tickets N` was
    /// given): an earlier run sold them.
    AlreadySoldOut {
        #[serde(serialize_with = "crate::event::path")]
        data: PathBuf,
    },
    /// buyer: read the file without the lock.
    Search { remaining: u64 },
    /// buyer: about to block in flock(2).
    LockWait,
    LockAcquired,
    LockReleased,
    /// buyer: decremented the count and wrote it back.
    Bought { remaining: u64 },
    /// buyer: the count it read under the lock was 0.
    SoldOut,
    /// main, `--kill-holder`: it found this buyer holding the lock in `/proc/locks`, and has
    /// just sent it SIGKILL.
    KilledHolder {
        #[serde(serialize_with = "crate::event::pid")]
        child: Pid,
        child_name: String,
    },
}

impl LessonEvent for Event {
    /// What the timeline draws: the wait for the lock, the hold, the buyer's answer.
    fn mark(&self) -> Option<Mark> {
        match self {
            Event::LockWait => Some(Mark::Begin(Span::LockWait)),
            Event::LockAcquired => Some(Mark::Begin(Span::LockHold)),
            Event::LockReleased => Some(Mark::End(Span::LockHold)),
            Event::Bought { .. } => Some(Mark::Outcome(Outcome::Bought)),
            Event::SoldOut => Some(Mark::Outcome(Outcome::SoldOut)),
            Event::Reset { .. }
            | Event::TempsCleaned { .. }
            | Event::AlreadySoldOut { .. }
            | Event::Search { .. }
            | Event::KilledHolder { .. } => None,
        }
    }

    fn accent(&self) -> Accent {
        match self {
            Event::KilledHolder { .. } => Accent::Warning,
            _ => Accent::Plain,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub buyers: usize,
    pub initial: u64,
    pub sold: u64,
    pub remaining: u64,
    pub oversold: bool,
    pub lock: bool,
    /// Tickets the file gave away that no buyer answered for: `initial - remaining - sold`
    /// when positive. Each one was taken by a buyer killed after its rename(2) and before its
    /// answer. Exact for a run alone on its file; another run's buyers on the same file
    /// add theirs (then it is an upper bound).
    pub unconfirmed: u64,
    /// Only with `--kill-holder`.
    #[serde(flatten)]
    pub kill_holder: Option<KillHolder>,
}

/// What `--kill-holder` adds to the summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KillHolder {
    /// The buyer killed while it held the lock; `None` if none was caught holding it.
    pub killed: Option<String>,
}

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    let out = Out::main(s.format, "tickets")?;
    let data = args.data.as_path();
    let with_lock = !args.no_lock;

    // The file first, before any buyer exists: a bad file stops the run here, untouched.
    // [hardening] One check for what every buyer would trip over: not a regular file, a missing
    // directory, no room for the lock file or a temporary file.
    ticketfile::preflight(
        data,
        ticketfile::Plan {
            reset: args.tickets.is_some(),
            lock: with_lock,
        },
    )?;
    let initial = match args.tickets {
        Some(count) => reset(&out, data, count)?,
        None => {
            let count = ticketfile::read(data)?.count;
            if count == 0 {
                out.emit(&Event::AlreadySoldOut {
                    data: data.to_path_buf(),
                })?;
            }
            count
        }
    };

    // for i in range(10): Process(target=run, args=(i, mutex)).start()
    let mut buyers = Supervisor::new(&out, s.scale)?;
    // A buyer's exit status is its answer: both answers are a buyer that did its job.
    buyers.expect_codes(&[code::SUCCESS, code::SOLD_OUT]);
    // Temporary files of killed writers beside the data? Then the buyers sweep them, holding
    // the lock; otherwise none of them reads the directory. --kill-holder may kill a buyer
    // between its temporary file and its rename: the next holder sweeps that one up. (A
    // directory that cannot be read: sweep, and let the buyers say why they fail.)
    let sweep = with_lock && (args.kill_holder || ticketfile::has_temps(data).unwrap_or(true));
    let role = Role {
        data: data.to_path_buf(),
        lock: with_lock,
        sweep,
    };
    let mut pids = Vec::with_capacity(args.buyers);
    for i in 0..args.buyers {
        pids.push(buyers.start(format!("buyer-{i}"), role.clone(), Method::Exec)?);
    }

    // --kill-holder: while they queue for the lock, kill the one that holds it.
    let kill_holder = if args.kill_holder {
        Some(KillHolder {
            killed: kill_the_holder(&out, &mut buyers, s.scale, data, &pids)?,
        })
    } else {
        None
    };

    // Join every buyer; its exit status is its answer.
    let mut sold = 0u64;
    for pid in pids {
        match buyers.join(pid)? {
            Ended::Code(code::SUCCESS) => sold += 1,
            // Sold out; or a failure, which it said on stderr and `finish` reports; or killed
            // by someone else (its `exit` event says by what): it never answered, and the
            // lock it may have held was released when the kernel closed its files.
            Ended::Code(_) | Ended::Signal(_) => {}
        }
    }

    // What the file says now. No lock needed for one read: rename(2) makes it whole. Taking
    // the lock would only queue the main behind another run's buyers, deaf to Ctrl-C.
    let remaining = ticketfile::read(data)
        .context("reading the count after the buyers")?
        .count;
    // More buyers were told "bought" than the file gave away: tickets were sold twice.
    let gone = initial.saturating_sub(remaining);
    let oversold = sold > gone;
    // The file gave away more than the buyers answered for: buyers killed after their rename.
    let unconfirmed = gone.saturating_sub(sold);
    out.emit(&Summary {
        buyers: args.buyers,
        initial,
        sold,
        remaining,
        oversold,
        lock: with_lock,
        unconfirmed,
        kill_holder,
    })?;

    if oversold && with_lock {
        bail!(
            "{}: {sold} ticket(s) sold but the count went down by {}, with the lock on: \
             this is a bug in procdemo",
            crate::quote::shell_quote(data),
            initial.saturating_sub(remaining)
        );
    }
    buyers.finish()
}

/// `--kill-holder`: watch `/proc/locks` until one of our buyers holds the lock, and kill it
/// with SIGKILL, mid-buy. Returns its name; `None` if every buyer was done before one was
/// caught holding the lock (at a tiny `--time-scale` a buy takes only milliseconds).
fn kill_the_holder(
    out: &Out,
    buyers: &mut Supervisor,
    scale: TimeScale,
    data: &Path,
    pids: &[Pid],
) -> Result<Option<String>> {
    // The lock file as /proc/locks names it: device and inode (created if no buyer has yet;
    // we only look at it, we never lock it).
    let lock_file = lock::open(data)?;
    let file = FileId::of(&lock_file.metadata().context("fstat of the lock file")?);
    drop(lock_file);
    // Look a few times per hold; at least every millisecond or so, at most every 20 ms.
    let every = scale
        .of(BUY_SECONDS)
        .map_or(Duration::from_millis(1), |hold| hold / 5)
        .clamp(Duration::from_millis(1), Duration::from_millis(20));
    while pids.iter().any(|&pid| buyers.is_running(pid)) {
        for holder in proclocks::read_flock_holders(file)? {
            // Only a buyer of ours: another run's buyer or a `flock` script may hold it too.
            let Some(i) = pids.iter().position(|&p| p == holder) else {
                continue;
            };
            if !buyers.is_running(holder) {
                continue;
            }
            if caught_holding(buyers, holder, file)? {
                buyers.signal(holder, Signal::SIGKILL)?;
                let name = format!("buyer-{i}");
                out.emit(&Event::KilledHolder {
                    child: holder,
                    child_name: name.clone(),
                })?;
                return Ok(Some(name));
            }
        }
        buyers.wait_readable_for(None, every)?;
    }
    Ok(None)
}

/// Freeze `pid` with SIGSTOP and look again: a stopped process cannot let go of its lock, so
/// if it still holds it now, it holds it until it dies. If not, let it go on (SIGCONT) and
/// return false. Returns true with the buyer stopped, holding the lock.
fn caught_holding(buyers: &mut Supervisor, pid: Pid, file: FileId) -> Result<bool> {
    if !buyers.signal(pid, Signal::SIGSTOP)? {
        return Ok(false);
    }
    // Wait until it has stopped (or ended), and leave that state to be collected: WNOWAIT
    // (waitid(2)), so the supervisor still reaps it as usual.
    let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
    let stopped = loop {
        match waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::Stopped(..)) => break true,
            Ok(_) => break false,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waitid"),
        }
    };
    let holds = stopped
        && match proclocks::read_flock_holders(file) {
            Ok(holders) => holders.contains(&pid),
            Err(e) => {
                buyers.signal(pid, Signal::SIGCONT)?;
                return Err(e);
            }
        };
    if !holds {
        buyers.signal(pid, Signal::SIGCONT)?;
    }
    Ok(holds)
}

/// `--tickets N`: set the count to N, under the lock, before any buyer starts. Other keys of
/// a valid file are kept; a missing or invalid file is replaced by `{"ticket": N}`.
fn reset(out: &Out, data: &Path, count: u64) -> Result<u64> {
    // Our lines wait until the lock is released, as a buyer's do (see `buy`).
    let held = out.defer();
    let guard = lock::lock_exclusive(data)?;
    clean_stale_temps(out, data)?;
    let tickets = match ticketfile::read_raw(data) {
        Ok(old) => old.with_count(count),
        Err(e) if e.is_resettable() => Tickets::new(count),
        Err(e) => return Err(e).context(crate::quote::shell_quote(data)),
    };
    ticketfile::write_atomic(data, &tickets)?;
    out.emit(&Event::Reset { tickets: count })?;
    drop(guard);
    held.flush()?;
    Ok(count)
}

/// Remove the temporary files of writers killed before their rename(2). Only ever called
/// holding the lock: without it, a live writer's temporary file could be taken for a stale one.
fn clean_stale_temps(out: &Out, data: &Path) -> Result<()> {
    let count = ticketfile::clean_stale_temps(data)?;
    if count > 0 {
        out.emit(&Event::TempsCleaned { count })?;
    }
    Ok(())
}

/// A buyer process: `search(i)`, then `buy(i)` between `mutex.acquire()` and
/// `mutex.release()`. Its exit status is its answer: [`code::SUCCESS`] (bought) or
/// [`code::SOLD_OUT`].
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub data: PathBuf,
    pub lock: bool,
    /// Holding the lock, remove the temporary files of killed writers first (the main saw
    /// some beside the data, or it is going to kill a holder itself).
    pub sweep: bool,
}

impl child::Role for Role {
    const LESSON: &'static str = "tickets";

    fn encode(&self, kv: &mut Encoder) {
        kv.put("data", &self.data);
        kv.flag("lock", self.lock);
        kv.flag("sweep", self.sweep);
    }

    fn decode(kv: &mut Fields) -> Result<Self, DecodeError> {
        Ok(Role {
            data: kv.path("data")?,
            lock: kv.flag("lock")?,
            sweep: kv.flag("sweep")?,
        })
    }

    fn run(self, out: &Out, scale: TimeScale) -> Result<i32> {
        // A buyer dies with its parent (the default `dies_with_parent`): its parent pid is read
        // once, not at each of its lines.
        let out = &out.with_fixed_parent();
        search(out, &self.data)?;
        buy(out, scale, &self.data, self.lock, self.sweep)
    }
}

/// Read the file without the lock and say how many tickets are left. The count may be stale
/// a moment later, but the file is always whole.
fn search(out: &Out, data: &Path) -> Result<()> {
    let tickets = ticketfile::read(data)?;
    out.emit(&Event::Search {
        remaining: tickets.count,
    })
}

/// Read, wait, take a ticket if there is one, write back: all while holding the lock.
fn buy(out: &Out, scale: TimeScale, data: &Path, with_lock: bool, sweep: bool) -> Result<i32> {
    // mutex.acquire(): flock(LOCK_EX) waits here while another process holds the lock.
    let guard = if with_lock {
        out.emit(&Event::LockWait)?;
        // Never wait on stdout with the lock held (a full pipe would make every buyer wait
        // for its reader): until the release, lines are stamped and held back (`Out::defer`).
        // Made before the lock, so that on an early return the lock is released first.
        let held = out.defer();
        let guard = lock::lock_exclusive(data)?;
        out.emit(&Event::LockAcquired)?;
        if sweep {
            clean_stale_temps(out, data)?;
        }
        Some((guard, held))
    } else {
        // No lock: from this read to the write below, any other buyer may read the same count.
        out.mark(Mark::Begin(Span::Unlocked));
        None
    };

    let tickets = ticketfile::read(data)?;
    // Without the lock, every other buyer can read the same count during this second.
    scale.sleep(BUY_SECONDS);
    let answer = if tickets.count > 0 {
        let remaining = tickets.count - 1;
        ticketfile::write_atomic(data, &tickets.with_count(remaining))?;
        Event::Bought { remaining }
    } else {
        Event::SoldOut
    };
    if !with_lock {
        out.mark(Mark::End(Span::Unlocked));
    }
    out.emit(&answer)?;

    // mutex.release(): closing the lock file's descriptor is what releases the flock.
    // Then the held lines go out, `lock_released` last, stamped when it happened.
    if let Some((guard, held)) = guard {
        drop(guard);
        out.emit(&Event::LockReleased)?;
        held.flush()?;
    }
    Ok(match answer {
        Event::Bought { .. } => code::SUCCESS,
        _ => code::SOLD_OUT,
    })
}

// ---------------------------------------------------------------------------------------
// The quiz
// ---------------------------------------------------------------------------------------

/// What `procdemo quiz` asks about this lesson (its words: `question` in the message files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Question {
    /// How many buyers get a ticket, with the lock?
    #[strum(serialize = "tickets_sold")]
    Sold,
    /// How many buyers answer "sold out" (exit status 3)?
    #[strum(serialize = "tickets_sold_out")]
    SoldOut,
    /// --no-lock: can a buyer read a half-written file?
    #[strum(serialize = "tickets_whole_file")]
    WholeFile,
}

impl Ask for Question {
    const ALL: &'static [Question] = &[
        Question::Sold,
        Question::SoldOut,
        Question::WholeFile,
    ];

    fn draw(self, rng: &mut Rng) -> Drawn {
        let buyers = rng.between(4, 8);
        Drawn::two(buyers, rng.between(1, buyers - 1))
    }

    fn args(self, d: Drawn) -> Vec<String> {
        let mut args = vec![
            "--buyers".into(),
            d.n.to_string(),
            "--tickets".into(),
            d.m.to_string(),
        ];
        if self == Question::WholeFile {
            args.push("--no-lock".into());
        }
        args
    }

    fn expected(self, d: Drawn) -> Answer {
        match self {
            Question::Sold => Answer::Number(d.m),
            Question::SoldOut => Answer::Number(d.n - d.m),
            Question::WholeFile => Answer::Choice(0),
        }
    }

    fn observed(self, d: Drawn, run: &Observed) -> Option<Answer> {
        let summary = run.summary()?;
        Some(match self {
            Question::Sold => Answer::Number(summary["sold"].as_u64()?),
            Question::SoldOut => Answer::Number(
                run.of("exit")
                    .filter(|e| e["code"] == code::SOLD_OUT)
                    .count() as u64,
            ),
            Question::WholeFile => {
                // Every buyer read a whole file (each said what it saw), and the run ended
                // with its summary: no buyer failed on a broken file.
                let searched = run.of("search").count() as u64;
                Answer::Choice(usize::from(searched != d.n))
            }
        })
    }
}
