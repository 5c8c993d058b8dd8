//! The fault lessons: `daemon --kill-main [--like-python]` and `tickets --kill-holder`, and
//! the `unconfirmed` count of a buyer killed after it took a ticket.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::harness::{self, alive, procdemo, shell, Outcome};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        kill_main_daemon_dies_by_the_parent_death_signal,
        kill_main_like_python_orphan_runs_on_until_main_ends_it,
        kill_main_keeps_its_order_at_time_scale_zero,
        kill_main_sigkill_of_main_leaves_nothing,
        kill_main_sigterm_and_sigint_leave_nothing,
        kill_main_closed_stdout_leaves_nothing,
        kill_main_options_that_do_not_go_together,
        kill_holder_kills_the_holder_and_the_others_carry_on,
        kill_holder_leaves_an_outside_holder_alone,
        kill_holder_at_time_scale_zero_still_adds_up,
        kill_holder_signals_and_errors_leave_nothing,
        unconfirmed_counts_buyers_killed_after_their_rename,
        fault_lessons_speak_both_languages,
        fault_lessons_draw_their_timeline,
    ]
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn ms(v: &Value) -> f64 {
    v["t_ms"].as_f64().unwrap()
}

fn pid(v: &Value) -> i64 {
    v["pid"].as_i64().unwrap()
}

/// The events `event` of the process named `name`.
fn of(out: &Outcome, name: &str, event: &str) -> Vec<Value> {
    out.events()
        .into_iter()
        .filter(|v| v["name"] == name && v["event"] == event)
        .collect()
}

fn one(out: &Outcome, name: &str, event: &str) -> Value {
    let all = of(out, name, event);
    assert_eq!(all.len(), 1, "{name} {event}:\n{}", out.stdout);
    all.into_iter().next().unwrap()
}

/// main's `exit` event for the child named `name`.
fn exit_of(out: &Outcome, name: &str) -> Value {
    let exits: Vec<Value> = of(out, "main", "exit")
        .into_iter()
        .filter(|v| v["child_name"] == name)
        .collect();
    assert_eq!(exits.len(), 1, "exit of {name}:\n{}", out.stdout);
    exits.into_iter().next().unwrap()
}

fn json_run(args: &[&str]) -> Outcome {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = procdemo(all).run();
    out.expect_code(0).expect_no_panic();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    out
}

/// The three generations of `daemon --kill-main`: (main, Process-1, Process-2) pids, checked.
fn generations(out: &Outcome) -> (i64, i64, i64) {
    let main = out.main_pid();
    let p1 = one(out, "Process-1", "start");
    let p2 = one(out, "Process-2", "start");
    assert_eq!(p1["ppid"], main, "Process-1 is main's child");
    assert_eq!(p2["ppid"], pid(&p1), "Process-2 is Process-1's child");
    (main, pid(&p1), pid(&p2))
}

// ---------------------------------------------------------------------------------------------
// daemon --kill-main

fn kill_main_daemon_dies_by_the_parent_death_signal() {
    // The daemon ticks every 0.15 s: had it outlived Process-1, it would say so.
    let out = json_run(&["--time-scale", "0.05", "daemon", "--kill-main"]);
    let (_, p1, p2) = generations(&out);
    let killed = one(&out, "main", "killed_main");
    assert_eq!(killed["child"], p1);
    assert_eq!(killed["child_name"], "Process-1");
    assert!(!alive(p2));

    // Before the kill the daemon was alive, Process-1's child, and Process-1 was at work.
    let alives = of(&out, "Process-2", "alive");
    assert!(alives.iter().any(|a| ms(a) < ms(&killed)), "{}", out.stdout);
    assert!(!of(&out, "Process-1", "tick").is_empty());
    // After it: the kernel's SIGKILL, within a second (it takes well under a millisecond),
    // and not a single tick as an orphan.
    let end = exit_of(&out, "Process-2");
    assert_eq!(end["signal"], "SIGKILL", "{end}");
    assert!(ms(&end) - ms(&killed) < 1000.0, "{end} after {killed}");
    assert_eq!(exit_of(&out, "Process-1")["signal"], "SIGKILL");
    for a in &alives {
        assert_eq!(a["ppid"], p1, "a tick as an orphan: {a}");
        assert!(ms(a) < ms(&killed) + 1000.0, "alive after the kill: {a}");
    }

    let s = out.summary();
    assert_eq!(s["scenario"], "daemon");
    assert_eq!(s["daemon"], true);
    assert_eq!(s["child_pid"], p2);
    assert_eq!(s["child_terminated_by"], "SIGKILL");
    assert_eq!(s["killed_main"], true);
    assert_eq!(s["orphaned"], false);
    assert_eq!(s["like_python"], false);
    assert!(s["outlived_ms"].as_f64().unwrap() < 1000.0, "{s}");
    assert!(of(&out, "main", "ending_orphan").is_empty());
}

