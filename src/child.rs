//! The child protocol: how procdemo starts a copy of itself, and how that copy knows what to do.
//!
//! A child is this same binary executed again, with the hidden entry point
//!
//! ```text
//! procdemo --child <role> name=Process-1 parent=4241 epoch=… scale=0.05 out=json [role keys]
//! procdemo --child <role> … out=text lang=zh timeline=5 [role keys]
//! ```
//!
//! `lang=` (`en` or `zh`) comes with human output only (`out=text` or `out=color`): JSON is
//! the same in every language. `timeline=FD` comes only with `--timeline`: the descriptor,
//! inherited open, of the run's shared record where every process appends its events.
//!
//! so `ps -f` shows exactly what each child was asked to do. This module is the only place that
//! builds such a command line and the only place that reads one back; `main` hands it the
//! arguments before clap or any parent-side setup runs. The program is `/proc/self/exe`, the
//! running binary even if its file was replaced or deleted since (proc(5)).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::fd::RawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::unistd::Pid;

use crate::event::{Format, Out};
use crate::messages::Lang;
use crate::scenario;
use crate::sys;
use crate::time::{Clock, TimeScale};
use crate::timeline;

/// The hidden flag that marks a child invocation. Never shown by `--help`.
pub const CHILD_FLAG: &str = "--child";

/// What a child does: one variant per scenario, with the values that scenario needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// spawn: run, sleep 3 s, be over.
    Spawn,
    /// join: run, sleep `secs`, be over.
    Join { secs: u64 },
    /// isolate: set the global `money` to `value`, send it through the pipe's write end `pipe`.
    Isolate { value: i64, pipe: RawFd },
    /// daemon: print "alive" every 3 s, `ticks` times, or forever.
    Daemon { ticks: Option<u64> },
    /// tickets: search, then buy under the lock (or without it).
    Buyer { data: PathBuf, lock: bool },
}

impl Role {
    fn tag(&self) -> &'static str {
        match self {
            Role::Spawn => "spawn",
            Role::Join { .. } => "join",
            Role::Isolate { .. } => "isolate",
            Role::Daemon { .. } => "daemon",
            Role::Buyer { .. } => "buyer",
        }
    }
}

/// Everything a child needs: who it is, whom to outlive-check, the run's clock and output.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildSpec {
    pub name: String,
    pub parent: Pid,
    pub clock: Clock,
    pub scale: TimeScale,
    pub format: Format,
    pub role: Role,
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

fn bad(msg: impl Into<String>) -> DecodeError {
    DecodeError(msg.into())
}

fn format_tag(format: Format) -> &'static str {
    match format {
        Format::Json => "json",
        Format::Human { color: false, .. } => "text",
        Format::Human { color: true, .. } => "color",
    }
}

