//! The command line, as the user types it (clap derive). The hidden `--child` entry point is
//! not here: children are decoded by `child.rs` before clap ever runs.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::event::{Format, Scenario};
use crate::messages::{en, Lang};
use crate::time::{parse_scale, TimeScale};

#[derive(Parser, Debug)]
#[command(
    name = "procdemo",
    version,
    about = "Real Unix processes, made visible: create them, wait for them, isolate them, \
             tie them to their parent, and share a file under flock",
    long_about = None,
    propagate_version = true,
    after_help = "New here? Start with `procdemo tour`, or `procdemo <scenario> --explain`.",
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub scenario: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Print only events, one JSON object per line (JSON Lines)
    #[arg(long, global = true)]
    pub json: bool,

    /// Multiply every sleep by F (0 = never sleep, 1 = the tutorial's timings)
    #[arg(long, global = true, value_name = "F", default_value = "1", value_parser = parse_scale)]
    pub time_scale: TimeScale,

    /// When to colour human output
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,

    /// Language of human output [default: zh if LC_ALL, LC_MESSAGES or LANG starts with zh]
    #[arg(long, global = true, value_name = "LANG", value_enum)]
    pub lang: Option<Lang>,

    /// After the run, draw one row per process on a common time axis (on stderr)
    #[arg(long, global = true)]
    pub timeline: bool,

    /// Before the run, print what the scenario shows and what to watch for
    #[arg(long, global = true, conflicts_with = "json")]
    pub explain: bool,

    /// Whether `--time-scale` was typed (the tour has its own default). Set by [`parse`].
    #[arg(skip)]
    pub time_scale_given: bool,
}

impl Global {
    /// Resolve `--json` and `--color` into the one format every process of the run uses.
    ///
    /// `auto` colours only a terminal, never when `NO_COLOR` is set (no-color.org) or the
    /// terminal says it is `dumb`.
    pub fn format(&self) -> Format {
        if self.json {
            return Format::Json;
        }
        let color = self.color_for(std::io::stdout().is_terminal());
        Format::Human {
            color,
            lang: self.lang(),
        }
    }

    /// `--lang`, or the one the locale asks for.
    pub fn lang(&self) -> Lang {
        self.lang.unwrap_or_else(Lang::from_env)
    }

    /// Whether the `--timeline` chart, on stderr, is coloured.
    pub fn chart_color(&self) -> bool {
        self.color_for(std::io::stderr().is_terminal())
    }

    fn color_for(&self, terminal: bool) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
                    && terminal
            }
        }
    }
}

/// Parse the command line, exiting with clap's usage error (2) when it does not parse.
pub fn parse() -> Cli {
    let mut cmd = Cli::command();
    let matches = cmd.get_matches_mut();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut cmd).exit());
    cli.global.time_scale_given = typed(&matches, "time_scale");
    if cli.global.json && matches!(cli.scenario, Command::Tour) {
        cmd.error(
            ErrorKind::ArgumentConflict,
            "the tour is a guided text, it has no --json; run one scenario with --json instead",
        )
        .exit();
    }
    cli
}

