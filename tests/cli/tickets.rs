//! `procdemo tickets`: buyers under flock, a ticket file that never breaks, the race without
//! the lock, and every bad input refused before a buyer starts.
//!
//! Each test works in a fresh temporary directory with `--data`, runs with `--json` and a
//! small `--time-scale`, and checks invariants of the events, never their order.

use std::collections::BTreeSet;
use std::fs;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::harness::{self, names_in, procdemo, s, success, ticket_count, Outcome};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        tickets_basic_run_sells_the_one_ticket_once,
        tickets_300_buyers_120_tickets,
        tickets_two_runs_on_one_file_never_sell_twice,
        tickets_other_keys_are_kept,
        tickets_killed_lock_holder_leaves_a_free_lock_and_a_valid_file,
        tickets_without_the_lock_every_buyer_sells,
        tickets_bad_files_are_refused_untouched,
        tickets_counts_out_of_range_are_usage_errors,
        tickets_reset_repairs_an_invalid_file_but_not_a_directory,
        tickets_second_run_in_a_row_explains_sold_out,
        tickets_lock_held_from_outside_makes_buyers_wait,
        tickets_file_broken_mid_run_fails_the_buyers_cleanly,
        tickets_stale_temp_files_are_cleaned,
    ]
}

/// How long a test waits for an event before it gives up.
const WAIT: Duration = Duration::from_secs(20);

/// 10 buyers, 1 ticket: exactly one `bought`, nine `sold_out`, one buyer at a time in the lock.
fn tickets_basic_run_sells_the_one_ticket_once() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let out = procdemo([
        "--json",
        "--time-scale",
        "0.01",
        "tickets",
        "--buyers",
        "10",
        "--tickets",
        "1",
        "--data",
        s(&data),
    ])
    .run();
    success(&out);
    let sum = out.summary();
    assert_eq!(
        [
            &sum["buyers"],
            &sum["initial"],
            &sum["sold"],
            &sum["remaining"]
        ],
        [10, 1, 1, 0],
        "{sum}"
    );
    assert_eq!(sum["oversold"], false);
    assert_eq!(sum["lock"], true);
    assert_eq!(out.events_of("bought").len(), 1);
    assert_eq!(out.events_of("sold_out").len(), 9);
    assert_eq!(out.events_of("reset").len(), 1);
    for kind in ["search", "lock_wait", "lock_acquired", "lock_released"] {
        assert_eq!(out.events_of(kind).len(), 10, "{kind}");
    }
    // Exit statuses are the answers: 0 for the buyer who bought, 3 for the others.
    let mut codes: Vec<i64> = out
        .events_of("exit")
        .iter()
        .map(|e| e["code"].as_i64().expect("a code"))
        .collect();
    codes.sort();
    assert_eq!(codes, [0, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    assert_no_overlap_in_the_lock(&out.events());
    assert_eq!(fs::read_to_string(&data).unwrap(), "{\"ticket\": 0}\n");
    assert_eq!(names_in(dir.path()), ["data.json", "data.json.lock"]);
}

/// 300 buyers, 120 tickets, no sleeping: exactly 120 sold, each remaining count once.
fn tickets_300_buyers_120_tickets() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let out = procdemo([
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "300",
        "--tickets",
        "120",
        "--data",
        s(&data),
    ])
    .run();
    success(&out);
    let sum = out.summary();
    assert_eq!(sum["sold"], 120);
    assert_eq!(sum["remaining"], 0);
    assert_eq!(sum["oversold"], false);
    assert_eq!(out.events_of("sold_out").len(), 180);
    let searches = out.events_of("search");
    assert_eq!(searches.len(), 300);
    for search in searches {
        // Read without the lock while others rename new files in: always a whole number.
        let n = search["remaining"].as_u64();
        assert!(n.is_some_and(|n| n <= 120), "search saw {search}");
    }
    let left: BTreeSet<u64> = out
        .events_of("bought")
        .iter()
        .map(|e| num(&e["remaining"]))
        .collect();
    assert_eq!(left, (0..120).collect(), "every count sold exactly once");
    assert_no_overlap_in_the_lock(&out.events());
    assert_eq!(ticket_count(&data), 0);
}

