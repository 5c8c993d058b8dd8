//! Faults and signals: every path out of a run leaves no process behind.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::harness::{self, alive, procdemo, shell, Live};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        sigkill_of_main_in_every_scenario,
        sigterm_of_main_in_every_scenario,
        sigint_to_the_group_in_every_scenario,
        signals_during_isolate_leave_nothing,
        inherited_ignored_sigint_and_sigchld,
        closed_stdout_in_every_scenario,
        process_limit_hit_partway,
        open_files_limit,
        binary_deleted_during_the_run,
        buyers_killed_between_temp_file_and_rename,
        outside_flock_holder_makes_buyers_wait,
        thousand_ticket_runs_keep_the_invariant,
    ]
}

/// Scenarios that keep children alive long enough to be signalled, with how many children
/// to wait for (in `join`, Process-1 sleeps 0 s, so wait until a sleeping one runs). Tickets
/// buyers hold the lock for 5 s (scale 5), so two of them wait for it.
fn long_runs(dir: &std::path::Path) -> Vec<(Vec<String>, usize)> {
    let data = dir.join("data.json");
    let tickets = format!(
        "--time-scale 5 tickets --buyers 3 --tickets 1 --data {}",
        data.display()
    );
    [
        ("--time-scale 10 spawn --count 2", 2),
        ("--time-scale 10 spawn --count 2 --method fork", 2),
        ("--time-scale 10 join --count 3", 3),
        ("--time-scale 10 join --count 3 --sequential", 2),
        ("--time-scale 1 daemon --ticks 100", 1),
        (tickets.as_str(), 3),
    ]
    .iter()
    .map(|(args, n)| {
        let mut all = vec!["--json".to_string()];
        all.extend(args.split_whitespace().map(String::from));
        (all, *n)
    })
    .collect()
}

/// Start `args` and wait until `children` children have printed their first event.
fn started(args: &[String], children: usize, grace: Duration) -> Live {
    let mut live = procdemo(args.to_vec()).grace(grace).spawn();
    live.wait_for_n(children, Duration::from_secs(30), |v| {
        v["event"] == "start" && v["name"] != "main"
    });
    live
}

fn children_started(out: &harness::Outcome) -> Vec<i64> {
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "start" && v["name"] != "main")
        .map(|v| v["pid"].as_i64().unwrap())
        .collect()
}

fn sigkill_of_main_in_every_scenario() {
    let dir = harness::temp_dir();
    for (args, n) in long_runs(dir.path()) {
        // One second after the main dies, its children must be gone (PR_SET_PDEATHSIG).
        let mut live = started(&args, n, harness::ORPHAN_GRACE);
        live.signal_main(Signal::SIGKILL);
        let out = live.finish();
        assert_eq!(out.signal(), Some("SIGKILL"), "{args:?}");
        for pid in children_started(&out) {
            assert!(!alive(pid), "{args:?}: {pid} alive");
        }
        let orphans = out.orphans();
        assert!(
            !orphans.is_empty(),
            "{args:?}: the children were orphaned, then died"
        );
        // Children that had done their work (`over`: join's Process-1 sleeps 0 s) may have
        // exited before the kill, unreaped by a main the load kept from it: they end as
        // zombies handed to the reaper, with their own exit code.
        let finished: Vec<i64> = out
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "over")
            .map(|v| v["pid"].as_i64().unwrap())
            .collect();
        for o in &orphans {
            if finished.contains(&o["pid"].as_i64().unwrap_or(-1)) {
                continue;
            }
            // By their parent-death signal, long before their sleeps would have ended them.
            assert_eq!(o["ended"]["signal"], "SIGKILL", "{args:?}: {o}");
        }
    }
}

fn sigterm_of_main_in_every_scenario() {
    let dir = harness::temp_dir();
    for (args, n) in long_runs(dir.path()) {
        let mut live = started(&args, n, Duration::ZERO);
        live.signal_main(Signal::SIGTERM);
        let out = live.finish(); // no grace: the main must have reaped everything itself
        out.expect_code(143).expect_no_panic();
        let _ = out.events(); // still whole JSON lines
    }
}

fn sigint_to_the_group_in_every_scenario() {
    let dir = harness::temp_dir();
    for (args, n) in long_runs(dir.path()) {
        let mut live = started(&args, n, Duration::ZERO);
        live.signal_group(Signal::SIGINT);
        let out = live.finish();
        out.expect_code(130).expect_no_panic();
        let _ = out.events();
    }
}

