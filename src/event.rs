//! Events are plain data: what a process of procdemo reports, and nothing more.
//!
//! Every lesson declares its own `Event` enum and `Summary` struct in its module; the events
//! every lesson shares (a process starts, a child is spawned, reaped, the run is stopped) are
//! [`Common`] here. Whatever can be emitted implements [`Emit`]: its `event` name, its JSON
//! fields, its sentence in each language, and what it means on the `--timeline` chart. The
//! sink (`sink.rs`) turns an `Emit` into one line; this module depends on nothing above it.

use std::fmt;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// The language of human output (`--lang`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English
    En,
    /// Chinese, with the tutorial's own wording
    Zh,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The default: the first of `LC_ALL`, `LC_MESSAGES`, `LANG` that is set and not empty
    /// (the order of precedence of locale(7)) picks Chinese when it begins with `zh`.
    pub fn from_env() -> Lang {
        Self::from_locale(|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()))
    }

    fn from_locale(var: impl Fn(&str) -> Option<String>) -> Lang {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .filter_map(var)
            .find(|v| !v.is_empty());
        match locale {
            Some(l) if l.starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }
}

/// How lines are written: JSON Lines, or human text with or without colour, in a language,
/// wrapped to a terminal's `width` (0: never wrapped, as in a pipe or a file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Human { color: bool, lang: Lang, width: u16 },
}

/// What goes in front of every line: when, and which process wrote it.
#[derive(Clone, Debug)]
pub struct Header<'a> {
    pub t_ms: f64,
    pub pid: Pid,
    pub ppid: Pid,
    pub name: &'a str,
}

/// How a child ended, as waitpid(2) reports it. In JSON: `"code": 0` or `"signal": "SIGTERM"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    Code(i32),
    Signal(#[serde(with = "signal_name")] Signal),
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Code(c) => write!(f, "exit code {c}"),
            Ended::Signal(s) => f.write_str(s.as_str()),
        }
    }
}

/// The events every lesson shares. The comment names who emits it.
#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Common {
    /// Every process, first: the tutorial's `print(os.getpid(), os.getppid())`.
    Start { scenario: &'static str },
    /// main: a child was created (`p.start()`).
    Spawned {
        #[serde(serialize_with = "pid")]
        child: Pid,
        child_name: String,
    },
    /// main: a child was reaped by waitpid(2).
    Exit {
        #[serde(serialize_with = "pid")]
        child: Pid,
        child_name: String,
        #[serde(flatten)]
        ended: Ended,
    },
    /// main: SIGINT or SIGTERM arrived; the children still running are being stopped.
    Stopping {
        #[serde(with = "signal_name")]
        signal: Signal,
        children: usize,
    },
}

impl Common {
    /// What the chart learns from it.
    pub fn mark(&self) -> Option<Mark> {
        match self {
            Common::Start { .. } => None,
            Common::Spawned { child, .. } => Some(Mark::Spawned {
                child: child.as_raw(),
            }),
            Common::Exit { child, ended, .. } => Some(Mark::Reaped {
                child: child.as_raw(),
                ended: *ended,
            }),
            Common::Stopping { signal, .. } => Some(Mark::Stopping { signal: *signal }),
        }
    }
}

/// A stretch of a process's life that the `--timeline` chart (and the `--trace` file) draws
/// with its own mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// Blocked in flock(2), waiting for the lock.
    LockWait,
    /// Holding the lock.
    LockHold,
    /// Between reading a shared value and writing it back, with no lock: the race window.
    Unlocked,
    /// Blocked on a queue: full for a producer, empty for a consumer.
    QueueWait,
    /// Exited, but not yet reaped by its parent: a zombie (drawn from the parent's marks).
    Zombie,
    /// The main, blocked in waitpid(2) until a child ends: `p.join()`.
    Joining,
}

/// How a child's row ends on the chart, when its lesson has more to say than an exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Bought,
    SoldOut,
}

/// What one event means on the timeline. Typed, so that the chart never matches event names.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// main: a child exists from now on.
    Spawned { child: i32 },
    /// main: a child has exited and is not reaped yet (seen with `waitid(WNOWAIT)`).
    Exited { child: i32 },
    /// main: a child was reaped, and how it ended.
    Reaped { child: i32, ended: Ended },
    /// main: stopping every child after SIGINT or SIGTERM.
    Stopping {
        #[serde(with = "signal_name")]
        signal: Signal,
    },
    /// This process enters a stretch of the given kind, leaving the one it was in (a process
    /// is in one marked stretch at a time: getting the lock ends the wait for it)…
    Begin(Span),
    /// …and leaves it, back to plain running.
    End(Span),
    /// This process's answer, shown at the end of its row.
    Outcome(Outcome),
}

/// Colour a human line gets, beyond its process's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accent {
    Plain,
    /// Something ended by a signal, or a stop: yellow.
    Warning,
    /// The summary: bold green.
    Summary,
}

