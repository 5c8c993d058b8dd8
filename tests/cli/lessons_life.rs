//! `zombie` and `orphan`: a child exited and not reaped; a child whose parent exited first.
//! The lessons' facts (state `Z` seen, the pid gone after the reap, the parent pid changed to
//! the adopter's), and nothing left behind on any path.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::harness::{self, alive, procdemo, shell, Outcome};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        zombie_children_are_zombies_until_reaped,
        zombie_keeps_its_order_at_time_scale_zero,
        zombie_is_defunct_in_ps_and_the_hold_does_not_spin,
        zombie_sigint_sigterm_and_closed_stdout_reap_every_zombie,
        zombie_held_children_are_reaped_when_main_is_killed,
        zombie_start_failure_still_reaps_the_held_children,
        zombie_counts_and_hold_are_bounded,
        zombie_timeline_draws_the_held_stretch,
        orphan_is_adopted_and_reaped_by_the_subreaper_main,
        orphan_without_subreaper_is_named_and_watched_by_pidfd,
        orphan_keeps_its_story_at_time_scale_zero,
        orphan_ends_within_a_second_when_main_is_killed,
        orphan_sigterm_sigint_and_closed_stdout_leave_nothing,
        orphan_start_failure_leaves_nothing,
        life_lessons_speak_english_and_chinese,
    ]
}

fn pid(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a pid: {v}"))
}

/// The `event` names `name` wrote, in order.
fn kinds_of(out: &Outcome, name: &str) -> Vec<String> {
    out.events()
        .iter()
        .filter(|v| v["name"] == name)
        .map(|v| v["event"].as_str().unwrap().to_string())
        .collect()
}

/// CPU time (user + system, in clock ticks) `pid` has used so far, from `/proc/<pid>/stat`.
fn cpu_ticks(pid: i64) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let (_, rest) = stat.rsplit_once(')').unwrap();
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11) // fields 14 and 15 (utime, stime) are the 12th and 13th after the ')'
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    f[0] + f[1]
}

// ---------------------------------------------------------------------------------------------
// zombie

fn zombie(args: &[&str]) -> Outcome {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = procdemo(all).run();
    out.expect_code(0);
    out
}

fn zombie_children_are_zombies_until_reaped() {
    let out = zombie(&[
        "--time-scale",
        "0.05",
        "zombie",
        "--count",
        "3",
        "--hold",
        "1",
    ]);
    let s = out.summary();
    assert_eq!(s["scenario"], "zombie");
    assert_eq!(
        (&s["children"], &s["zombies_seen"], &s["gone_after_reap"]),
        (&Value::from(3), &Value::from(3), &Value::from(true)),
        "{s}"
    );
    let zombies = out.events_of("zombie");
    let kills = out.events_of("kill_zombie");
    let exits = out.events_of("exit");
    let gone = out.events_of("gone");
    assert_eq!(
        (zombies.len(), kills.len(), exits.len(), gone.len()),
        (3, 3, 3, 3)
    );
    let main = out.main_pid();
    for z in &zombies {
        let child = pid(&z["child"]);
        assert_eq!(z["state"], "Z", "{z}");
        assert_eq!(pid(&z["pid"]), main);
        // The child itself said it was exiting before main saw it a zombie.
        let exiting = out
            .events_of("exiting")
            .into_iter()
            .find(|e| pid(&e["pid"]) == child)
            .expect("the child's own last word");
        assert!(exiting["t_ms"].as_f64() <= z["t_ms"].as_f64());
        // SIGKILL changed nothing: still Z, and the exit status is still its own 0.
        let kill = kills.iter().find(|k| pid(&k["child"]) == child).unwrap();
        assert_eq!(
            (&kill["signal"], &kill["state"]),
            (&"SIGKILL".into(), &"Z".into())
        );
        let exit = exits.iter().find(|e| pid(&e["child"]) == child).unwrap();
        assert_eq!(exit["code"], 0, "{exit}");
        assert!(z["t_ms"].as_f64() < exit["t_ms"].as_f64());
        // After the reap the pid is gone, and it was gone when main looked.
        let g = gone.iter().find(|g| pid(&g["child"]) == child).unwrap();
        assert!(exit["t_ms"].as_f64() <= g["t_ms"].as_f64());
        assert!(!std::path::Path::new(&format!("/proc/{child}")).exists());
    }
    // Held for 1 s at scale 0.05: no exit before 50 ms after the hold began.
    let holding = &out.events_of("holding")[0];
    assert_eq!(
        (&holding["zombies"], &holding["seconds"]),
        (&3.into(), &1.0.into())
    );
    for e in &exits {
        assert!(e["t_ms"].as_f64().unwrap() >= holding["t_ms"].as_f64().unwrap() + 45.0);
    }
    let hint = &out.events_of("ps_hint")[0];
    assert_eq!(
        hint["command"],
        format!("ps -o pid,ppid,stat,cmd --ppid {main}")
    );
}

