//! The command line, as the user types it (clap derive): the global options, one subcommand
//! per lesson (from the registry, `lesson::Command`), and the tour. The hidden `--child` entry
//! point is not here: children are decoded by `child.rs` before clap ever runs.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::event::{Format, Lang};
use crate::lesson::{self, Options};
#[cfg(test)]
use crate::number::count;
use crate::sink::Settings;
use crate::time::TimeScale;

#[derive(Parser, Debug)]
#[command(
    name = "procdemo",
    version,
    about = "Real Unix processes, made visible: create them, wait for them, isolate them, \
             tie them to their parent, and share a file under flock",
    long_about = None,
    propagate_version = true,
    after_help = "New here? Start with `procdemo tour`, or `procdemo <lesson> --explain`.",
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

    /// Multiply every sleep by F: 1 (the default) is the tutorial's timings, 0 never sleeps;
    /// the tour's default is 0.2
    #[arg(long, global = true, value_name = "F", default_value = "1", hide_default_value = true,
          value_parser = crate::number::scale)]
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
        let stdout = std::io::stdout();
        // Human lines wrap only on a terminal: a pipe or a file gets one line per event.
        let width = if stdout.is_terminal() {
            crate::sys::terminal_columns(stdout.as_fd()).unwrap_or(0)
        } else {
            0
        };
        Format::Human {
            color,
            lang: self.lang(),
            width,
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

/// Parse the command line, exiting with a usage error (2) when it does not parse. Help and
/// usage errors are in the language of the run: `--lang` when it is on the command line
/// itself (looked for before clap parses anything), else the locale's.
pub fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    let lang = lang_of(&args);
    let mut cmd = command(lang);
    let matches = cmd
        .try_get_matches_from_mut(&args)
        .unwrap_or_else(|e| exit_with(e, lang));
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| exit_with(e, lang));
    cli.global.time_scale_given = typed(&matches, "time_scale");
    cli
}

/// `--lang X` or `--lang=X`, the last one given, before any parsing; else the locale's.
fn lang_of(args: &[OsString]) -> Lang {
    let mut lang = None;
    let mut it = args.iter().map(|a| a.to_str().unwrap_or(""));
    while let Some(arg) = it.next() {
        let value = match arg.strip_prefix("--lang") {
            Some("") => it.next(),
            Some(v) => v.strip_prefix('='),
            None => None,
        };
        if let Some(l) = value.and_then(Lang::parse) {
            lang = Some(l);
        }
    }
    lang.unwrap_or_else(Lang::from_env)
}

/// The whole command line's definition, with its help in `lang`: each lesson's one line, and
/// the paragraph that explains it with its default options (`procdemo <lesson> --help`).
pub fn command(lang: Lang) -> clap::Command {
    let width = help_width();
    let mut cmd = Cli::command().term_width(width);
    for &lesson in crate::lesson::Lesson::ALL {
        // Wrapped here: clap breaks lines only at spaces, and Chinese has none.
        let explain = crate::text::wrap(
            &crate::lesson::default_command(lesson).explain(lang, 1.0),
            width,
        )
        .join("\n");
        cmd = cmd.mut_subcommand(lesson.name(), |c| {
            c.about(lesson.about(lang)).long_about(explain)
        });
    }
    match lang {
        Lang::En => cmd,
        Lang::Zh => chinese(cmd),
    }
}

/// How wide `--help` may be: the terminal's width when stdout is one (`COLUMNS` first, as
/// the shell sets it, then the TIOCGWINSZ ioctl, tty_ioctl(4)), at most 100; 80 elsewhere.
fn help_width() -> usize {
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    let terminal = || crate::sys::terminal_columns(std::io::stdout().as_fd()).map(usize::from);
    columns.or_else(terminal).unwrap_or(80).clamp(40, 100) - 1
}