/// Was the (global) option `id` typed, before or after the subcommand?
fn typed(m: &ArgMatches, id: &str) -> bool {
    m.value_source(id) == Some(ValueSource::CommandLine)
        || m.subcommand().is_some_and(|(_, sub)| typed(sub, id))
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start children that run on their own: the parent does not wait (tutorial, part 1)
    #[command(long_about = en::EXPLAIN_SPAWN, after_help = SPAWN_EXAMPLES)]
    Spawn(SpawnArgs),
    /// Start children and wait for each one with join: elapsed is the max, not the sum (part 2)
    #[command(long_about = en::EXPLAIN_JOIN, after_help = JOIN_EXAMPLES)]
    Join(JoinArgs),
    /// A global variable changed in a child stays unchanged in the parent (part 3)
    #[command(long_about = en::EXPLAIN_ISOLATE, after_help = ISOLATE_EXAMPLES)]
    Isolate(IsolateArgs),
    /// A daemon child is ended when the main process ends (part 4)
    #[command(long_about = en::EXPLAIN_DAEMON, after_help = DAEMON_EXAMPLES)]
    Daemon(DaemonArgs),
    /// Buyers race for tickets in a shared file; an exclusive flock keeps the count right (part 5)
    #[command(long_about = en::EXPLAIN_TICKETS, after_help = TICKETS_EXAMPLES)]
    Tickets(TicketsArgs),
    /// All five scenarios in turn, each explained before and summed up after
    #[command(
        long_about = "All five scenarios in turn: spawn, join, isolate, daemon, tickets. Each \
                      is introduced by a short paragraph on what to watch for and closed by one \
                      sentence on what it showed. Every sleep is scaled by 0.2 unless \
                      --time-scale says otherwise, so the tour takes a few seconds; the tickets \
                      part uses a temporary ticket file, never your data.json.",
        after_help = TOUR_EXAMPLES
    )]
    Tour,
    /// Print a completion script for a shell (see docs/completions.md)
    #[command(hide = true)]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page, or write one page per command into a directory
    #[command(hide = true)]
    Man {
        /// Write procdemo.1, procdemo-spawn.1, ... into DIR instead of printing procdemo.1
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

impl Command {
    /// The scenario this command runs, if it is one.
    pub fn scenario(&self) -> Option<Scenario> {
        match self {
            Command::Spawn(_) => Some(Scenario::Spawn),
            Command::Join(_) => Some(Scenario::Join),
            Command::Isolate(_) => Some(Scenario::Isolate),
            Command::Daemon(_) => Some(Scenario::Daemon),
            Command::Tickets(_) => Some(Scenario::Tickets),
            Command::Tour | Command::Completions { .. } | Command::Man { .. } => None,
        }
    }
}

const SPAWN_EXAMPLES: &str = "\
Examples:
  procdemo spawn                                      # one child, the tutorial's 3 s
  procdemo --time-scale 0.1 spawn --count 3 --method fork
  procdemo --lang zh --timeline spawn --count 2       # in Chinese, then the chart";

const JOIN_EXAMPLES: &str = "\
Examples:
  procdemo join                                       # 3 children: about 2 s, not 3
  procdemo --time-scale 0.1 join --count 3 --timeline # the rows overlap
  procdemo --time-scale 0.1 join --count 3 --sequential --timeline  # one after another";

const ISOLATE_EXAMPLES: &str = "\
Examples:
  procdemo isolate                                    # the child's money, the main's money
  procdemo isolate --method fork                      # same address, two values
  procdemo --json isolate --value 7                   # the events, as JSON Lines";

const DAEMON_EXAMPLES: &str = "\
Examples:
  procdemo daemon                                     # the daemon dies with the main
  procdemo --timeline daemon --ticks 5                # see when, and by which signal
  procdemo --time-scale 0.1 daemon --no-daemon        # an ordinary child is waited for";

const TICKETS_EXAMPLES: &str = "\
Examples:
  procdemo --time-scale 0.1 tickets --tickets 1       # 10 buyers, 1 ticket, 1 sale
  procdemo --time-scale 0.1 tickets --tickets 1 --no-lock --timeline  # the oversell
  procdemo --lang zh --time-scale 0.01 tickets --buyers 10 --tickets 1";

const TOUR_EXAMPLES: &str = "\
Examples:
  procdemo tour                                       # a few seconds, in your language
  procdemo --lang zh tour                             # 中文
  procdemo --time-scale 1 tour --timeline             # the tutorial's timings, with charts";

/// How a child process is created.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
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

/// How `join` waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinMode {
    Parallel,
    Sequential,
    NoJoin,
}

impl JoinMode {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinMode::Parallel => "parallel",
            JoinMode::Sequential => "sequential",
            JoinMode::NoJoin => "no-join",
        }
    }
}

fn count(s: &str) -> Result<usize, String> {
    bounded(s, 1, 10_000)
}

fn bounded(s: &str, lo: usize, hi: usize) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is out of range ({lo} to {hi})"))
    }
}

#[derive(Args, Debug, Clone)]
pub struct SpawnArgs {
    /// How many children to start
    #[arg(long, value_name = "N", default_value = "1", value_parser = count)]
    pub count: usize,