/// Two runs at once on one file: together they sell each ticket once. The lock is held from
/// outside until every buyer of both runs waits for it, so the runs surely overlap.
fn tickets_two_runs_on_one_file_never_sell_twice() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 40}").unwrap();
    let lock = fs::File::create(dir.path().join("data.json.lock")).unwrap();
    fs2::FileExt::lock_exclusive(&lock).unwrap();
    let args = [
        "--json",
        "--time-scale",
        "0.002",
        "tickets",
        "--buyers",
        "30",
        "--data",
        s(&data),
    ];
    let mut a = procdemo(args).spawn();
    let mut b = procdemo(args).spawn();
    for run in [&mut a, &mut b] {
        run.wait_for_n(30, WAIT, |e| e["event"] == "lock_wait");
    }
    drop(lock);
    let (a, b) = (a.finish(), b.finish());
    let mut left = Vec::new();
    for out in [&a, &b] {
        success(out);
        let sum = out.summary();
        assert_eq!(sum["initial"], 40);
        // Each main reads the count once its own buyers are done; the other run's buyers may
        // still be buying then (how the two queues interleave is up to the scheduler). So a
        // run sold at most what the count went down by, and never more.
        assert!(num(&sum["sold"]) <= 40 - num(&sum["remaining"]), "{sum}");
        assert_eq!(sum["oversold"], false);
        left.extend(out.events_of("bought").iter().map(|e| num(&e["remaining"])));
    }
    // The main that read last did so after every buyer of both runs: it saw 0.
    let remaining = |o: &Outcome| num(&o.summary()["remaining"]);
    assert_eq!(remaining(&a).min(remaining(&b)), 0);
    assert_eq!(num(&a.summary()["sold"]) + num(&b.summary()["sold"]), 40);
    left.sort();
    assert_eq!(left, (0..40).collect::<Vec<_>>(), "a count was sold twice");
    assert_eq!(ticket_count(&data), 0);
}

/// The buyers and `--tickets` change `ticket` and nothing else.
fn tickets_other_keys_are_kept() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(
        &data,
        r#"{"event": "concert", "ticket": 3, "seats": [1, {"row": "B"}], "price": 9.5}"#,
    )
    .unwrap();
    let out = procdemo([
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "2",
        "--data",
        s(&data),
    ])
    .run();
    success(&out);
    assert_eq!(out.summary()["sold"], 2);
    assert_eq!(
        fs::read_to_string(&data).unwrap(),
        "{\"event\": \"concert\", \"ticket\": 1, \"seats\": [1, {\"row\": \"B\"}], \"price\": 9.5}\n"
    );

    let out = procdemo([
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "1",
        "--tickets",
        "7",
        "--data",
        s(&data),
    ])
    .run();
    success(&out);
    assert_eq!(
        fs::read_to_string(&data).unwrap(),
        "{\"event\": \"concert\", \"ticket\": 6, \"seats\": [1, {\"row\": \"B\"}], \"price\": 9.5}\n"
    );
}

/// SIGKILL the buyer holding the lock: the kernel frees the lock, the others go on, the file
/// stays whole, and the count agrees with the sales.
///
/// We kill the buyer as soon as we read its `lock_acquired`, while it sleeps before deciding.
/// Whether the kill landed in time is read from the events afterwards, not hoped for: the
/// victim must have decided nothing (bought or sold out, which it writes holding the lock).
/// If a very busy machine kept us from reading that line for the whole sleep, the run proved
/// nothing about a killed holder: it is done again with a sleep ten times as long.
fn tickets_killed_lock_holder_leaves_a_free_lock_and_a_valid_file() {
    for scale in ["0.5", "5"] {
        if killed_lock_holder(scale) {
            return;
        }
        eprintln!("the holder decided before the kill landed (time scale {scale}): again");
    }
    panic!("the kill never landed while the holder slept, even in a 5 s sleep");
}

