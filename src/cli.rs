//! The command line, as the user types it (clap derive). The hidden `--child` entry point is
//! not here: children are decoded by `child.rs` before clap ever runs.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::event::Format;
use crate::time::{parse_scale, TimeScale};

#[derive(Parser, Debug)]
#[command(
    name = "procdemo",
    version,
    about = "Real Unix processes, made visible: create them, wait for them, isolate them, \
             tie them to their parent, and share a file under flock",
    long_about = None,
    propagate_version = true,
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
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
                    && std::io::stdout().is_terminal()
            }
        };
        Format::Human { color }
    }
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
    Spawn(SpawnArgs),
    /// Start children and wait for each one with join: elapsed is the max, not the sum (part 2)
    Join(JoinArgs),
    /// A global variable changed in a child stays unchanged in the parent (part 3)
    Isolate(IsolateArgs),
    /// A daemon child is ended when the main process ends (part 4)
    Daemon(DaemonArgs),
    /// Buyers race for tickets in a shared file; an exclusive flock keeps the count right (part 5)
    Tickets(TicketsArgs),
}

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
    fn global_options_go_anywhere() {
        let a = Cli::try_parse_from(["procdemo", "--json", "join", "--count", "2"]).unwrap();
        let b = Cli::try_parse_from(["procdemo", "join", "--count", "2", "--json"]).unwrap();
        assert!(a.global.json && b.global.json);
    }
}
