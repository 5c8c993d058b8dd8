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
//! guard and installs an alternate signal stack). The two things of it procdemo relies on it
//! does itself: SIGPIPE ignored, and descriptors 0, 1 and 2 open (on `/dev/null` if they were
//! closed), so that no file procdemo opens can land on a standard stream's number. Arguments still come from `std::env::args_os`, which the
//! standard library collects before `main` on Linux.

// Unit tests (`cargo test`) keep the test harness's own entry point.
#![cfg_attr(not(test), no_main)]

mod child;
mod cli;
mod error;
mod event;
mod lesson;
mod lock;
mod manual;
mod messages;
mod number;
mod procfs;
mod proclocks;
mod quiz;
mod quote;
mod render;
mod sink;
mod supervisor;
mod sys;
mod text;
mod ticketfile;
mod time;
mod timeline;
mod tour;
mod watch;

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
    sys::open_standard_streams();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if child::is_child(&args) {
        // _exit(2): a child holds nothing in user space to flush (each line went out with a
        // write(2) of its own, stderr is unbuffered), so the C library's exit handlers and
        // stdio cleanup would only cost every child their pages.
        sys::exit_now(lesson::child_main(&args[1..]));
    }

    let cli = cli::parse();
    let result = match &cli.command {
        cli::Command::Lesson(command) => lesson::run(&cli.global.options(), command),
        cli::Command::Tour(args) => {
            tour::run(&cli.global.options(), cli.global.time_scale_given, args)
        }
        cli::Command::Quiz(args) => {
            quiz::run(&cli.global.options(), cli.global.time_scale_given, args)
        }
        cli::Command::Completions { shell } => manual::completions(*shell),
        cli::Command::Man { dir } => manual::man(dir.as_deref()),
    };
    let code = match result {
        Ok(()) => error::code::SUCCESS,
        Err(err) => {
            let code = error::exit_code(&err);
            // Stopped by a signal or by a closed stdout: the events already told the story.
            if code == error::code::FAILURE {
                let line = match cli.global.lang() {
                    event::Lang::En => format!("procdemo: error: {err:#}\n"),
                    event::Lang::Zh => format!("procdemo: 错误：{}\n", messages::zh::error(&err)),
                };
                let _ = sink::write_line(std::io::stderr(), line.as_bytes());
            }
            code
        }
    };
    std::process::exit(code)
}