fn signals_during_isolate_leave_nothing() {
    // isolate has no sleep: signals land at whatever moment the run is in. Whatever the
    // moment, the run ends as the contract says and nothing is left.
    for (i, sig) in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGKILL]
        .iter()
        .cycle()
        .take(9)
        .enumerate()
    {
        let method = if i % 2 == 0 { "exec" } else { "fork" };
        let mut live = procdemo(["--json", "isolate", "--method", method])
            .grace(harness::ORPHAN_GRACE)
            .spawn();
        // The run may be over already (ESRCH): then it must simply have succeeded.
        let _ = if *sig == Signal::SIGINT {
            live.try_signal_group(*sig)
        } else {
            live.try_signal_main(*sig)
        };
        let out = live.finish();
        let expected = match sig {
            Signal::SIGTERM => Some(143),
            Signal::SIGINT => Some(130),
            _ => None,
        };
        match out.code() {
            Some(0) => {} // finished before the signal arrived
            // Stopped by the signal: 130/143 if the main survived it, else died of it.
            code => assert!(
                (code.is_some() && code == expected)
                    || (code.is_none() && out.signal() == Some(sig.as_str())),
                "{sig}: {:?} {:?}\n{}",
                code,
                out.signal(),
                out.stderr
            ),
        }
        out.expect_no_panic();
    }
}

fn inherited_ignored_sigint_and_sigchld() {
    // A shell starts background jobs with SIGINT ignored; some parents leave SIGCHLD ignored,
    // which makes the kernel reap children itself. procdemo must still report every exit...
    let out = procdemo(["--json", "--time-scale", "0.01", "join", "--count", "3"])
        .ignoring(&["SIGINT", "SIGCHLD"])
        .run();
    out.expect_code(0);
    let exits = out.events_of("exit");
    assert_eq!(exits.len(), 3);
    assert!(exits.iter().all(|e| e["code"] == 0), "{exits:?}");
    // ...and still stop on signals, reaping its children.
    let mut live = procdemo(["--json", "--time-scale", "10", "spawn", "--count", "2"])
        .ignoring(&["SIGINT", "SIGCHLD"])
        .spawn();
    live.wait_for_n(2, Duration::from_secs(30), |v| {
        v["event"] == "start" && v["name"] != "main"
    });
    live.signal_group(Signal::SIGINT);
    let out = live.finish();
    out.expect_code(130);
    assert_eq!(out.events_of("exit").len(), 2, "{}", out.stdout);
}

fn closed_stdout_in_every_scenario() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    // Each of these would run 30 s or more if it did not notice; half of that is the bound,
    // so no machine is too slow to meet it and none fast enough to meet it by waiting.
    for args in [
        "--time-scale 10 spawn --count 3",
        "--time-scale 10 spawn --count 3 --method fork",
        "--time-scale 10 join --count 3",
        "isolate",
        "isolate --method fork",
        "--time-scale 1 daemon --ticks 300",
        &format!(
            "--time-scale 10 tickets --buyers 3 --tickets 1 --data '{}'",
            data.display()
        ),
    ] {
        let started = std::time::Instant::now();
        let out = shell(&format!(
            "\"$PROCDEMO\" --json {args} | head -1; echo \"status=${{PIPESTATUS[0]}}\" >&2"
        ))
        .run();
        out.expect_code(0).expect_no_panic();
        assert!(
            out.stderr.trim() == "status=0" || out.stderr.trim() == "status=141",
            "{args}: {}",
            out.stderr
        );
        assert_eq!(out.stdout.lines().count(), 1, "{args}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{args}: ran on"
        );
    }
}

/// procdemo copied where an unprivileged user can run it.
pub fn copy_of_the_binary(dir: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("procdemo");
    std::fs::copy(harness::procdemo_bin(), &bin).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin.to_str().unwrap().to_owned()
}

/// How many processes the user `nobody` (uid 65534) already has: RLIMIT_NPROC counts them all.
pub fn processes_of_nobody() -> usize {
    harness::proc_pids()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                == Some("65534")
        })
        .count()
}

/// Does any process on the machine run with the real user id `uid`?
fn uid_in_use(uid: u32) -> bool {
    harness::proc_pids()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .any(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                == Some(uid.to_string().as_str())
        })
}

/// A user id that no process has, and no other test suite running now will take (it is
/// derived from our own pid).
fn unused_uid() -> u32 {
    (0..1000)
        .map(|i| 2_000_000_000 + std::process::id() + i * 5_000_000)
        .find(|&uid| !uid_in_use(uid))
        .expect("a free user id")
}