/// One run of the test above; false if the kill came too late to tell anything.
fn killed_lock_holder(scale: &str) -> bool {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 3}").unwrap();
    let mut live = procdemo([
        "--json",
        "--time-scale",
        scale,
        "tickets",
        "--buyers",
        "5",
        "--data",
        s(&data),
    ])
    .spawn();
    let holder = live.wait_for(WAIT, |e| e["event"] == "lock_acquired");
    let victim = holder["pid"].as_i64().unwrap();
    // ESRCH: it already ended (and so decided, which the events show below).
    let _ = kill(Pid::from_raw(victim as i32), Signal::SIGKILL);
    let out = live.finish();
    success(&out);

    let killed: Vec<Value> = out
        .events_of("exit")
        .into_iter()
        .filter(|e| e["child"] == victim)
        .collect();
    assert_eq!(killed.len(), 1);
    let decided = out
        .events()
        .iter()
        .any(|e| e["pid"] == victim && (e["event"] == "bought" || e["event"] == "sold_out"));
    if decided {
        // Too late: it had decided, and maybe released the lock and ended by itself.
        return false;
    }
    assert_eq!(killed[0]["signal"], "SIGKILL", "{}", killed[0]);
    assert!(killed[0].get("code").is_none());
    assert!(
        !out.events()
            .iter()
            .any(|e| e["pid"] == victim && e["event"] == "lock_released"),
        "killed while holding the lock: it never let go itself"
    );

    let sum = out.summary();
    let (initial, sold, remaining) = (
        num(&sum["initial"]),
        num(&sum["sold"]),
        num(&sum["remaining"]),
    );
    assert_eq!((initial, sold, remaining), (3, 3, 0), "{sum}");
    assert_eq!(sum["oversold"], false);
    assert_eq!(out.events_of("bought").len(), 3);
    assert_eq!(out.events_of("sold_out").len(), 1);
    // Every buyer but the victim got the lock after it: the kernel freed it.
    assert_eq!(out.events_of("lock_acquired").len(), 5);
    assert_no_overlap_in_the_lock(
        &out.events()
            .into_iter()
            .filter(|e| e["pid"] != victim)
            .collect::<Vec<_>>(),
    );
    assert_eq!(ticket_count(&data), initial - sold);
    assert_eq!(names_in(dir.path()), ["data.json", "data.json.lock"]);
    true
}

/// Without the lock, with the tutorial's timings, every buyer reads 1 and sells it. Each one
/// waits 1 s between reading and writing: the margin for starting them all.
fn tickets_without_the_lock_every_buyer_sells() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 1}").unwrap();
    let out = procdemo(["--json", "tickets", "--no-lock", "--data", s(&data)]).run();
    success(&out); // an oversell without the lock is the lesson, not a failure
    let sum = out.summary();
    assert_eq!(sum["lock"], false);
    assert_eq!(sum["oversold"], true);
    assert_eq!(
        [
            &sum["buyers"],
            &sum["initial"],
            &sum["sold"],
            &sum["remaining"]
        ],
        [10, 1, 10, 0],
        "{sum}"
    );
    assert!(out.events_of("search").iter().all(|e| e["remaining"] == 1));
    for kind in ["lock_wait", "lock_acquired", "lock_released"] {
        assert!(out.events_of(kind).is_empty(), "{kind}");
    }
    // Lost updates, but never a torn file.
    assert_eq!(fs::read_to_string(&data).unwrap(), "{\"ticket\": 0}\n");

    // The human summary says it in words, with the number sold that did not exist.
    fs::write(&data, "{\"ticket\": 1}").unwrap();
    let out = procdemo(["tickets", "--buyers", "3", "--no-lock", "--data", s(&data)])
        .env("LANG", "C")
        .run();
    out.expect_code(0);
    let last = out.stdout.lines().last().unwrap();
    assert!(
        last.contains("3 sold")
            && last.contains("OVERSOLD by 2")
            && last.contains("without the lock"),
        "{last}"
    );
}

