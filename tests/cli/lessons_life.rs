//! `zombie`: a child exited and not reaped. The lesson's facts (state `Z` seen, the pid gone
//! after the reap), and nothing left behind on any path.

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
// The lesson, as a learner reads it.

fn life_lessons_speak_english_and_chinese() {
    for (args, zh_words) in [(
        &["zombie", "--count", "2"][..],
        &["僵尸进程", "另开一个终端看看", "<defunct>"][..],
    )] {
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
    let out = procdemo(["zombie", "--help"]).run();
    out.expect_code(0);
    assert!(out.stdout.contains("Examples:"), "{}", out.stdout);
}
