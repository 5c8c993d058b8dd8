//! # zombie: a child that has ended, and nobody has reaped it yet
//!
//! TLPI's `make_zombie.c`, on real processes. N children exit at once. A process that has
//! exited does not vanish: the kernel keeps its pid and its exit status until its parent
//! collects them with waitpid(2) (wait(2), NOTES). Until then it is a *zombie* (僵尸进程):
//! state `Z` in `/proc/<pid>/stat`, what `ps` shows as `<defunct>`. The main leaves its
//! children that way for `--hold` seconds. Meanwhile it reads each one's state, prints the
//! `ps` command that shows them from another terminal, and sends each one SIGKILL, which
//! changes nothing: a zombie is dead already, no signal reaches it (its exit status stays
//! 0). Then it reaps each one, as Python's `p.join()` does, and `/proc/<pid>` is gone: the pid
//! is free for the next process.
//!
//! How does the main know that a child has exited without reaping it? waitid(2) with
//! `WNOWAIT` reports the exit and leaves the child waitable. The supervisor's `hold` keeps its
//! reaping loop away from these children until `join`; `wait_exited` is that waitid.

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::Serialize;

use crate::child::{self, DecodeError, Encoder, Fields, Method};
use crate::event::{Accent, LessonEvent};
use crate::lesson::part::TourPart;
use crate::procfs;
use crate::sink::{Out, Settings};
use crate::supervisor::Supervisor;
use crate::time::TimeScale;
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// How many children; all of them exit at once
    #[arg(long, value_name = "N", default_value = "1", value_parser = crate::number::count)]
    pub count: usize,

    /// Seconds the main leaves them unreaped, as zombies (0 to 3600, scaled by --time-scale)
    #[arg(long, value_name = "S", default_value = "3", value_parser = hold_seconds)]
    pub hold: f64,
}

/// `--hold S`: a number of seconds from 0 to 3600.
fn hold_seconds(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if (0.0..=3600.0).contains(&secs) {
        Ok(secs)
    } else {
        Err(format!("`{s}` is out of range (0 to 3600 seconds)"))
    }
}

/// In the tour: part 2, the lessons after the tutorial.
pub const TOUR: TourPart = TourPart::AFTER;

pub const EXAMPLES: &str = "\
Examples:
  # then run the ps command it prints
  procdemo zombie --hold 30
  # the z stretch: exited, not reaped
  procdemo --time-scale 0.1 zombie --count 3 --timeline
  # the events, as JSON Lines
  procdemo --json --time-scale 0 zombie";

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// child: it exits now, with code 0 (`os._exit(0)`).
    Exiting,
    /// main: the child has exited and is not reaped; its state as `/proc/<pid>/stat` says.
    Zombie {
        #[serde(serialize_with = "crate::event::pid")]
        child: Pid,
        child_name: String,
        state: char,
    },
    /// main: the command that shows the zombies from another terminal.
    PsHint { command: String },
    /// main: it sent the zombie `signal`; its state afterwards.
    KillZombie {
        #[serde(serialize_with = "crate::event::pid")]
        child: Pid,
        child_name: String,
        #[serde(with = "crate::event::signal_name")]
        signal: Signal,
        state: char,
    },
    /// main: it leaves its zombies unreaped for `seconds` (`--hold`, before `--time-scale`),
    /// that is `for_ms` milliseconds (after it).
    Holding {
        zombies: usize,
        seconds: f64,
        #[serde(serialize_with = "crate::event::ms")]
        for_ms: f64,
    },
    /// main: after the reap, `/proc/<pid>` no longer exists.
    Gone {
        #[serde(serialize_with = "crate::event::pid")]
        child: Pid,
        child_name: String,
    },
}

