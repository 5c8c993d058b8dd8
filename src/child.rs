//! The child protocol: how procdemo starts a copy of itself, and how that copy knows what to do.
//!
//! A child is this same binary executed again, with the hidden entry point
//!
//! ```text
//! procdemo --child <lesson> name=Process-1 parent=4241 epoch=… scale=0.05 out=json [lesson keys]
//! procdemo --child <lesson> … out=text lang=zh width=80 timeline=5 [lesson keys]
//! ```
//!
//! so `ps -f` shows exactly what each child was asked to do. `lang=` (`en` or `zh`) and
//! `width=` (the terminal's columns, 0 where lines are not wrapped) come with human output only
//! (`out=text` or `out=color`): JSON is the same in every language and never wrapped.
//! `timeline=FD` comes only with `--timeline`: the descriptor, inherited open, of the run's
//! shared record where every process appends its events.
//!
//! This module knows the protocol, not the lessons: the flag, the common keys, how a value is
//! written and read back. Each lesson's [`Role`] encodes and decodes its own keys; the
//! registry (`lesson/mod.rs`) picks the lesson by the word after the flag. `main` hands the
//! arguments over before clap or any parent-side setup runs. The program is
//! `/proc/self/exe`, the running binary even if its file was replaced or deleted since
//! (proc(5)).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::ops::RangeInclusive;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::unistd::Pid;

use crate::error::{self, OutputClosed};
use crate::event::{Common, Format, Lang};
use crate::sink::Out;
use crate::sys;
use crate::time::{Clock, TimeScale};
use crate::timeline::record;

/// The hidden flag that marks a child invocation. Never shown by `--help`.
pub const CHILD_FLAG: &str = "--child";

/// How a child process is created.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Re-execute procdemo itself (fork + execve, as posix_spawn does): a fresh program
    Exec,
    /// fork() only: the child is a copy of the parent's memory, without exec
    Fork,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Exec => "exec",
            Method::Fork => "fork",
        }
    }
}

/// What a lesson's children do. Each lesson implements it for its own `Role` type, in its
/// own module: the keys it adds to the command line, and the function its children run.
pub trait Role: Sized {
    /// The lesson's name: the word after `--child`, and the `scenario` of the child's `start`.
    const LESSON: &'static str;
    /// Add this role's `key=value` arguments.
    fn encode(&self, kv: &mut Encoder);
    /// Read them back; every key that `encode` wrote must be asked for.
    fn decode(kv: &mut Fields) -> Result<Self, DecodeError>;
    /// The child's life after its `start` event. Returns its exit code (see `error::code`).
    fn run(self, out: &Out, scale: TimeScale) -> anyhow::Result<i32>;
    /// Should the kernel kill this child with SIGKILL when its parent dies
    /// (`PR_SET_PDEATHSIG`)? Every procdemo child does, so that none outlives a main killed
    /// with SIGKILL. A role that shows life without it (the daemon of `daemon --kill-main
    /// --like-python`, as CPython starts it) says no, and must then notice its main's end
    /// some other way.
    fn dies_with_parent(&self) -> bool {
        true
    }
}

/// What every child is told, whatever its lesson: who it is, whom to outlive-check, the run's
/// clock, time scale and output.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub name: String,
    pub parent: Pid,
    pub clock: Clock,
    pub scale: TimeScale,
    pub format: Format,
    /// With `--timeline`: the inherited descriptor of the run's shared event record.
    pub timeline: Option<RawFd>,
}

/// A `--child` command line that does not decode. Exit 2, like any usage error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{CHILD_FLAG} is procdemo's internal entry point for its own children: {}",
            self.0
        )
    }
}

impl std::error::Error for DecodeError {}

pub fn bad(msg: impl Into<String>) -> DecodeError {
    DecodeError(msg.into())
}