fn kill_main_like_python_orphan_runs_on_until_main_ends_it() {
    // The orphan ticks every 0.3 s.
    let out = json_run(&[
        "--time-scale",
        "0.1",
        "daemon",
        "--kill-main",
        "--like-python",
    ]);
    let (main, p1, p2) = generations(&out);
    let killed = one(&out, "main", "killed_main");
    assert_eq!(killed["child"], p1);
    let ending = one(&out, "main", "ending_orphan");
    assert_eq!(ending["child"], p2);
    assert_eq!(ending["child_name"], "Process-2");
    assert_eq!(ending["signal"], "SIGTERM");

    // Before the kill, Process-1's child; after it, an orphan adopted by main (a subreaper),
    // still ticking: two ticks, then main ends it.
    let alives = of(&out, "Process-2", "alive");
    let (before, after): (Vec<&Value>, Vec<&Value>) = alives.iter().partition(|a| a["ppid"] == p1);
    assert!(!before.is_empty(), "{}", out.stdout);
    assert!(before.iter().all(|a| ms(a) < ms(&killed)));
    // (A third may slip in before SIGTERM lands, on a slow machine.)
    assert!(after.len() >= 2, "two ticks as an orphan:\n{}", out.stdout);
    for a in &after {
        assert_eq!(a["ppid"], main, "adopted by main: {a}");
        assert!(ms(a) > ms(&killed), "{a}");
    }
    assert!(
        after[..2].iter().all(|a| ms(a) < ms(&ending)),
        "{}",
        out.stdout
    );
    let end = exit_of(&out, "Process-2");
    assert_eq!(end["signal"], "SIGTERM");
    assert!(ms(&end) > ms(&ending));

    let s = out.summary();
    assert_eq!(s["child_pid"], p2);
    assert_eq!(s["child_terminated_by"], "SIGTERM");
    assert_eq!(s["killed_main"], true);
    assert_eq!(s["orphaned"], true);
    assert_eq!(s["like_python"], true);
}

fn kill_main_keeps_its_order_at_time_scale_zero() {
    // No sleeping, and no busy loop either: the daemon ticks only when main lets it, so the
    // counts are exact.
    for like_python in [false, true] {
        let mut args = vec!["--time-scale", "0", "daemon", "--kill-main"];
        if like_python {
            args.push("--like-python");
        }
        let out = json_run(&args);
        let (main, p1, _) = generations(&out);
        let killed = one(&out, "main", "killed_main");
        let alives = of(&out, "Process-2", "alive");
        assert_eq!(alives[0]["ppid"], p1);
        assert!(ms(&alives[0]) < ms(&killed));
        // main kills Process-1 once it has said it printed its third line.
        assert!(of(&out, "Process-1", "tick").len() >= 3, "{}", out.stdout);
        let end = exit_of(&out, "Process-2");
        if like_python {
            assert_eq!(alives.len(), 3, "{}", out.stdout);
            assert!(alives[1..].iter().all(|a| a["ppid"] == main));
            let ending = one(&out, "main", "ending_orphan");
            assert!(ms(&alives[2]) < ms(&ending) && ms(&ending) < ms(&end));
            assert_eq!(end["signal"], "SIGTERM");
        } else {
            assert_eq!(alives.len(), 1, "{}", out.stdout);
            assert_eq!(end["signal"], "SIGKILL");
        }
        assert_eq!(out.summary()["orphaned"], like_python);
    }
}