fn zombie_keeps_its_order_at_time_scale_zero() {
    // An hour's hold at scale 0 takes no time, and the zombies are still held: every child is
    // seen in state Z, killed, then reaped, in the same order as with a real hold.
    let started = Instant::now();
    let fast = zombie(&[
        "--time-scale",
        "0",
        "zombie",
        "--count",
        "4",
        "--hold",
        "3600",
    ]);
    assert!(started.elapsed() < Duration::from_secs(30));
    let slow = zombie(&[
        "--time-scale",
        "0.02",
        "zombie",
        "--count",
        "4",
        "--hold",
        "1",
    ]);
    let mut expected = vec!["start".to_string()];
    expected.extend(["spawned"; 4].map(String::from));
    expected.extend(["zombie"; 4].map(String::from));
    expected.push("ps_hint".into());
    expected.extend(["kill_zombie"; 4].map(String::from));
    expected.push("holding".into());
    for _ in 0..4 {
        expected.extend(["exit", "gone"].map(String::from));
    }
    expected.push("summary".into());
    for out in [&fast, &slow] {
        assert_eq!(kinds_of(out, "main"), expected, "{}", out.stdout);
        assert_eq!(out.summary()["zombies_seen"], 4);
        let children: Vec<_> = (1..=4).map(|i| format!("Process-{i}")).collect();
        for c in &children {
            assert_eq!(kinds_of(out, c), ["start", "exiting"]);
        }
    }
}

fn zombie_is_defunct_in_ps_and_the_hold_does_not_spin() {
    // What a class does: `procdemo zombie --hold 30`, and `ps` from another terminal.
    let mut live = procdemo(["--json", "zombie", "--count", "2", "--hold", "30"]).spawn();
    let holding = live.wait_for(Duration::from_secs(30), |v| v["event"] == "holding");
    let main = pid(&holding["pid"]);
    let before = cpu_ticks(main);
    let ps = std::process::Command::new("ps")
        .args(["-o", "pid,ppid,stat,cmd", "--ppid", &main.to_string()])
        .output();
    match ps {
        Ok(ps) => {
            let text = String::from_utf8_lossy(&ps.stdout);
            let rows: Vec<&str> = text.lines().skip(1).collect();
            assert_eq!(rows.len(), 2, "{text}");
            for row in rows {
                let cols: Vec<&str> = row.split_whitespace().collect();
                assert_eq!(cols[1], main.to_string(), "{text}");
                assert!(cols[2].starts_with('Z'), "{text}");
                assert!(row.ends_with("<defunct>"), "{text}");
            }
        }
        Err(e) => eprintln!("ps not available ({e}): its check skipped"),
    }
    // Holding is waiting in the kernel: one second of it costs main next to no CPU time.
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(main) - before;
    assert!(used <= 5, "main used {used} ticks of CPU in 1 s of holding");
    live.signal_main(Signal::SIGTERM);
    let out = live.finish(); // strict: every zombie reaped by main itself
    out.expect_code(143).expect_no_panic();
    let exits = out.events_of("exit");
    assert_eq!(exits.len(), 2, "{}", out.stdout);
    assert!(exits.iter().all(|e| e["code"] == 0));
    assert_eq!(out.events_of("stopping").len(), 1);
}