/// Every bad file: exit 1, one line naming the file and the problem, no buyer, same bytes.
fn tickets_bad_files_are_refused_untouched() {
    enum Setup {
        Missing,
        Bytes(&'static [u8]),
        Directory,
    }
    let big: &'static [u8] = {
        let mut b = b"{\"ticket\": 1}".to_vec();
        b.resize(1024 * 1024 + 1, b' ');
        b.leak()
    };
    let cases = [
        (
            "missing",
            Setup::Missing,
            "no such file; create it with `procdemo tickets --data",
        ),
        (
            "invalid JSON",
            Setup::Bytes(b"{\"ticket\": 1"),
            "invalid JSON",
        ),
        ("empty", Setup::Bytes(b""), "empty file"),
        (
            "binary",
            Setup::Bytes(b"\x89PNG\r\n\x1a\n\xff\xfe"),
            "not UTF-8",
        ),
        (
            "array",
            Setup::Bytes(b"[{\"ticket\": 1}]"),
            "the top level must be an object",
        ),
        (
            "number",
            Setup::Bytes(b"1"),
            "the top level must be an object",
        ),
        (
            "no ticket",
            Setup::Bytes(b"{\"tickets\": 1}"),
            "\"ticket\" is missing",
        ),
        (
            "negative",
            Setup::Bytes(b"{\"ticket\": -1}"),
            "non-negative integer, found -1",
        ),
        (
            "fraction",
            Setup::Bytes(b"{\"ticket\": 1.5}"),
            "non-negative integer, found 1.5",
        ),
        (
            "float one",
            Setup::Bytes(b"{\"ticket\": 1.0}"),
            "non-negative integer, found 1.0",
        ),
        (
            "string",
            Setup::Bytes(b"{\"ticket\": \"5\"}"),
            "non-negative integer, found \"5\"",
        ),
        (
            "2^64",
            Setup::Bytes(b"{\"ticket\": 18446744073709551616}"),
            "must fit in 64 bits",
        ),
        (
            "directory",
            Setup::Directory,
            "is a directory, not a ticket file",
        ),
        (
            "huge file",
            Setup::Bytes(big),
            "file too large to be a ticket file",
        ),
    ];
    for (what, setup, expected) in cases {
        let dir = harness::temp_dir();
        let data = dir.path().join("my tickets.json");
        match setup {
            Setup::Missing => {}
            Setup::Bytes(b) => fs::write(&data, b).unwrap(),
            Setup::Directory => fs::create_dir(&data).unwrap(),
        }
        let out = procdemo(["--json", "tickets", "--buyers", "3", "--data", s(&data)]).run();
        out.expect_code(1).expect_no_panic();
        // A path with a space is quoted as a shell word.
        let prefix = format!("procdemo: error: '{}': ", data.display());
        assert!(
            out.stderr.starts_with(&prefix) && out.stderr.contains(expected),
            "{what}: {:?}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{what}: {:?}", out.stderr);
        assert!(
            out.events_of("spawned").is_empty(),
            "{what}: a buyer started"
        );
        assert!(out.events_of("summary").is_empty(), "{what}");
        if let Setup::Bytes(b) = setup {
            assert_eq!(fs::read(&data).unwrap(), b, "{what}: bytes changed");
        }
        // Nothing was created beside it, not even the lock file.
        let expected_names: &[&str] = match setup {
            Setup::Missing => &[],
            _ => &["my tickets.json"],
        };
        assert_eq!(names_in(dir.path()), expected_names, "{what}");
    }
}

