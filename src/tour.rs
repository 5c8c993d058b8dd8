//! # tour: the five scenarios, one after another, with a guide
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
use clap::Parser;

use crate::cli::{Cli, Global};
use crate::event::{write_line, Format, Out, Scenario};
use crate::scenario;
use crate::supervisor::Supervisor;
use crate::time::{Clock, TimeScale};

/// The tour's time scale when `--time-scale` is not given: about 5 s in all.
pub const SCALE: f64 = 0.2;
/// On a terminal, the tutorial's seconds left to read a paragraph before its part runs.
const READING_PAUSE: f64 = 3.0;

/// The parts, in the tutorial's order, as the command lines that run them.
fn parts(data: &std::path::Path) -> Vec<(Scenario, Vec<OsString>)> {
    let argv = |args: &[&str]| -> Vec<OsString> {
        std::iter::once("procdemo")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    };
    let mut tickets = argv(&["tickets", "--buyers", "10", "--tickets", "1", "--data"]);
    tickets.push(data.as_os_str().to_owned());
    vec![
        (Scenario::Spawn, argv(&["spawn"])),
        (Scenario::Join, argv(&["join"])),
        (Scenario::Isolate, argv(&["isolate"])),
        (Scenario::Daemon, argv(&["daemon"])),
        (Scenario::Tickets, tickets),
    ]
}

pub fn run(g: &Global) -> Result<()> {
    let mut g = g.clone();
    if !g.time_scale_given {
        g.time_scale = TimeScale::new(SCALE).expect("a valid scale");
    }
    g.explain = false; // the tour explains every part itself
    let words = g.lang().words();
    let bold = matches!(g.format(), Format::Human { color: true, .. });
    let dir = TempDir::new()?;
    let parts = parts(&dir.0.join("data.json"));

    scenario::paragraph(&words.tour_intro(g.time_scale.factor()))?;
    for (i, (which, argv)) in parts.iter().enumerate() {
        let heading = words.tour_heading(i + 1, parts.len(), *which);
        let heading = if bold {
            format!("\x1b[1m{heading}\x1b[0m\n\n")
        } else {
            format!("{heading}\n\n")
        };
        write_line(std::io::stdout(), heading.as_bytes())?;
        scenario::paragraph(words.explain(*which))?;
        pause(&g)?;
        let cli = Cli::try_parse_from(argv).context("the tour's own command line")?;
        scenario::one(&g, &cli.scenario)?;
        write_line(std::io::stdout(), b"\n")?;
        scenario::paragraph(words.showed(*which))?;
    }
    scenario::paragraph(words.tour_outro())
}

/// Time to read, on a terminal only; Ctrl-C still stops the tour at once.
fn pause(g: &Global) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        return Ok(());
    }
    let out = Out::new(g.format(), Clock::start(), "main");
    let mut waiter = Supervisor::new(&out, g.time_scale)?;
    waiter.sleep(READING_PAUSE)
}

/// A private directory for the tour's ticket file, removed with everything in it.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
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
        let parts = parts(std::path::Path::new("tour-dir/data.json"));
        assert_eq!(parts.len(), 5);
        for (which, argv) in &parts {
            let cli = Cli::try_parse_from(argv).unwrap();
            assert_eq!(cli.scenario.scenario(), Some(*which));
        }
        let (_, tickets) = &parts[4];
        assert_eq!(tickets.last().unwrap(), "tour-dir/data.json");
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