fn zombie_sigint_sigterm_and_closed_stdout_reap_every_zombie() {
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        let mut live = procdemo(["--json", "zombie", "--count", "3", "--hold", "60"]).spawn();
        live.wait_for(Duration::from_secs(30), |v| v["event"] == "holding");
        let started = Instant::now();
        match sig {
            Signal::SIGINT => live.signal_group(sig),
            _ => live.signal_main(sig),
        }
        let out = live.finish();
        out.expect_code(128 + sig as i32).expect_no_panic();
        // A zombie needs no grace period: it is reaped at once.
        assert!(started.elapsed() < Duration::from_millis(900), "{sig}");
        assert_eq!(out.events_of("exit").len(), 3, "{sig}: {}", out.stdout);
    }
    let out = shell(
        "\"$PROCDEMO\" --json zombie --count 3 --hold 60 | head -1; \
         echo \"status=${PIPESTATUS[0]}\" >&2",
    )
    .run();
    out.expect_code(0).expect_no_panic();
    let status = out.stderr.trim();
    assert!(status == "status=0" || status == "status=141", "{status}");
}

fn zombie_held_children_are_reaped_when_main_is_killed() {
    let mut live = procdemo(["--json", "zombie", "--count", "3", "--hold", "60"])
        .grace(Duration::from_millis(1000))
        .spawn();
    live.wait_for(Duration::from_secs(30), |v| v["event"] == "holding");
    live.signal_main(Signal::SIGKILL);
    let out = live.finish();
    assert_eq!(out.signal(), Some("SIGKILL"));
    // The zombies went to the adopter (here the test's reaper), which reaped them: dead
    // already, they had nothing left to end.
    let zombies: Vec<i64> = out
        .events_of("zombie")
        .iter()
        .map(|z| pid(&z["child"]))
        .collect();
    assert_eq!(zombies.len(), 3);
    let orphans = out.orphans();
    for z in zombies {
        let o = orphans.iter().find(|o| pid(&o["pid"]) == z);
        assert_eq!(o.expect("reaped by the adopter")["ended"]["code"], 0);
        assert!(!alive(z));
    }
}

/// procdemo copied where an unprivileged user can run it, and a command line that runs it as
/// a user id of its own, allowed `nproc` processes in all (RLIMIT_NPROC, which counts zombies
/// too; root is exempt).
fn limited(dir: &std::path::Path, nproc: usize, args: &[&str]) -> harness::Run {
    // A user id no other test uses, so no other test's processes count against the limit.
    const UID: &str = "64999";
    let bin = crate::faults::copy_of_the_binary(dir);
    let nproc = format!("--nproc={nproc}");
    let mut argv = vec![
        "--reuid=64999",
        "--regid=64999",
        "--clear-groups",
        "prlimit",
        &nproc,
        "--",
        &bin,
    ];
    argv.extend_from_slice(args);
    let busy = harness::proc_pids()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter(|s| s.lines().any(|l| l.starts_with("Uid:") && l.contains(UID)))
        .count();
    assert_eq!(busy, 0, "user {UID} already has processes");
    harness::command("setpriv", argv).cwd(dir)
}

fn zombie_start_failure_still_reaps_the_held_children() {
    // Three children start and exit, held as zombies; the fourth cannot be created. The run
    // fails with one line, and the error path reaps every zombie (strict: no grace).
    let dir = harness::temp_dir();
    let out = limited(
        dir.path(),
        4,
        &["--json", "zombie", "--count", "20", "--hold", "60"],
    )
    .run();
    out.expect_code(1).expect_no_panic();
    let line = out.stderr.trim();
    assert!(
        line.starts_with("procdemo: error: could not start Process-4"),
        "{line}"
    );
    assert_eq!(out.events_of("spawned").len(), 3, "{}", out.stdout);
    assert!(out.events_of("zombie").is_empty());
}

fn zombie_counts_and_hold_are_bounded() {
    for bad in [
        &["zombie", "--count", "0"][..],
        &["zombie", "--count", "10001"],
        &["zombie", "--hold", "-1"],
        &["zombie", "--hold", "3600.5"],
        &["zombie", "--hold", "nan"],
        &["zombie", "--hold", "soon"],
    ] {
        let out = procdemo(bad.to_vec()).run();
        out.expect_code(2);
        assert!(out.stdout.is_empty(), "{bad:?}");
        assert!(out.stderr.contains("--"), "{bad:?}: {}", out.stderr);
    }
    let out = zombie(&["--time-scale", "0", "zombie", "--hold", "3600"]);
    assert_eq!(out.summary()["children"], 1);
    let out = zombie(&[
        "--time-scale",
        "0",
        "zombie",
        "--count",
        "200",
        "--hold",
        "0",
    ]);
    let s = out.summary();
    assert_eq!(
        (&s["zombies_seen"], &s["gone_after_reap"]),
        (&200.into(), &true.into())
    );
}