/// `--buyers` and `--tickets` outside their ranges: clap's usage error, exit 2.
fn tickets_counts_out_of_range_are_usage_errors() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 1}").unwrap();
    for bad in [
        "--buyers=0",
        "--buyers=10001",
        "--buyers=-1",
        "--tickets=1000001",
        "--tickets=-1",
        "--tickets=1.5",
        "--tickets=18446744073709551616",
    ] {
        let out = procdemo(["--json", "tickets", "--data", s(&data), bad]).run();
        out.expect_code(2);
        let option = bad.split('=').next().unwrap();
        assert!(out.stderr.contains(option), "{bad}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{bad}");
    }
    assert_eq!(fs::read(&data).unwrap(), b"{\"ticket\": 1}");
    for edge in [
        ["--buyers", "1", "--tickets", "0"],
        ["--buyers", "1", "--tickets", "1000000"],
    ] {
        let mut args = vec!["--json", "--time-scale", "0", "tickets", "--data", s(&data)];
        args.extend(edge);
        success(&procdemo(args).run());
    }
    assert_eq!(ticket_count(&data), 999_999);
}

/// `--tickets N` writes `{"ticket": N}` over a missing or invalid file (the user asked for a
/// reset), but refuses a directory.
fn tickets_reset_repairs_an_invalid_file_but_not_a_directory() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let reset = |n: &str| {
        procdemo([
            "--json",
            "--time-scale",
            "0",
            "tickets",
            "--buyers",
            "1",
            "--tickets",
            n,
            "--data",
            s(&data),
        ])
        .run()
    };
    for broken in [&b""[..], b"{\"ticket\": -4", b"\xff\x00", b"[]"] {
        fs::write(&data, broken).unwrap();
        let out = reset("2");
        success(&out);
        assert_eq!(out.summary()["initial"], 2);
        assert_eq!(fs::read_to_string(&data).unwrap(), "{\"ticket\": 1}\n");
    }
    fs::remove_file(&data).unwrap();
    let out = reset("0");
    success(&out);
    assert_eq!(out.events_of("sold_out").len(), 1);
    assert_eq!(fs::read_to_string(&data).unwrap(), "{\"ticket\": 0}\n");

    let sub = dir.path().join("sub.json");
    fs::create_dir(&sub).unwrap();
    let out = procdemo(["--json", "tickets", "--tickets", "1", "--data", s(&sub)]).run();
    out.expect_code(1);
    assert!(out.stderr.contains("is a directory"), "{}", out.stderr);
    assert!(out.events_of("spawned").is_empty());
    assert!(sub.is_dir());
}

/// The README's command run twice: the second run finds the file at 0 and says how to reset.
fn tickets_second_run_in_a_row_explains_sold_out() {
    let dir = harness::temp_dir();
    fs::write(dir.path().join("data.json"), "{\"ticket\": 1}").unwrap();
    let human = || {
        let out = procdemo(["--time-scale", "0", "tickets", "--buyers", "2"])
            .cwd(dir.path())
            .env("LANG", "C")
            .run();
        out.expect_code(0);
        out.stdout
    };
    let first = human();
    assert!(first.contains("bought a ticket"), "{first}");
    assert!(!first.contains("has 0 tickets left"), "{first}");
    let second = human();
    assert!(
        second.contains("data.json has 0 tickets left")
            && second.contains("`procdemo tickets --tickets 1`"),
        "{second}"
    );
    // A sold-out buyer's exit code is an answer, and its line does not read like a failure.
    assert!(
        second.contains("(its answer: sold out; not a failure)"),
        "{second}"
    );

    let out = procdemo(["--json", "--time-scale", "0", "tickets"])
        .cwd(dir.path())
        .run();
    success(&out);
    assert_eq!(out.events_of("already_sold_out").len(), 1);
    assert_eq!(out.summary()["sold"], 0);
}