fn process_limit_hit_partway() {
    // RLIMIT_NPROC counts every process of a real user id, and the kernel does not enforce it
    // for root (setrlimit(2), fork(2)). So the run needs a user whose count is known: only
    // this run's processes. As root (CI), switch to a user id nobody has (setpriv). As anyone
    // else, enter a user namespace of our own (unshare --user): the count there is of this
    // run alone, whatever else the same user runs. Limit 4: the main and three children at
    // once (four started, if Process-1, which sleeps 0 s, was reaped in time), then fork fails
    // with EAGAIN partway through the twenty.
    const LIMIT: usize = 4;
    let dir = harness::temp_dir();
    let bin = copy_of_the_binary(dir.path());
    let nproc = format!("--nproc={LIMIT}");
    let limited = [
        "prlimit",
        &nproc,
        "--",
        &bin,
        "--json",
        "--time-scale",
        "10",
        "join",
        "--count",
        "20",
    ];
    // SAFETY: geteuid(2) only reads this process's credentials; it cannot fail.
    let root = unsafe { nix::libc::geteuid() } == 0;
    let (how, program, mut args) = if root {
        let uid = unused_uid();
        (
            format!("as root, switched to the unused uid {uid} with setpriv"),
            "setpriv",
            vec![
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".into(),
            ],
        )
    } else {
        (
            "as a user, in a user namespace of its own (unshare --user)".to_string(),
            "unshare",
            vec!["--user".to_string()],
        )
    };
    args.extend(limited.iter().map(|a| a.to_string()));
    // No grace: every started child must have been stopped and reaped.
    let out = harness::command(program, args).cwd(dir.path()).run();
    // If the set-up itself failed, procdemo never started: say why, and fail.
    assert!(
        out.stdout.contains("\"event\":\"start\""),
        "could not run procdemo {how} under `prlimit {nproc}`: {:?} {}\n\
         This test needs a user whose processes it can count: root (which CI is), or a \
         machine that lets users create user namespaces.",
        out.code(),
        out.stderr
    );
    out.expect_code(1).expect_no_panic();
    let line = out.stderr.trim();
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    assert!(
        line.starts_with("procdemo: error: could not start Process-"),
        "{line}"
    );
    let started = out.events_of("spawned").len();
    assert!(
        (LIMIT - 1..=LIMIT).contains(&started),
        "the limit of {LIMIT} (the main included) let {started} of 20 children start:\n{}",
        out.stdout
    );
    assert!(
        line.contains(&format!(
            "({started} {} had been started)",
            if started == 1 { "child" } else { "children" }
        )),
        "{line}"
    );
    for pid in children_started(&out) {
        assert!(!alive(pid));
    }
}

fn open_files_limit() {
    // The dynamic loader needs one descriptor beyond the standard streams to start at all;
    // with exactly that one, procdemo's main uses it for its signalfd, and children (which
    // inherit no descriptor of ours) still start.
    let limited = |args: &[&str]| {
        let mut all = vec!["--nofile=4", "--", harness::procdemo_bin(), "--json"];
        all.extend_from_slice(args);
        harness::command("prlimit", all).run()
    };
    let out = limited(&["--time-scale", "0", "join", "--count", "3"]);
    out.expect_code(0);
    assert_eq!(out.events_of("exit").len(), 3);
    // isolate needs two more for its pipe: one clear line, exit 1, no child started.
    let out = limited(&["isolate"]);
    out.expect_code(1).expect_no_panic();
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("procdemo: error: pipe: Too many open files"),
        "{}",
        out.stderr
    );
    assert!(out.events_of("spawned").is_empty());
}

fn binary_deleted_during_the_run() {
    // Children re-execute /proc/self/exe, which names the running binary even after its file
    // is deleted (proc(5)). Start children one at a time and delete the file while Process-2
    // sleeps: Process-3 is started only after Process-2 has been reaped, so if Process-2 is
    // still alive once the file is gone, Process-3 surely comes from the deleted file. (If a
    // very busy machine kept us away for Process-2's whole sleep, that is seen, and the run is
    // done again with a longer sleep.)
    for scale in ["0.5", "5"] {
        if deleted_binary_run(scale) {
            return;
        }
        eprintln!("Process-2 ended before the file was deleted (time scale {scale}): again");
    }
    panic!("the file was never deleted while Process-2 slept, even for 5 s");
}

/// One run of the test above; false if the file was deleted too late to tell anything.
fn deleted_binary_run(scale: &str) -> bool {
    let dir = harness::temp_dir();
    let bin = copy_of_the_binary(dir.path());
    let mut live = harness::command(
        &bin,
        [
            "--json",
            "--time-scale",
            scale,
            "join",
            "--count",
            "3",
            "--sequential",
        ],
    )
    .spawn();
    let second = live.wait_for(Duration::from_secs(20), |v| {
        v["name"] == "Process-2" && v["event"] == "start"
    });
    std::fs::remove_file(&bin).unwrap();
    let in_time = alive(second["pid"].as_i64().unwrap());
    let out = live.finish();
    out.expect_code(0);
    let exits = out.events_of("exit");
    assert_eq!(exits.len(), 3, "{}", out.stdout);
    assert!(exits.iter().all(|e| e["code"] == 0), "{}", out.stdout);
    in_time
}