/// The help in Chinese: clap's own words (headings, `-h`, `-V`) and procdemo's.
fn chinese(cmd: clap::Command) -> clap::Command {
    use clap::{Arg, ArgAction};
    const TEMPLATE: &str = "{about-with-newline}\n用法：{usage}\n\n{all-args}{after-help}";
    const OPTIONS: [(&str, &str); 7] = [
        ("json", "只打印事件，每行一个 JSON 对象（JSON Lines）"),
        (
            "time_scale",
            "所有睡眠时间乘以 F：默认 1 是教程里的时间，0 是不睡眠；导览默认是 0.2",
        ),
        ("color", "什么时候给输出加颜色"),
        (
            "lang",
            "输出的语言 [默认：LC_ALL、LC_MESSAGES 或 LANG 以 zh 开头时是 zh]",
        ),
        (
            "timeline",
            "运行之后，在同一条时间轴上为每个进程画一行（输出到 stderr）",
        ),
        (
            "trace",
            "运行之后，把它写成 Chrome trace-event 文件，用 ui.perfetto.dev 打开",
        ),
        ("explain", "运行之前，说明这个场景演示什么、要注意什么"),
    ];
    let localize = |c: clap::Command| {
        let mut c = c
            .help_template(TEMPLATE)
            .disable_help_subcommand(true)
            .subcommand_help_heading("命令")
            .disable_help_flag(true)
            .disable_version_flag(true)
            .arg(
                Arg::new("help")
                    .short('h')
                    .long("help")
                    .action(ArgAction::Help)
                    .help("打印帮助（-h 是摘要）")
                    .help_heading("选项"),
            )
            .arg(
                Arg::new("version")
                    .short('V')
                    .long("version")
                    .action(ArgAction::Version)
                    .help("打印版本")
                    .help_heading("选项"),
            )
            .mut_args(|a| a.help_heading("选项"));
        for (id, help) in OPTIONS {
            if c.get_arguments().any(|a| a.get_id() == id) {
                c = c.mut_arg(id, |a| a.help(help));
            }
        }
        c
    };
    let mut cmd = localize(cmd)
        .about("真实的 Unix 进程，看得见：创建进程、等待进程、进程的隔离、守护进程，以及用 flock 共享一个文件")
        .after_help("第一次用？从 `procdemo tour` 开始，或者 `procdemo <场景> --explain`。");
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, localize);
    }
    for &lesson in crate::lesson::Lesson::ALL {
        cmd = cmd.mut_subcommand(lesson.name(), |mut c| {
            for (id, help) in lesson.options_zh() {
                c = c.mut_arg(*id, |a| a.help(*help));
            }
            c
        });
    }
    let cmd = cmd.mut_subcommand("quiz", |c| {
        c.about("先预测真实的进程会做什么，再看它们怎么回答")
            .long_about(
                "关于真实进程的题：每一题先给出一次运行的设置（命令行，以及它做什么），\
                 问会发生什么；然后真实的进程运行，它们做了什么放在你的回答旁边，\
                 再加一句为什么。答案从标准输入读取，所以脚本可以用管道输入；\
                 输入结束时测验停止，给出目前的得分。同样的 --seed 会问同样的题；\
                 --answers 打印题目和答案，什么也不问。除非用 --time-scale 另外指定，\
                 所有睡眠都乘以 0.2。",
            )
            .mut_arg("seed", |a| {
                a.help("选题用的种子；不给就随机选一个，并打印出来")
            })
            .mut_arg("questions", |a| a.help("几道题"))
            .mut_arg("answers", |a| {
                a.help("打印每道题和它的答案，什么也不问（给老师用）")
            })
    });
    cmd.mut_subcommand("tour", |c| {
        c.about("依次运行教程里的五个场景，每个之前先说明，之后再总结")
            .long_about(
                "依次运行教程里的五个场景：spawn、join、isolate、daemon、tickets。每个场景之前\
                 有一小段说明要注意什么，之后有一句话总结它说明了什么；加上 --all 还会继续\
                 教程之后的课。除非用 --time-scale 另外指定，所有睡眠都乘以 0.2，整个导览只需\
                 几秒钟；tickets 部分用一个临时的票数文件，不会动你的 data.json。\
                 加上 --json 只打印各次运行的事件。",
            )
    })
}

