//! The registry: every lesson of procdemo, one line each.
//!
//! A lesson is one module (`lesson/spawn.rs`, …) that owns its command-line `Args`, its child
//! `Role` (what its children do, and the `--child` keys that say so), its `Event`s, its
//! `Summary`, both sides of its story (`run`, what the main process does, and its children's
//! `Role::run`), and what the quiz asks about it (its `Question`s). Its sentences live in the
//! two message files (`messages/en.rs`, `zh.rs`), in a module of the same name.
//!
//! The `lessons!` line below wires a lesson into everything else: the `procdemo <lesson>`
//! subcommand with its help, the `--child <lesson>` decoder, how its events are named, shown
//! and drawn, its questions in the quiz's bank, and the list the tour, `--help` and the tests
//! walk. Adding a lesson is its module, one line here, and its sentences in the two message
//! files: the compiler points at each of them.

use std::ffi::OsString;

use anyhow::Result;
use serde_json::{Map, Value};

use crate::child::{self, DecodeError, Role as _};
use crate::error::Stopped;
use crate::event::{fields_of, write_fields_of, Accent, Emit, Header, Lang, LessonEvent, Mark};
use crate::messages::{self, en, zh};
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};
use crate::quiz::data::Text;
use crate::sink::{self, Settings};
use crate::timeline;

pub use part::TourPart;

mod part;

