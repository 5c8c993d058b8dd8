//! `isolate` and `daemon`: separate memory, a pipe between processes, children tied to the main.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::harness::{self, alive, procdemo};
use crate::output::{self, Target};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        isolate_exec_keeps_the_parent_at_100,
        isolate_fork_keeps_the_parent_at_100,
        isolate_value_changes_only_the_child_side,
        isolate_fork_shows_one_address_two_values,
        isolate_fork_prints_no_line_twice,
        daemon_child_is_terminated_when_main_ends,
        no_daemon_child_ends_by_itself_and_is_waited_for,
        daemon_child_dies_with_a_killed_main,
        daemon_human_output_explains_the_end,
    ]
}

fn isolate(method: &str, value: Option<&str>) -> harness::Outcome {
    let mut args = vec!["--json", "isolate", "--method", method];
    if let Some(v) = value {
        args.extend(["--value", v]);
    }
    let out = procdemo(args).run();
    out.expect_code(0);
    out
}

fn isolate_exec_keeps_the_parent_at_100() {
    let s = isolate("exec", None).summary();
    assert_eq!(s["method"], "exec");
    assert_eq!(s["parent_value"], 100);
    assert_eq!(s["child_value"], 99_999_999);
    assert_eq!(s["received"], 99_999_999);
}

fn isolate_fork_keeps_the_parent_at_100() {
    let s = isolate("fork", None).summary();
    assert_eq!(s["method"], "fork");
    assert_eq!(s["parent_value"], 100);
    assert_eq!(s["child_value"], 99_999_999);
    assert_eq!(s["received"], 99_999_999);
}

fn isolate_value_changes_only_the_child_side() {
    for method in ["exec", "fork"] {
        let out = isolate(method, Some("7"));
        let s = out.summary();
        assert_eq!(
            (s["parent_value"].as_i64(), s["child_value"].as_i64()),
            (Some(100), Some(7))
        );
        assert_eq!(s["received"], 7);
        // What came through the pipe is what the child process itself reported setting.
        let set = &out.events_of("money_set")[0];
        assert_eq!(set["value"], 7);
        assert_ne!(set["pid"], out.main_pid());
    }
    let s = isolate("exec", Some("-5")).summary();
    assert_eq!(s["received"], -5);
}

fn isolate_fork_shows_one_address_two_values() {
    let out = isolate("fork", None);
    let set = &out.events_of("money_set")[0];
    let read = &out.events_of("money_read")[0];
    assert_eq!(
        set["address"], read["address"],
        "fork copies the address space"
    );
    assert_ne!(set["value"], read["value"]);
    assert_ne!(set["pid"], read["pid"]);
}

fn isolate_fork_prints_no_line_twice() {
    for target in [Target::File, Target::Pipe] {
        let bytes = output::capture("\"$PROCDEMO\" --json isolate --method fork", target);
        if let Err(e) = output::check_events(&bytes, &output::isolate_lines()) {
            panic!("{target:?}: {e}\n{}", String::from_utf8_lossy(&bytes));
        }
    }
}

fn daemon_child_is_terminated_when_main_ends() {
    let out = procdemo(["--json", "--time-scale", "0.1", "daemon"]).run();
    out.expect_code(0);
    let s = out.summary();
    assert_eq!(s["daemon"], true);
    assert_eq!(s["child_terminated_by"], "SIGTERM");
    assert_eq!(out.events_of("tick").len(), 10);
    let child = s["child_pid"].as_i64().unwrap();
    assert!(!alive(child), "the daemon child outlived the main");
    let exit = &out.events_of("exit")[0];
    assert_eq!(exit["child"], child);
    assert_eq!(exit["signal"], "SIGTERM");
}

fn no_daemon_child_ends_by_itself_and_is_waited_for() {
    let out = procdemo(["--json", "--time-scale", "0.02", "daemon", "--no-daemon"]).run();
    out.expect_code(0);
    let s = out.summary();
    assert_eq!(s["daemon"], false);
    assert!(s["child_terminated_by"].is_null());
    let exit = &out.events_of("exit")[0];
    assert_eq!(exit["code"], 0);
    assert_eq!(out.events_of("alive").len(), 3, "three ticks, then it ends");
    assert!(out.events_of("terminating").is_empty());
}

fn daemon_child_dies_with_a_killed_main() {
    let mut live = procdemo(["--time-scale", "1", "--json", "daemon", "--ticks", "100"])
        .grace(harness::ORPHAN_GRACE)
        .spawn();
    let child = live.wait_for(Duration::from_secs(20), |v| v["event"] == "alive")["pid"]
        .as_i64()
        .unwrap();
    live.signal_main(Signal::SIGKILL);
    let out = live.finish(); // anything alive one second after the main died is a leak
    assert_eq!(out.signal(), Some("SIGKILL"));
    let orphans = out.orphans();
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    assert_eq!(orphans[0]["pid"], child);
    assert_eq!(orphans[0]["ended"]["signal"], "SIGKILL");
    assert!(!alive(child));
}

fn daemon_human_output_explains_the_end() {
    let out = procdemo(["--time-scale", "0.05", "daemon", "--ticks", "3"]).run();
    out.expect_code(0);
    let last = out.stdout.lines().last().unwrap();
    assert!(
        last.contains("SIGTERM") && last.contains("daemon"),
        "{last}"
    );
    let out = procdemo([
        "--time-scale",
        "0.01",
        "daemon",
        "--no-daemon",
        "--ticks",
        "1",
    ])
    .run();
    let last = out.stdout.lines().last().unwrap();
    assert!(last.contains("ended by itself"), "{last}");
}