/// `daemon --kill-main` at a slow scale, started and waited for until `event` of `name`.
fn live_daemon(like_python: bool, scale: &str, grace: Duration) -> harness::Live {
    let mut args = vec!["--json", "--time-scale", scale, "daemon", "--kill-main"];
    if like_python {
        args.push("--like-python");
    }
    procdemo(args).grace(grace).spawn()
}

fn started_daemon(live: &mut harness::Live) -> i64 {
    pid(&live.wait_for(Duration::from_secs(30), |v| {
        v["name"] == "Process-2" && v["event"] == "alive"
    }))
}

fn kill_main_sigkill_of_main_leaves_nothing() {
    // main killed while Process-1 still lives (the daemon dies with Process-1, which dies
    // with main), and, with --like-python, after the kill: the orphan then has no
    // parent-death signal, its parent is main, and only the lifeline tells it main is gone.
    // Anything alive a second after main died is a leak (the harness's grace).
    for like_python in [false, true] {
        for after_the_kill in [false, true] {
            if after_the_kill && !like_python {
                continue; // the daemon is already gone by then
            }
            // Scale 10: Process-1's lines are 1 s apart, the daemon's ticks 30 s.
            let mut live = live_daemon(like_python, "10", Duration::from_millis(1000));
            let daemon = started_daemon(&mut live);
            if after_the_kill {
                live.wait_for(Duration::from_secs(30), |v| v["event"] == "killed_main");
            }
            live.signal_main(Signal::SIGKILL);
            let out = live.finish();
            assert_eq!(out.signal(), Some("SIGKILL"));
            assert!(!alive(daemon), "the daemon outlived a killed main");
            if like_python && after_the_kill {
                // The orphan came to the test's reaper and ended by itself, quickly.
                let ended: Vec<Value> = out
                    .orphans()
                    .into_iter()
                    .filter(|o| o["pid"] == daemon)
                    .collect();
                assert_eq!(ended.len(), 1, "{:?}", out.orphans());
                assert!(ended[0]["after_ms"].as_i64().unwrap() < 1000, "{ended:?}");
            }
        }
    }
}

fn kill_main_sigterm_and_sigint_leave_nothing() {
    // No grace: main itself must have ended and reaped every process, the grandchild too.
    for like_python in [false, true] {
        for after_the_kill in [false, true] {
            if after_the_kill && !like_python {
                continue;
            }
            for sig in [Signal::SIGTERM, Signal::SIGINT] {
                let mut live = live_daemon(like_python, "10", Duration::ZERO);
                let daemon = started_daemon(&mut live);
                if after_the_kill {
                    live.wait_for(Duration::from_secs(30), |v| v["event"] == "killed_main");
                }
                if sig == Signal::SIGINT {
                    live.signal_group(sig);
                } else {
                    live.signal_main(sig);
                }
                let out = live.finish();
                out.expect_code(128 + sig as i32).expect_no_panic();
                let _ = out.events();
                assert!(!alive(daemon));
            }
        }
    }
}

fn kill_main_closed_stdout_leaves_nothing() {
    // The reader goes away at different moments: before, at and after the kill.
    for like_python in ["", "--like-python"] {
        for lines in [2, 8, 12] {
            let out = shell(&format!(
                "\"$PROCDEMO\" --json --time-scale 0.05 daemon --kill-main {like_python} \
                 | head -{lines}; echo \"status=${{PIPESTATUS[0]}}\" >&2"
            ))
            .run();
            out.expect_code(0).expect_no_panic();
            let status = out.stderr.trim();
            assert!(
                status == "status=0" || status == "status=141",
                "{like_python} {lines}: {status}"
            );
        }
    }
}

