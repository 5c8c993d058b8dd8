//! # isolate: every process has its own memory
//!
//! The tutorial's third example: a global `money = 100`; the child sets it to 99999999; after
//! `join` the parent prints its own `money`, still 100. Each process has its own address
//! space. With `--method fork` the child starts as a copy of the parent (fork(2)): both print
//! the same virtual address for `money`, yet hold different values there, because the kernel
//! gave the child its own copy of the page the moment it wrote to it (copy-on-write). With
//! `--method exec` the child is a fresh program (execve(2)): the kernel loads procdemo anew at
//! a random base address (address-space layout randomisation, ASLR), so its `money` sits at
//! another address, different on every run, in memory of its own.
//!
//! Isolated, but not deaf: the child writes its value into a pipe (pipe(2)) whose write end it
//! inherited, and the parent reads it from the other end. That is how processes talk: through
//! the kernel, never through each other's variables.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::child::{self, DecodeError, Encoder, Fields, Method};
use crate::event::LessonEvent;
use crate::lesson::part::TourPart;
use crate::sink::{Out, Settings};
use crate::supervisor::Supervisor;
use crate::sys;
use crate::time::TimeScale;
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// How to create the child
    #[arg(long, value_enum, default_value = "exec")]
    pub method: Method,

    /// The value the child stores in its `money`
    #[arg(
        long,
        value_name = "N",
        default_value = "99999999",
        allow_negative_numbers = true
    )]
    pub value: i64,
}

/// In the tour: part 1, the tutorial's own examples.
pub const TOUR: TourPart = TourPart::TUTORIAL;

pub const EXAMPLES: &str = "\
Examples:
  # the child's money, the main's money
  procdemo isolate
  # same address, two values
  procdemo isolate --method fork
  # the events, as JSON Lines
  procdemo --json isolate --value 7";

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// child: it set its global `money`.
    MoneySet {
        value: i64,
        #[serde(serialize_with = "crate::event::hex")]
        address: usize,
    },
    /// child: it wrote its value into the pipe.
    PipeSent { value: i64 },
    /// main: after the join it reads its own `money`.
    MoneyRead {
        value: i64,
        #[serde(serialize_with = "crate::event::hex")]
        address: usize,
    },
    /// main: what came out of the pipe.
    PipeReceived { value: i64 },
}

impl LessonEvent for Event {}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub method: Method,
    pub parent_value: i64,
    /// The value the child was told to set (its own report is its `money_set` event).
    pub child_value: i64,
    /// What actually came through the pipe.
    pub received: Option<i64>,
}

/// The tutorial's `money = 100`: one global in this program's data segment.
static MONEY: AtomicI64 = AtomicI64::new(100);

fn money_address() -> usize {
    &MONEY as *const AtomicI64 as usize
}

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    let out = Out::main(s.format, "isolate")?;
    let mut children = Supervisor::new(&out, s.scale)?;

    // The pipe the child will answer through. Both ends are close-on-exec; the write end is
    // made inheritable, so the exec'ed child finds it open under the same number.
    let (mut reader, writer) = std::io::pipe().context("pipe")?;
    sys::keep_open_across_exec(&writer)?;
    let role = Role {
        value: args.value,
        pipe: writer.as_raw_fd(),
    };
    let child = children.start("Process-1".into(), role, args.method)?;
    // Close our copy of the write end: the pipe reports end-of-file only once every write
    // end is closed (pipe(7)), and ours would keep it open forever.
    drop(writer);

    // p.join(); print(money)
    children.join(child)?;
    let parent_value = MONEY.load(Ordering::Relaxed);
    out.emit(&Event::MoneyRead {
        value: parent_value,
        address: money_address(),
    })?;

    // What the child said through the pipe.
    let mut text = String::new();
    (&mut reader)
        .take(64)
        .read_to_string(&mut text)
        .context("reading the pipe")?;
    let received = text.trim().parse::<i64>().ok();
    if let Some(value) = received {
        out.emit(&Event::PipeReceived { value })?;
    }

    out.emit(&Summary {
        method: args.method,
        parent_value,
        child_value: args.value,
        received,
    })?;
    children.finish()
}

/// The child: `global money; money = value`, show it, and send it to the parent through the
/// pipe's write end `pipe`.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub value: i64,
    pub pipe: RawFd,
}

impl child::Role for Role {
    const LESSON: &'static str = "isolate";

    fn encode(&self, kv: &mut Encoder) {
        kv.number("value", self.value);
        kv.number("pipe", self.pipe);
    }

    fn decode(kv: &mut Fields) -> Result<Self, DecodeError> {
        Ok(Role {
            value: kv.number("value")?,
            pipe: kv.descriptor("pipe")?,
        })
    }

    fn run(self, out: &Out, _: TimeScale) -> Result<i32> {
        let pipe = sys::inherited_fd(self.pipe)?;
        MONEY.store(self.value, Ordering::Relaxed);
        out.emit(&Event::MoneySet {
            value: MONEY.load(Ordering::Relaxed),
            address: money_address(),
        })?;
        let value = MONEY.load(Ordering::Relaxed);
        std::fs::File::from(pipe)
            .write_all(format!("{value}\n").as_bytes())
            .context("writing the pipe")?;
        out.emit(&Event::PipeSent { value })?;
        Ok(crate::error::code::SUCCESS)
    }
}

// ---------------------------------------------------------------------------------------
// The quiz
// ---------------------------------------------------------------------------------------

/// What `procdemo quiz` asks about this lesson (its words: `question` in the message files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Question {
    /// What does the main read in its own `money`?
    #[strum(serialize = "isolate_money")]
    Money,
    /// --method fork: the same address in both, or not?
    #[strum(serialize = "isolate_fork_address")]
    ForkAddress,
}

impl Ask for Question {
    const ALL: &'static [Question] = &[Question::Money, Question::ForkAddress];

    fn draw(self, rng: &mut Rng) -> Drawn {
        match self {
            Question::Money => Drawn::one(rng.between(1, 999_999)),
            Question::ForkAddress => Drawn::one(0),
        }
    }

    fn args(self, d: Drawn) -> Vec<String> {
        match self {
            Question::Money => vec!["--value".into(), d.n.to_string()],
            Question::ForkAddress => vec!["--method".into(), "fork".into()],
        }
    }

    fn expected(self, _: Drawn) -> Answer {
        match self {
            Question::Money => Answer::Number(100),
            Question::ForkAddress => Answer::Choice(0),
        }
    }

    fn observed(self, _: Drawn, run: &Observed) -> Option<Answer> {
        let summary = run.summary()?;
        Some(match self {
            Question::Money => Answer::Number(summary["parent_value"].as_i64()? as u64),
            Question::ForkAddress => {
                let child = &run.of("money_set").next()?["address"];
                let main = &run.of("money_read").next()?["address"];
                Answer::Choice(usize::from(child != main))
            }
        })
    }
}
