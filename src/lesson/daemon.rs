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
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde::Serialize;

use crate::child::{self, DecodeError, Encoder, Fields, Method};
use crate::event::{Accent, Ended, LessonEvent};
use crate::lesson::TourPart;
use crate::sink::{Out, Settings};
use crate::supervisor::Supervisor;
use crate::time::TimeScale;

/// Seconds between the child's "alive" lines.
const CHILD_PERIOD: f64 = 3.0;
/// Seconds between the main's lines.
const MAIN_PERIOD: f64 = 0.1;
/// How many times an ordinary (`--no-daemon`) child says it is alive before it ends.
const ORDINARY_TICKS: u64 = 3;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Make the child an ordinary child: it runs 3 ticks and the main waits for it
    #[arg(long)]
    pub no_daemon: bool,

    /// How many lines the main prints, 0.1 s apart, before it ends
    #[arg(long, value_name = "N", default_value = "10",
          value_parser = |s: &str| crate::cli::bounded(s, 0, 10_000))]
    pub ticks: usize,
}

/// In the tour: part 1, the tutorial's own examples.
pub const TOUR: TourPart = TourPart {
    part: 1,
    args: &[],
    data_file: false,
};

pub const EXAMPLES: &str = "\
Examples:
  procdemo daemon                                     # the daemon dies with the main
  procdemo --timeline daemon --ticks 5                # see when, and by which signal
  procdemo --time-scale 0.1 daemon --no-daemon        # an ordinary child is waited for";

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// child: still alive (`总管正常活着`), tick number from 1.
    Alive { tick: u64 },
    /// main: one of its own lines (`皇帝jason寿正终寝`), from 1.
    Tick { tick: u64, of: u64 },
    /// main: ending the daemon child because the main is done.
    Terminating {
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
            Event::Terminating { .. } => Accent::Warning,
            Event::Alive { .. } | Event::Tick { .. } => Accent::Plain,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub daemon: bool,
    #[serde(serialize_with = "crate::event::pid")]
    pub child_pid: Pid,
    #[serde(serialize_with = "signal_or_null")]
    pub child_terminated_by: Option<Signal>,
}

fn signal_or_null<S: serde::Serializer>(sig: &Option<Signal>, s: S) -> Result<S::Ok, S::Error> {
    match sig {
        Some(sig) => s.serialize_str(sig.as_str()),
        None => s.serialize_none(),
    }
}

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    let out = Out::main(s.format, "daemon")?;
    let mut children = Supervisor::new(&out, s.scale)?;
    let daemon = !args.no_daemon;
    let ticks = (!daemon).then_some(ORDINARY_TICKS);
    let child = children.start("Process-1".into(), Role { ticks }, Method::Exec)?;

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
    let child_terminated_by = match ended {
        Ended::Signal(sig) => Some(sig),
        Ended::Code(_) => None,
    };
    out.emit(&Summary {
        daemon,
        child_pid: child,
        child_terminated_by,
    })?;
    children.finish()
}

/// The child: `while True: print('alive'); time.sleep(3)`, or only `ticks` times.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub ticks: Option<u64>,
}

impl child::Role for Role {
    const LESSON: &'static str = "daemon";

    fn encode(&self, kv: &mut Encoder) {
        match self.ticks {
            Some(t) => kv.number("ticks", t),
            None => kv.put("ticks", "forever"),
        }
    }

    fn decode(kv: &mut Fields) -> Result<Self, DecodeError> {
        let ticks = match kv.text("ticks")? {
            "forever" => None,
            _ => Some(kv.number_in("ticks", 1..=10_000)?),
        };
        Ok(Role { ticks })
    }

    fn run(self, out: &Out, scale: TimeScale) -> Result<i32> {
        for tick in 1.. {
            out.emit(&Event::Alive { tick })?;
            if self.ticks.is_some_and(|t| tick >= t) {
                break;
            }
            if scale.of(CHILD_PERIOD).is_none() && self.ticks.is_none() {
                // `--time-scale 0`: the next tick would come at once, and the one after, a
                // busy loop of lines until the main ends us. Wait for that end instead,
                // asleep: the lesson (the daemon dies with its main) is the same.
                loop {
                    std::thread::park();
                }
            }
            scale.sleep(CHILD_PERIOD);
        }
        Ok(crate::error::code::SUCCESS)
    }
}
