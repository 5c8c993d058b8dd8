//! The quiz's plain data: the kinds of question, a drawn question, an answer, the words a
//! question needs, and the quiz's events. The message files read these; nothing here reads
//! anything above it.

use serde::Serialize;

/// Every kind of question. Each asks about something the lesson makes certain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// spawn: whose pid do the children report as their parent?
    SpawnParent,
    /// join: all started, then joined: about the longest sleep or the sum?
    JoinParallel,
    /// join --sequential: and now?
    JoinSequential,
    /// isolate: what does the main read in its own `money`?
    IsolateMoney,
    /// isolate --method fork: the same address in both, or not?
    IsolateForkAddress,
    /// daemon: what happens to the daemon child when the main is done?
    DaemonEnds,
    /// daemon --no-daemon: and to an ordinary child?
    DaemonOrdinary,
    /// tickets: how many buyers get a ticket, with the lock?
    TicketsSold,
    /// tickets: how many buyers answer "sold out" (exit status 3)?
    TicketsSoldOut,
    /// tickets --no-lock: can a buyer read a half-written file?
    TicketsWholeFile,
    /// zombie: the state letter of a child that has exited, before its reap?
    ZombieState,
    /// orphan: who becomes the orphan's parent?
    OrphanAdopter,
    /// queue: how many items do the consumers get in all?
    QueueItems,
    /// pool: how many processes does the pool start?
    PoolProcesses,
    /// shared: the final value, with the lock?
    SharedLocked,
}

/// What the learner gives: a letter among choices, or a whole number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Choice(usize),
    Number(u64),
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Choice(i) => write!(f, "{}", letter(*i)),
            Answer::Number(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

pub fn letter(i: usize) -> char {
    (b'a' + i as u8) as char
}

/// One question: its kind, the numbers drawn for it, the run that answers it.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    pub kind: Kind,
    /// The numbers the question is about (a count, a value…), as drawn from the seed.
    pub n: u64,
    pub m: u64,
}

/// What a question says, in one language.
pub struct Text {
    /// One sentence on what the command does.
    pub setup: String,
    /// The question itself.
    pub ask: String,
    /// The choices, or `None` when the answer is a number.
    pub choices: Option<Vec<String>>,
    /// One line of why, shown after the run.
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// A question is asked: its number (from 1), kind, lesson and command line.
    Question {
        number: usize,
        kind: Kind,
        lesson: &'static str,
        command: String,
    },
    /// The learner's answer (`null`: not a valid one).
    Answer {
        number: usize,
        given: Option<Answer>,
    },
    /// What the real run did, and whether the answer matched it.
    Outcome {
        number: usize,
        observed: Option<Answer>,
        correct: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub questions: usize,
    pub answered: usize,
    pub correct: usize,
    pub seed: u64,
}

/// The quiz's own sentences, in one language.
pub struct QuizWords {
    pub intro: fn(seed: u64, questions: usize) -> String,
    pub sheet: fn(seed: u64) -> String,
    pub heading: fn(n: usize, of: usize) -> String,
    pub answer: fn(Answer) -> String,
    pub invalid: fn(choices: Option<usize>, again: bool) -> String,
    pub verdict: fn(given: Option<Answer>, observed: Option<Answer>, correct: bool) -> String,
    pub ended: fn() -> String,
}
