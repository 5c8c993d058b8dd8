//! The base every scenario stands on: the child protocol, events, `spawn`, `join`, signals.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::harness::{self, alive, procdemo, shell};
use crate::output::{self, Target};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        spawn_exec_children_are_children_of_main,
        spawn_fork_children_are_children_of_main,
        join_parallel_takes_the_max_sequential_the_sum,
        join_every_child_has_its_exit,
        one_clock_for_every_process,
        time_scale_zero_never_sleeps,
        time_scale_out_of_range_is_a_usage_error,
        counts_out_of_range_are_usage_errors,
        hand_typed_child_is_a_usage_error,
        help_never_shows_the_child_flag,
        children_are_named_procdemo_in_ps,
        human_lines_name_their_process,
        fork_output_to_a_file_is_never_doubled,
        sigkill_of_main_takes_children_along,
        sigterm_of_main_stops_and_reaps,
        sigint_to_the_group_stops_and_reaps,
        closed_stdout_ends_the_run_quietly,
        lines_of_many_processes_never_tear,
        join_ten_thousand_children,
    ]
}

fn children_by_name(events: &[Value]) -> HashMap<String, Vec<Value>> {
    let mut map: HashMap<String, Vec<Value>> = HashMap::new();
    for e in events {
        map.entry(e["name"].as_str().unwrap().to_owned())
            .or_default()
            .push(e.clone());
    }
    map
}

fn spawn_children(method: &str) {
    let out = procdemo([
        "--json",
        "--time-scale",
        "0.01",
        "spawn",
        "--count",
        "3",
        "--method",
        method,
    ])
    .run();
    out.expect_code(0);
    let main = out.main_pid();
    let by = children_by_name(&out.events());
    for i in 1..=3 {
        let name = format!("Process-{i}");
        let evs = &by[&name];
        let start = evs.iter().find(|e| e["event"] == "start").expect("start");
        assert_eq!(start["ppid"], main, "{name} is not a child of main");
        assert!(
            evs.iter().any(|e| e["event"] == "over"),
            "{name} never over"
        );
        assert_eq!(start, &evs[0], "start is not {name}'s first event");
    }
    assert_eq!(
        by.len(),
        4,
        "exactly main and three children: {:?}",
        by.keys()
    );
    let exits = out.events_of("exit");
    assert_eq!(exits.len(), 3);
    assert!(exits.iter().all(|e| e["code"] == 0), "{exits:?}");
    let s = out.summary();
    assert_eq!(s["children"], 3);
    assert_eq!(s["method"], method);
}

fn spawn_exec_children_are_children_of_main() {
    spawn_children("exec");
}

fn spawn_fork_children_are_children_of_main() {
    spawn_children("fork");
}

/// `join --count 4` with children sleeping 0, 1, 2, 3 s scaled by 0.1: 0 to 300 ms.
fn join_run(extra: &[&str]) -> harness::Outcome {
    let mut args = vec!["--json", "--time-scale", "0.1", "join", "--count", "4"];
    args.extend_from_slice(extra);
    let out = procdemo(args).run();
    out.expect_code(0);
    assert_eq!(out.summary()["children"], 4);
    assert_eq!(out.events_of("exit").len(), 4, "every child has its exit");
    out
}

fn elapsed(out: &harness::Outcome) -> f64 {
    out.summary()["elapsed_ms"].as_f64().unwrap()
}

fn t(e: &Value) -> f64 {
    e["t_ms"].as_f64().unwrap()
}

/// The main's own events, in the order it wrote them.
fn main_events(out: &harness::Outcome) -> Vec<Value> {
    out.events()
        .into_iter()
        .filter(|e| e["name"] == "main")
        .collect()
}

/// The event `event` of the child `name` (its own, or the main's about it).
fn child_event(out: &harness::Outcome, name: &str, event: &str) -> Value {
    out.events()
        .into_iter()
        .find(|e| {
            e["event"] == event
                && (e["name"] == name || (e["name"] == "main" && e["child_name"] == name))
        })
        .unwrap_or_else(|| panic!("no {event} of {name}:\n{}", out.stdout))
}