fn kill_main_options_that_do_not_go_together() {
    for args in [
        vec!["daemon", "--kill-main", "--no-daemon"],
        vec!["daemon", "--like-python"],
    ] {
        let out = procdemo(args.clone()).run();
        out.expect_code(2);
        assert!(out.stdout.is_empty());
        assert!(out.stderr.contains("error"), "{args:?}: {}", out.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// tickets --kill-holder

fn tickets_args<'a>(data: &'a str, scale: &'a str, buyers: &'a str) -> Vec<&'a str> {
    vec![
        "--time-scale",
        scale,
        "tickets",
        "--buyers",
        buyers,
        "--data",
        data,
        "--kill-holder",
    ]
}

/// The count in the file, which must be a whole, valid ticket file.
fn count_in(data: &Path) -> u64 {
    let text = std::fs::read_to_string(data).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    v["ticket"].as_u64().unwrap()
}

/// `sold + unconfirmed == initial - remaining`, never an oversell, and the file agrees.
fn adds_up(out: &Outcome, data: &Path) -> Value {
    let s = out.summary();
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k}: {s}"));
    assert_eq!(
        n("sold") + n("unconfirmed"),
        n("initial") - n("remaining"),
        "{s}"
    );
    assert_eq!(s["oversold"], false);
    // A buyer killed between its `bought` line and its exit said so, but never answered.
    let bought = out.events_of("bought").len() as u64;
    assert!(
        n("sold") <= bought && bought <= n("sold") + n("unconfirmed"),
        "{s}"
    );
    assert_eq!(count_in(data), n("remaining"));
    s
}

fn kill_holder_kills_the_holder_and_the_others_carry_on() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let path = data.to_str().unwrap();
    std::fs::write(&data, "{\"ticket\": 3, \"event\": \"demo\"}\n").unwrap();
    // Each buyer holds the lock 0.5 s: five buyers queue for 2.5 s.
    let out = json_run(&tickets_args(path, "0.5", "5"));
    let killed = one(&out, "main", "killed_holder");
    let victim = killed["child_name"].as_str().unwrap().to_owned();
    assert!(victim.starts_with("buyer-"));
    let start = one(&out, &victim, "start");
    assert_eq!(killed["child"], pid(&start), "the pid is the buyer's");

    // The victim held the lock when it was killed: it got it before, and never let go.
    let acquired = one(&out, &victim, "lock_acquired");
    assert!(ms(&acquired) < ms(&killed));
    assert!(of(&out, &victim, "lock_released").is_empty());
    assert_eq!(exit_of(&out, &victim)["signal"], "SIGKILL");

    // The kernel released it: the others carried on, each got the lock and let it go.
    let later = out
        .events_of("lock_acquired")
        .into_iter()
        .filter(|v| v["name"] != victim.as_str() && ms(v) > ms(&killed))
        .count();
    assert!(
        later >= 1,
        "nobody got the lock after the kill:\n{}",
        out.stdout
    );
    for i in 0..5 {
        let name = format!("buyer-{i}");
        if name == victim {
            continue;
        }
        one(&out, &name, "lock_acquired");
        one(&out, &name, "lock_released");
        let code = exit_of(&out, &name)["code"].as_i64();
        assert!(matches!(code, Some(0 | 3)), "{name}: {code:?}");
    }

    // Four buyers were left for three tickets: all sold, unless the victim took one.
    let s = adds_up(&out, &data);
    assert_eq!(s["killed"], victim.as_str());
    assert_eq!(s["remaining"], 0);
    assert!(s["unconfirmed"].as_u64().unwrap() <= 1, "{s}");
    let text = std::fs::read_to_string(&data).unwrap();
    assert!(
        text.contains("\"event\": \"demo\""),
        "other keys kept: {text}"
    );
}

fn kill_holder_leaves_an_outside_holder_alone() {
    // flock(1) holds the lock first, as a script would. It is not procdemo's: main must wait
    // for one of its own buyers to hold it, and kill only that one.
    let dir = harness::temp_dir();
    std::fs::write(dir.path().join("data.json"), "{\"ticket\": 5}\n").unwrap();
    let script = "flock data.json.lock -c 'touch held; sleep 1' & holder=$!
        while [ ! -e held ]; do sleep 0.01; done
        \"$PROCDEMO\" --json --time-scale 0.3 tickets --buyers 3 --data data.json --kill-holder
        wait $holder; echo \"flock=$?\" >&2";
    let out = shell(script).cwd(dir.path()).run();
    out.expect_code(0);
    assert_eq!(out.stderr.trim(), "flock=0", "the outside holder was hurt");
    let killed = one(&out, "main", "killed_holder");
    let victim = killed["child_name"].as_str().unwrap();
    let acquired = one(&out, victim, "lock_acquired");
    assert!(ms(&acquired) < ms(&killed));
    assert_eq!(exit_of(&out, victim)["signal"], "SIGKILL");
    let s = adds_up(&out, &dir.path().join("data.json"));
    assert_eq!(s["killed"], victim);
}