fn buyers_killed_between_temp_file_and_rename() {
    // strace's fault injection kills each buyer with SIGKILL as it enters rename(2): its
    // temporary file is written and fsynced, the rename never happens. The file must stay
    // whole and unchanged, the lock free, and the next run must clean up the stray file.
    if !harness::have_strace() {
        eprintln!("strace not installed: test skipped (CI installs it)");
        return;
    }
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    std::fs::write(&data, "{\"ticket\": 5, \"event\": \"demo\"}\n").unwrap();
    let bin = harness::procdemo_bin();
    let out = harness::command(
        "strace",
        [
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=rename,renameat,renameat2",
            "-e",
            "inject=rename,renameat,renameat2:signal=KILL",
            bin,
            "--json",
            "--time-scale",
            "0",
            "tickets",
            "--buyers",
            "3",
            "--data",
            data.to_str().unwrap(),
        ],
    )
    .run();
    out.expect_code(0);
    let exits = out.events_of("exit");
    assert_eq!(exits.len(), 3);
    assert!(exits.iter().all(|e| e["signal"] == "SIGKILL"), "{exits:?}");
    assert_eq!(out.summary()["sold"], 0);
    assert_eq!(
        std::fs::read_to_string(&data).unwrap(),
        "{\"ticket\": 5, \"event\": \"demo\"}\n",
        "the data file was touched"
    );
    let strays = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                let e = e.as_ref().unwrap();
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".data.json.tmp.")
            })
            .count()
    };
    assert!(
        strays() >= 1,
        "no stray temporary file: the fault was not injected"
    );

    // The next run: the lock is free, the stray files go, the tickets sell.
    let out = procdemo([
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "3",
        "--data",
        data.to_str().unwrap(),
    ])
    .run();
    out.expect_code(0);
    let s = out.summary();
    assert_eq!(
        (s["initial"].as_u64(), s["sold"].as_u64()),
        (Some(5), Some(3))
    );
    assert!(!out.events_of("temps_cleaned").is_empty());
    assert_eq!(strays(), 0);
    assert_eq!(
        std::fs::read_to_string(&data).unwrap(),
        "{\"ticket\": 2, \"event\": \"demo\"}\n"
    );
}

fn outside_flock_holder_makes_buyers_wait() {
    // flock(1) holds data.json.lock, as a shell script taking part in the lock would, and
    // changes the count while it holds it. It lets go only once we have read all four
    // buyers' `lock_wait`. Buyers that waited see only the new count: had one got in before
    // the holder let go, it would have read 5.
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    std::fs::write(&data, "{\"ticket\": 5}\n").unwrap();
    // The shell runs in the temporary directory: every relative path below is there.
    let script = "flock data.json.lock -c 'touch held; while [ ! -e go ]; do sleep 0.01; done; \
                  echo \"{\\\"ticket\\\": 2}\" > data.json' &
        while [ ! -e held ]; do sleep 0.01; done
        \"$PROCDEMO\" --json --time-scale 0 tickets --buyers 4 --data data.json
        wait";
    let mut live = shell(script).cwd(dir.path()).spawn();
    live.wait_for_n(4, Duration::from_secs(30), |e| e["event"] == "lock_wait");
    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = live.finish();
    out.expect_code(0);
    let s = out.summary();
    assert_eq!(
        s["initial"], 5,
        "the main read the file before the buyers queued"
    );
    assert_eq!(s["sold"], 2, "{}", out.stdout);
    assert_eq!(s["remaining"], 0);
    assert_eq!(s["oversold"], false);
    assert_eq!(out.events_of("lock_wait").len(), 4);
    assert_eq!(out.events_of("sold_out").len(), 2);
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "{\"ticket\": 0}\n");
}

fn thousand_ticket_runs_keep_the_invariant() {
    // Many buyers on 1000 tickets, again and again: never an oversell, never a lost update,
    // and initial - remaining == sold every time.
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    for (buyers, left_before) in [(1000, 1000), (700, 1000), (400, 150), (1000, 1000)] {
        let out = procdemo([
            "--json".to_string(),
            "--time-scale".into(),
            "0".into(),
            "tickets".into(),
            "--buyers".into(),
            buyers.to_string(),
            "--tickets".into(),
            left_before.to_string(),
            "--data".into(),
            data.to_str().unwrap().into(),
        ])
        .run();
        out.expect_code(0);
        let s = out.summary();
        let (initial, sold, remaining) = (
            s["initial"].as_u64().unwrap(),
            s["sold"].as_u64().unwrap(),
            s["remaining"].as_u64().unwrap(),
        );
        assert_eq!(initial - remaining, sold, "{s}");
        assert_eq!(sold, buyers.min(left_before), "{s}");
        assert_eq!(s["oversold"], false);
        assert_eq!(out.events_of("bought").len() as u64, sold);
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&data).unwrap()).unwrap();
        assert_eq!(file["ticket"], remaining);
    }
}