macro_rules! lessons {
    ($($Variant:ident => $m:ident;)*) => {
        $(pub mod $m;)*

        /// Every lesson, in the course's order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Lesson {
            $($Variant,)*
        }

        impl Lesson {
            pub const ALL: &[Lesson] = &[$(Lesson::$Variant,)*];

            /// Its subcommand, and the word after `--child`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Lesson::$Variant => <$m::Role as child::Role>::LESSON,)*
                }
            }

            /// Its one line in `--help`.
            pub fn about(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Lesson::$Variant, Lang::En) => en::$m::ABOUT,
                      (Lesson::$Variant, Lang::Zh) => zh::$m::ABOUT,)*
                }
            }

            /// Its options' help in Chinese, by option id (English is in its `Args`).
            pub fn options_zh(self) -> &'static [(&'static str, &'static str)] {
                match self {
                    $(Lesson::$Variant => zh::$m::OPTIONS,)*
                }
            }

            /// The sentence the tour closes it with.
            pub fn showed(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Lesson::$Variant, Lang::En) => en::$m::SHOWED,
                      (Lesson::$Variant, Lang::Zh) => zh::$m::SHOWED,)*
                }
            }

            pub fn tour(self) -> TourPart {
                match self {
                    $(Lesson::$Variant => $m::TOUR,)*
                }
            }

            /// Every `event` name its events can have (the common ones and `summary` aside).
            #[cfg(test)]
            pub fn event_kinds(self) -> &'static [&'static str] {
                use strum::VariantNames;
                match self {
                    $(Lesson::$Variant => $m::Event::VARIANTS,)*
                }
            }
        }

        /// A kind of quiz question: one of a lesson's own (`<lesson>::Question`, see
        /// `quiz::ask`). A lesson without one does not compile.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum QuestionKind {
            $($Variant($m::Question),)*
        }

        impl QuestionKind {
            /// Every lesson's questions, lesson by lesson in the course's order.
            pub fn all() -> Vec<QuestionKind> {
                let mut all = Vec::new();
                $(all.extend(<$m::Question as Ask>::ALL.iter().map(|q| QuestionKind::$Variant(*q)));)*
                all
            }

            pub fn lesson(self) -> Lesson {
                match self {
                    $(QuestionKind::$Variant(_) => Lesson::$Variant,)*
                }
            }

            /// Its name in `--json` (`zombie_state`).
            pub fn name(self) -> &'static str {
                match self {
                    $(QuestionKind::$Variant(q) => q.into(),)*
                }
            }

            pub fn draw(self, rng: &mut Rng) -> Drawn {
                match self {
                    $(QuestionKind::$Variant(q) => q.draw(rng),)*
                }
            }

            pub fn args(self, d: Drawn) -> Vec<String> {
                match self {
                    $(QuestionKind::$Variant(q) => q.args(d),)*
                }
            }

            pub fn expected(self, d: Drawn) -> Answer {
                match self {
                    $(QuestionKind::$Variant(q) => q.expected(d),)*
                }
            }

            pub fn observed(self, d: Drawn, run: &Observed) -> Option<Answer> {
                match self {
                    $(QuestionKind::$Variant(q) => q.observed(d, run),)*
                }
            }

            /// What it says, in `lang`.
            pub fn text(self, d: Drawn, lang: Lang) -> Text {
                match (self, lang) {
                    $((QuestionKind::$Variant(q), Lang::En) => en::$m::question(q, d),
                      (QuestionKind::$Variant(q), Lang::Zh) => zh::$m::question(q, d),)*
                }
            }
        }

        /// `procdemo <lesson> [OPTIONS]`: flattened into the command line's subcommands. The
        /// help texts are set per language when the command line is built (`cli::command`).
        #[derive(clap::Subcommand, Debug, Clone)]
        pub enum Command {
            $(
                #[command(about = en::$m::ABOUT, after_help = $m::EXAMPLES)]
                $Variant($m::Args),
            )*
        }

        impl Command {
            pub fn lesson(&self) -> Lesson {
                match self {
                    $(Command::$Variant(_) => Lesson::$Variant,)*
                }
            }

            /// What this run shows, for the options it was given: `--explain`, the tour,
            /// and (with the default options) `procdemo <lesson> --help`.
            pub fn explain(&self, lang: Lang, scale: f64) -> String {
                match (self, lang) {
                    $((Command::$Variant(a), Lang::En) => en::$m::explain(a, scale),
                      (Command::$Variant(a), Lang::Zh) => zh::$m::explain(a, scale),)*
                }
            }

            fn dispatch(&self, s: &Settings) -> Result<()> {
                match self {
                    $(Command::$Variant(args) => $m::run(s, args),)*
                }
            }
        }

        /// What a child was asked to do: one lesson's role, decoded from its command line.
        #[derive(Debug)]
        enum ChildRole {
            $($Variant($m::Role),)*
        }

        /// A child's whole life: decode its command line, then run its lesson's role.
        /// Returns the exit code.
        pub fn child_main(args: &[OsString]) -> i32 {
            match decode_child(args) {
                Ok((spec, role)) => {
                    crate::sys::set_process_name(c"procdemo");
                    match role {
                        $(ChildRole::$Variant(role) => child::run(spec, role),)*
                    }
                }
                Err(e) => child::refuse(&e),
            }
        }

        /// The common keys, the lesson after `--child` and that lesson's own keys, every one
        /// of them used.
        fn decode_child(args: &[OsString]) -> Result<(child::Spec, ChildRole), DecodeError> {
            let (spec, lesson, mut fields) = child::Spec::decode(args)?;
            $(
                if lesson == <$m::Role as child::Role>::LESSON {
                    let role = $m::Role::decode(&mut fields)?;
                    fields.finish()?;
                    return Ok((spec, ChildRole::$Variant(role)));
                }
            )*
            Err(child::bad(format!("unknown lesson `{}`", lesson.escape_debug())))
        }

        $(
            impl Emit for $m::Event {
                fn kind(&self) -> &'static str {
                    self.into()
                }
                fn fields(&self) -> Map<String, Value> {
                    fields_of(self)
                }
                fn write_json_fields(&self, out: &mut Vec<u8>) {
                    write_fields_of(self, out)
                }
                fn human(&self, h: &Header, lang: Lang) -> String {
                    match lang {
                        Lang::En => en::$m::event(h, self),
                        Lang::Zh => zh::$m::event(h, self),
                    }
                }
                fn mark(&self) -> Option<Mark> {
                    LessonEvent::mark(self)
                }
                fn accent(&self) -> Accent {
                    LessonEvent::accent(self)
                }
            }

            /// The last line of a run: `"event": "summary"`, then `"scenario"` and the fields.
            impl Emit for $m::Summary {
                fn kind(&self) -> &'static str {
                    "summary"
                }
                fn fields(&self) -> Map<String, Value> {
                    let mut m = Map::new();
                    m.insert("scenario".into(), Lesson::$Variant.name().into());
                    m.extend(fields_of(self));
                    m
                }
                fn human(&self, _: &Header, lang: Lang) -> String {
                    match lang {
                        Lang::En => en::$m::summary(self),
                        Lang::Zh => zh::$m::summary(self),
                    }
                }
                fn accent(&self) -> Accent {
                    Accent::Summary
                }
            }
        )*
    };
}

