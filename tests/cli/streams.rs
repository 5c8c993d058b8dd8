//! The `exit` event of every child, on every path out of a run.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde_json::Value;

use crate::faults::{copy_of_the_binary, processes_of_nobody};
use crate::harness::{self, alive, procdemo, Outcome};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        children_killed_by_the_stop_path_get_their_exit,
        start_failure_partway_reports_every_exit,
    ]
}

/// Every child named by a `spawned` event has exactly one `exit` event, and no other child
/// has one.
fn one_exit_per_child(out: &Outcome) {
    let spawned: Vec<Value> = out
        .events_of("spawned")
        .iter()
        .map(|e| e["child"].clone())
        .collect();
    let exits: Vec<Value> = out
        .events_of("exit")
        .iter()
        .map(|e| e["child"].clone())
        .collect();
    for child in &spawned {
        let n = exits.iter().filter(|e| *e == child).count();
        assert_eq!(n, 1, "child {child} has {n} exit events:\n{}", out.stdout);
    }
    assert_eq!(exits.len(), spawned.len(), "{}", out.stdout);
}

/// Keep `pid` alive through anything but SIGKILL, from a thread of this test: trace it
/// (`PTRACE_SEIZE`, ptrace(2)) and never let it go on. Sent SIGTERM or SIGINT, a traced process
/// does not die: it stops for its tracer ("signal-delivery-stop") and stays stopped until the
/// tracer resumes it, which this one never does. (SIGSTOP would not do: a stopped process
/// still dies of a signal whose default action is to terminate.) The thread then collects the
/// child's death, which is what hands the zombie on to its real parent, the main (wait(2):
/// a traced zombie is the tracer's to collect first). It returns how the child ended.
fn kept_alive_through_sigterm(pid: Pid) -> JoinHandle<WaitStatus> {
    let (seized, is_seized) = mpsc::channel();
    let tracer = std::thread::spawn(move || {
        let attached = ptrace::seize(pid, ptrace::Options::empty());
        seized.send(attached).unwrap();
        loop {
            match waitpid(pid, Some(WaitPidFlag::__WALL)) {
                Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => return status,
                Ok(_) | Err(nix::errno::Errno::EINTR) => continue, // a stop: it stays stopped
                Err(e) => panic!("waitpid({pid}) as its tracer: {e}"),
            }
        }
    });
    is_seized.recv().unwrap().unwrap_or_else(|e| {
        panic!("PTRACE_SEIZE {pid}: {e} (the test needs to be allowed ptrace(2))")
    });
    tracer
}

fn children_killed_by_the_stop_path_get_their_exit() {
    // One child survives SIGTERM and SIGINT (traced, see above). The stop path gives it
    // GRACE, then SIGKILL, and reaps it: that end is an `exit` like any other. Before, the
    // children reaped after the SIGKILL got none.
    for (sig, to_group, code) in [(Signal::SIGTERM, false, 143), (Signal::SIGINT, true, 130)] {
        let mut live = procdemo(["--json", "--time-scale", "10", "spawn", "--count", "3"]).spawn();
        live.wait_for_n(3, Duration::from_secs(30), |v| {
            v["event"] == "start" && v["name"] != "main"
        });
        let survivor = live.wait_for(Duration::ZERO, |v| {
            v["event"] == "start" && v["name"] == "Process-2"
        })["pid"]
            .as_i64()
            .unwrap();
        let tracer = kept_alive_through_sigterm(Pid::from_raw(survivor as i32));
        if to_group {
            live.signal_group(sig);
        } else {
            live.signal_main(sig);
        }
        let out = live.finish();
        assert!(
            matches!(
                tracer.join().unwrap(),
                WaitStatus::Signaled(_, Signal::SIGKILL, _)
            ),
            "the survivor died of SIGKILL"
        );
        out.expect_code(code).expect_no_panic();
        one_exit_per_child(&out);
        let exit = out
            .events_of("exit")
            .into_iter()
            .find(|e| e["child"] == survivor)
            .unwrap();
        assert_eq!(exit["signal"], "SIGKILL", "{sig}: {exit}");
        assert_eq!(out.events_of("stopping").len(), 1, "{}", out.stdout);
    }
}

fn start_failure_partway_reports_every_exit() {
    // As `faults.rs: process_limit_hit_partway`: RLIMIT_NPROC lets a few children start, then
    // fork fails. The children already started are stopped and reaped on the way out, each
    // with its `exit`. Before, they were reaped silently.
    let dir = harness::temp_dir();
    let bin = copy_of_the_binary(dir.path());
    let out = harness::command(
        "setpriv",
        [
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "prlimit",
            &format!("--nproc={}", processes_of_nobody() + 4),
            "--",
            &bin,
            "--json",
            "--time-scale",
            "10",
            "join",
            "--count",
            "20",
        ],
    )
    .cwd(dir.path())
    .run();
    out.expect_code(1).expect_no_panic();
    assert!(
        out.stderr
            .starts_with("procdemo: error: could not start Process-"),
        "{}",
        out.stderr
    );
    assert!(
        out.events_of("spawned").len() >= 2,
        "at least two children started (Process-1 ends at once, the others sleep): {}",
        out.stdout
    );
    one_exit_per_child(&out);
    for e in out.events_of("exit") {
        assert!(!alive(e["child"].as_i64().unwrap()));
    }
}
