//! Records in, rows out: one row per process, built from the typed [`Mark`]s alone.
//!
//! A child's row runs from its `spawned` mark (the main's `p.start()`) to its reap; from the
//! moment the main saw it exit (`waitid(WNOWAIT)`) until the reap, it is a zombie. Every other
//! stretch (waiting for the lock, holding it, the unlocked race window, waiting on a queue)
//! the process marked itself: `Begin` enters a stretch (and leaves the one before), `End`
//! leaves it.

use nix::sys::signal::Signal;

use crate::event::{Ended, Mark, Outcome, Span};

use super::record::Record;

/// How a row ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Ending {
    /// The main, which is drawing: done, or stopped by a signal.
    Main {
        stopped: Option<Signal>,
    },
    Ended(Ended),
    /// Never reaped in the record (it cannot happen unless the run was cut short).
    Unknown,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    pub pid: i32,
    pub start: f64,
    pub end: f64,
    pub ending: Ending,
    pub outcome: Option<Outcome>,
    /// Marked stretches, `(from, to, kind)` in milliseconds.
    pub spans: Vec<(f64, f64, Span)>,
}

/// One row per process: the main first, then children in start order, then any other
/// process that wrote into the record (a grandchild).
pub fn rows(records: &[Record]) -> Vec<Row> {
    let Some(main_pid) = records
        .iter()
        .find(|r| r.name == "main")
        .or(records.first())
        .map(|r| r.pid)
    else {
        return Vec::new();
    };
    let main_marks = || {
        records
            .iter()
            .filter(move |r| r.pid == main_pid)
            .filter_map(|r| r.mark.map(|m| (r.t_ms, m)))
    };
    let mut order = vec![main_pid];
    for (_, mark) in main_marks() {
        if let Mark::Spawned { child } = mark {
            if !order.contains(&child) {
                order.push(child);
            }
        }
    }
    for r in records {
        if !order.contains(&r.pid) {
            order.push(r.pid);
        }
    }
    let last = records.iter().map(|r| r.t_ms).fold(0.0, f64::max);
    order
        .into_iter()
        .map(|pid| row(records, pid, pid == main_pid, last, main_marks()))
        .collect()
}

fn row(
    records: &[Record],
    pid: i32,
    is_main: bool,
    last: f64,
    main_marks: impl Iterator<Item = (f64, Mark)>,
) -> Row {
    let mut own: Vec<&Record> = records.iter().filter(|r| r.pid == pid).collect();
    own.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    let name = own
        .iter()
        .find(|r| r.event.is_some())
        .or(own.first())
        .map(|r| r.name.clone())
        .unwrap_or_else(|| pid.to_string());
    let first_own = own.first().map_or(f64::INFINITY, |r| r.t_ms);
    let last_own = own.last().map_or(0.0, |r| r.t_ms);

    // What the main says about this process.
    let (mut spawned, mut exited, mut reaped, mut stopped) = (None, None, None, None);
    for (t, mark) in main_marks {
        match mark {
            Mark::Spawned { child } if child == pid => spawned = Some(t),
            Mark::Exited { child } if child == pid => exited = Some(t),
            Mark::Reaped { child, ended } if child == pid => reaped = Some((t, ended)),
            Mark::Stopping { signal } => stopped = Some(signal),
            _ => {}
        }
    }
    let start = spawned.map_or(first_own, |t| t.min(first_own));
    let start = if start.is_finite() { start } else { 0.0 };
    let (end, ending) = if is_main {
        (last, Ending::Main { stopped })
    } else {
        match reaped {
            Some((t, ended)) => (t.max(last_own), Ending::Ended(ended)),
            None => (last_own.max(start), Ending::Unknown),
        }
    };

    // A process is in at most one marked stretch at a time: a `Begin` ends the one before
    // (getting the lock ends the wait for it), an `End` goes back to plain running.
    let mut spans = Vec::new();
    let mut open: Option<(Span, f64)> = None;
    let mut outcome = None;
    for r in &own {
        match r.mark {
            Some(Mark::Begin(kind)) => {
                if let Some((was, from)) = open.replace((kind, r.t_ms)) {
                    spans.push((from, r.t_ms, was));
                }
            }
            Some(Mark::End(kind)) => {
                if let Some((was, from)) = open.take_if(|(was, _)| *was == kind) {
                    spans.push((from, r.t_ms, was));
                }
            }
            Some(Mark::Outcome(o)) => outcome = Some(o),
            _ => {}
        }
    }
    // A stretch still open when the process ended lasts until it exited (a buyer killed
    // while it held the lock held it until then), or until its end.
    let exit = exited.map_or(end, |t: f64| t.max(start));
    spans.extend(open.map(|(kind, from)| (from, exit.max(from), kind)));
    if let (Some(from), Some((to, _))) = (exited, reaped) {
        spans.push((from, to, Span::Zombie));
    }
    Row {
        name,
        pid,
        start,
        end,
        ending,
        outcome,
        spans,
    }
}
