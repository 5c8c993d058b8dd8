//! What a lesson writes to be asked about: its own kinds of question ([`Ask`]), with the
//! numbers drawn for one ([`Drawn`]), the seeded generator that draws them ([`Rng`]), and the
//! real run's events to read the answer from ([`Observed`]).
//!
//! Each lesson declares `pub enum Question` and implements [`Ask`] for it, next to its `run`;
//! its words are in the message files (`question`, in the lesson's module there). The
//! registry (`lesson/mod.rs`) gathers every lesson's questions into the quiz's bank. Nothing
//! here reads anything above the lessons.

use serde_json::{Map, Value};

pub use super::data::Answer;
use crate::timeline::record::Record;

/// A lesson's kinds of question: a fieldless enum, each variant a question about something
/// the lesson makes certain, never about the outcome of a race.
pub trait Ask: Copy + Eq + std::fmt::Debug + Into<&'static str> + 'static {
    /// Every kind, in a fixed order: the same seed draws the same questions from it.
    const ALL: &'static [Self];

    /// The numbers of a question of this kind, from the seed.
    fn draw(self, rng: &mut Rng) -> Drawn;

    /// The lesson's options that set up the run (the ticket file is added where it runs).
    fn args(self, d: Drawn) -> Vec<String>;

    /// The answer the lesson predicts: the teacher's sheet.
    fn expected(self, d: Drawn) -> Answer;

    /// What the real run did, read from the events its processes emitted; `None` when it said
    /// nothing that answers the question (it was cut short).
    fn observed(self, d: Drawn, run: &Observed) -> Option<Answer>;
}

/// The numbers a question is about (a count, a value…), as drawn from the seed; `m` is 0 for
/// a question about one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drawn {
    pub n: u64,
    pub m: u64,
}

impl Drawn {
    pub fn one(n: u64) -> Drawn {
        Drawn { n, m: 0 }
    }

    pub fn two(n: u64, m: u64) -> Drawn {
        Drawn { n, m }
    }
}

/// A small, fast pseudo-random generator (splitmix64): the same seed, the same questions,
/// on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number from `lo` to `hi`, both included.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.between(0, i as u64) as usize;
            items.swap(i, j);
        }
    }
}

/// The events of one real run, as its processes emitted them.
pub struct Observed {
    events: Vec<Map<String, Value>>,
    /// The run's `--time-scale`.
    pub scale: f64,
}

impl Observed {
    pub fn new(records: Vec<Record>, scale: f64) -> Observed {
        Observed {
            events: records.into_iter().filter_map(|r| r.event).collect(),
            scale,
        }
    }

    /// Every event named `kind`, in the order they were recorded.
    pub fn of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Map<String, Value>> + 'a {
        self.events.iter().filter(move |e| e["event"] == kind)
    }

    /// The run's summary, its last line.
    pub fn summary(&self) -> Option<&Map<String, Value>> {
        self.of("summary").last()
    }

    /// The main process's pid, from its `start` event.
    pub fn main_pid(&self) -> Option<i64> {
        self.of("start").find(|e| e["name"] == "main")?["pid"].as_i64()
    }
}