fn zombie_timeline_draws_the_held_stretch() {
    let out = procdemo([
        "--time-scale",
        "0.05",
        "--timeline",
        "zombie",
        "--count",
        "2",
    ])
    .env("LANG", "C")
    .run();
    out.expect_code(0);
    for name in ["Process-1", "Process-2"] {
        let row = out
            .stderr
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row:\n{}", out.stderr));
        // The hold is 150 ms of a run not much longer: most of the row is the zombie.
        assert!(row.matches('z').count() >= 20, "{}", out.stderr);
        assert!(row.ends_with("exit 0"), "{row}");
    }
    assert!(out.stderr.contains("z zombie: exited, not yet reaped"));
}

// ---------------------------------------------------------------------------------------------
// orphan

/// The facts every run of `orphan` shows, whoever adopts: Process-2 saw Process-1 as its
/// parent, then `adopter`; main's summary names the same pids. Returns Process-2's pid.
fn check_adoption(out: &Outcome, adopter: i64, subreaper: bool) -> i64 {
    let s = out.summary();
    let (parent, orphan) = (pid(&s["parent_pid"]), pid(&s["orphan_pid"]));
    assert_eq!(s["subreaper"], subreaper);
    assert_eq!(pid(&s["adopted_by"]), adopter, "{s}");
    let start_of = |name: &str| {
        out.events()
            .into_iter()
            .find(|v| v["name"] == name && v["event"] == "start")
            .unwrap_or_else(|| panic!("no start of {name}:\n{}", out.stdout))
    };
    let p1 = start_of("Process-1");
    let p2 = start_of("Process-2");
    assert_eq!(
        (pid(&p1["pid"]), pid(&p1["ppid"])),
        (parent, out.main_pid())
    );
    // Before: Process-2's parent is Process-1.
    assert_eq!((pid(&p2["pid"]), pid(&p2["ppid"])), (orphan, parent));
    let leaving = &out.events_of("leaving")[0];
    assert_eq!(
        (pid(&leaving["pid"]), pid(&leaving["child"])),
        (parent, orphan)
    );
    // After: its adopter.
    let adopted = &out.events_of("adopted")[0];
    assert_eq!(pid(&adopted["pid"]), orphan);
    assert_eq!(
        (pid(&adopted["old_ppid"]), pid(&adopted["new_ppid"])),
        (parent, adopter)
    );
    assert_eq!(pid(&adopted["ppid"]), adopter);
    // And at its end, which it reached by itself.
    let over = &out.events_of("over")[0];
    assert_eq!((pid(&over["pid"]), pid(&over["ppid"])), (orphan, adopter));
    // main named the same adopter, from /proc.
    let named = &out.events_of("adopter")[0];
    assert_eq!(
        (pid(&named["child"]), pid(&named["adopter"])),
        (orphan, adopter)
    );
    assert_eq!(named["is_main"], subreaper);
    assert!(!named["comm"].as_str().unwrap().is_empty());
    // Process-1 was reaped by main, with its own 0.
    let exit1 = out
        .events_of("exit")
        .into_iter()
        .find(|e| pid(&e["child"]) == parent)
        .expect("Process-1 reaped by main");
    assert_eq!(exit1["code"], 0);
    assert!(!alive(orphan));
    orphan
}

fn orphan_is_adopted_and_reaped_by_the_subreaper_main() {
    let out = procdemo(["--json", "--time-scale", "0.05", "orphan"]).run(); // strict
    out.expect_code(0);
    let main = out.main_pid();
    let orphan = check_adoption(&out, main, true);
    // main reaped its adopted grandchild, and named it.
    let exit2 = out
        .events_of("exit")
        .into_iter()
        .find(|e| pid(&e["child"]) == orphan)
        .expect("Process-2 reaped by main");
    assert_eq!(
        (&exit2["child_name"], &exit2["code"]),
        (&"Process-2".into(), &0.into())
    );
    assert!(out.events_of("orphan_ended").is_empty());
    assert_eq!(out.events_of("subreaper")[0]["subreaper"], true);
}