/// Where in the main's own output (which it writes in order) the line about `event` for the
/// child `name` is.
fn main_index(out: &harness::Outcome, event: &str, name: &str) -> usize {
    main_events(out)
        .iter()
        .position(|e| e["event"] == event && e["child_name"] == name)
        .unwrap_or_else(|| panic!("main wrote no {event} for {name}:\n{}", out.stdout))
}

fn main_done_index(out: &harness::Outcome) -> usize {
    main_events(out)
        .iter()
        .position(|e| e["event"] == "main_done")
        .expect("main_done")
}

fn join_parallel_takes_the_max_sequential_the_sum() {
    // Sleeps 0, 100, 200, 300 ms: max 300, sum 600. Sleeps only take longer than asked, so the
    // lower bounds are exact. The modes differ in the order of events, asserted as such where
    // the order is a consequence (no load can change it), and otherwise with the children's
    // sleeps as the margin (load would have to delay one start by 200 ms).
    let parallel = join_run(&[]);
    let sequential = join_run(&["--sequential"]);
    let no_join = join_run(&["--no-join"]);
    assert!(
        elapsed(&parallel) >= 300.0,
        "parallel {}",
        elapsed(&parallel)
    );
    assert!(
        elapsed(&sequential) >= 600.0,
        "sequential {}",
        elapsed(&sequential)
    );

    // Sequential: each child started only after the one before it was reaped, so the sleeps
    // add up (one clock for every process: these times compare across processes).
    for i in 2..=4 {
        let before = child_event(&sequential, &format!("Process-{}", i - 1), "exit");
        let start = child_event(&sequential, &format!("Process-{i}"), "start");
        assert!(
            t(&start) >= t(&before),
            "sequential: Process-{i} {start} before {before}"
        );
    }
    // Parallel: the main started Process-4 before Process-3 (200 ms) had ended, and it was
    // done only once it had reaped them all.
    assert!(
        main_index(&parallel, "spawned", "Process-4") < main_index(&parallel, "exit", "Process-3"),
        "parallel: the children did not run at the same time:\n{}",
        parallel.stdout
    );
    assert!(
        main_done_index(&parallel) > main_index(&parallel, "exit", "Process-4"),
        "{}",
        parallel.stdout
    );
    assert!(
        elapsed(&parallel) < elapsed(&sequential),
        "parallel {} should be about the max, sequential {} the sum",
        elapsed(&parallel),
        elapsed(&sequential)
    );

    // No join: the main was done before it reaped the last child it started (it only reaps
    // while starting the next one, or when it joins).
    assert!(
        main_done_index(&no_join) < main_index(&no_join, "exit", "Process-4"),
        "no-join:\n{}",
        no_join.stdout
    );
    assert!(
        elapsed(&no_join) < elapsed(&parallel),
        "no-join {} should be near 0, parallel {}",
        elapsed(&no_join),
        elapsed(&parallel)
    );
}

fn join_every_child_has_its_exit() {
    for mode in [&[][..], &["--sequential"], &["--no-join"]] {
        let mut args = vec!["--json", "--time-scale", "0.01", "join", "--count", "5"];
        args.extend_from_slice(mode);
        let out = procdemo(args).run();
        out.expect_code(0);
        let pids: HashSet<i64> = out
            .events_of("spawned")
            .iter()
            .map(|e| e["child"].as_i64().unwrap())
            .collect();
        let exited: HashSet<i64> = out
            .events_of("exit")
            .iter()
            .map(|e| e["child"].as_i64().unwrap())
            .collect();
        assert_eq!(pids.len(), 5);
        assert_eq!(pids, exited, "{mode:?}");
        let main_done = &out.events_of("main_done")[0];
        let last_exit = out
            .events_of("exit")
            .iter()
            .map(|e| e["t_ms"].as_f64().unwrap())
            .fold(0.0, f64::max);
        if mode == ["--no-join"] {
            // The main printed before the children ended, and reaped them afterwards.
            assert!(main_done["t_ms"].as_f64().unwrap() < last_exit);
        } else {
            assert!(main_done["t_ms"].as_f64().unwrap() >= last_exit);
        }
    }
}