lessons! {
    Spawn => spawn;
    Join => join;
    Isolate => isolate;
    Daemon => daemon;
    Tickets => tickets;
    Zombie => zombie;
    Orphan => orphan;
    Queue => queue;
    Pool => pool;
    Shared => shared;
}

/// A lesson's command with every option at its default, as `procdemo <lesson>` would run it.
pub fn default_command(lesson: Lesson) -> Command {
    parse_command([lesson.name()]).expect("every lesson runs with its defaults")
}

/// A lesson's command line, `<lesson> [OPTIONS]` (the tour's and the quiz's own runs).
pub fn parse_command<I, T>(words: I) -> Result<Command>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{FromArgMatches, Subcommand};
    let cmd = Command::augment_subcommands(clap::Command::new("procdemo").no_binary_name(true));
    let matches = cmd.try_get_matches_from(words)?;
    Ok(Command::from_arg_matches(&matches)?)
}

/// The teaching options around one lesson's run, resolved from the command line.
#[derive(Clone, Debug)]
pub struct Options {
    pub settings: Settings,
    pub lang: Lang,
    /// Print the lesson's paragraph first (human output only).
    pub explain: bool,
    /// Keep the run's record and draw the chart on stderr afterwards.
    pub timeline: bool,
    /// Keep the run's record and write it as a trace file afterwards.
    pub trace: Option<std::path::PathBuf>,
    pub chart_color: bool,
}

/// One lesson, with what `--explain` prints before it and `--timeline` draws after it.
pub fn run(o: &Options, command: &Command) -> Result<()> {
    run_recorded(o, command, false).map(drop)
}