/// Everything that can be emitted as one line.
pub trait Emit {
    /// The `event` field of the JSON line.
    fn kind(&self) -> &'static str;
    /// The fields after the common ones (`t_ms`, `pid`, `ppid`, `name`, `event`).
    fn fields(&self) -> Map<String, Value>;
    /// The sentence, in `lang`; the line's time, name and pid are added around it.
    fn human(&self, h: &Header, lang: Lang) -> String;
    /// What the timeline learns from it.
    fn mark(&self) -> Option<Mark> {
        None
    }
    fn accent(&self) -> Accent {
        Accent::Plain
    }
    /// The fields of [`fields`](Self::fields), appended to a JSON line under way as
    /// `,"key":value`…: what `--json` prints after the common fields. An event that can
    /// serialise itself says so with [`write_fields_of`], and builds no map for each line.
    fn write_json_fields(&self, out: &mut Vec<u8>) {
        write_map_fields(self.fields(), out)
    }
}

/// What a lesson's own events may add to their JSON and their sentences: a meaning on the
/// timeline, a colour. Both default to nothing; a lesson writes `impl LessonEvent for Event {}`
/// and overrides what it needs.
pub trait LessonEvent {
    fn mark(&self) -> Option<Mark> {
        None
    }
    fn accent(&self) -> Accent {
        Accent::Plain
    }
}

/// The JSON object of a serialisable value, for [`Emit::fields`]: a struct or struct variant
/// gives its fields, a unit variant none.
pub fn fields_of(value: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// [`Emit::write_json_fields`] for a value that serialises as a JSON object (a struct, a
/// struct variant) or as `null` (a unit variant): straight into the line, the object's braces
/// left out. The same bytes as [`fields_of`] would give, without the map.
pub fn write_fields_of(value: &impl Serialize, out: &mut Vec<u8>) {
    let at = out.len();
    if serde_json::to_writer(&mut *out, value).is_ok() {
        match (out.get(at), out.last()) {
            (Some(b'n'), _) if out[at..] == *b"null" => return out.truncate(at),
            (Some(b'{'), Some(b'}')) if out.len() - at == 2 => return out.truncate(at),
            (Some(b'{'), Some(b'}')) => {
                out[at] = b',';
                out.pop();
                return;
            }
            _ => {}
        }
    }
    // Anything else (never for an event): the general way.
    out.truncate(at);
    write_map_fields(fields_of(value), out)
}

/// The entries of `fields` appended to a JSON line under way, each as `,"key":value`.
fn write_map_fields(fields: Map<String, Value>, out: &mut Vec<u8>) {
    for (key, value) in fields {
        out.push(b',');
        // Strings and values always serialise.
        let _ = serde_json::to_writer(&mut *out, &key);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, &value);
    }
}

// Serialisation helpers for field types that are not plain numbers or strings.

/// A pid, as the number it is.
pub fn pid<S: Serializer>(pid: &Pid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i32(pid.as_raw())
}

/// Milliseconds to the microsecond, without float noise such as 150.30000000000001.
pub fn ms<S: Serializer>(ms: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((ms * 1000.0).round() / 1000.0)
}

/// An address in hexadecimal, as a string: `"0x5555deadbeef"`.
pub fn hex<S: Serializer>(addr: &usize, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{addr:#x}"))
}

/// A path: its bytes where they are UTF-8, with U+FFFD where they are not.
pub fn path<S: Serializer>(p: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// A signal by its name, `"SIGTERM"`.
pub mod signal_name {
    use nix::sys::signal::Signal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(sig: &Signal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(sig.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Signal, D::Error> {
        let name = String::deserialize(d)?;
        name.parse()
            .map_err(|_| serde::de::Error::custom(format!("unknown signal {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_picks_the_language() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Lang::from_locale(env(&[])), Lang::En);
        assert_eq!(Lang::from_locale(env(&[("LANG", "zh_CN.UTF-8")])), Lang::Zh);
        assert_eq!(
            Lang::from_locale(env(&[("LC_ALL", "C"), ("LANG", "zh_CN.UTF-8")])),
            Lang::En
        );
        assert_eq!(
            Lang::from_locale(env(&[("LC_ALL", ""), ("LC_MESSAGES", "zh_TW")])),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_locale(env(&[("LC_MESSAGES", "en_US"), ("LANG", "zh_CN")])),
            Lang::En
        );
    }

    #[test]
    fn common_events_serialise_as_the_contract_says() {
        let exit = Common::Exit {
            child: Pid::from_raw(43),
            child_name: "buyer-0".into(),
            ended: Ended::Signal(Signal::SIGKILL),
        };
        let m = fields_of(&exit);
        assert_eq!(m["child"], 43);
        assert_eq!(m["child_name"], "buyer-0");
        assert_eq!(m["signal"], "SIGKILL");
        assert!(m.get("code").is_none());
        let exit = Common::Exit {
            child: Pid::from_raw(43),
            child_name: "P".into(),
            ended: Ended::Code(3),
        };
        assert_eq!(fields_of(&exit)["code"], 3);
        let kind: &'static str = (&exit).into();
        assert_eq!(kind, "exit");
    }

    #[test]
    fn marks_round_trip_through_json() {
        for mark in [
            Mark::Spawned { child: 7 },
            Mark::Reaped {
                child: 7,
                ended: Ended::Signal(Signal::SIGTERM),
            },
            Mark::Stopping {
                signal: Signal::SIGINT,
            },
            Mark::Begin(Span::LockWait),
            Mark::Outcome(Outcome::SoldOut),
        ] {
            let text = serde_json::to_string(&mark).unwrap();
            assert_eq!(serde_json::from_str::<Mark>(&text).unwrap(), mark, "{text}");
        }
    }
}