fn format_tag(format: Format) -> &'static str {
    match format {
        Format::Json => "json",
        Format::Human { color: false, .. } => "text",
        Format::Human { color: true, .. } => "color",
    }
}

/// Writes `key=value` arguments.
pub struct Encoder {
    args: Vec<OsString>,
}

impl Encoder {
    pub fn put(&mut self, key: &str, value: impl AsRef<OsStr>) {
        let mut s = OsString::from(key);
        s.push("=");
        s.push(value);
        self.args.push(s);
    }

    pub fn number(&mut self, key: &str, value: impl ToString) {
        self.put(key, value.to_string());
    }

    pub fn flag(&mut self, key: &str, on: bool) {
        self.put(key, if on { "1" } else { "0" });
    }
}

impl Spec {
    /// The arguments after argv[0] for a child doing `role`.
    pub fn to_args<R: Role>(&self, role: &R) -> Vec<OsString> {
        let mut kv = Encoder {
            args: vec![CHILD_FLAG.into(), R::LESSON.into()],
        };
        kv.put("name", &self.name);
        kv.number("parent", self.parent.as_raw());
        kv.number("epoch", self.clock.epoch_ns());
        // Display for f64 prints the shortest text that parses back to the same number.
        kv.number("scale", self.scale.factor());
        kv.put("out", format_tag(self.format));
        if let Format::Human { lang, width, .. } = self.format {
            kv.put("lang", lang.as_str());
            kv.number("width", width);
        }
        if let Some(fd) = self.timeline {
            kv.number("timeline", fd);
        }
        role.encode(&mut kv);
        kv.args
    }

    /// The command that starts this child: the running binary, named `procdemo` in ps.
    ///
    /// No `pre_exec` closure: without one, the standard library starts the child with
    /// posix_spawn(3) (clone with CLONE_VFORK, then execve), much cheaper than fork for a
    /// large parent. What a hook would have done, the child does itself first thing.
    pub fn command<R: Role>(&self, role: &R) -> Command {
        let mut cmd = Command::new(self_exe());
        cmd.arg0("procdemo").args(self.to_args(role));
        cmd
    }

    /// Read back the common part of what [`to_args`](Self::to_args) wrote: `args` starts at
    /// `--child`. Returns the spec, the lesson's name, and the keys left for its role.
    pub fn decode(args: &[OsString]) -> Result<(Spec, &str, Fields<'_>), DecodeError> {
        let mut it = args.iter();
        if it.next().map(|a| a.as_os_str()) != Some(OsStr::new(CHILD_FLAG)) {
            return Err(bad(format!("expected {CHILD_FLAG} first")));
        }
        let lesson = it.next().ok_or_else(|| bad("missing lesson"))?;
        let lesson = lesson
            .to_str()
            .ok_or_else(|| bad(format!("unknown lesson `{}`", lossy(lesson.as_bytes()))))?;
        let mut fields = Fields::default();
        for arg in it {
            fields.add(arg.as_bytes())?;
        }

        let name = fields.text("name")?;
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(bad("name must be 1 to 64 printable characters"));
        }
        let parent = Pid::from_raw(fields.number_in("parent", 1..=i32::MAX)?);
        let clock = Clock::from_epoch_ns(fields.number("epoch")?);
        let scale = TimeScale::new(fields.number("scale")?)
            .ok_or_else(|| bad("scale must be a finite number from 0 to 1000"))?;
        let human = |fields: &mut Fields, color| {
            let lang = fields.text("lang")?;
            let lang =
                Lang::parse(lang).ok_or_else(|| bad(format!("unknown language `{lang}`")))?;
            let width = fields.number_in("width", 0..=u16::MAX)?;
            Ok::<_, DecodeError>(Format::Human { color, lang, width })
        };
        let format = match fields.text("out")? {
            "json" => Format::Json,
            "text" => human(&mut fields, false)?,
            "color" => human(&mut fields, true)?,
            other => return Err(bad(format!("unknown output `{other}`"))),
        };
        let timeline = match fields.optional("timeline") {
            Some(_) => Some(fields.descriptor("timeline")?),
            None => None,
        };
        let spec = Spec {
            name: name.to_owned(),
            parent,
            clock,
            scale,
            format,
            timeline,
        };
        Ok((spec, lesson, fields))
    }
}

