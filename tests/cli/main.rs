//! Integration tests: the real procdemo binary, run as a user runs it.
//!
//! One test binary with its own `main` (libtest-mimic) so that it can re-execute itself as the
//! leak-catching reaper of `harness.rs` before the test runner starts.

#[allow(dead_code)] // support for every module; not each one uses all of it
mod harness;

mod architecture;
mod classroom;
mod faults;
mod faults_lessons;
mod foundation;
mod hardening;
mod isolate_daemon;
mod lessons_life;
mod output;
mod quiz;
mod streams;
mod teach;
mod tickets;
mod together;

use libtest_mimic::{Arguments, Trial};

/// `trials![f, g]`: one test per function, named after it.
#[macro_export]
macro_rules! trials {
    ($($f:path),* $(,)?) => {
        vec![$(libtest_mimic::Trial::test(
            stringify!($f).rsplit("::").next().unwrap(),
            || { $f(); Ok(()) },
        )),*]
    };
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(harness::REAPER) {
        harness::reaper_main(&args[2..]);
    }
    if args.get(1).map(String::as_str) == Some(output::BROKEN_WRITER) {
        output::broken_writer_main(&args[2..]);
    }
    let tests: Vec<Trial> = [
        foundation::tests(),
        architecture::tests(),
        classroom::tests(),
        isolate_daemon::tests(),
        tickets::tests(),
        faults::tests(),
        faults_lessons::tests(),
        streams::tests(),
        teach::tests(),
        quiz::tests(),
        hardening::tests(),
        output::tests(),
        lessons_life::tests(),
        together::tests(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let conclusion = libtest_mimic::run(&Arguments::from_args(), tests);
    // Each run checked itself; this checks the whole suite, however a process escaped.
    let left = harness::suite_leftovers();
    if !left.is_empty() {
        eprintln!("processes of this test suite still alive after it: {left:#?}");
        std::process::exit(101);
    }
    conclusion.exit();
}
