//! # join: wait for each child, and the waits overlap
//!
//! The tutorial's second example: three children sleep 0, 1 and 2 seconds; the parent starts
//! them all, then calls `p.join()` on each, and prints how long that took. Joining is
//! `waitpid(2)`: the parent sleeps in the kernel until that child has ended, and collects its
//! exit status. All three were started before the first join, so they sleep at the same time:
//! the parent waits about as long as the longest sleep (2 s), not the sum (3 s).
//!
//! `--sequential` starts a child only after the previous one was joined, and the times add
//! up. `--no-join` does not wait at all before printing, and still reaps every child before it
//! exits.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::child::{self, DecodeError, Encoder, Fields, Method};
use crate::event::LessonEvent;
use crate::lesson::part::TourPart;
use crate::sink::{Out, Settings};
use crate::supervisor::Supervisor;
use crate::time::TimeScale;
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// How many children; child i sleeps i seconds (0, 1, 2, ...)
    #[arg(long, value_name = "N", default_value = "3", value_parser = crate::number::count)]
    pub count: usize,

    /// Start and join one child at a time: elapsed becomes the sum
    #[arg(long, conflicts_with = "no_join")]
    pub sequential: bool,

    /// Do not join: the main prints at once (it still reaps its children before it exits)
    #[arg(long)]
    pub no_join: bool,
}

/// In the tour: part 1, the tutorial's own examples.
pub const TOUR: TourPart = TourPart::TUTORIAL;

pub const EXAMPLES: &str = "\
Examples:
  # 3 children: about 2 s, not 3
  procdemo join
  # the rows overlap
  procdemo --time-scale 0.1 join --count 3 --timeline
  # one after another
  procdemo --time-scale 0.1 join --count 3 --sequential --timeline";

/// How the main waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Parallel,
    Sequential,
    NoJoin,
}

impl Args {
    pub fn mode(&self) -> Mode {
        match (self.sequential, self.no_join) {
            (true, _) => Mode::Sequential,
            (_, true) => Mode::NoJoin,
            _ => Mode::Parallel,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// child: it is done (`is over`).
    Over,
    /// main: the tutorial's `print('主')` and the elapsed time, after joining (or not).
    MainDone {
        #[serde(serialize_with = "crate::event::ms")]
        elapsed_ms: f64,
        mode: Mode,
    },
}

impl LessonEvent for Event {}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub children: usize,
    #[serde(serialize_with = "crate::event::ms")]
    pub elapsed_ms: f64,
    pub mode: Mode,
}

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    let out = Out::main(s.format, "join")?;
    let mut children = Supervisor::new(&out, s.scale)?;
    let mode = args.mode();
    let started = Instant::now();

    // Child i (from 0) is Process-(i+1) and sleeps i seconds.
    let name = |i: usize| format!("Process-{}", i + 1);
    let role = |i: usize| Role { secs: i as u64 };

    match mode {
        Mode::Parallel | Mode::NoJoin => {
            let mut pids = Vec::with_capacity(args.count);
            for i in 0..args.count {
                pids.push(children.start(name(i), role(i), Method::Exec)?);
            }
            if mode == Mode::Parallel {
                // [p.join() for p in p_list]
                for pid in pids {
                    children.join(pid)?;
                }
            }
        }
        Mode::Sequential => {
            for i in 0..args.count {
                let pid = children.start(name(i), role(i), Method::Exec)?;
                children.join(pid)?;
            }
        }
    }

    // print('主'); print(time.time() - start_time)
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    out.emit(&Event::MainDone { elapsed_ms, mode })?;

    // Without join the children are still running: reap them before leaving all the same.
    children.join_all()?;
    out.emit(&Summary {
        children: args.count,
        elapsed_ms,
        mode,
    })?;
    children.finish()
}

/// A child: `print('%s is running' % name)`, sleep `secs`, `print('%s is over' % name)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub secs: u64,
}

impl child::Role for Role {
    const LESSON: &'static str = "join";

    fn encode(&self, kv: &mut Encoder) {
        kv.number("sleep", self.secs);
    }

    fn decode(kv: &mut Fields) -> Result<Self, DecodeError> {
        // Child i sleeps i seconds, and there are at most 10000 children.
        Ok(Role {
            secs: kv.number_in("sleep", 0..=10_000)?,
        })
    }

    fn run(self, out: &Out, scale: TimeScale) -> Result<i32> {
        scale.sleep(self.secs as f64);
        out.emit(&Event::Over)?;
        Ok(crate::error::code::SUCCESS)
    }
}

// ---------------------------------------------------------------------------------------
// The quiz
// ---------------------------------------------------------------------------------------

/// What `procdemo quiz` asks about this lesson (its words: `question` in the message files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Question {
    /// All started, then joined: about the longest sleep or the sum?
    #[strum(serialize = "join_parallel")]
    Parallel,
    /// --sequential: and now?
    #[strum(serialize = "join_sequential")]
    Sequential,
}

impl Ask for Question {
    const ALL: &'static [Question] = &[Question::Parallel, Question::Sequential];

    fn draw(self, rng: &mut Rng) -> Drawn {
        // At least 4 children: the longest sleep and the sum are then far apart.
        Drawn::one(rng.between(4, 5))
    }

    fn args(self, d: Drawn) -> Vec<String> {
        let mut args = vec!["--count".into(), d.n.to_string()];
        if self == Question::Sequential {
            args.push("--sequential".into());
        }
        args
    }

    fn expected(self, _: Drawn) -> Answer {
        match self {
            Question::Parallel => Answer::Choice(0),
            Question::Sequential => Answer::Choice(1),
        }
    }

    fn observed(self, d: Drawn, run: &Observed) -> Option<Answer> {
        // Closer to the longest sleep, or to the sum? The midpoint decides.
        let n = d.n as f64;
        let (longest, sum) = (n - 1.0, n * (n - 1.0) / 2.0);
        let seconds = run.summary()?["elapsed_ms"].as_f64()? / 1000.0 / run.scale;
        Some(Answer::Choice(usize::from(seconds > (longest + sum) / 2.0)))
    }
}
