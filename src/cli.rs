//! The command line, as the user types it (clap derive): the global options, one subcommand
//! per lesson (from the registry, `lesson::Command`), and the tour. The hidden `--child` entry
//! point is not here: children are decoded by `child.rs` before clap ever runs.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::event::{Format, Lang};
use crate::lesson::{self, Options};
use crate::sink::Settings;
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
    pub command: Command,
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

    /// After the run, write it as a Chrome trace-event file for ui.perfetto.dev
    #[arg(long, global = true, value_name = "FILE")]
    pub trace: Option<PathBuf>,

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

    /// Everything a lesson's run needs, resolved once.
    pub fn options(&self) -> Options {
        Options {
            settings: Settings {
                format: self.format(),
                scale: self.time_scale,
            },
            lang: self.lang(),
            explain: self.explain,
            timeline: self.timeline,
            trace: self.trace.clone(),
            chart_color: self.chart_color(),
        }
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
    if cli.global.json && matches!(cli.command, Command::Tour) {
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
    #[command(flatten)]
    Lesson(lesson::Command),
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

const TOUR_EXAMPLES: &str = "\
Examples:
  procdemo tour                                       # a few seconds, in your language
  procdemo --lang zh tour                             # 中文
  procdemo --time-scale 1 tour --timeline             # the tutorial's timings, with charts";

/// A count option: 1 to 10000.
pub fn count(s: &str) -> Result<usize, String> {
    bounded(s, 1, 10_000)
}

/// A whole number from `lo` to `hi`, for clap.
pub fn bounded(s: &str, lo: usize, hi: usize) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is out of range ({lo} to {hi})"))
    }
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