fn kill_holder_at_time_scale_zero_still_adds_up() {
    // At 0 a buy lasts only milliseconds: main may or may not catch a holder. Either way the
    // run says which, and the counts add up.
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let path = data.to_str().unwrap();
    for _ in 0..3 {
        std::fs::write(&data, "{\"ticket\": 4}\n").unwrap();
        let out = json_run(&tickets_args(path, "0", "6"));
        let s = adds_up(&out, &data);
        let killed = out.events_of("killed_holder");
        match s["killed"].as_str() {
            Some(name) => {
                assert_eq!(killed.len(), 1);
                assert_eq!(killed[0]["child_name"], name);
                assert_eq!(exit_of(&out, name)["signal"], "SIGKILL");
            }
            None => {
                assert!(s["killed"].is_null(), "{s}");
                assert!(killed.is_empty());
            }
        }
    }
}

fn kill_holder_signals_and_errors_leave_nothing() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let path = data.to_str().unwrap().to_owned();
    // Holds of 5 s: the run is still going when the signal comes, before or after the kill.
    for sig in [Signal::SIGKILL, Signal::SIGTERM, Signal::SIGINT] {
        for after_the_kill in [false, true] {
            std::fs::write(&data, "{\"ticket\": 2}\n").unwrap();
            let mut args = vec!["--json"];
            args.extend(tickets_args(&path, "5", "3"));
            let grace = if sig == Signal::SIGKILL { 1000 } else { 0 };
            let mut live = procdemo(args).grace(Duration::from_millis(grace)).spawn();
            live.wait_for_n(3, Duration::from_secs(30), |v| v["event"] == "lock_wait");
            if after_the_kill {
                live.wait_for(Duration::from_secs(30), |v| v["event"] == "killed_holder");
            }
            match sig {
                Signal::SIGINT => live.signal_group(sig),
                _ => live.signal_main(sig),
            }
            let out = live.finish();
            match sig {
                Signal::SIGKILL => assert_eq!(out.signal(), Some("SIGKILL")),
                _ => {
                    out.expect_code(128 + sig as i32).expect_no_panic();
                }
            }
            count_in(&data); // still whole
        }
    }

    // An error partway: while the others queue, the file becomes a directory. They fail to
    // read it or to rename over it, the run fails, and nothing is left.
    std::fs::write(&data, "{\"ticket\": 2}\n").unwrap();
    let mut args = vec!["--json"];
    args.extend(tickets_args(&path, "1", "3"));
    let mut live = procdemo(args).spawn();
    live.wait_for(Duration::from_secs(30), |v| v["event"] == "killed_holder");
    std::fs::remove_file(&data).unwrap();
    std::fs::create_dir(&data).unwrap();
    let out = live.finish();
    out.expect_code(1).expect_no_panic();
    // A buyer that takes the lock between the removal and the mkdir finds no file at all.
    assert!(
        out.stderr.contains("directory") || out.stderr.contains("no such file"),
        "{}",
        out.stderr
    );
}

