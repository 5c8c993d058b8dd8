//! # spawn: a parent starts children and goes on without waiting
//!
//! The tutorial's first example: `p = Process(target=test); p.start()`, then the parent prints
//! its own pid (`os.getpid()`) and its parent's (`os.getppid()`) while the child runs on its own.
//! Here each child is a real process, created either by re-executing procdemo (`--method
//! exec`: `posix_spawn(3)`, which is `clone(2)` + `execve(2)`) or by `fork(2)` alone
//! (`--method fork`: a copy of the parent that keeps running the parent's code). Every child
//! prints `Process-N is running` with its pid and its parent's pid, sleeps 3 s, and prints
//! `Process-N is over`.
//!
//! The parent does not wait for them to do its own work, but before it exits it still
//! collects each one with `waitpid(2)`: a child that ends unreaped stays a zombie, and one
//! whose parent exits first is re-parented to init, which is exactly the loose end a
//! well-behaved program never leaves.

use anyhow::Result;
use serde::Serialize;

use crate::child::{self, DecodeError, Encoder, Fields, Method};
use crate::event::LessonEvent;
use crate::lesson::part::TourPart;
use crate::sink::{Out, Settings};
use crate::supervisor::Supervisor;
use crate::time::TimeScale;
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};

/// How long each child sleeps between `is running` and `is over`, in the tutorial's seconds.
const CHILD_SLEEP: f64 = 3.0;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// How many children to start
    #[arg(long, value_name = "N", default_value = "1", value_parser = crate::number::count)]
    pub count: usize,

    /// How to create each child
    #[arg(long, value_enum, default_value = "exec")]
    pub method: Method,
}

/// In the tour: part 1, the tutorial's own examples.
pub const TOUR: TourPart = TourPart::TUTORIAL;

pub const EXAMPLES: &str = "\
Examples:
  # one child, the tutorial's 3 s
  procdemo spawn
  procdemo --time-scale 0.1 spawn --count 3 --method fork
  # in Chinese, then the chart
  procdemo --lang zh --timeline spawn --count 2";

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// main: it goes on without waiting for its children.
    NotWaiting { children: usize },
    /// child: it is done (`is over`).
    Over,
}

impl LessonEvent for Event {}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub children: usize,
    pub method: Method,
}

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    // The parent's pid and ppid: the tutorial's `print('父进程:', os.getpid())`.
    let out = Out::main(s.format, "spawn")?;
    let mut children = Supervisor::new(&out, s.scale)?;

    // p.start(), count times. Each call returns as soon as the child exists.
    for i in 1..=args.count {
        children.start(format!("Process-{i}"), Role, args.method)?;
    }
    out.emit(&Event::NotWaiting {
        children: args.count,
    })?;

    // The parent's own work is done; collect every child before leaving.
    children.join_all()?;
    out.emit(&Summary {
        children: args.count,
        method: args.method,
    })?;
    children.finish()
}

/// A child: it has said who it is (its `start`: pid, parent pid); it sleeps, and is over.
#[derive(Clone, Debug, PartialEq)]
pub struct Role;

impl child::Role for Role {
    const LESSON: &'static str = "spawn";

    fn encode(&self, _: &mut Encoder) {}

    fn decode(_: &mut Fields) -> Result<Self, DecodeError> {
        Ok(Role)
    }

    fn run(self, out: &Out, scale: TimeScale) -> Result<i32> {
        scale.sleep(CHILD_SLEEP);
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
    /// Whose pid do the children report as their parent?
    #[strum(serialize = "spawn_parent")]
    Parent,
}

impl Ask for Question {
    const ALL: &'static [Question] = &[Question::Parent];

    fn draw(self, rng: &mut Rng) -> Drawn {
        Drawn::one(rng.between(2, 4))
    }

    fn args(self, d: Drawn) -> Vec<String> {
        vec!["--count".into(), d.n.to_string()]
    }

    fn expected(self, _: Drawn) -> Answer {
        Answer::Choice(0)
    }

    fn observed(self, _: Drawn, run: &Observed) -> Option<Answer> {
        run.summary()?; // no summary: the run was cut short
        let ppids: Vec<i64> = run
            .of("start")
            .filter(|e| e["name"] != "main")
            .filter_map(|e| e["ppid"].as_i64())
            .collect();
        let main = run.main_pid()?;
        Some(if !ppids.is_empty() && ppids.iter().all(|p| *p == main) {
            Answer::Choice(0)
        } else if ppids.iter().all(|p| *p == 1) {
            Answer::Choice(2)
        } else {
            Answer::Choice(1)
        })
    }
}