    /// How to create each child
    #[arg(long, value_enum, default_value = "exec")]
    pub method: Method,
}

#[derive(Args, Debug, Clone)]
pub struct JoinArgs {
    /// How many children; child i sleeps i seconds (0, 1, 2, ...)
    #[arg(long, value_name = "N", default_value = "3", value_parser = count)]
    pub count: usize,

    /// Start and join one child at a time: elapsed becomes the sum
    #[arg(long, conflicts_with = "no_join")]
    pub sequential: bool,

    /// Do not join: the main prints at once (it still reaps its children before it exits)
    #[arg(long)]
    pub no_join: bool,
}

impl JoinArgs {
    pub fn mode(&self) -> JoinMode {
        match (self.sequential, self.no_join) {
            (true, _) => JoinMode::Sequential,
            (_, true) => JoinMode::NoJoin,
            _ => JoinMode::Parallel,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct IsolateArgs {
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

#[derive(Args, Debug, Clone)]
pub struct DaemonArgs {
    /// Make the child an ordinary child: it runs 3 ticks and the main waits for it
    #[arg(long)]
    pub no_daemon: bool,

    /// How many lines the main prints, 0.1 s apart, before it ends
    #[arg(long, value_name = "N", default_value = "10", value_parser = |s: &str| bounded(s, 0, 10_000))]
    pub ticks: usize,
}

#[derive(Args, Debug, Clone)]
pub struct TicketsArgs {
    /// How many buyer processes
    #[arg(long, value_name = "N", default_value = "10", value_parser = count)]
    pub buyers: usize,

    /// First set the count in the file to N (under the lock)
    #[arg(long, value_name = "N", value_parser = |s: &str| bounded(s, 0, 1_000_000).map(|n| n as u64))]
    pub tickets: Option<u64>,

    /// The ticket file; its lock is this path with `.lock` appended
    #[arg(long, value_name = "PATH", default_value = "data.json")]
    pub data: PathBuf,

    /// Skip the lock, to see the race the lock prevents
    #[arg(long)]
    pub no_lock: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn counts_are_bounded() {
        assert!(count("1").is_ok());
        assert!(count("10000").is_ok());
        assert!(count("0").is_err());
        assert!(count("10001").is_err());
        assert!(count("-1").is_err());
        assert!(count("1.5").is_err());
    }

    #[test]
    fn teaching_options_parse() {
        let cli = Cli::try_parse_from([
            "procdemo",
            "join",
            "--lang",
            "zh",
            "--timeline",
            "--explain",
        ])
        .unwrap();
        assert_eq!(cli.global.lang, Some(Lang::Zh));
        assert!(cli.global.timeline && cli.global.explain);
        assert!(Cli::try_parse_from(["procdemo", "--lang", "fr", "join"]).is_err());
        assert!(Cli::try_parse_from(["procdemo", "--json", "--explain", "join"]).is_err());
        assert!(Cli::try_parse_from(["procdemo", "tour"]).is_ok());
        assert!(Cli::try_parse_from(["procdemo", "completions", "zsh"]).is_ok());
    }

    #[test]
    fn a_typed_time_scale_is_noticed_before_or_after_the_scenario() {
        for (args, given) in [
            (&["procdemo", "tour"][..], false),
            (&["procdemo", "--time-scale", "0.5", "tour"], true),
            (&["procdemo", "tour", "--time-scale", "0.5"], true),
        ] {
            let m = Cli::command().try_get_matches_from(args).unwrap();
            assert_eq!(typed(&m, "time_scale"), given, "{args:?}");
        }
    }

    #[test]
    fn hidden_commands_stay_out_of_help() {
        let help = Cli::command().render_help().to_string();
        assert!(help.contains("tour"));
        assert!(
            !help.contains("completions") && !help.contains("\n  man"),
            "{help}"
        );
    }

    #[test]
    fn global_options_go_anywhere() {
        let a = Cli::try_parse_from(["procdemo", "--json", "join", "--count", "2"]).unwrap();
        let b = Cli::try_parse_from(["procdemo", "join", "--count", "2", "--json"]).unwrap();
        assert!(a.global.json && b.global.json);
    }
}
