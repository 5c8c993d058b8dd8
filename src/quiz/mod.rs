//! # quiz: predict, then watch real processes answer
//!
//! Each question shows a run's setup (the exact command line, and what it does), asks what
//! will happen (a choice by letter, or a number), reads the answer, then runs the real
//! processes and puts what they did beside what the learner said, with one line of why. As in
//! OSTEP's homework simulators, a seed gives an endless supply of problems and the same seed
//! the same questions (`--seed`), and `--answers` prints the answers and asks nothing: a
//! teacher's sheet. Unlike them, nothing here is simulated: the check compares the prediction
//! with what the real run did, read from the events its processes emitted (the run's record,
//! `timeline::record`), never with a stored answer. So every question asks about something
//! certain, never about the outcome of a race.
//!
//! Each lesson asks its own questions (its `Question`, with [`ask::Ask`]), at least one: a
//! lesson without one does not compile. Each kind draws its parameters from the seed.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::event::{fields_of, Accent, Emit, Format, Header, Lang};
use crate::lesson::{self, Lesson, Options, QuestionKind};
use crate::messages::{en, zh};
use crate::sink::{paragraph, write_line, Out};
use crate::time::{Clock, TimeScale};

pub mod ask;
pub mod data;

use ask::{Drawn, Observed, Rng};
use data::letter;
pub use data::{Answer, Event, QuizWords, Summary, Text};

/// The quiz's time scale when `--time-scale` is not given: every run takes a moment at most.
pub const SCALE: f64 = 0.2;

/// `procdemo quiz`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The seed that picks the questions; without it a random one is used, and printed
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// How many questions
    #[arg(long, value_name = "N", default_value = "5", value_parser = crate::number::count)]
    pub questions: usize,

    /// Print every question with its answer and ask nothing (a teacher's sheet)
    #[arg(long)]
    pub answers: bool,
}

// ---------------------------------------------------------------------------------------
// The bank
// ---------------------------------------------------------------------------------------

/// One question: its kind (one of a lesson's own), the numbers drawn for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Question {
    pub kind: QuestionKind,
    pub drawn: Drawn,
}

impl Question {
    pub fn lesson(&self) -> Lesson {
        self.kind.lesson()
    }

    /// The lesson's options for this question (the ticket file is added where it runs).
    pub fn args(&self) -> Vec<String> {
        self.kind.args(self.drawn)
    }

    /// The choices, or `None` when the answer is a number.
    #[cfg(test)]
    pub fn choices(&self, lang: Lang) -> Option<Vec<String>> {
        text(self, lang).choices
    }

    /// The answer the lesson predicts: the teacher's sheet.
    pub fn expected(&self) -> Answer {
        self.kind.expected(self.drawn)
    }

    /// What the real run did, read from the events its processes emitted; `None` when the
    /// run said nothing that answers the question (it was cut short).
    pub fn observed(&self, run: &Observed) -> Option<Answer> {
        self.kind.observed(self.drawn, run)
    }
}

/// The questions of one quiz: `count` of them, from `seed`. Kinds are taken in turn from a
/// shuffled bank, every lesson's questions, so a short quiz still covers several lessons.
pub fn questions(seed: u64, count: usize) -> Vec<Question> {
    let mut rng = Rng::new(seed);
    let kinds = QuestionKind::all();
    let mut order: Vec<QuestionKind> = Vec::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        if order.is_empty() {
            order = kinds.clone();
            rng.shuffle(&mut order);
        }
        let kind = order.pop().expect("a kind");
        out.push(Question {
            kind,
            drawn: kind.draw(&mut rng),
        });
    }
    out
}

/// A seed when none is given: from the kernel's random pool (random(4)), else the clock.
fn random_seed() -> u64 {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        Ok(()) => u64::from_le_bytes(bytes) % 1_000_000,
        Err(_) => Clock::start().epoch_ns() % 1_000_000,
    }
}

// ---------------------------------------------------------------------------------------
// Its words
// ---------------------------------------------------------------------------------------

fn text(q: &Question, lang: Lang) -> Text {
    q.kind.text(q.drawn, lang)
}

/// The command line a question runs, as the learner would type it.
fn command_line(q: &Question, scale: f64) -> String {
    let mut words = vec![
        "procdemo".to_owned(),
        "--time-scale".to_owned(),
        crate::text::trim_number(scale, 3),
        q.lesson().name().to_owned(),
    ];
    words.extend(q.args());
    words.join(" ")
}

// ---------------------------------------------------------------------------------------
// Its events (`--json`)
// ---------------------------------------------------------------------------------------

impl Emit for Event {
    fn kind(&self) -> &'static str {
        self.into()
    }
    fn fields(&self) -> Map<String, Value> {
        fields_of(self)
    }
    fn human(&self, _: &Header, lang: Lang) -> String {
        match lang {
            Lang::En => en::quiz::event(self),
            Lang::Zh => zh::quiz::event(self),
        }
    }
}

