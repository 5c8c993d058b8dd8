//! procdemo: real Unix processes, made visible.
//!
//! `main` only decides who we are and how we end. A child (the hidden `--child` entry point)
//! is dispatched first, before clap or any parent-side setup; the main process parses its
//! command line, runs the scenario, and maps the outcome to an exit code: 0 success, 1 a
//! runtime error, 2 a usage error (clap's own), 128+n stopped by signal n.

mod child;
mod cli;
mod error;
mod event;
#[allow(dead_code)]
mod lock;
mod manual;
mod messages;
mod render;
mod scenario;
mod supervisor;
mod sys;
mod ticketfile;
mod time;
mod timeline;
mod tour;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if child::is_child(&args) {
        std::process::exit(child::main(&args));
    }

    let cli = cli::parse();
    let code = match scenario::run(&cli) {
        Ok(()) => 0,
        Err(err) => {
            let code = error::exit_code(&err);
            // Stopped by a signal or by a closed stdout: the events already told the story.
            if code == 1 {
                let line = format!("procdemo: error: {err:#}\n");
                let _ = event::write_line(std::io::stderr(), line.as_bytes());
            }
            code
        }
    };
    std::process::exit(code)
}
