//! The quiz's plain data: an answer, the words a question needs, and the quiz's events. The
//! message files read these; nothing here reads anything above it.

use serde::Serialize;

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

impl Text {
    pub fn new(setup: String, ask: String, choices: Option<Vec<String>>, why: String) -> Text {
        Text {
            setup,
            ask,
            choices,
            why,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// A question is asked: its number (from 1), kind, lesson and command line.
    Question {
        number: usize,
        /// The kind of question, as its lesson names it (`zombie_state`).
        kind: &'static str,
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