impl Emit for Summary {
    fn kind(&self) -> &'static str {
        "summary"
    }
    fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("scenario".into(), "quiz".into());
        m.extend(fields_of(self));
        m
    }
    fn human(&self, _: &Header, lang: Lang) -> String {
        match lang {
            Lang::En => en::quiz::summary(self),
            Lang::Zh => zh::quiz::summary(self),
        }
    }
    fn accent(&self) -> Accent {
        Accent::Summary
    }
}

// ---------------------------------------------------------------------------------------
// The quiz
// ---------------------------------------------------------------------------------------

/// Read one answer, a line of stdin. `Ok(None)` at the end of input.
///
/// Once a lesson has run, the main reads SIGINT and SIGTERM from its signal watch (`watch`),
/// and they no longer interrupt a blocked read(2): so the quiz waits for stdin in that same
/// watch, and stops on Ctrl-C like any wait of the main. It reads byte by byte, unbuffered,
/// so that what it has not read yet is still there for the next poll(2).
fn read_line() -> Result<Option<String>> {
    use std::os::fd::AsFd;
    let stdin = std::io::stdin();
    let mut line = Vec::new();
    loop {
        crate::watch::wait(Some((stdin.as_fd(), nix::poll::PollFlags::POLLIN)), None)?;
        if let Some(sig) = crate::watch::stopping() {
            return Err(crate::error::Stopped(sig).into());
        }
        let mut byte = [0u8; 1];
        match nix::unistd::read(stdin.as_fd(), &mut byte) {
            Ok(0) if line.is_empty() => return Ok(None),
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => continue,
            Err(e) => return Err(e).context("reading the answer"),
        }
    }
    Ok(Some(String::from_utf8_lossy(&line).trim().to_owned()))
}

/// A letter among `choices`, or a whole number.
fn parse_answer(text: &str, choices: Option<usize>) -> Option<Answer> {
    let text = text.trim().to_lowercase();
    match choices {
        Some(n) => {
            let c = text.strip_suffix(')').unwrap_or(&text);
            let mut chars = c.chars();
            match (chars.next(), chars.next()) {
                (Some(c @ 'a'..='z'), None) if ((c as u8 - b'a') as usize) < n => {
                    Some(Answer::Choice((c as u8 - b'a') as usize))
                }
                _ => None,
            }
        }
        None => text.parse().ok().map(Answer::Number),
    }
}

/// The quiz, with the run's options (`scale_given`: whether `--time-scale` was typed; the
/// quiz has its own default).
pub fn run(o: &Options, scale_given: bool, args: &Args) -> Result<()> {
    let mut o = o.clone();
    if !scale_given {
        o.settings.scale = TimeScale::new(SCALE).expect("a valid scale");
    }
    o.explain = false;
    let lang = o.lang;
    let format = o.settings.format;
    let seed = args.seed.unwrap_or_else(random_seed);
    let questions = questions(seed, args.questions);
    let scale = o.settings.scale.factor();
    let human = format != Format::Json;
    let say = |text: &str| if human { paragraph(text) } else { Ok(()) };
    let out = Out::new(format, Clock::start(), "main");
    let words = quiz_words(lang);

    if args.answers {
        // The teacher's sheet: every question, with the answer the lesson predicts.
        say(&(words.sheet)(seed))?;
        for (i, q) in questions.iter().enumerate() {
            let t = text(q, lang);
            let mut block = format!(
                "{}\n$ {}\n{}\n{}",
                (words.heading)(i + 1, questions.len()),
                command_line(q, scale),
                t.setup,
                t.ask
            );
            for (j, c) in t.choices.iter().flatten().enumerate() {
                block.push_str(&format!("\n  {}) {c}", letter(j)));
            }
            block.push_str(&format!("\n{}\n{}", (words.answer)(q.expected()), t.why));
            if human {
                paragraph(&block)?;
            } else {
                out.emit(&Event::Question {
                    number: i + 1,
                    kind: q.kind.name(),
                    lesson: q.lesson().name(),
                    command: command_line(q, scale),
                })?;
                out.emit(&Event::Answer {
                    number: i + 1,
                    given: Some(q.expected()),
                })?;
            }
        }
        return Ok(());
    }

    say(&(words.intro)(seed, questions.len()))?;
    let terminal = std::io::stdin().is_terminal();
    let dir = crate::tour::TempDir::new()?;
    let (mut answered, mut correct) = (0, 0);
    for (i, q) in questions.iter().enumerate() {
        let number = i + 1;
        let t = text(q, lang);
        let command = command_line(q, scale);
        emit_if(
            &out,
            !human,
            &Event::Question {
                number,
                kind: q.kind.name(),
                lesson: q.lesson().name(),
                command: command.clone(),
            },
        )?;
        let mut block = format!(
            "{}\n$ {command}\n{}\n{}",
            (words.heading)(number, questions.len()),
            t.setup,
            t.ask
        );
        for (j, c) in t.choices.iter().flatten().enumerate() {
            block.push_str(&format!("\n  {}) {c}", letter(j)));
        }
        say(&block)?;

        // The answer: asked again on a terminal until it is one; from a pipe, a wrong one
        // counts as wrong (with a word), and the end of input ends the quiz.
        let n_choices = t.choices.as_ref().map(Vec::len);
        let given = loop {
            if terminal && human {
                write_line(std::io::stdout(), b"> ")?;
            }
            let Some(line) = read_line()? else {
                say(&(words.ended)())?;
                return finish(&out, questions.len(), answered, correct, seed);
            };
            match parse_answer(&line, n_choices) {
                Some(a) => break Some(a),
                None if terminal => say(&(words.invalid)(n_choices, true))?,
                None => {
                    say(&(words.invalid)(n_choices, false))?;
                    break None;
                }
            }
        };
        answered += 1;
        emit_if(&out, !human, &Event::Answer { number, given })?;

        // The real run.
        let observed = observe(&o, q, dir.path(), scale)?;
        let is_correct = given.is_some() && given == observed;
        correct += usize::from(is_correct);
        emit_if(
            &out,
            !human,
            &Event::Outcome {
                number,
                observed,
                correct: is_correct,
            },
        )?;
        say(&format!(
            "{}\n{}",
            (words.verdict)(given, observed, is_correct),
            t.why
        ))?;
    }
    finish(&out, questions.len(), answered, correct, seed)
}

