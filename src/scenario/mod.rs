//! The five scenarios of the tutorial, one module each. Every module holds both sides of its
//! story: `run`, what the main process does, and the function its children run.

pub mod daemon;
pub mod isolate;
pub mod join;
pub mod spawn;
pub mod tickets;

use anyhow::Result;

use crate::cli::{Cli, Command, Global};
use crate::error::Stopped;
use crate::event::{write_line, Format, Scenario};
use crate::{manual, timeline, tour};

/// Run what the user asked for: a scenario, the tour, or a hidden generator.
pub fn run(cli: &Cli) -> Result<()> {
    let g = &cli.global;
    match &cli.scenario {
        Command::Tour => tour::run(g),
        Command::Completions { shell } => manual::completions(*shell),
        Command::Man { dir } => manual::man(dir.as_deref()),
        command => one(g, command),
    }
}

/// One scenario, with what `--explain` prints before it and `--timeline` draws after it.
pub fn one(g: &Global, command: &Command) -> Result<()> {
    if let (true, Some(scenario)) = (g.explain, command.scenario()) {
        explain(g, scenario)?;
    }
    if !g.timeline {
        return dispatch(g, command);
    }
    timeline::begin()?;
    let result = dispatch(g, command);
    let records = timeline::end();
    // After a closed stdout the run ends quietly; after an error the error line says it all.
    let draw = match &result {
        Ok(()) => true,
        Err(e) => e.downcast_ref::<Stopped>().is_some(),
    };
    if draw {
        let lines = timeline::draw(&records, timeline::WIDTH, g.chart_color(), g.lang().words());
        if !lines.is_empty() {
            let chart = format!("\n{}\n", lines.join("\n"));
            let _ = write_line(std::io::stderr(), chart.as_bytes());
        }
    }
    result
}

fn dispatch(g: &Global, command: &Command) -> Result<()> {
    match command {
        Command::Spawn(args) => spawn::run(g, args),
        Command::Join(args) => join::run(g, args),
        Command::Isolate(args) => isolate::run(g, args),
        Command::Daemon(args) => daemon::run(g, args),
        Command::Tickets(args) => tickets::run(g, args),
        Command::Tour | Command::Completions { .. } | Command::Man { .. } => {
            unreachable!("not a scenario")
        }
    }
}

/// The scenario's paragraph, wrapped for an 80-column terminal, then a blank line. Human
/// output only: with `--json` stdout carries nothing but events.
pub fn explain(g: &Global, scenario: Scenario) -> Result<()> {
    if g.format() == Format::Json {
        return Ok(());
    }
    paragraph(g.lang().words().explain(scenario))
}

/// A paragraph of narration on stdout, wrapped to 78 columns, followed by a blank line.
pub fn paragraph(text: &str) -> Result<()> {
    let mut out = crate::messages::wrap(text, 78).join("\n");
    out.push_str("\n\n");
    write_line(std::io::stdout(), out.as_bytes())
}