fn one_clock_for_every_process() {
    // A child's `over` is written before it exits, and its `exit` is reported by the main only
    // after waitpid: on one clock, over <= exit for every child, across processes.
    let out = procdemo(["--json", "--time-scale", "0.02", "join", "--count", "4"]).run();
    let events = out.events();
    assert!(events.iter().all(|e| e["t_ms"].as_f64().unwrap() >= 0.0));
    for exit in out.events_of("exit") {
        let name = exit["child_name"].as_str().unwrap();
        let over = events
            .iter()
            .find(|e| e["name"] == name && e["event"] == "over")
            .unwrap();
        let start = events
            .iter()
            .find(|e| e["name"] == name && e["event"] == "start")
            .unwrap();
        let t = |v: &Value| v["t_ms"].as_f64().unwrap();
        assert!(t(over) <= t(&exit), "{name}: over {over} after exit {exit}");
        // Process-4 sleeps 3 s * 0.02 = 60 ms between its two lines.
        if name == "Process-4" {
            assert!(t(over) - t(start) >= 60.0, "{start} {over}");
        }
    }
}

fn time_scale_zero_never_sleeps() {
    // Time first, measured inside each child, between its two lines, so that the cost of
    // starting processes (which load can stretch) is left out: with 0.2, Process-3 sleeps
    // 2 s * 0.2 = 400 ms at least there; with 0, no child may take a quarter of that.
    let between_lines = |scale: &str| -> Vec<f64> {
        let out = procdemo(["--json", "--time-scale", scale, "join", "--count", "3"]).run();
        out.expect_code(0);
        (1..=3)
            .map(|i| {
                let name = format!("Process-{i}");
                t(&child_event(&out, &name, "over")) - t(&child_event(&out, &name, "start"))
            })
            .collect()
    };
    let (zero, scaled) = (between_lines("0"), between_lines("0.2"));
    assert!(scaled[2] >= 400.0, "0.2: {scaled:?} ms");
    assert!(
        zero.iter().all(|z| z * 4.0 < scaled[2]),
        "0: {zero:?} ms, 0.2: {scaled:?} ms"
    );

    // Then the system calls themselves, where strace is installed (CI installs it): with
    // --time-scale 0 no process of the run may call a sleep at all.
    if !harness::have_strace() {
        eprintln!("strace not installed: skipped the system-call half of this test");
        return;
    }
    let dir = harness::temp_dir();
    let trace = dir.path().join("trace");
    let strace = |scale: &str| {
        let out = harness::command(
            "strace",
            [
                "-f",
                "-qq",
                "-e",
                "trace=nanosleep,clock_nanosleep",
                "-o",
                trace.to_str().unwrap(),
                harness::procdemo_bin(),
                "--json",
                "--time-scale",
                scale,
                "join",
                "--count",
                "3",
            ],
        )
        .run();
        out.expect_code(0);
        assert_eq!(out.events_of("exit").len(), 3);
        std::fs::read_to_string(&trace).expect("strace output")
    };
    let calls = strace("0");
    assert!(
        calls.trim().is_empty(),
        "sleeps with --time-scale 0:\n{calls}"
    );
    // The same trace with a scale does show them, so the check can fail.
    let calls = strace("0.001");
    assert!(
        calls.contains("nanosleep"),
        "no sleep seen with a scale:\n{calls}"
    );
}

fn time_scale_out_of_range_is_a_usage_error() {
    for bad in ["-1", "1000.5", "nan", "inf", "abc"] {
        let out = procdemo(["--time-scale", bad, "join"]).run();
        out.expect_code(2).expect_no_panic();
        assert!(out.stdout.is_empty());
    }
    procdemo(["--json", "--time-scale", "0", "join", "--count", "1"])
        .run()
        .expect_code(0);
}

