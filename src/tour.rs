//! # tour: the lessons, one after another, with a guide
//!
//! Each part is introduced by its `--explain` paragraph (what to watch for), runs exactly as
//! `procdemo <scenario>` would, and is closed by one sentence on what it showed. Every sleep
//! is scaled by [`SCALE`] unless the user typed `--time-scale`, so the whole tour takes a few
//! seconds. The tickets part works on a ticket file in a fresh temporary directory, never on
//! the user's `data.json`, and removes it afterwards.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::event::Format;
use crate::lesson::{self, Lesson, Options};
use crate::messages;
use crate::sink::{paragraph, write_line, Out};
use crate::supervisor::Supervisor;
use crate::time::{Clock, TimeScale};

/// The tour's time scale when `--time-scale` is not given: about 5 s in all.
pub const SCALE: f64 = 0.2;
/// On a terminal, the tutorial's seconds left to read a paragraph before its part runs.
const READING_PAUSE: f64 = 3.0;

/// The parts, in the course's order, as the command lines that run them: the tutorial's own
/// examples (part 1), and with `--all` the lessons after them (part 2).
fn parts(data: &std::path::Path, all: bool) -> Vec<(Lesson, Vec<OsString>)> {
    Lesson::ALL
        .iter()
        .filter(|lesson| all || lesson.tour().part == 1)
        .map(|&lesson| {
            let tour = lesson.tour();
            let mut argv: Vec<OsString> = [lesson.name()]
                .iter()
                .chain(tour.args)
                .map(OsString::from)
                .collect();
            if tour.data_file {
                argv.push("--data".into());
                argv.push(data.as_os_str().to_owned());
            }
            (lesson, argv)
        })
        .collect()
}

/// `procdemo tour [--all]`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// After the tutorial's five examples, go on with the lessons after them (part 2)
    #[arg(long)]
    pub all: bool,
}

/// The tour, with the run's options (`scale_given`: whether `--time-scale` was typed; the
/// tour has its own default).
pub fn run(o: &Options, scale_given: bool, args: &Args) -> Result<()> {
    let mut o = o.clone();
    if !scale_given {
        o.settings.scale = TimeScale::new(SCALE).expect("a valid scale");
    }
    o.explain = false; // the tour explains every part itself
    let lang = o.lang;
    let words = messages::words(lang);
    let format = o.settings.format;
    // With --json stdout carries nothing but events: the narration is left out.
    let say = |text: &str| match format {
        Format::Json => Ok(()),
        Format::Human { .. } => paragraph(text),
    };
    let dir = TempDir::new()?;
    let parts = parts(&dir.0.join("data.json"), args.all);

    say(&words.tour_intro(o.settings.scale.factor()))?;
    for (i, (lesson, argv)) in parts.iter().enumerate() {
        if i > 0 && lesson.tour().part != parts[i - 1].0.tour().part {
            say(words.tour_second_part())?;
        }
        let heading = words.tour_heading(i + 1, parts.len(), lesson.name());
        if let Format::Human { color, .. } = format {
            let heading = if color {
                format!("\x1b[1m{heading}\x1b[0m\n\n")
            } else {
                format!("{heading}\n\n")
            };
            write_line(std::io::stdout(), heading.as_bytes())?;
        }
        let command = lesson::parse_command(argv).context("the tour's own command line")?;
        say(&command.explain(lang, o.settings.scale.factor()))?;
        pause(&o)?;
        lesson::run(&o, &command)?;
        if format != Format::Json {
            write_line(std::io::stdout(), b"\n")?;
        }
        say(lesson.showed(lang))?;
    }
    say(words.tour_outro(args.all))
}

/// Time to read, on a terminal only; Ctrl-C still stops the tour at once.
fn pause(o: &Options) -> Result<()> {
    if o.settings.format == Format::Json || !std::io::stdout().is_terminal() {
        return Ok(());
    }
    let out = Out::new(o.settings.format, Clock::start(), "main");
    let mut waiter = Supervisor::new(&out, o.settings.scale)?;
    waiter.sleep(READING_PAUSE)
}

/// A private directory for the tour's (and the quiz's) ticket file, removed with everything
/// in it.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    pub fn new() -> Result<TempDir> {
        let base = std::env::temp_dir();
        let pid = std::process::id();
        for n in 0..100 {
            let path = base.join(format!("procdemo-tour-{pid}-{n}"));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("{}: creating it", path.display()))
                }
            }
        }
        anyhow::bail!("{}: no free name for a temporary directory", base.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_parses_and_tickets_use_the_temporary_file() {
        let parts = parts(std::path::Path::new("tour-dir/data.json"), false);
        assert_eq!(parts.len(), 5, "the tutorial's five examples");
        let all = parts_of_all();
        assert_eq!(all.len(), Lesson::ALL.len(), "--all: every lesson");
        for (which, argv) in &parts {
            let command = lesson::parse_command(argv).unwrap();
            assert_eq!(command.lesson(), *which);
        }
        let (_, tickets) = &parts[4];
        assert_eq!(tickets.last().unwrap(), "tour-dir/data.json");
    }

    fn parts_of_all() -> Vec<(Lesson, Vec<OsString>)> {
        parts(std::path::Path::new("tour-dir/data.json"), true)
    }

    #[test]
    fn the_temporary_directory_goes_away() {
        let dir = TempDir::new().unwrap();
        let path = dir.0.clone();
        std::fs::write(path.join("data.json"), "{}").unwrap();
        drop(dir);
        assert!(!path.exists());
    }
}