impl ChildSpec {
    /// The arguments after argv[0].
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![CHILD_FLAG.into(), self.role.tag().into()];
        let mut kv = |k: &str, v: &OsStr| {
            let mut s = OsString::from(k);
            s.push("=");
            s.push(v);
            args.push(s);
        };
        kv("name", self.name.as_ref());
        kv("parent", self.parent.as_raw().to_string().as_ref());
        kv("epoch", self.clock.epoch_ns().to_string().as_ref());
        // Display for f64 prints the shortest text that parses back to the same number.
        kv("scale", self.scale.factor().to_string().as_ref());
        kv("out", format_tag(self.format).as_ref());
        if let Format::Human { lang, .. } = self.format {
            kv("lang", lang.as_str().as_ref());
        }
        if let Some(fd) = self.timeline {
            kv("timeline", fd.to_string().as_ref());
        }
        match &self.role {
            Role::Spawn => {}
            Role::Join { secs } => kv("sleep", secs.to_string().as_ref()),
            Role::Isolate { value, pipe } => {
                kv("value", value.to_string().as_ref());
                kv("pipe", pipe.to_string().as_ref());
            }
            Role::Daemon { ticks } => kv(
                "ticks",
                ticks.map_or("forever".into(), |t| t.to_string()).as_ref(),
            ),
            Role::Buyer { data, lock } => {
                kv("data", data.as_os_str());
                kv("lock", if *lock { "1" } else { "0" }.as_ref());
            }
        }
        args
    }

    /// The command that starts this child: the running binary, named `procdemo` in ps.
    ///
    /// No `pre_exec` closure: without one, the standard library starts the child with
    /// posix_spawn(3) (clone with CLONE_VFORK, then execve), much cheaper than fork for a
    /// large parent. What a hook would have done, the child does itself first thing.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(self_exe());
        cmd.arg0("procdemo").args(self.to_args());
        cmd
    }

    /// Read back what [`to_args`](Self::to_args) wrote: `args` starts at `--child`.
    pub fn decode(args: &[OsString]) -> Result<ChildSpec, DecodeError> {
        let mut it = args.iter();
        if it.next().map(|a| a.as_os_str()) != Some(OsStr::new(CHILD_FLAG)) {
            return Err(bad(format!("expected {CHILD_FLAG} first")));
        }
        let tag = it.next().ok_or_else(|| bad("missing role"))?;
        const ROLES: [&str; 5] = ["spawn", "join", "isolate", "daemon", "buyer"];
        if !ROLES.iter().any(|r| tag.as_os_str() == OsStr::new(r)) {
            return Err(bad(format!("unknown role `{}`", lossy(tag.as_bytes()))));
        }
        let mut fields = Fields::default();
        for arg in it {
            fields.add(arg.as_bytes())?;
        }

        let name = fields.text("name")?;
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(bad("name must be 1 to 64 printable characters"));
        }
        let parent = Pid::from_raw(fields.number::<i32>("parent")?);
        if parent.as_raw() <= 0 {
            return Err(bad("parent must be a pid"));
        }
        let clock = Clock::from_epoch_ns(fields.number("epoch")?);
        let scale = TimeScale::new(fields.number("scale")?)
            .ok_or_else(|| bad("scale must be a finite number from 0 to 1000"))?;
        let human = |fields: &mut Fields, color| {
            let lang = fields.text("lang")?;
            Lang::parse(lang)
                .map(|lang| Format::Human { color, lang })
                .ok_or_else(|| bad(format!("unknown language `{lang}`")))
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
        let role = match tag.to_str() {
            Some("spawn") => Role::Spawn,
            Some("join") => Role::Join {
                secs: fields.number("sleep")?,
            },
            Some("isolate") => Role::Isolate {
                value: fields.number("value")?,
                pipe: fields.descriptor("pipe")?,
            },
            Some("daemon") => Role::Daemon {
                ticks: match fields.text("ticks")? {
                    "forever" => None,
                    _ => Some(fields.number("ticks")?),
                },
            },
            Some("buyer") => Role::Buyer {
                data: PathBuf::from(OsString::from_vec(fields.bytes("data")?.to_vec())),
                lock: match fields.text("lock")? {
                    "1" => true,
                    "0" => false,
                    _ => return Err(bad("lock must be 0 or 1")),
                },
            },
            _ => return Err(bad(format!("unknown role `{}`", tag.to_string_lossy()))),
        };
        fields.finish()?;
        Ok(ChildSpec {
            name: name.to_owned(),
            parent,
            clock,
            scale,
            format,
            role,
            timeline,
        })
    }
}

