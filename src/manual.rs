//! The hidden `completions` and `man` commands: shell completion scripts (clap_complete) and
//! manual pages (clap_mangen), generated from the same clap definitions as `--help`, so they
//! can never disagree with it. docs/completions.md says where to install them.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;
use crate::sink::write_line;

/// `procdemo completions bash|zsh|fish|...`: the script, on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "procdemo", &mut script);
    write_line(std::io::stdout(), &script)
}

/// `procdemo man`: procdemo(1) on stdout; `procdemo man --dir DIR`: one page per command.
pub fn man(dir: Option<&Path>) -> Result<()> {
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .context("rendering the manual page")?;
            write_line(std::io::stdout(), &page)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), dir)
                .with_context(|| format!("{}: writing the manual pages", dir.display()))
        }
    }
}
