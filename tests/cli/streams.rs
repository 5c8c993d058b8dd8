//! Output nobody reads, and the `exit` event of every child on every path out of a run.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::ptrace;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde_json::Value;

use crate::faults::{copy_of_the_binary, processes_of_nobody};
use crate::harness::{self, alive, children_of, procdemo, Outcome};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        full_stdout_neither_deafens_the_main_nor_holds_the_lock,
        children_killed_by_the_stop_path_get_their_exit,
        start_failure_partway_reports_every_exit,
    ]
}

/// Is `pid` asleep writing into a pipe (its wait channel, proc(5) `/proc/<pid>/wchan`, is the
/// kernel's `pipe_write`, or `anon_pipe_write` since Linux 6.x)?
fn blocked_writing_a_pipe(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/wchan"))
        .is_ok_and(|w| w.trim_end().ends_with("pipe_write"))
}

/// Wait until some process of the run under `main` sleeps writing its stdout: the pipe is
/// full, and since nobody reads it, it stays full.
fn wait_until_the_pipe_is_full(main: Pid) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let mut run = vec![main.as_raw()];
        run.extend(children_of(main.as_raw()).iter().map(|(pid, _, _)| *pid));
        if run.iter().any(|&pid| blocked_writing_a_pipe(pid)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no process of the run ever waited to write its stdout"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn full_stdout_neither_deafens_the_main_nor_holds_the_lock() {
    // `procdemo --json tickets … | sleep 60`: nobody reads the pipe, so it fills up. The main
    // must still hear SIGTERM and Ctrl-C (before, it slept in write(2) with both blocked for
    // its signalfd), and no buyer may keep the lock while it waits to write (before, the
    // holder slept in write(2) holding the flock, and every other run on the file waited).
    // Buyers hold the lock 10 ms each (scale 0.01), so they queue for it while the pipe
    // fills: whichever holds it when the pipe is full then has a line to write.
    for (sig, to_group, code) in [(Signal::SIGTERM, false, 143), (Signal::SIGINT, true, 130)] {
        let dir = harness::temp_dir();
        let data = dir.path().join("data.json");
        let data = data.to_str().unwrap();
        let live = procdemo([
            "--json",
            "--time-scale",
            "0.01",
            "tickets",
            "--buyers",
            "200",
            "--tickets",
            "1000",
            "--data",
            data,
        ])
        .unread_stdout(64 * 1024)
        .timeout(Duration::from_secs(45))
        .spawn();
        let main = live.command_pid();
        wait_until_the_pipe_is_full(main);

        // Another run on the same file, with a reader, needs the same lock.
        let other = catch_unwind(AssertUnwindSafe(|| {
            procdemo([
                "--json",
                "--time-scale",
                "0",
                "tickets",
                "--buyers",
                "3",
                "--data",
                data,
            ])
            .timeout(Duration::from_secs(20))
            .run()
        }));

        let sent = Instant::now();
        if to_group {
            killpg(main, sig).expect("signal the group");
        } else {
            kill(main, sig).expect("signal the main");
        }
        // Strict: the main itself stopped and reaped every buyer, blocked writing or not.
        // Before, it never ended until the reader went: the reaper's timeout killed it.
        let out = catch_unwind(AssertUnwindSafe(|| live.finish()));
        let took = sent.elapsed();
        eprintln!(
            "{sig}: the run with a full stdout ended {took:?} after the signal; the other run \
             on its file {}",
            if other.is_ok() {
                "completed"
            } else {
                "did not"
            }
        );

        let other = other.unwrap_or_else(|panic| resume_unwind(panic));
        other.expect_code(0);
        assert_eq!(other.summary()["sold"], 3, "{}", other.stdout);
        let out = out.unwrap_or_else(|panic| resume_unwind(panic));
        out.expect_code(code).expect_no_panic();
        assert!(
            took < Duration::from_secs(20),
            "{sig}: took {took:?} to end"
        );
        assert!(out.stdout.is_empty(), "nothing reaches the test");
    }
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