/// Run the question's real scenario, showing its output, and read off what it did.
fn observe(o: &Options, q: &Question, dir: &std::path::Path, scale: f64) -> Result<Option<Answer>> {
    let mut argv: Vec<String> = vec![q.lesson().name().into()];
    argv.extend(q.args());
    if q.lesson().tour().data_file {
        argv.push("--data".into());
        argv.push(dir.join("data.json").to_string_lossy().into_owned());
    }
    let command = lesson::parse_command(&argv).context("the quiz's own command line")?;
    let records = lesson::run_recorded(o, &command, true)?;
    if o.settings.format != Format::Json {
        write_line(std::io::stdout(), b"\n")?;
    }
    Ok(q.observed(&Observed::new(records, scale)))
}

fn finish(out: &Out, questions: usize, answered: usize, correct: usize, seed: u64) -> Result<()> {
    out.emit(&Summary {
        questions,
        answered,
        correct,
        seed,
    })
}

fn quiz_words(lang: Lang) -> &'static QuizWords {
    match lang {
        Lang::En => &en::quiz::WORDS,
        Lang::Zh => &zh::quiz::WORDS,
    }
}

/// Emit only when `on`: the quiz's own events go out with `--json`; in human output the quiz
/// speaks in paragraphs instead.
fn emit_if(out: &Out, on: bool, event: &impl Emit) -> Result<()> {
    if on {
        out.emit(event)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_questions() {
        assert_eq!(questions(42, 20), questions(42, 20));
        assert_ne!(questions(42, 20), questions(43, 20));
    }

    #[test]
    fn every_lesson_has_a_question_and_a_long_quiz_asks_them_all() {
        let all = QuestionKind::all();
        for lesson in Lesson::ALL {
            let kinds: Vec<QuestionKind> = all
                .iter()
                .copied()
                .filter(|k| k.lesson() == *lesson)
                .collect();
            assert!(!kinds.is_empty(), "{lesson:?}");
            for kind in kinds {
                let q = Question {
                    kind,
                    drawn: kind.draw(&mut Rng::new(1)),
                };
                let command =
                    lesson::parse_command([lesson.name().to_owned()].into_iter().chain(q.args()));
                assert!(command.is_ok(), "{kind:?}: {:?}", q.args());
            }
        }
        let asked: std::collections::HashSet<&str> =
            questions(7, 200).iter().map(|q| q.kind.name()).collect();
        assert_eq!(asked.len(), all.len());
    }

    #[test]
    fn expected_answers_fit_their_questions() {
        for q in questions(3, 100) {
            for lang in [Lang::En, Lang::Zh] {
                match (q.expected(), q.choices(lang)) {
                    (Answer::Choice(i), Some(c)) => assert!(i < c.len(), "{q:?}"),
                    (Answer::Number(_), None) => {}
                    other => panic!("{q:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn answers_parse_as_letters_or_numbers() {
        assert_eq!(parse_answer("b", Some(3)), Some(Answer::Choice(1)));
        assert_eq!(parse_answer(" C) ", Some(3)), Some(Answer::Choice(2)));
        assert_eq!(parse_answer("d", Some(3)), None);
        assert_eq!(parse_answer("ab", Some(3)), None);
        assert_eq!(parse_answer("42", None), Some(Answer::Number(42)));
        assert_eq!(parse_answer("-1", None), None);
        assert_eq!(parse_answer("", None), None);
    }
}