fn orphan_without_subreaper_is_named_and_watched_by_pidfd() {
    // Here the nearest subreaper above main is the test's reaper: main's own parent. It, not
    // main, reaps Process-2 (so the run gets a grace period for that reap).
    let out = procdemo(["--json", "--time-scale", "0.05", "orphan", "--no-subreaper"])
        .grace(Duration::from_millis(1000))
        .run();
    out.expect_code(0);
    let reaper = pid(&out.events()[0]["ppid"]);
    let orphan = check_adoption(&out, reaper, false);
    // main never reaped it, but knew when it ended: the pidfd, before the summary.
    assert!(out
        .events_of("exit")
        .iter()
        .all(|e| pid(&e["child"]) != orphan));
    let ended = &out.events_of("orphan_ended")[0];
    assert_eq!(pid(&ended["child"]), orphan);
    let adopted = &out.events_of("adopted")[0];
    assert!(adopted["t_ms"].as_f64() < ended["t_ms"].as_f64());
    // Its adopter reaped it: it ended by itself, with 0.
    let o = out.orphans();
    let o = o.iter().find(|o| pid(&o["pid"]) == orphan).expect("reaped");
    assert_eq!(o["ended"]["code"], 0);
}

fn orphan_keeps_its_story_at_time_scale_zero() {
    for _ in 0..3 {
        let out = procdemo(["--json", "--time-scale", "0", "orphan"]).run();
        out.expect_code(0);
        check_adoption(&out, out.main_pid(), true);
        let out = procdemo(["--json", "--time-scale", "0", "orphan", "--no-subreaper"])
            .grace(Duration::from_millis(1000))
            .run();
        out.expect_code(0);
        check_adoption(&out, pid(&out.events()[0]["ppid"]), false);
    }
}

fn orphan_ends_within_a_second_when_main_is_killed() {
    // Process-2 lives 10 s after its adoption; main is SIGKILLed, so nothing of main's code
    // runs. The lifeline pipe closes with main, and Process-2 ends at once.
    for mode in [&[][..], &["--no-subreaper"]] {
        for moment in ["start", "adopted"] {
            let mut args = vec!["--json", "--time-scale", "10", "orphan"];
            args.extend_from_slice(mode);
            let mut live = procdemo(args.clone())
                .grace(Duration::from_millis(1000))
                .spawn();
            let seen = live.wait_for(Duration::from_secs(30), |v| {
                v["name"] == "Process-2" && v["event"] == moment
            });
            let orphan = pid(&seen["pid"]);
            live.signal_main(Signal::SIGKILL);
            let out = live.finish(); // anything alive 1 s after main died is a leak
            assert_eq!(out.signal(), Some("SIGKILL"), "{args:?} at {moment}");
            assert!(!alive(orphan));
            let o = out.orphans();
            let o = o.iter().find(|o| pid(&o["pid"]) == orphan).expect("reaped");
            let gone = out.events_of("main_gone");
            if moment == "adopted" {
                // Process-2 has heard the lifeline close, and ended by itself.
                assert_eq!(gone.len(), 1, "{args:?} at {moment}:\n{}", out.stdout);
                assert_eq!(pid(&gone[0]["pid"]), orphan);
                assert_eq!(o["ended"]["code"], 0, "it ended by itself");
            } else {
                // So early, Process-1 may still be alive when main dies, and Process-2 may
                // not have turned its parent-death signal off yet: it dies with Process-1,
                // or hears the lifeline close; either way, within the second.
                assert!(
                    o["ended"]["signal"] == "SIGKILL" || gone.len() == 1,
                    "{o}\n{}",
                    out.stdout
                );
            }
        }
    }
}