fn unconfirmed_counts_buyers_killed_after_their_rename() {
    // strace's fault injection kills each buyer as it enters its second fsync(2): the one on
    // the directory, after rename(2) put its new count in place, before its `bought`
    // line. The file went down; nobody said so. (The main writes nothing without --tickets.)
    if !harness::have_strace() {
        eprintln!("strace not installed: test skipped (CI installs it)");
        return;
    }
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    for lang in [None, Some("en"), Some("zh")] {
        std::fs::write(&data, "{\"ticket\": 5, \"event\": \"demo\"}\n").unwrap();
        let mut args = vec![
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=fsync,fdatasync",
            "-e",
            "inject=fsync,fdatasync:signal=KILL:when=2",
            harness::procdemo_bin(),
        ];
        match lang {
            None => args.push("--json"),
            Some(l) => args.extend(["--lang", l]),
        }
        args.extend([
            "--time-scale",
            "0",
            "tickets",
            "--buyers",
            "3",
            "--data",
            data.to_str().unwrap(),
        ]);
        let out = harness::command("strace", args).run();
        out.expect_code(0);
        assert_eq!(
            std::fs::read_to_string(&data).unwrap(),
            "{\"ticket\": 2, \"event\": \"demo\"}\n",
            "each buyer's rename went through"
        );
        let last = out.stdout.lines().last().unwrap_or_default().to_owned();
        match lang {
            None => {
                let exits = out.events_of("exit");
                assert_eq!(exits.len(), 3);
                assert!(exits.iter().all(|e| e["signal"] == "SIGKILL"), "{exits:?}");
                assert!(out.events_of("bought").is_empty());
                let s = adds_up(&out, &data);
                assert_eq!(s["sold"], 0);
                assert_eq!(s["remaining"], 2);
                assert_eq!(s["unconfirmed"], 3, "{s}");
                assert!(s.get("killed").is_none(), "only with --kill-holder: {s}");
            }
            Some("en") => assert!(
                last.contains("3 more tickets left the file unconfirmed")
                    && last.contains("3 buyers were killed after they took a ticket")
                    && last.contains("before they could answer"),
                "{last}"
            ),
            Some(_) => assert!(
                last.contains("另有 3 张票未确认") && last.contains("被杀死"),
                "{last}"
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Words and pictures.

fn human(lang: &str, args: &[&str]) -> Outcome {
    let mut all = vec!["--lang", lang];
    all.extend_from_slice(args);
    let out = procdemo(all).run();
    out.expect_code(0).expect_no_panic();
    out
}

fn assert_has(out: &Outcome, phrases: &[&str]) {
    for p in phrases {
        assert!(out.stdout.contains(p), "no {p:?} in:\n{}", out.stdout);
    }
}

fn fault_lessons_speak_both_languages() {
    let daemon = ["--time-scale", "0.02", "--explain", "daemon", "--kill-main"];
    let python = [
        "--time-scale",
        "0.02",
        "daemon",
        "--kill-main",
        "--like-python",
    ];
    assert_has(
        &human("en", &daemon),
        &[
            "--kill-main: three generations",
            "--like-python",
            "main kills Process-1",
            "SIGKILL",
            "PR_SET_PDEATHSIG",
            "parent pid",
        ],
    );
    assert_has(
        &human("en", &python),
        &["as an orphan", "Python would have left it running"],
    );
    assert_has(
        &human("zh", &daemon),
        &[
            "--kill-main",
            "守护进程",
            "总管正常活着",
            "皇帝jason寿正终寝",
            "PR_SET_PDEATHSIG",
        ],
    );
    assert_has(&human("zh", &python), &["孤儿", "Python", "一直运行下去"]);

    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let tickets = |lang| {
        human(
            lang,
            &[
                "--time-scale",
                "0.2",
                "--explain",
                "tickets",
                "--buyers",
                "3",
                "--tickets",
                "2",
                "--data",
                data.to_str().unwrap(),
                "--kill-holder",
            ],
        )
    };
    assert_has(
        &tickets("en"),
        &[
            "With --kill-holder",
            "holding the lock in /proc/locks",
            "multiprocessing.Lock",
            "waited forever",
        ],
    );
    assert_has(
        &tickets("zh"),
        &[
            "--kill-holder",
            "抢锁",
            "抢到锁",
            "multiprocessing.Lock",
            "永远等下去",
        ],
    );
}

fn fault_lessons_draw_their_timeline() {
    let out = human(
        "en",
        &[
            "--time-scale",
            "0.02",
            "--timeline",
            "daemon",
            "--kill-main",
        ],
    );
    for name in ["main", "Process-1", "Process-2"] {
        let row = out
            .stderr
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", out.stderr));
        if name != "main" {
            assert!(row.contains("SIGKILL"), "{row}");
        }
    }
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let out = human(
        "en",
        &[
            "--time-scale",
            "0.2",
            "--timeline",
            "tickets",
            "--buyers",
            "3",
            "--tickets",
            "1",
            "--data",
            data.to_str().unwrap(),
            "--kill-holder",
        ],
    );
    let killed = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("buyer-") && l.contains("SIGKILL"))
        .count();
    assert_eq!(killed, 1, "{}", out.stderr);
}