fn counts_out_of_range_are_usage_errors() {
    for args in [
        &["join", "--count", "0"][..],
        &["join", "--count", "10001"],
        &["spawn", "--count", "-3"],
        &["daemon", "--ticks", "10001"],
        &["tickets", "--buyers", "0"],
        &["tickets", "--tickets", "1000001"],
    ] {
        let out = procdemo(args.to_vec()).run();
        out.expect_code(2).expect_no_panic();
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

fn hand_typed_child_is_a_usage_error() {
    for args in [
        &["--child"][..],
        &["--child", "nonsense"],
        &["--child", "join", "name=x"],
        &[
            "--child", "join", "name=x", "parent=1", "epoch=0", "scale=1", "out=json", "sleep=-1",
        ],
        &[
            "--child", "isolate", "name=x", "parent=1", "epoch=0", "scale=1", "out=json",
            "value=1", "pipe=99",
        ],
    ] {
        let out = procdemo(args.to_vec()).run();
        out.expect_no_panic();
        assert!(
            matches!(out.code(), Some(2) | Some(1)),
            "{args:?}: {:?} {}",
            out.code(),
            out.stderr
        );
        assert!(out.stderr.starts_with("procdemo: error:"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    // Decoding failures specifically are usage errors.
    procdemo(["--child", "nonsense"]).run().expect_code(2);
}

fn help_never_shows_the_child_flag() {
    let out = procdemo(["--help"]).run();
    out.expect_code(0);
    assert!(out.stdout.contains("tickets") && out.stdout.contains("join"));
    assert!(!out.stdout.contains("--child"), "{}", out.stdout);
    for sub in ["spawn", "join", "isolate", "daemon", "tickets"] {
        let out = procdemo([sub, "--help"]).run();
        assert!(!out.stdout.contains("--child"));
    }
}

fn children_are_named_procdemo_in_ps() {
    // The child sleeps 30 s, so it is surely still there when we look; then SIGTERM ends the
    // run.
    let mut live = procdemo(["--json", "--time-scale", "10", "spawn", "--count", "1"]).spawn();
    let start = live.wait_for(Duration::from_secs(20), |v| {
        v["name"] == "Process-1" && v["event"] == "start"
    });
    let pid = start["pid"].as_i64().unwrap();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let argv0 = cmdline.split(|&b| b == 0).next().unwrap();
    assert_eq!(comm.trim(), "procdemo");
    assert_eq!(argv0, b"procdemo");
    live.signal_main(Signal::SIGTERM);
    live.finish().expect_code(143);
}

fn human_lines_name_their_process() {
    let out = procdemo(["--time-scale", "0.01", "join", "--count", "2"]).run();
    out.expect_code(0);
    assert!(out.stdout.contains("Process-1 is running"));
    assert!(out.stdout.contains("Process-2 is over"));
    for line in out.stdout.lines() {
        let mut words = line.split_whitespace().skip(1);
        let name = words.next().unwrap();
        let pid = words.next().unwrap();
        assert!(name == "main" || name.starts_with("Process-"), "{line}");
        assert!(pid.parse::<u32>().is_ok(), "{line}");
    }
    assert!(!out.stdout.contains('\x1b'), "NO_COLOR is set: no colour");
    assert!(out.stderr.is_empty());
}

fn fork_output_to_a_file_is_never_doubled() {
    // Redirected to a file or a pipe, C stdio buffers fully: anything still in a userspace
    // buffer at fork time would be written by both processes. Every line must be there once,
    // whole. (`output.rs` shows this check failing on a writer that does not flush first.)
    for target in [Target::File, Target::Pipe] {
        let bytes = output::capture(
            "\"$PROCDEMO\" --json --time-scale 0.01 spawn --count 4 --method fork",
            target,
        );
        if let Err(e) = output::check_events(&bytes, &output::spawn_lines(4)) {
            panic!("{target:?}: {e}\n{}", String::from_utf8_lossy(&bytes));
        }
    }
}

/// Start `spawn --count 3` with children sleeping 30 s, and wait until all three run.
fn three_sleeping_children() -> harness::Live {
    let mut live = procdemo(["--json", "--time-scale", "10", "spawn", "--count", "3"])
        .grace(harness::ORPHAN_GRACE)
        .spawn();
    live.wait_for_n(3, Duration::from_secs(20), |v| {
        v["event"] == "start" && v["name"] != "main"
    });
    live
}

fn child_pids(out: &harness::Outcome) -> Vec<i64> {
    out.events()
        .iter()
        .filter(|e| e["event"] == "start" && e["name"] != "main")
        .map(|e| e["pid"].as_i64().unwrap())
        .collect()
}

fn sigkill_of_main_takes_children_along() {
    let mut live = three_sleeping_children();
    live.signal_main(Signal::SIGKILL);
    // Grace mode: the children sleep 30 s, so any still alive at the end of the grace is a
    // leak, and those that ended before it died of their parent-death signal.
    let out = live.finish();
    assert_eq!(out.signal(), Some("SIGKILL"));
    let orphans = out.orphans();
    assert_eq!(orphans.len(), 3, "{orphans:?}");
    for o in &orphans {
        // Ended by the parent-death signal, not by the reaper's clean-up.
        assert_eq!(o["ended"]["signal"], "SIGKILL", "{o}");
    }
    for pid in child_pids(&out) {
        assert!(!alive(pid));
    }
}

fn sigterm_of_main_stops_and_reaps() {
    let mut live = three_sleeping_children();
    live.signal_main(Signal::SIGTERM);
    let out = live.finish();
    out.expect_code(143).expect_no_panic();
    assert!(out.orphans().is_empty(), "the main reaped them itself");
    assert_eq!(out.events_of("exit").len(), 3, "{}", out.stdout);
    let stopping = &out.events_of("stopping")[0];
    assert_eq!(stopping["signal"], "SIGTERM");
    for pid in child_pids(&out) {
        assert!(!alive(pid));
    }
}

fn sigint_to_the_group_stops_and_reaps() {
    let mut live = three_sleeping_children();
    live.signal_group(Signal::SIGINT);
    let out = live.finish();
    out.expect_code(130).expect_no_panic();
    assert!(out.orphans().is_empty());
    // Every line still whole JSON (events() panics otherwise).
    let _ = out.events();
    for pid in child_pids(&out) {
        assert!(!alive(pid));
    }
}

fn closed_stdout_ends_the_run_quietly() {
    // Children would sleep 30 s; the run must end long before (half of that is the bound: a
    // run that waited for them cannot meet it, however fast the machine), with 0 or SIGPIPE.
    let started = Instant::now();
    let out = shell(
        "\"$PROCDEMO\" --json --time-scale 10 spawn --count 3 | head -1; \
         echo \"status=${PIPESTATUS[0]}\" >&2",
    )
    .run();
    out.expect_code(0).expect_no_panic();
    assert!(
        out.stderr.contains("status=0") || out.stderr.contains("status=141"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout.lines().count(), 1);
    assert!(out.stdout.contains("\"event\":\"start\""));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "waited for the children"
    );
}

fn lines_of_many_processes_never_tear() {
    // Hundreds of processes writing to one file or one pipe at once, while the main writes a
    // line per child started and per child reaped: every line whole and there exactly once.
    // (`output.rs` shows this check failing on a writer that splits its lines.)
    const N: usize = 1000;
    for target in [Target::File, Target::Pipe] {
        let bytes = output::capture(
            &format!("\"$PROCDEMO\" --json --time-scale 0 join --count {N}"),
            target,
        );
        if let Err(e) = output::check_events(&bytes, &output::join_lines(N)) {
            panic!("{target:?}: {e}");
        }
    }
}

fn join_ten_thousand_children() {
    // The contract's largest count: every child started, reported and reaped, none left.
    // Some 9 s on an idle machine, and all of it work: a busy machine gets more than the
    // usual 60 s before the run counts as hung.
    let out = procdemo(["--json", "--time-scale", "0", "join", "--count", "10000"])
        .timeout(Duration::from_secs(300))
        .run();
    out.expect_code(0);
    let exits = out.events_of("exit");
    assert_eq!(exits.len(), 10_000);
    assert!(exits.iter().all(|e| e["code"] == 0));
    // Every child reaped once: each `spawned` has its `exit`. (Not "10000 distinct pids": a
    // reaped child's pid is free again, and a long run on a busy machine may get it back for a
    // later child once the kernel's pids wrap around, /proc/sys/kernel/pid_max.)
    let names: HashSet<&str> = exits
        .iter()
        .map(|e| e["child_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 10_000, "a child reported twice, or one never");
    let spawned = out.events_of("spawned");
    assert_eq!(spawned.len(), 10_000);
    // A pid is never a child of the run twice at the same time: between its `spawned` and
    // its `exit`, no other child has it.
    let mut live: HashSet<i64> = HashSet::new();
    for e in out.events().iter().filter(|e| e["name"] == "main") {
        let pid = e["child"].as_i64();
        match (e["event"].as_str(), pid) {
            (Some("spawned"), Some(pid)) => assert!(live.insert(pid), "pid {pid} given twice"),
            (Some("exit"), Some(pid)) => assert!(live.remove(&pid), "pid {pid} reaped twice"),
            _ => {}
        }
    }
    assert!(live.is_empty());
    assert_eq!(out.summary()["children"], 10_000);
}
