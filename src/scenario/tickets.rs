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
//! `waitpid(2)`: [`EXIT_BOUGHT`] or [`EXIT_SOLD_OUT`]. Anything else is a failure, and a buyer
//! killed by a signal never answered.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::child::Role;
use crate::cli::{Global, Method, TicketsArgs};
use crate::event::{Ended, Event, Out, Scenario, Summary};
use crate::lock;
use crate::supervisor::Supervisor;
use crate::ticketfile::{self, Tickets};
use crate::time::TimeScale;

/// A buyer's exit status when it bought a ticket: plain success.
pub const EXIT_BOUGHT: i32 = 0;
/// A buyer's exit status when it found no ticket left. Not a failure: an answer. (1 is a
/// buyer that failed, 2 a child command line that did not decode.)
pub const EXIT_SOLD_OUT: i32 = 3;

/// The tutorial's `time.sleep(1)` between reading the count and writing it back.
const BUY_SECONDS: f64 = 1.0;

pub fn run(g: &Global, args: &TicketsArgs) -> Result<()> {
    let out = Out::main(g.format(), Scenario::Tickets)?;
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
    let mut buyers = Supervisor::new(&out, g.time_scale)?;
    let role = Role::Buyer {
        data: data.to_path_buf(),
        lock: with_lock,
    };
    let mut pids = Vec::with_capacity(args.buyers);
    for i in 0..args.buyers {
        pids.push(buyers.start(format!("buyer-{i}"), role.clone(), Method::Exec)?);
    }

    // Join every buyer; its exit status is its answer.
    let (mut sold, mut failed) = (0u64, 0usize);
    for pid in pids {
        match buyers.join(pid)? {
            Ended::Code(EXIT_BOUGHT) => sold += 1,
            Ended::Code(EXIT_SOLD_OUT) => {}
            // It said why on stderr.
            Ended::Code(_) => failed += 1,
            // Killed by someone else (its `exit` event says by what): it never answered, and
            // the lock it may have held was released when the kernel closed its files.
            Ended::Signal(_) => {}
        }
    }

    // What the file says now. No lock needed for one read: rename(2) makes it whole. Taking
    // the lock would only queue the main behind another run's buyers, deaf to Ctrl-C.
    let remaining = ticketfile::read(data)
        .context("reading the count after the buyers")?
        .count;
    // More buyers were told "bought" than the file gave away: tickets were sold twice.
    let oversold = sold > initial.saturating_sub(remaining);
    out.emit(&Event::Summary(Summary::Tickets {
        buyers: args.buyers,
        initial,
        sold,
        remaining,
        oversold,
        lock: with_lock,
    }))?;

    if oversold && with_lock {
        bail!(
            "{}: {sold} ticket(s) sold but the count went down by {}, with the lock on: \
             this is a bug in procdemo",
            crate::quote::shell_quote(data),
            initial.saturating_sub(remaining)
        );
    }
    if failed > 0 {
        bail!("{failed} buyer(s) failed; each one said why above");
    }
    Ok(())
}

/// `--tickets N`: set the count to N, under the lock, before any buyer starts. Other keys of
/// a valid file are kept; a missing or invalid file is replaced by `{"ticket": N}`.
fn reset(out: &Out, data: &Path, count: u64) -> Result<u64> {
    let _guard = lock::lock_exclusive(data)?;
    clean_stale_temps(out, data)?;
    let tickets = match ticketfile::read_raw(data) {
        Ok(old) => old.with_count(count),
        Err(e) if e.is_resettable() => Tickets::new(count),
        Err(e) => return Err(e).context(crate::quote::shell_quote(data)),
    };
    ticketfile::write_atomic(data, &tickets)?;
    out.emit(&Event::Reset { tickets: count })?;
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
/// `mutex.release()`. Returns its exit status, [`EXIT_BOUGHT`] or [`EXIT_SOLD_OUT`].
pub fn buyer(out: &Out, scale: TimeScale, data: &Path, with_lock: bool) -> Result<i32> {
    out.emit(&Event::Start {
        scenario: Scenario::Tickets,
    })?;
    search(out, data)?;
    buy(out, scale, data, with_lock)
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
fn buy(out: &Out, scale: TimeScale, data: &Path, with_lock: bool) -> Result<i32> {
    // mutex.acquire(): flock(LOCK_EX) waits here while another process holds the lock.
    let guard = if with_lock {
        out.emit(&Event::LockWait)?;
        let guard = lock::lock_exclusive(data)?;
        out.emit(&Event::LockAcquired)?;
        clean_stale_temps(out, data)?;
        Some(guard)
    } else {
        None
    };

    let tickets = ticketfile::read(data)?;
    // Without the lock, every other buyer can read the same count during this second.
    scale.sleep(BUY_SECONDS);
    let answer = if tickets.count > 0 {
        let remaining = tickets.count - 1;
        ticketfile::write_atomic(data, &tickets.with_count(remaining))?;
        out.emit(&Event::Bought { remaining })?;
        EXIT_BOUGHT
    } else {
        out.emit(&Event::SoldOut)?;
        EXIT_SOLD_OUT
    };

    // mutex.release(): closing the lock file's descriptor is what releases the flock.
    if let Some(guard) = guard {
        drop(guard);
        out.emit(&Event::LockReleased)?;
    }
    Ok(answer)
}