/// Holding `data.json.lock` from outside (as `flock data.json.lock -c ...` would) makes every
/// buyer wait; what the holder writes meanwhile is what they find.
fn tickets_lock_held_from_outside_makes_buyers_wait() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 5}").unwrap();
    let lock = fs::File::create(dir.path().join("data.json.lock")).unwrap();
    fs2::FileExt::lock_exclusive(&lock).unwrap();

    let mut live = procdemo([
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "3",
        "--data",
        s(&data),
    ])
    .spawn();
    live.wait_for_n(3, WAIT, |e| e["event"] == "lock_wait");
    let held = Duration::from_millis(200);
    std::thread::sleep(held);
    fs::write(&data, "{\"ticket\": 2}").unwrap(); // we hold the lock: this is our update
    drop(lock);

    let out = live.finish();
    success(&out);
    let t = |e: &Value| e["t_ms"].as_f64().unwrap();
    let last_wait = out.events_of("lock_wait").iter().map(t).fold(0.0, f64::max);
    let first_acquired = out
        .events_of("lock_acquired")
        .iter()
        .map(t)
        .fold(f64::MAX, f64::min);
    assert!(
        first_acquired >= last_wait + held.as_millis() as f64,
        "a buyer got the lock while we held it: {first_acquired} ms"
    );
    let sum = out.summary();
    assert_eq!(
        [&sum["initial"], &sum["sold"], &sum["remaining"]],
        [5, 2, 0],
        "{sum}"
    );
    assert_eq!(sum["oversold"], false);
    assert_eq!(out.events_of("sold_out").len(), 1);
}

/// Someone breaks the file while the buyers wait for the lock: each buyer fails with one line
/// naming the file, nobody is left behind, and the file is not "repaired" behind their back.
fn tickets_file_broken_mid_run_fails_the_buyers_cleanly() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 5}").unwrap();
    let lock = fs::File::create(dir.path().join("data.json.lock")).unwrap();
    fs2::FileExt::lock_exclusive(&lock).unwrap();
    let mut live = procdemo([
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "3",
        "--data",
        s(&data),
    ])
    .spawn();
    live.wait_for_n(3, WAIT, |e| e["event"] == "lock_wait");
    fs::write(&data, "{\"ticket\": oops}").unwrap();
    drop(lock);
    let out = live.finish();
    out.expect_code(1).expect_no_panic();
    let exits = out.events_of("exit");
    assert_eq!(exits.len(), 3);
    assert!(exits.iter().all(|e| e["code"] == 1), "{exits:?}");
    let buyer_lines = out
        .stderr
        .lines()
        .filter(|l| {
            l.starts_with("procdemo: error: buyer-") && l.contains("data.json: invalid JSON")
        })
        .count();
    assert_eq!(buyer_lines, 3, "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap();
    assert!(last.contains("data.json: invalid JSON"), "{}", out.stderr);
    assert_eq!(fs::read(&data).unwrap(), b"{\"ticket\": oops}");
}

/// A writer killed between creating its temporary file and renaming it leaves that file; the
/// next one to hold the lock removes it, and only it.
fn tickets_stale_temp_files_are_cleaned() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 1}").unwrap();
    fs::write(dir.path().join(".data.json.tmp.4000000"), "{\"tick").unwrap();
    fs::write(dir.path().join(".data.json.tmp.keep"), "not ours").unwrap();
    let out = procdemo([
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "2",
        "--data",
        s(&data),
    ])
    .run();
    success(&out);
    let cleaned = out.temps_cleaned();
    assert_eq!(cleaned, 1);
    assert_eq!(
        names_in(dir.path()),
        [".data.json.tmp.keep", "data.json", "data.json.lock"]
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// Whoever took the lock after another buyer did so after that buyer had decided.
fn assert_no_overlap_in_the_lock(events: &[Value]) {
    let mut held: Vec<(f64, f64, i64)> = Vec::new();
    for acquired in events.iter().filter(|e| e["event"] == "lock_acquired") {
        let pid = acquired["pid"].as_i64().unwrap();
        let decided = events
            .iter()
            .find(|e| e["pid"] == pid && (e["event"] == "bought" || e["event"] == "sold_out"))
            .expect("every holder decides");
        held.push((
            acquired["t_ms"].as_f64().unwrap(),
            decided["t_ms"].as_f64().unwrap(),
            pid,
        ));
    }
    held.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in held.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "buyer {} took the lock before buyer {} had decided",
            pair[1].2,
            pair[0].2
        );
    }
}