/// `key=value` arguments, each key at most once, every key used.
#[derive(Default)]
pub struct Fields<'a> {
    pairs: Vec<(&'a [u8], &'a [u8], bool)>,
}

impl<'a> Fields<'a> {
    fn add(&mut self, arg: &'a [u8]) -> Result<(), DecodeError> {
        let eq = arg
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| bad(format!("`{}` is not key=value", lossy(arg))))?;
        let (k, v) = (&arg[..eq], &arg[eq + 1..]);
        if self.pairs.iter().any(|(seen, _, _)| *seen == k) {
            return Err(bad(format!("`{}` given twice", lossy(k))));
        }
        self.pairs.push((k, v, false));
        Ok(())
    }

    pub fn bytes(&mut self, key: &str) -> Result<&'a [u8], DecodeError> {
        self.optional(key)
            .ok_or_else(|| bad(format!("missing `{key}=`")))
    }

    /// The value of a key that may be left out. (No error is made for a missing one: every
    /// child asks for `timeline=`, and most have none.)
    pub fn optional(&mut self, key: &str) -> Option<&'a [u8]> {
        let pair = self
            .pairs
            .iter_mut()
            .find(|(k, _, _)| *k == key.as_bytes())?;
        pair.2 = true;
        Some(pair.1)
    }

    pub fn text(&mut self, key: &str) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes(key)?).map_err(|_| bad(format!("`{key}` is not UTF-8")))
    }

    /// A path, any bytes but NUL (which no command-line argument can hold anyway).
    pub fn path(&mut self, key: &str) -> Result<PathBuf, DecodeError> {
        let bytes = self.bytes(key)?;
        if bytes.is_empty() {
            return Err(bad(format!("`{key}` is empty")));
        }
        Ok(Path::new(OsStr::from_bytes(bytes)).to_path_buf())
    }

    pub fn number<T: std::str::FromStr>(&mut self, key: &str) -> Result<T, DecodeError> {
        let text = self.text(key)?;
        text.parse()
            .map_err(|_| bad(format!("`{key}={text}` is not a valid number")))
    }

    /// A number within `range`: every number a child turns into a duration, a count or an
    /// index is bounded here, where it is decoded, so no later conversion can overflow.
    pub fn number_in<T>(&mut self, key: &str, range: RangeInclusive<T>) -> Result<T, DecodeError>
    where
        T: std::str::FromStr + PartialOrd + fmt::Display,
    {
        let n: T = self.number(key)?;
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(bad(format!(
                "`{key}={n}` is out of range ({} to {})",
                range.start(),
                range.end()
            )))
        }
    }

    /// `1` or `0`.
    pub fn flag(&mut self, key: &str) -> Result<bool, DecodeError> {
        match self.text(key)? {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => Err(bad(format!("{key} must be 0 or 1"))),
        }
    }

    /// An inherited file descriptor: never one of the standard streams 0, 1 and 2.
    pub fn descriptor(&mut self, key: &str) -> Result<RawFd, DecodeError> {
        self.number_in(key, 3..=RawFd::MAX)
    }

    /// Every key must have been asked for.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.pairs.iter().find(|(_, _, used)| !used) {
            Some((k, _, _)) => Err(bad(format!("unexpected `{}=`", lossy(k)))),
            None => Ok(()),
        }
    }
}

fn lossy(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    s.chars().take(40).collect()
}