impl LessonEvent for Event {
    fn accent(&self) -> Accent {
        match self {
            Event::KillZombie { .. } => Accent::Warning,
            _ => Accent::Plain,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub children: usize,
    /// How many were seen in state `Z` before their reap.
    pub zombies_seen: usize,
    /// Every child's `/proc/<pid>` was gone after its reap.
    pub gone_after_reap: bool,
}

/// The state letter of `pid`, `?` where `/proc` does not say.
fn state_of(pid: Pid) -> char {
    procfs::stat(Some(pid)).map_or('?', |s| s.state)
}

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    let out = Out::main(s.format, "zombie")?;
    let mut children = Supervisor::new(&out, s.scale)?;

    // N children, each exiting at once. Held: nothing reaps them until `join` below.
    let mut zombies = Vec::with_capacity(args.count);
    for i in 0..args.count {
        let name = format!("Process-{}", i + 1);
        let pid = children.start(name.clone(), Role, Method::Exec)?;
        children.hold(pid)?;
        zombies.push((pid, name));
    }

    // Each one has exited (waitid with WNOWAIT says so) and is not reaped: what is it now?
    let mut zombies_seen = 0;
    for (pid, name) in &zombies {
        children.wait_exited(*pid)?;
        let state = state_of(*pid);
        zombies_seen += usize::from(state == 'Z');
        out.emit(&Event::Zombie {
            child: *pid,
            child_name: name.clone(),
            state,
        })?;
    }

    // Look from another terminal: ps lists them as <defunct>.
    out.emit(&Event::PsHint {
        command: format!(
            "ps -o pid,ppid,stat,cmd --ppid {}",
            nix::unistd::getpid()
        ),
    })?;

    // kill -9 a zombie: nothing changes, it is dead already. Signalling by pid is safe here:
    // until we reap it, the kernel keeps the pid for our zombie, never for another process.
    for (pid, name) in &zombies {
        kill(*pid, Signal::SIGKILL).with_context(|| format!("kill({pid}, SIGKILL)"))?;
        out.emit(&Event::KillZombie {
            child: *pid,
            child_name: name.clone(),
            signal: Signal::SIGKILL,
            state: state_of(*pid),
        })?;
    }

    // Leave them so: `--hold` seconds without a reap (scaled; 0 holds them no time at all,
    // yet they are zombies until the join all the same).
    out.emit(&Event::Holding {
        zombies: zombies.len(),
        seconds: args.hold,
        for_ms: s.scale.of(args.hold).map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    })?;
    children.sleep(args.hold)?;

    // p.join(): waitpid collects each exit status, and then the pid is gone.
    let mut gone_after_reap = true;
    for (pid, name) in zombies {
        children.join(pid)?;
        if procfs::exists(pid) {
            gone_after_reap = false;
        } else {
            out.emit(&Event::Gone {
                child: pid,
                child_name: name,
            })?;
        }
    }

    out.emit(&Summary {
        children: args.count,
        zombies_seen,
        gone_after_reap,
    })?;
    children.finish()
}

/// A child: `os._exit(0)` at once.
#[derive(Clone, Debug, PartialEq)]
pub struct Role;

impl child::Role for Role {
    const LESSON: &'static str = "zombie";

    fn encode(&self, _: &mut Encoder) {}

    fn decode(_: &mut Fields) -> Result<Self, DecodeError> {
        Ok(Role)
    }

    fn run(self, out: &Out, _: TimeScale) -> Result<i32> {
        out.emit(&Event::Exiting)?;
        Ok(crate::error::code::SUCCESS)
    }
}

// ---------------------------------------------------------------------------------------
// The quiz
// ---------------------------------------------------------------------------------------

/// What `procdemo quiz` asks about this lesson (its words: `question` in the message files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Question {
    /// The state letter of a child that has exited, before its reap?
    #[strum(serialize = "zombie_state")]
    State,
}

impl Ask for Question {
    const ALL: &'static [Question] = &[Question::State];

    fn draw(self, rng: &mut Rng) -> Drawn {
        Drawn::one(rng.between(1, 3))
    }

    fn args(self, d: Drawn) -> Vec<String> {
        vec![
            "--count".into(),
            d.n.to_string(),
            "--hold".into(),
            "1".into(),
        ]
    }

    fn expected(self, _: Drawn) -> Answer {
        Answer::Choice(2)
    }

    fn observed(self, _: Drawn, run: &Observed) -> Option<Answer> {
        run.summary()?; // no summary: the run was cut short
        // The state letters main read in /proc/<pid>/stat before each reap.
        let states: Vec<&str> = run
            .of("zombie")
            .filter_map(|e| e["state"].as_str())
            .collect();
        match states.first().copied() {
            Some(first) if states.iter().all(|s| *s == first) => match first {
                "R" => Some(Answer::Choice(0)),
                "S" => Some(Answer::Choice(1)),
                "Z" => Some(Answer::Choice(2)),
                _ => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_is_a_number_of_seconds_up_to_an_hour() {
        for ok in ["0", "3", "0.5", "3600"] {
            assert!(hold_seconds(ok).is_ok(), "{ok}");
        }
        for bad in ["-1", "3600.5", "nan", "inf", "x", ""] {
            assert!(hold_seconds(bad).is_err(), "{bad}");
        }
    }
}