fn orphan_sigterm_sigint_and_closed_stdout_leave_nothing() {
    for subreaper in [true, false] {
        // Without a subreaper main cannot reap Process-2: it makes sure it has ended, and
        // the adopter (the test's reaper) reaps it; give that reap a moment.
        let grace = if subreaper { 0 } else { 300 };
        for (sig, moment) in [
            (Signal::SIGTERM, "start"),
            (Signal::SIGTERM, "adopted"),
            (Signal::SIGINT, "adopted"),
        ] {
            let mut args = vec!["--json", "--time-scale", "10", "orphan"];
            if !subreaper {
                args.push("--no-subreaper");
            }
            let mut live = procdemo(args.clone())
                .grace(Duration::from_millis(grace))
                .spawn();
            let seen = live.wait_for(Duration::from_secs(30), |v| {
                v["name"] == "Process-2" && v["event"] == moment
            });
            let orphan = pid(&seen["pid"]);
            match sig {
                Signal::SIGINT => live.signal_group(sig),
                _ => live.signal_main(sig),
            }
            let out = live.finish();
            out.expect_code(128 + sig as i32).expect_no_panic();
            assert!(!alive(orphan), "{args:?} {sig} at {moment}");
            let _ = out.events(); // whole JSON lines
        }
        let script = format!(
            "\"$PROCDEMO\" --json --time-scale 10 orphan {} | head -1; \
             echo \"status=${{PIPESTATUS[0]}}\" >&2",
            if subreaper { "" } else { "--no-subreaper" }
        );
        let started = Instant::now();
        let out = shell(&script).grace(Duration::from_millis(grace)).run();
        out.expect_code(0).expect_no_panic();
        let status = out.stderr.trim();
        assert!(status == "status=0" || status == "status=141", "{status}");
        assert!(started.elapsed() < Duration::from_secs(8), "ran on");
    }
}

fn orphan_start_failure_leaves_nothing() {
    // Two processes allowed: main and Process-1. Process-1 cannot create Process-2; it says
    // why, and main fails naming it. Nothing is left (strict).
    for mode in [&[][..], &["--no-subreaper"]] {
        let dir = harness::temp_dir();
        let mut args = vec!["--json", "--time-scale", "0", "orphan"];
        args.extend_from_slice(mode);
        let out = limited(dir.path(), 2, &args).run();
        out.expect_code(1).expect_no_panic();
        assert!(
            out.stderr.contains("Process-1: could not start Process-2"),
            "{}",
            out.stderr
        );
        let last = out.stderr.lines().last().unwrap();
        assert!(
            last.starts_with("procdemo: error: Process-1") && last.contains("exit code 1"),
            "{last}"
        );
        assert_eq!(out.events_of("exit")[0]["code"], 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Both lessons, as a learner reads them.

fn life_lessons_speak_english_and_chinese() {
    for (args, zh_words) in [
        (
            &["zombie", "--count", "2"][..],
            &["僵尸进程", "另开一个终端看看", "<defunct>"][..],
        ),
        (&["orphan"], &["孤儿进程", "收割者", "我被收养了"]),
        (&["orphan", "--no-subreaper"], &["孤儿进程", "pidfd"]),
    ] {
        let mut en = vec!["--lang", "en", "--time-scale", "0.02", "--explain"];
        en.extend_from_slice(args);
        let out = procdemo(en).grace(Duration::from_millis(300)).run();
        out.expect_code(0);
        assert!(
            out.stdout.starts_with(&format!("{}: ", args[0])),
            "the paragraph first:\n{}",
            out.stdout
        );
        assert!(
            out.stdout.chars().all(|c| (c as u32) < 0x2E80),
            "CJK in English output:\n{}",
            out.stdout
        );
        assert!(out.stdout.lines().last().unwrap().contains("done:"));
        let mut zh = vec!["--lang", "zh", "--time-scale", "0.02", "--explain"];
        zh.extend_from_slice(args);
        let out = procdemo(zh).grace(Duration::from_millis(300)).run();
        out.expect_code(0);
        for w in zh_words {
            assert!(out.stdout.contains(w), "{w}:\n{}", out.stdout);
        }
        assert!(out.stdout.lines().last().unwrap().contains("完成："));
    }
    // --help teaches too.
    for s in ["zombie", "orphan"] {
        let out = procdemo([s, "--help"]).run();
        out.expect_code(0);
        assert!(out.stdout.contains("Examples:"), "{}", out.stdout);
    }
}
