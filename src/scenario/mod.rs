//! The five scenarios of the tutorial, one module each. Every module holds both sides of its
//! story: `run`, what the main process does, and the function its children run.

pub mod daemon;
pub mod isolate;
pub mod join;
pub mod spawn;
pub mod tickets;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Run the scenario the user asked for.
pub fn run(cli: &Cli) -> Result<()> {
    let g = &cli.global;
    match &cli.scenario {
        Command::Spawn(args) => spawn::run(g, args),
        Command::Join(args) => join::run(g, args),
        Command::Isolate(args) => isolate::run(g, args),
        Command::Daemon(args) => daemon::run(g, args),
        Command::Tickets(args) => tickets::run(g, args),
    }
}