/// A usage error (or `--help`, `--version`), in the run's language, and its exit code.
fn exit_with(e: clap::Error, lang: Lang) -> ! {
    use clap::error::ContextKind;
    if lang == Lang::En || e.kind() == ErrorKind::DisplayVersion {
        e.exit()
    }
    let rendered = e.render().to_string();
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        // clap's own few words inside the help, which it has no setting for.
        let help = rendered
            .replace("[default: ", "[默认：")
            .replace("[possible values: ", "[可选值：")
            .replace("Possible values:", "可选值：");
        let code = if e.kind() == ErrorKind::DisplayHelp {
            crate::error::code::SUCCESS
        } else {
            crate::error::code::USAGE
        };
        let _ = crate::sink::write_line(std::io::stdout(), help.as_bytes());
        std::process::exit(code)
    }
    let ctx = |k| e.get(k).map(|v| v.to_string()).unwrap_or_default();
    let why = std::error::Error::source(&e).map(|s| {
        match s.downcast_ref::<crate::number::NumberError>() {
            Some(n) => n.chinese(),
            None => s.to_string(),
        }
    });
    let what = match e.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => format!(
            "{} 的值「{}」无效{}",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::InvalidValue),
            why.map_or(String::new(), |w| format!("：{w}"))
        ),
        ErrorKind::UnknownArgument => format!("不认识的参数 {}", ctx(ContextKind::InvalidArg)),
        ErrorKind::InvalidSubcommand => {
            format!("不认识的场景 {}", ctx(ContextKind::InvalidSubcommand))
        }
        ErrorKind::MissingRequiredArgument => {
            format!("缺少参数 {}", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::MissingSubcommand => "缺少场景：procdemo 后面要跟一个场景的名字".to_owned(),
        ErrorKind::ArgumentConflict => format!(
            "{} 不能和 {} 一起用",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::PriorArg)
        ),
        _ => format!("命令行不对（{}）", rendered.lines().next().unwrap_or("")),
    };
    let usage = rendered
        .lines()
        .find_map(|l| l.strip_prefix("Usage: "))
        .unwrap_or("procdemo [OPTIONS] <COMMAND>");
    let text = format!("procdemo: 错误：{what}\n\n用法：{usage}\n\n更多信息请用 '--help'。\n");
    let _ = crate::sink::write_line(std::io::stderr(), text.as_bytes());
    std::process::exit(crate::error::code::USAGE)
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
                      sentence on what it showed; --all goes on with the lessons after the \
                      tutorial. Every sleep is scaled by 0.2 unless --time-scale says \
                      otherwise, so the tour takes a few seconds; the tickets part uses a \
                      temporary ticket file, never your data.json. With --json it prints the \
                      runs' events only.",
        after_help = TOUR_EXAMPLES
    )]
    Tour(crate::tour::Args),
    /// Predict what real processes will do, then watch them answer
    #[command(
        long_about = "Questions about real processes: each shows a run's setup (the command \
                      line, and what it does) and asks what will happen; then the real \
                      processes run, and what they did is put beside what you said, with one \
                      line of why. Answers are read from stdin, so a script can pipe them in; \
                      the end of input stops the quiz with the score so far. The same --seed \
                      asks the same questions; --answers prints them with their answers and \
                      asks nothing. Every sleep is scaled by 0.2 unless --time-scale says \
                      otherwise.",
        after_help = QUIZ_EXAMPLES
    )]
    Quiz(crate::quiz::Args),
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
  # a few seconds, in your language
  procdemo tour
  # 中文
  procdemo --lang zh tour
  # the tutorial's timings, with charts
  procdemo --time-scale 1 tour --timeline
  # and the lessons after the tutorial
  procdemo tour --all";

const QUIZ_EXAMPLES: &str = "\
Examples:
  # five questions, a random seed
  procdemo quiz
  # the teacher's sheet for seed 7
  procdemo quiz --seed 7 --answers
  # play it with the sheet's answers: 5 of 5
  procdemo quiz --seed 7 --answers | grep '^Answer' | cut -d' ' -f2 |
    procdemo quiz --seed 7";

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