/// The running binary. `/proc/self/exe` names it even after it was deleted or replaced;
/// without `/proc`, fall back to what the standard library can find.
fn self_exe() -> PathBuf {
    static EXE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    EXE.get_or_init(|| {
        let proc_exe = Path::new("/proc/self/exe");
        if proc_exe.exists() {
            proc_exe.to_path_buf()
        } else {
            std::env::current_exe().unwrap_or_else(|_| PathBuf::from("procdemo"))
        }
    })
    .clone()
}

/// Is this process a child? Checked by `main` before anything else.
pub fn is_child(args: &[OsString]) -> bool {
    args.get(1).map(|a| a.as_os_str()) == Some(OsStr::new(CHILD_FLAG))
}

/// A child command line that did not decode: one line on stderr, exit 2.
pub fn refuse(e: &DecodeError) -> i32 {
    let _ = crate::sink::write_line(
        std::io::stderr(),
        format!("procdemo: error: {e}\nFor the commands procdemo offers, try 'procdemo --help'.\n")
            .as_bytes(),
    );
    error::code::USAGE
}

/// Run a child's role in this process (exec'ed, or just forked). Returns the exit code.
pub fn run<R: Role>(spec: Spec, role: R) -> i32 {
    // First, before any event: restore default signal handling, and make sure we die with our
    // parent (unless the role says otherwise). See `sys` for why each is needed.
    let tie = |()| {
        if role.dies_with_parent() {
            sys::die_with_parent(spec.parent)
        } else {
            sys::check_parent(spec.parent)
        }
    };
    let setup = sys::reset_child_signals().and_then(tie);
    let result = setup.and_then(|()| {
        // With --timeline, every event also goes into the run's shared record.
        if let Some(fd) = spec.timeline {
            record::adopt(fd)?;
        }
        let out = Out::new(spec.format, spec.clock, spec.name.clone());
        out.emit(&Common::Start {
            scenario: R::LESSON,
        })?;
        role.run(&out, spec.scale)
    });
    match result {
        Ok(code) => code,
        // Stdout closed: end quietly, with the status a shell shows for death by SIGPIPE
        // (never 0, which a buyer uses to say "bought").
        Err(e) if e.downcast_ref::<OutputClosed>().is_some() => error::code::CLOSED_PIPE,
        // Our parent died while we were starting (the run is being torn down): nobody to tell.
        Err(e)
            if e.downcast_ref::<sys::ParentGone>()
                .is_some_and(sys::ParentGone::parent_ended) =>
        {
            error::code::FAILURE
        }
        Err(e) => {
            let _ = crate::sink::write_line(
                std::io::stderr(),
                format!("procdemo: error: {}: {e:#}\n", spec.name).as_bytes(),
            );
            error::code::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_bounded_where_they_are_decoded() {
        let args: Vec<OsString> = ["a=5", "b=-1", "c=99999999999999999999", "d=x"]
            .iter()
            .map(OsString::from)
            .collect();
        let mut f = Fields::default();
        for a in &args {
            f.add(a.as_bytes()).unwrap();
        }
        assert_eq!(f.number_in("a", 0..=10u64), Ok(5));
        assert!(f.number_in("b", 0..=10i64).is_err());
        assert!(f.number_in("c", 0..=u64::MAX).is_err());
        assert!(f.number_in("d", 0..=10u64).is_err());
        assert!(f.finish().is_ok());
    }

    #[test]
    fn descriptors_are_never_standard_streams() {
        for (arg, ok) in [("fd=3", true), ("fd=2", false), ("fd=-1", false)] {
            let arg = OsString::from(arg);
            let mut f = Fields::default();
            f.add(arg.as_bytes()).unwrap();
            assert_eq!(f.descriptor("fd").is_ok(), ok, "{arg:?}");
        }
    }

    #[test]
    fn keys_are_given_once_and_all_used() {
        let mut f = Fields::default();
        f.add(b"a=1").unwrap();
        assert!(f.add(b"a=2").is_err());
        assert!(f.add(b"noequals").is_err());
        assert!(f.finish().is_err(), "a= was never asked for");
    }
}