/// [`run`], and with `keep` (or `--timeline`, `--trace`) the record of everything every
/// process of the run emitted: how the quiz learns what the real processes did.
pub fn run_recorded(
    o: &Options,
    command: &Command,
    keep: bool,
) -> Result<Vec<timeline::record::Record>> {
    let lesson = command.lesson();
    if o.explain && o.settings.format != crate::event::Format::Json {
        sink::paragraph(&command.explain(o.lang, o.settings.scale.factor()))?;
    }
    if !keep && !o.timeline && o.trace.is_none() {
        return command.dispatch(&o.settings).map(|()| Vec::new());
    }
    timeline::record::begin()?;
    let result = command.dispatch(&o.settings);
    let records = timeline::record::end();
    // After a closed stdout the run ends quietly; after an error the error line says it all.
    let finished = match &result {
        Ok(()) => true,
        Err(e) => e.downcast_ref::<Stopped>().is_some(),
    };
    if finished && o.timeline {
        let words = messages::words(o.lang).chart();
        let lines = timeline::chart(&records, lesson.name(), o.chart_color, words);
        if !lines.is_empty() {
            let chart = format!("\n{}\n", lines.join("\n"));
            let _ = sink::write_line(std::io::stderr(), chart.as_bytes());
        }
    }
    // The trace is written whatever happened: a stopped or failed run is worth looking at.
    if let Some(path) = &o.trace {
        let written = timeline::trace::write(path, &records, lesson.name());
        if result.is_ok() {
            written?;
        }
    }
    result.map(|()| records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::{Role, Spec};
    use crate::event::Format;
    use crate::time::{Clock, TimeScale};
    use nix::unistd::Pid;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStringExt;
    use std::path::PathBuf;

    fn spec(format: Format, timeline: Option<i32>) -> Spec {
        Spec {
            name: "buyer-3".into(),
            parent: Pid::from_raw(4241),
            clock: Clock::from_epoch_ns(123_456_789),
            scale: TimeScale::new(0.05).unwrap(),
            format,
            timeline,
        }
    }

    /// Encode, decode: the same spec and the same role, with every key used.
    fn round_trip<R: Role + PartialEq + std::fmt::Debug>(spec: &Spec, role: R) {
        let args = spec.to_args(&role);
        let (back, lesson, mut fields) = Spec::decode(&args).unwrap();
        assert_eq!(lesson, R::LESSON);
        assert_eq!(&back, spec);
        assert_eq!(R::decode(&mut fields).unwrap(), role, "{args:?}");
        fields.finish().unwrap();
        assert!(decode_child(&args).is_ok());
    }

    #[test]
    fn every_role_round_trips_in_every_format() {
        let formats = [
            Format::Json,
            Format::Human {
                color: false,
                lang: Lang::En,
                width: 0,
            },
            Format::Human {
                color: true,
                lang: Lang::Zh,
                width: 0,
            },
        ];
        for format in formats {
            for timeline in [None, Some(7)] {
                let s = spec(format, timeline);
                round_trip(&s, spawn::Role);
                round_trip(&s, join::Role { secs: 2 });
                round_trip(&s, isolate::Role { value: -7, pipe: 5 });
                round_trip(
                    &s,
                    daemon::Role::Daemon {
                        ticks: None,
                        ready: 4,
                    },
                );
                round_trip(
                    &s,
                    daemon::Role::Daemon {
                        ticks: Some(3),
                        ready: 4,
                    },
                );
                let pipes = daemon::Pipes {
                    report: 5,
                    lifeline: 6,
                };
                for like_python in [false, true] {
                    round_trip(
                        &s,
                        daemon::Role::TutorialMain {
                            lines: 0,
                            like_python,
                            pipes,
                        },
                    );
                    round_trip(&s, daemon::Role::TutorialDaemon { like_python, pipes });
                }
                round_trip(&s, zombie::Role);
                round_trip(
                    &s,
                    orphan::Role::Parent {
                        report: 5,
                        lifeline: 6,
                    },
                );
                round_trip(
                    &s,
                    orphan::Role::Orphan {
                        lifeline: 6,
                        seen: 9,
                    },
                );
                round_trip(
                    &s,
                    tickets::Role {
                        data: PathBuf::from(OsString::from_vec(
                            b"dir with space/d=\xffata.json".to_vec(),
                        )),
                        lock: false,
                        sweep: true,
                    },
                );
                for (side, index) in [(queue::Side::Producer, 1), (queue::Side::Consumer, 0)] {
                    round_trip(
                        &s,
                        queue::Role {
                            side,
                            index,
                            producers: 2,
                            consumers: 1,
                            items: 10_000,
                            queue: 3,
                            tally: 4,
                        },
                    );
                }
                round_trip(
                    &s,
                    pool::Role {
                        work: pool::Work::Pool { tasks: 3 },
                        results: 4,
                    },
                );
                round_trip(
                    &s,
                    pool::Role {
                        work: pool::Work::One { task: 9_999 },
                        results: 4,
                    },
                );
                for mode in [
                    shared::Mode::Lock,
                    shared::Mode::NoLock,
                    shared::Mode::Atomic,
                ] {
                    round_trip(
                        &s,
                        shared::Role {
                            mode,
                            workers: 4,
                            adds: 100_000_000,
                            memory: 3,
                            ready: 4,
                            go: 5,
                        },
                    );
                }
            }
        }
    }

    #[test]
    fn every_lesson_decodes_its_own_name() {
        for lesson in Lesson::ALL {
            let args: Vec<OsString> = ["--child", lesson.name()]
                .iter()
                .map(OsString::from)
                .collect();
            // Not a whole command line, but the lesson is found: the error is about a key.
            let err = decode_child(&args).unwrap_err().to_string();
            assert!(err.contains("missing `name=`"), "{err}");
        }
    }

    #[test]
    fn hand_typed_nonsense_is_an_error_not_a_panic() {
        let base = "--child join name=x parent=1 epoch=0 scale=1 out=json";
        for line in [
            "--child",
            "--child nonsense",
            "--child join name=x",
            base,
            "--child spawn name=x parent=1 epoch=0 scale=nan out=json",
            "--child spawn name=x name=y",
            "--child spawn name=x parent=1 epoch=0 scale=1 out=json extra=1",
            "--child spawn noequals",
            "--child isolate name=x parent=1 epoch=0 scale=1 out=json value=1 pipe=1",
            "--child spawn name=x parent=1 epoch=0 scale=1 out=text",
            "--child spawn name=x parent=1 epoch=0 scale=1 out=json lang=en",
            "--child spawn name=x parent=1 epoch=0 scale=1 out=json timeline=2",
            // Numbers a child would turn into a duration or a count: bounded, never a panic.
            &format!("{base} sleep=18446744073709551"),
            &format!("{base} sleep=10001"),
            "--child daemon name=x parent=1 epoch=0 scale=1 out=json ticks=0",
            "--child daemon name=x parent=1 epoch=0 scale=1 out=json ticks=99999999999",
            "--child daemon name=x parent=1 epoch=0 scale=1 out=json as=boss python=0",
            "--child daemon name=x parent=1 epoch=0 scale=1 out=json as=daemon python=1 \
             report=1 lifeline=6",
            "--child daemon name=x parent=1 epoch=0 scale=1 out=json as=main lines=10001 \
             python=0 report=5 lifeline=6",
            // A consumer numbered past the consumers, an item count past the bound.
            "--child queue name=x parent=1 epoch=0 scale=1 out=json side=consumer index=2 \
             producers=1 consumers=2 items=5 queue=3 tally=4",
            "--child queue name=x parent=1 epoch=0 scale=1 out=json side=producer index=0 \
             producers=1 consumers=2 items=100001 queue=3 tally=4",
            "--child pool name=x parent=1 epoch=0 scale=1 out=json task=10000 results=4",
            "--child pool name=x parent=1 epoch=0 scale=1 out=json results=4",
            "--child shared name=x parent=1 epoch=0 scale=1 out=json mode=lock workers=1 \
             adds=100000001 memory=3 ready=4 go=5",
            "--child shared name=x parent=1 epoch=0 scale=1 out=json mode=fast workers=1 \
             adds=1 memory=3 ready=4 go=5",
        ] {
            let args: Vec<OsString> = line.split(' ').map(OsString::from).collect();
            assert!(decode_child(&args).is_err(), "{line} decoded");
        }
        let ok: Vec<OsString> = format!("{base} sleep=10000")
            .split(' ')
            .map(OsString::from)
            .collect();
        assert!(decode_child(&ok).is_ok());
    }

    /// The event names of the events table in docs/CLI.md (its second column).
    fn documented_events() -> Vec<String> {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CLI.md"))
            .expect("docs/CLI.md");
        let table = doc
            .split("| scenario | event | fields |")
            .nth(1)
            .expect("a `| scenario | event | fields |` table in docs/CLI.md");
        table
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.split('|').nth(2))
            .flat_map(|cell| cell.split('`').skip(1).step_by(2).map(str::to_owned))
            .collect()
    }

    #[test]
    fn every_event_is_documented() {
        use strum::VariantNames;
        let documented = documented_events();
        let mut emitted: Vec<&str> = crate::event::Common::VARIANTS.to_vec();
        emitted.push("summary");
        for lesson in Lesson::ALL {
            emitted.extend(lesson.event_kinds());
        }
        emitted.extend(crate::quiz::Event::VARIANTS);
        let missing: Vec<&&str> = emitted
            .iter()
            .filter(|k| !documented.iter().any(|d| d == *k))
            .collect();
        assert!(
            missing.is_empty(),
            "events procdemo emits but docs/CLI.md does not document: {missing:?}"
        );
    }

    #[test]
    fn event_kinds_are_unique_across_lessons() {
        let mut seen: Vec<&str> = vec!["start", "spawned", "exit", "stopping", "summary"];
        for lesson in Lesson::ALL {
            for kind in lesson.event_kinds() {
                // `over` is both spawn's and join's: the same event, said the same way.
                if *kind == "over" && seen.contains(kind) {
                    continue;
                }
                assert!(!seen.contains(kind), "{kind} twice");
                seen.push(kind);
            }
        }
    }

    fn arg() -> impl Strategy<Value = OsString> {
        prop_oneof![
            // Arbitrary bytes, including '=' and invalid UTF-8.
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(OsString::from_vec),
            // Plausible keys with arbitrary values: reaches deeper into the decoder.
            (
                prop::sample::select(vec![
                    "name",
                    "parent",
                    "epoch",
                    "scale",
                    "out",
                    "sleep",
                    "value",
                    "pipe",
                    "ticks",
                    "data",
                    "lock",
                    "lang",
                    "timeline",
                    "side",
                    "index",
                    "producers",
                    "consumers",
                    "items",
                    "queue",
                    "tally",
                    "task",
                    "tasks",
                    "results",
                    "mode",
                    "workers",
                    "adds",
                    "memory",
                    "ready",
                    "go",
                ]),
                proptest::collection::vec(any::<u8>(), 0..24),
            )
                .prop_map(|(k, v)| {
                    let mut b = format!("{k}=").into_bytes();
                    b.extend(v);
                    OsString::from_vec(b)
                }),
            // Plausible keys with numbers at the edges of their types.
            (
                prop::sample::select(vec![
                    "parent",
                    "epoch",
                    "scale",
                    "sleep",
                    "value",
                    "pipe",
                    "ticks",
                    "timeline",
                    "index",
                    "producers",
                    "consumers",
                    "items",
                    "queue",
                    "tally",
                    "task",
                    "tasks",
                    "results",
                    "workers",
                    "adds",
                    "memory",
                    "ready",
                    "go",
                ]),
                prop::sample::select(vec![
                    "0",
                    "-1",
                    "3",
                    "1e308",
                    "-0",
                    "inf",
                    "18446744073709551615",
                    "18446744073709551616",
                    "9223372036854775807",
                    "2147483648",
                ]),
            )
                .prop_map(|(k, v)| OsString::from(format!("{k}={v}"))),
        ]
    }

    proptest! {
        #[test]
        fn decoding_any_arguments_never_panics(
            lesson in prop::sample::select(
                Lesson::ALL.iter().map(|l| l.name()).chain(["x", ""]).collect::<Vec<_>>()
            ),
            rest in proptest::collection::vec(arg(), 0..12),
        ) {
            let mut args = vec![OsString::from("--child"), OsString::from(lesson)];
            args.extend(rest);
            let _ = decode_child(&args);
        }

        #[test]
        fn any_spec_round_trips(
            name in "[A-Za-z0-9_-]{1,20}",
            parent in 1i32..i32::MAX,
            epoch in any::<u64>(),
            scale in 0.0f64..=1000.0,
            secs in 0u64..=10_000,
            value in any::<i64>(),
            data in proptest::collection::vec(1u8..=255, 1..60),
        ) {
            let s = Spec {
                name,
                parent: Pid::from_raw(parent),
                clock: Clock::from_epoch_ns(epoch),
                scale: TimeScale::new(scale).unwrap(),
                format: match epoch % 3 {
                    0 => Format::Json,
                    1 => Format::Human { color: false, lang: Lang::En, width: 0 },
                    _ => Format::Human { color: true, lang: Lang::Zh, width: 80 },
                },
                timeline: (epoch % 2 == 0).then_some(3 + (epoch % 1000) as i32),
            };
            round_trip(&s, join::Role { secs });
            round_trip(&s, isolate::Role { value, pipe: 3 + (secs % 1000) as i32 });
            round_trip(&s, daemon::Role::Daemon { ticks: (secs > 0).then_some(secs), ready: 3 + (secs % 1000) as i32 });
            round_trip(&s, tickets::Role {
                data: PathBuf::from(OsString::from_vec(data)),
                lock: value % 2 == 0,
                sweep: secs % 2 == 0,
            });
        }
    }
}