/// `key=value` arguments, each key at most once, every key used.
#[derive(Default)]
struct Fields<'a> {
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

    fn bytes(&mut self, key: &str) -> Result<&'a [u8], DecodeError> {
        let pair = self
            .pairs
            .iter_mut()
            .find(|(k, _, _)| *k == key.as_bytes())
            .ok_or_else(|| bad(format!("missing `{key}=`")))?;
        pair.2 = true;
        Ok(pair.1)
    }

    /// The value of a key that may be left out.
    fn optional(&mut self, key: &str) -> Option<&'a [u8]> {
        self.bytes(key).ok()
    }

    fn text(&mut self, key: &str) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes(key)?).map_err(|_| bad(format!("`{key}` is not UTF-8")))
    }

    fn number<T: std::str::FromStr>(&mut self, key: &str) -> Result<T, DecodeError> {
        let text = self.text(key)?;
        text.parse()
            .map_err(|_| bad(format!("`{key}={text}` is not a valid number")))
    }

    /// An inherited file descriptor: never one of the standard streams 0, 1 and 2.
    fn descriptor(&mut self, key: &str) -> Result<RawFd, DecodeError> {
        let fd: RawFd = self.number(key)?;
        (fd > 2)
            .then_some(fd)
            .ok_or_else(|| bad(format!("{key} must be a descriptor above 2")))
    }

    fn finish(self) -> Result<(), DecodeError> {
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

/// The whole life of an exec'ed child: decode, set up, run its role. Returns the exit code.
pub fn main(args: &[OsString]) -> i32 {
    let spec = match ChildSpec::decode(&args[1..]) {
        Ok(spec) => spec,
        Err(e) => {
            let _ = crate::event::write_line(
                std::io::stderr(),
                format!("procdemo: error: {e}\nFor the commands procdemo offers, try 'procdemo --help'.\n")
                    .as_bytes(),
            );
            return 2;
        }
    };
    sys::set_process_name(c"procdemo");
    run(spec)
}

/// Run a child's role in this process (exec'ed, or just forked). Returns the exit code.
pub fn run(spec: ChildSpec) -> i32 {
    // First, before any event: restore default signal handling, and make sure we die with our
    // parent. See `sys` for why each is needed.
    let setup = sys::reset_child_signals().and_then(|()| sys::die_with_parent(spec.parent));
    let result = setup.and_then(|()| {
        // With --timeline, every event also goes into the run's shared record.
        if let Some(fd) = spec.timeline {
            timeline::adopt(fd)?;
        }
        let out = Out::new(spec.format, spec.clock, spec.name.clone());
        run_role(&out, &spec)
    });
    match result {
        Ok(code) => code,
        // Stdout closed: end quietly, with the status a shell shows for death by SIGPIPE
        // (never 0, which a buyer uses to say "bought").
        Err(e) if crate::error::exit_code(&e) == 0 => 128 + nix::libc::SIGPIPE,
        Err(e) => {
            let _ = crate::event::write_line(
                std::io::stderr(),
                format!("procdemo: error: {}: {e:#}\n", spec.name).as_bytes(),
            );
            1
        }
    }
}

/// The exit code of a role that ran to its end: 0, but for a tickets buyer, whose exit status
/// is its answer (bought or sold out, see `tickets`).
fn run_role(out: &Out, spec: &ChildSpec) -> anyhow::Result<i32> {
    let done = match &spec.role {
        Role::Spawn => scenario::spawn::child(out, spec.scale),
        Role::Join { secs } => scenario::join::child(out, spec.scale, *secs),
        Role::Isolate { value, pipe } => scenario::isolate::child(out, *value, *pipe),
        Role::Daemon { ticks } => scenario::daemon::child(out, spec.scale, *ticks),
        Role::Buyer { data, lock } => {
            return scenario::tickets::buyer(out, spec.scale, data, *lock)
        }
    };
    done.map(|()| 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(role: Role) -> ChildSpec {
        ChildSpec {
            name: "buyer-3".into(),
            parent: Pid::from_raw(4241),
            clock: Clock::from_epoch_ns(123_456_789),
            scale: TimeScale::new(0.05).unwrap(),
            format: Format::Human {
                color: true,
                lang: Lang::Zh,
            },
            role,
            timeline: None,
        }
    }

    fn decode(args: &[&str]) -> Result<ChildSpec, DecodeError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        ChildSpec::decode(&args)
    }

    #[test]
    fn every_role_round_trips() {
        let roles = [
            Role::Spawn,
            Role::Join { secs: 2 },
            Role::Isolate { value: -7, pipe: 5 },
            Role::Daemon { ticks: None },
            Role::Daemon { ticks: Some(3) },
            Role::Buyer {
                data: PathBuf::from(OsString::from_vec(
                    b"dir with space/d=\xffata.json".to_vec(),
                )),
                lock: false,
            },
        ];
        for role in roles {
            let s = spec(role);
            assert_eq!(ChildSpec::decode(&s.to_args()).unwrap(), s);
        }
    }

    #[test]
    fn language_and_timeline_round_trip() {
        let formats = [
            Format::Json,
            Format::Human {
                color: false,
                lang: Lang::En,
            },
            Format::Human {
                color: true,
                lang: Lang::Zh,
            },
        ];
        for format in formats {
            for timeline in [None, Some(7)] {
                let s = ChildSpec {
                    format,
                    timeline,
                    ..spec(Role::Join { secs: 1 })
                };
                let args = s.to_args();
                assert_eq!(ChildSpec::decode(&args).unwrap(), s, "{args:?}");
                let has = |k: &str| args.iter().any(|a| a.as_bytes().starts_with(k.as_bytes()));
                assert_eq!(has("lang="), format != Format::Json);
                assert_eq!(has("timeline="), timeline.is_some());
            }
        }
        let s = spec(Role::Spawn);
        let args: Vec<String> = s
            .to_args()
            .iter()
            .map(|a| a.to_string_lossy().into())
            .collect();
        assert!(args.contains(&"lang=zh".to_string()), "{args:?}");
    }

    #[test]
    fn language_and_timeline_are_checked() {
        let base = [
            "--child", "spawn", "name=x", "parent=1", "epoch=0", "scale=1",
        ];
        let with = |extra: &[&str]| {
            let mut v: Vec<&str> = base.to_vec();
            v.extend_from_slice(extra);
            decode(&v)
        };
        assert!(with(&["out=text", "lang=en"]).is_ok());
        assert!(
            with(&["out=text"]).is_err(),
            "human output needs a language"
        );
        assert!(with(&["out=text", "lang=fr"]).is_err());
        assert!(
            with(&["out=json", "lang=en"]).is_err(),
            "JSON has no language"
        );
        assert!(with(&["out=json", "timeline=9"]).is_ok());
        assert!(with(&["out=json", "timeline=2"]).is_err());
        assert!(with(&["out=json", "timeline=x"]).is_err());
    }

    #[test]
    fn hand_typed_nonsense_is_an_error_not_a_panic() {
        for args in [
            &["--child"][..],
            &["--child", "nonsense"],
            &["--child", "join", "name=x"],
            &[
                "--child", "join", "name=x", "parent=1", "epoch=0", "scale=1", "out=json",
            ],
            &[
                "--child",
                "spawn",
                "name=x",
                "parent=1",
                "epoch=0",
                "scale=nan",
                "out=json",
            ],
            &["--child", "spawn", "name=x", "name=y"],
            &[
                "--child", "spawn", "name=x", "parent=1", "epoch=0", "scale=1", "out=json",
                "extra=1",
            ],
            &["--child", "spawn", "noequals"],
            &[
                "--child", "isolate", "name=x", "parent=1", "epoch=0", "scale=1", "out=json",
                "value=1", "pipe=1",
            ],
        ] {
            assert!(decode(args).is_err(), "{args:?} decoded");
        }
        let ok = decode(&[
            "--child", "spawn", "name=x", "parent=1", "epoch=0", "scale=1", "out=json",
        ]);
        assert!(ok.is_ok());
    }

    use proptest::prelude::*;

    fn arg() -> impl Strategy<Value = OsString> {
        prop_oneof![
            // Arbitrary bytes, including '=' and invalid UTF-8.
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(OsString::from_vec),
            // Plausible keys with arbitrary values: reaches deeper into the decoder.
            (
                prop::sample::select(vec![
                    "name", "parent", "epoch", "scale", "out", "sleep", "value", "pipe", "ticks",
                    "data", "lock", "lang", "timeline",
                ]),
                proptest::collection::vec(any::<u8>(), 0..24),
            )
                .prop_map(|(k, v)| {
                    let mut b = format!("{k}=").into_bytes();
                    b.extend(v);
                    OsString::from_vec(b)
                }),
        ]
    }

    proptest! {
        #[test]
        fn decoding_any_arguments_never_panics(
            role in prop::sample::select(vec!["spawn", "join", "isolate", "daemon", "buyer", "x"]),
            rest in proptest::collection::vec(arg(), 0..12),
        ) {
            let mut args = vec![OsString::from(CHILD_FLAG), OsString::from(role)];
            args.extend(rest);
            let _ = ChildSpec::decode(&args);
        }

        #[test]
        fn any_spec_round_trips(
            name in "[A-Za-z0-9_-]{1,20}",
            parent in 1i32..i32::MAX,
            epoch in any::<u64>(),
            scale in 0.0f64..=1000.0,
            secs in any::<u64>(),
            value in any::<i64>(),
            data in proptest::collection::vec(1u8..=255, 1..60),
            which in 0usize..5,
        ) {
            let role = match which {
                0 => Role::Spawn,
                1 => Role::Join { secs },
                2 => Role::Isolate { value, pipe: 3 + (secs % 1000) as RawFd },
                3 => Role::Daemon { ticks: (secs % 2 == 0).then_some(secs) },
                _ => Role::Buyer { data: PathBuf::from(OsString::from_vec(data)), lock: value % 2 == 0 },
            };
            let spec = ChildSpec {
                name,
                parent: Pid::from_raw(parent),
                clock: Clock::from_epoch_ns(epoch),
                scale: TimeScale::new(scale).unwrap(),
                format: match which % 3 {
                    0 => Format::Json,
                    1 => Format::Human { color: false, lang: Lang::En },
                    _ => Format::Human { color: true, lang: Lang::Zh },
                },
                role,
                timeline: (epoch % 2 == 0).then_some(3 + (epoch % 1000) as RawFd),
            };
            prop_assert_eq!(ChildSpec::decode(&spec.to_args()).unwrap(), spec);
        }
    }
}
