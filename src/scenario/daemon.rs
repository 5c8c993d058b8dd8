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

use anyhow::Result;

use crate::child::Role;
use crate::cli::{DaemonArgs, Global, Method};
use crate::event::{Ended, Event, Out, Scenario, Summary};
use crate::supervisor::Supervisor;
use crate::time::TimeScale;

/// Seconds between the child's "alive" lines.
const CHILD_PERIOD: f64 = 3.0;
/// Seconds between the main's lines.
const MAIN_PERIOD: f64 = 0.1;
/// How many times an ordinary (`--no-daemon`) child says it is alive before it ends.
const ORDINARY_TICKS: u64 = 3;

pub fn run(g: &Global, args: &DaemonArgs) -> Result<()> {
    let out = Out::main(g.format(), Scenario::Daemon)?;
    let mut children = Supervisor::new(&out, g.time_scale)?;
    let daemon = !args.no_daemon;
    let ticks = (!daemon).then_some(ORDINARY_TICKS);
    let child = children.start("Process-1".into(), Role::Daemon { ticks }, Method::Exec)?;

    // The main's own work: ten lines, 0.1 s apart.
    let of = args.ticks as u64;
    for tick in 1..=of {
        children.sleep(MAIN_PERIOD)?;
        out.emit(&Event::Tick { tick, of })?;
    }

    // The main is done. A daemon child is ended now; an ordinary one is waited for.
    let ended = if daemon {
        children.terminate(child)?
    } else {
        children.join(child)?
    };
    let child_terminated_by = match ended {
        Ended::Signal(sig) => Some(sig),
        Ended::Code(_) => None,
    };
    out.emit(&Event::Summary(Summary::Daemon {
        daemon,
        child_pid: child,
        child_terminated_by,
    }))
}

/// The child: `while True: print('alive'); time.sleep(3)`, or only `ticks` times.
pub fn child(out: &Out, scale: TimeScale, ticks: Option<u64>) -> Result<()> {
    out.emit(&Event::Start {
        scenario: Scenario::Daemon,
    })?;
    for tick in 1.. {
        out.emit(&Event::Alive { tick })?;
        if ticks.is_some_and(|t| tick >= t) {
            break;
        }
        scale.sleep(CHILD_PERIOD);
    }
    Ok(())
}
