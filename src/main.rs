//! procdemo: real Unix processes, made visible.
//!
//! `main` only decides who we are and how we end. A child (the hidden `--child` entry point)
//! is dispatched first, before clap or any parent-side setup; the main process parses its
//! command line, runs the scenario, and maps the outcome to an exit code: 0 success, 1 a
//! runtime error, 2 a usage error (clap's own), 128+n stopped by signal n.
//!
//! `main` is the C entry point itself (`#![no_main]`): every child is a fresh execve of this
//! binary, and the standard library's start-up code, which procdemo does not need, would cost
//! each of them about a tenth of its start-up (it parses /proc/self/maps to place a stack
//! guard and installs an alternate signal stack). The one thing of it procdemo relies on,
//! SIGPIPE ignored, it does itself. Arguments still come from `std::env::args_os`, which the
//! standard library collects before `main` on Linux.

// Unit tests (`cargo test`) keep the test harness's own entry point.
#![cfg_attr(not(test), no_main)]

mod child;
mod cli;
mod error;
mod event;
#[allow(dead_code)]
mod lock;
mod manual;
mod messages;
mod quote;
mod render;
mod scenario;
mod supervisor;
mod sys;
mod ticketfile;
mod time;
mod timeline;
mod tour;

/// The process's entry point, called by the C runtime.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    run()
}

// Under `cargo test` the test harness is the entry point and nothing calls `run`.
#[cfg_attr(test, allow(dead_code))]
fn run() -> ! {
    sys::ignore_sigpipe();
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
