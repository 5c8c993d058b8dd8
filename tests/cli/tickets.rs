//! `procdemo tickets`: buyers under flock, a ticket file that never breaks, the race without
//! the lock, and every bad input refused before a buyer starts.
//!
//! Each test works in a fresh temporary directory with `--data`, runs with `--json` and a
//! small `--time-scale`, and checks invariants of the events, never their order.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("tickets::basic_run_sells_the_one_ticket_once", basic_run),
        Trial::test("tickets::scale_300_buyers_120_tickets", scale),
        Trial::test(
            "tickets::two_runs_on_one_file_never_sell_twice",
            two_concurrent_runs,
        ),
        Trial::test("tickets::other_keys_are_kept", other_keys_kept),
        Trial::test(
            "tickets::killed_lock_holder_leaves_a_free_lock_and_a_valid_file",
            lock_holder_killed,
        ),
        Trial::test("tickets::no_lock_oversells", no_lock_race),
        Trial::test("tickets::bad_files_are_refused_untouched", bad_files),
        Trial::test("tickets::out_of_range_counts_are_usage_errors", bad_counts),
        Trial::test(
            "tickets::reset_repairs_an_invalid_file_but_not_a_directory",
            reset_repairs,
        ),
        Trial::test(
            "tickets::second_run_in_a_row_explains_sold_out",
            second_run_in_a_row,
        ),
        Trial::test(
            "tickets::lock_held_from_outside_makes_buyers_wait",
            outside_lock_holder,
        ),
        Trial::test(
            "tickets::file_broken_mid_run_fails_the_buyers_cleanly",
            broken_mid_run,
        ),
        Trial::test("tickets::stale_temp_files_are_cleaned", stale_temps),
    ]
}

/// 10 buyers, 1 ticket: exactly one `bought`, nine `sold_out`, one buyer at a time in the lock.
fn basic_run() -> Result<(), Failed> {
    let dir = tempdir();
    let data = dir.path().join("data.json");
    let run = procdemo(&[
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
    ]);
    run.success();
    let sum = run.summary();
    assert_eq!(
        (
            &sum["buyers"],
            &sum["initial"],
            &sum["sold"],
            &sum["remaining"]
        ),
        (&10.into(), &1.into(), &1.into(), &0.into())
    );
    assert_eq!(sum["oversold"], false);
    assert_eq!(sum["lock"], true);
    assert_eq!(run.count("bought"), 1);
    assert_eq!(run.count("sold_out"), 9);
    assert_eq!(run.count("reset"), 1);
    for kind in ["search", "lock_wait", "lock_acquired", "lock_released"] {
        assert_eq!(run.count(kind), 10, "{kind}");
    }
    // Exit statuses are the answers: 0 for the buyer who bought, 3 for the others.
    let mut codes: Vec<i64> = run
        .events("exit")
        .map(|e| e["code"].as_i64().expect("a code"))
        .collect();
    codes.sort();
    assert_eq!(codes, [0, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    assert_no_overlap_in_the_lock(&run.events);
    assert_eq!(fs::read_to_string(&data).unwrap(), "{\"ticket\": 0}\n");
    assert_eq!(names_in(dir.path()), ["data.json", "data.json.lock"]);
    Ok(())
}

/// 300 buyers, 120 tickets, no sleeping: exactly 120 sold, each remaining count once.
fn scale() -> Result<(), Failed> {
    let dir = tempdir();
    let data = dir.path().join("data.json");
    let run = procdemo(&[
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
    ]);
    run.success();
    let sum = run.summary();
    assert_eq!(sum["sold"], 120);
    assert_eq!(sum["remaining"], 0);
    assert_eq!(sum["oversold"], false);
    assert_eq!(run.count("sold_out"), 180);
    for search in run.events("search") {
        let n = search["remaining"].as_u64();
        assert!(n.is_some_and(|n| n <= 120), "search saw {search}");
    }
    let left: BTreeSet<u64> = run
        .events("bought")
        .map(|e| e["remaining"].as_u64().unwrap())
        .collect();
    assert_eq!(left, (0..120).collect(), "every count sold exactly once");
    assert_no_overlap_in_the_lock(&run.events);
    assert_eq!(ticket_count(&data), 0);
    Ok(())
}

/// Two runs at once on one file: together they sell each ticket once. The lock is held from
/// outside until every buyer of both runs waits for it, so the runs surely overlap.
fn two_concurrent_runs() -> Result<(), Failed> {
    let dir = tempdir();
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
    let mut a = Running::start(&args);
    let mut b = Running::start(&args);
    for run in [&mut a, &mut b] {
        for _ in 0..30 {
            run.wait_for(|e| e["event"] == "lock_wait").unwrap();
        }
    }
    drop(lock);
    let (a, b) = (a.finish(), b.finish());
    let mut left = Vec::new();
    for run in [&a, &b] {
        run.success();
        let sum = run.summary();
        assert_eq!(sum["initial"], 40);
        assert_eq!(sum["remaining"], 0);
        assert_eq!(sum["oversold"], false);
        left.extend(
            run.events("bought")
                .map(|e| e["remaining"].as_u64().unwrap()),
        );
    }
    let sold = |r: &Run| r.summary()["sold"].as_u64().unwrap();
    assert_eq!(sold(&a) + sold(&b), 40);
    left.sort();
    assert_eq!(left, (0..40).collect::<Vec<_>>(), "a count was sold twice");
    assert_eq!(ticket_count(&data), 0);
    Ok(())
}

/// The buyers and `--tickets` change `ticket` and nothing else.
fn other_keys_kept() -> Result<(), Failed> {
    let dir = tempdir();
    let data = dir.path().join("data.json");
    fs::write(
        &data,
        r#"{"event": "concert", "ticket": 3, "seats": [1, {"row": "B"}], "price": 9.5}"#,
    )
    .unwrap();
    let run = procdemo(
        &["--json", "--time-scale", "0", "tickets", "--buyers", "2"]
            .iter()
            .copied()
            .chain(["--data", s(&data)])
            .collect::<Vec<_>>(),
    );
    run.success();
    assert_eq!(run.summary()["sold"], 2);
    assert_eq!(
        fs::read_to_string(&data).unwrap(),
        "{\"event\": \"concert\", \"ticket\": 1, \"seats\": [1, {\"row\": \"B\"}], \"price\": 9.5}\n"
    );

    let run = procdemo(&[
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
    ]);
    run.success();
    assert_eq!(
        fs::read_to_string(&data).unwrap(),
        "{\"event\": \"concert\", \"ticket\": 6, \"seats\": [1, {\"row\": \"B\"}], \"price\": 9.5}\n"
    );
    Ok(())
}

/// SIGKILL the buyer holding the lock: the kernel frees the lock, the others go on, the file
/// stays whole, and the count agrees with the sales.
fn lock_holder_killed() -> Result<(), Failed> {
    let dir = tempdir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 3}").unwrap();
    let mut running = Running::start(&[
        "--json",
        "--time-scale",
        "0.5",
        "tickets",
        "--buyers",
        "5",
        "--data",
        s(&data),
    ]);
    let holder = running
        .wait_for(|e| e["event"] == "lock_acquired")
        .expect("a buyer takes the lock");
    let victim = holder["pid"].as_i64().unwrap() as i32;
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    let run = running.finish();
    run.success();

    let killed: Vec<&Value> = run
        .events("exit")
        .filter(|e| e["child"] == victim)
        .collect();
    assert_eq!(killed.len(), 1);
    assert_eq!(killed[0]["signal"], "SIGKILL");
    assert!(killed[0].get("code").is_none());
    assert!(
        !run.events
            .iter()
            .any(|e| e["pid"] == victim && (e["event"] == "bought" || e["event"] == "sold_out")),
        "the victim was killed inside its sleep, before it decided"
    );

    let sum = run.summary();
    let (initial, sold, remaining) = (
        sum["initial"].as_u64().unwrap(),
        sum["sold"].as_u64().unwrap(),
        sum["remaining"].as_u64().unwrap(),
    );
    assert_eq!((initial, sold, remaining), (3, 3, 0), "{sum}");
    assert_eq!(sum["oversold"], false);
    assert_eq!(run.count("bought"), 3);
    assert_eq!(run.count("sold_out"), 1);
    assert_eq!(ticket_count(&data), initial - sold);
    assert_eq!(names_in(dir.path()), ["data.json", "data.json.lock"]);
    Ok(())
}

/// Without the lock, with the tutorial's timings, every buyer reads 1 and sells it.
fn no_lock_race() -> Result<(), Failed> {
    let dir = tempdir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 1}").unwrap();
    let run = procdemo(&["--json", "tickets", "--no-lock", "--data", s(&data)]);
    run.success(); // an oversell without the lock is the lesson, not a failure
    let sum = run.summary();
    assert_eq!(sum["lock"], false);
    assert_eq!(sum["oversold"], true);
    assert_eq!(sum["initial"], 1);
    assert_eq!(sum["sold"], 10);
    assert_eq!(sum["remaining"], 0);
    assert!(run.events("search").all(|e| e["remaining"] == 1));
    for kind in ["lock_wait", "lock_acquired", "lock_released"] {
        assert_eq!(run.count(kind), 0, "{kind}");
    }
    // Lost updates, but never a torn file.
    assert_eq!(fs::read_to_string(&data).unwrap(), "{\"ticket\": 0}\n");
    Ok(())
}

/// Every bad file: exit 1, one line naming the file and the problem, no buyer, same bytes.
fn bad_files() -> Result<(), Failed> {
    enum Setup {
        Missing,
        Bytes(Vec<u8>),
        Directory,
    }
    let big = {
        let mut b = b"{\"ticket\": 1}".to_vec();
        b.resize(200 * 1024, b' ');
        b
    };
    let cases: Vec<(&str, Setup, &str)> = vec![
        (
            "missing",
            Setup::Missing,
            "no such file; create it with `procdemo tickets --data",
        ),
        (
            "invalid JSON",
            Setup::Bytes(b"{\"ticket\": 1".to_vec()),
            "invalid JSON",
        ),
        ("empty", Setup::Bytes(Vec::new()), "empty file"),
        (
            "binary",
            Setup::Bytes(b"\x89PNG\r\n\x1a\n\xff\xfe".to_vec()),
            "not UTF-8",
        ),
        (
            "array",
            Setup::Bytes(b"[{\"ticket\": 1}]".to_vec()),
            "the top level must be an object",
        ),
        (
            "number",
            Setup::Bytes(b"1".to_vec()),
            "the top level must be an object",
        ),
        (
            "no ticket",
            Setup::Bytes(b"{\"tickets\": 1}".to_vec()),
            "\"ticket\" is missing",
        ),
        (
            "negative",
            Setup::Bytes(b"{\"ticket\": -1}".to_vec()),
            "must be a non-negative integer, found -1",
        ),
        (
            "fraction",
            Setup::Bytes(b"{\"ticket\": 1.5}".to_vec()),
            "must be a non-negative integer, found 1.5",
        ),
        (
            "float one",
            Setup::Bytes(b"{\"ticket\": 1.0}".to_vec()),
            "must be a non-negative integer, found 1.0",
        ),
        (
            "string",
            Setup::Bytes(b"{\"ticket\": \"5\"}".to_vec()),
            "must be a non-negative integer, found \"5\"",
        ),
        (
            "2^64",
            Setup::Bytes(b"{\"ticket\": 18446744073709551616}".to_vec()),
            "too large (must fit in 64 bits)",
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
        let dir = tempdir();
        let data = dir.path().join("my tickets.json");
        let before = match &setup {
            Setup::Missing => None,
            Setup::Bytes(b) => {
                fs::write(&data, b).unwrap();
                Some(b.clone())
            }
            Setup::Directory => {
                fs::create_dir(&data).unwrap();
                None
            }
        };
        let run = procdemo(&["--json", "tickets", "--buyers", "3", "--data", s(&data)]);
        assert_eq!(run.code, Some(1), "{what}: {}", run.stderr);
        let prefix = format!("procdemo: error: {}: ", data.display());
        assert!(
            run.stderr.starts_with(&prefix) && run.stderr.contains(expected),
            "{what}: {:?}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{what}: {:?}", run.stderr);
        assert_eq!(run.count("spawned"), 0, "{what}: a buyer was started");
        assert_eq!(run.count("summary"), 0, "{what}");
        if let Some(before) = before {
            assert_eq!(fs::read(&data).unwrap(), before, "{what}: bytes changed");
        }
        // Nothing was created beside it, not even the lock file.
        let expected_names: Vec<String> = match setup {
            Setup::Missing => vec![],
            _ => vec!["my tickets.json".into()],
        };
        assert_eq!(names_in(dir.path()), expected_names, "{what}");
    }
    Ok(())
}

/// `--buyers` and `--tickets` outside their ranges: clap's usage error, exit 2.
fn bad_counts() -> Result<(), Failed> {
    let dir = tempdir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 1}").unwrap();
    for (args, option) in [
        (&["--buyers", "0"][..], "--buyers"),
        (&["--buyers", "10001"], "--buyers"),
        (&["--buyers=-1"], "--buyers"),
        (&["--tickets", "1000001"], "--tickets"),
        (&["--tickets=-1"], "--tickets"),
        (&["--tickets", "1.5"], "--tickets"),
    ] {
        let mut all = vec!["--json", "tickets", "--data", s(&data)];
        all.extend(args);
        let run = procdemo(&all);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(option), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(fs::read(&data).unwrap(), b"{\"ticket\": 1}");
    for edge in [
        &["--buyers", "1", "--tickets", "0"][..],
        &["--tickets", "1000000", "--buyers", "1"],
    ] {
        let mut all = vec!["--json", "--time-scale", "0", "tickets", "--data", s(&data)];
        all.extend(edge);
        procdemo(&all).success();
    }
    Ok(())
}

/// `--tickets N` writes `{"ticket": N}` over a missing or invalid file (the user asked for a
/// reset), but refuses a directory.
fn reset_repairs() -> Result<(), Failed> {
    let dir = tempdir();
    let data = dir.path().join("data.json");
    for broken in [&b""[..], b"{\"ticket\": -4", b"\xff\x00", b"[]"] {
        fs::write(&data, broken).unwrap();
        let run = procdemo(&[
            "--json",
            "--time-scale",
            "0",
            "tickets",
            "--buyers",
            "1",
            "--tickets",
            "2",
            "--data",
            s(&data),
        ]);
        run.success();
        assert_eq!(run.summary()["initial"], 2);
        assert_eq!(fs::read_to_string(&data).unwrap(), "{\"ticket\": 1}\n");
    }
    fs::remove_file(&data).unwrap();
    let run = procdemo(&[
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "1",
        "--tickets",
        "0",
        "--data",
        s(&data),
    ]);
    run.success();
    assert_eq!(run.count("sold_out"), 1);
    assert_eq!(fs::read_to_string(&data).unwrap(), "{\"ticket\": 0}\n");

    let sub = dir.path().join("sub.json");
    fs::create_dir(&sub).unwrap();
    let run = procdemo(&["--json", "tickets", "--tickets", "1", "--data", s(&sub)]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("is a directory"), "{}", run.stderr);
    assert_eq!(run.count("spawned"), 0);
    assert!(sub.is_dir());
    Ok(())
}

/// The README's command run twice: the second run finds the file at 0 and says how to reset.
fn second_run_in_a_row() -> Result<(), Failed> {
    let dir = tempdir();
    fs::write(dir.path().join("data.json"), "{\"ticket\": 1}").unwrap();
    let human = |dir: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_procdemo"))
            .args([
                "--color",
                "never",
                "--time-scale",
                "0",
                "tickets",
                "--buyers",
                "2",
            ])
            .current_dir(dir)
            .env_remove("LANG")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let first = human(dir.path());
    assert!(first.contains("bought a ticket"), "{first}");
    assert!(!first.contains("0 tickets left"), "{first}");
    let second = human(dir.path());
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

    let run = procdemo_in(dir.path(), &["--json", "--time-scale", "0", "tickets"]);
    run.success();
    assert_eq!(run.count("already_sold_out"), 1);
    assert_eq!(run.summary()["sold"], 0);
    Ok(())
}

/// Holding `data.json.lock` from outside (as `flock data.json.lock -c ...` would) makes every
/// buyer wait; what the holder writes meanwhile is what they find.
fn outside_lock_holder() -> Result<(), Failed> {
    let dir = tempdir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 5}").unwrap();
    let lock = fs::File::create(dir.path().join("data.json.lock")).unwrap();
    fs2::FileExt::lock_exclusive(&lock).unwrap();

    let mut running = Running::start(&[
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "3",
        "--data",
        s(&data),
    ]);
    for _ in 0..3 {
        running.wait_for(|e| e["event"] == "lock_wait").unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(!running.seen.iter().any(|e| e["event"] == "lock_acquired"));
    fs::write(&data, "{\"ticket\": 2}").unwrap(); // we hold the lock: this is our update
    drop(lock);

    let run = running.finish();
    run.success();
    let sum = run.summary();
    assert_eq!(
        (&sum["initial"], &sum["sold"], &sum["remaining"]),
        (&5.into(), &2.into(), &0.into())
    );
    assert_eq!(sum["oversold"], false);
    assert_eq!(run.count("sold_out"), 1);
    Ok(())
}

/// Someone breaks the file while the buyers wait for the lock: each buyer fails with one line
/// naming the file, nobody is left behind, and the file is not "repaired" behind their back.
fn broken_mid_run() -> Result<(), Failed> {
    let dir = tempdir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 5}").unwrap();
    let lock = fs::File::create(dir.path().join("data.json.lock")).unwrap();
    fs2::FileExt::lock_exclusive(&lock).unwrap();
    let mut running = Running::start(&[
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "3",
        "--data",
        s(&data),
    ]);
    for _ in 0..3 {
        running.wait_for(|e| e["event"] == "lock_wait").unwrap();
    }
    fs::write(&data, "{\"ticket\": oops}").unwrap();
    drop(lock);
    let run = running.finish();
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let mut codes: Vec<_> = run.events("exit").map(|e| e["code"].clone()).collect();
    codes.dedup();
    assert_eq!(codes, [Value::from(1)]);
    let buyer_lines = run
        .stderr
        .lines()
        .filter(|l| {
            l.starts_with("procdemo: error: buyer-") && l.contains("data.json: invalid JSON")
        })
        .count();
    assert_eq!(buyer_lines, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .lines()
            .last()
            .unwrap()
            .contains("data.json: invalid JSON"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read(&data).unwrap(), b"{\"ticket\": oops}");
    Ok(())
}

/// A writer killed between creating its temporary file and renaming it leaves the file; the
/// next one to hold the lock removes it.
fn stale_temps() -> Result<(), Failed> {
    let dir = tempdir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 1}").unwrap();
    fs::write(dir.path().join(".data.json.tmp.4000000"), "{\"tick").unwrap();
    fs::write(dir.path().join(".data.json.tmp.keep"), "not ours").unwrap();
    let run = procdemo(&[
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "2",
        "--data",
        s(&data),
    ]);
    run.success();
    let cleaned: u64 = run
        .events("temps_cleaned")
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert_eq!(cleaned, 1);
    assert_eq!(
        names_in(dir.path()),
        [".data.json.tmp.keep", "data.json", "data.json.lock"]
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Helpers: running procdemo and reading its events.

/// The longest any single run may take before the test gives up and kills it.
const TIMEOUT: Duration = Duration::from_secs(30);

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn ticket_count(data: &Path) -> u64 {
    let v: Value = serde_json::from_slice(&fs::read(data).unwrap()).expect("valid JSON");
    v["ticket"].as_u64().expect("a whole number")
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

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    events: Vec<Value>,
}

impl Run {
    fn success(&self) {
        assert_eq!(self.code, Some(0), "stderr: {}", self.stderr);
        assert!(self.stderr.is_empty(), "stderr: {}", self.stderr);
    }

    fn events<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.events.iter().filter(move |e| e["event"] == kind)
    }

    fn count(&self, kind: &str) -> usize {
        self.events(kind).count()
    }

    fn summary(&self) -> &Value {
        let last = self.events.last().expect("some events");
        assert_eq!(last["event"], "summary", "the summary comes last");
        last
    }
}

fn procdemo(args: &[&str]) -> Run {
    Running::start(args).finish()
}

fn procdemo_in(dir: &Path, args: &[&str]) -> Run {
    Running::start_in(Some(dir), args).finish()
}

/// A procdemo run in progress, whose events are read as they come.
struct Running {
    child: Child,
    lines: Option<std::io::Lines<BufReader<std::process::ChildStdout>>>,
    stderr: std::thread::JoinHandle<String>,
    seen: Vec<Value>,
    raw: String,
    started: Instant,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        Running::start_in(None, args)
    }

    fn start_in(dir: Option<&Path>, args: &[&str]) -> Running {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_procdemo"));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().expect("procdemo starts");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let pid = child.id() as i32;
        // A hung run is killed, so that a failing test still ends.
        let started = Instant::now();
        std::thread::spawn(move || {
            std::thread::sleep(TIMEOUT);
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        });
        Running {
            child,
            lines: Some(lines),
            stderr,
            seen: Vec::new(),
            raw: String::new(),
            started,
        }
    }

    fn next_event(&mut self) -> Option<Value> {
        let line = self.lines.as_mut()?.next()?.expect("stdout is UTF-8");
        self.raw.push_str(&line);
        self.raw.push('\n');
        let event: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a whole JSON line ({e}): {line:?}"));
        self.seen.push(event.clone());
        Some(event)
    }

    /// Read events until one matches; `None` if stdout ends first.
    fn wait_for(&mut self, mut want: impl FnMut(&Value) -> bool) -> Option<Value> {
        while let Some(event) = self.next_event() {
            if want(&event) {
                return Some(event);
            }
        }
        None
    }

    fn finish(mut self) -> Run {
        while self.next_event().is_some() {}
        let status = self.child.wait().unwrap();
        assert!(
            self.started.elapsed() < TIMEOUT,
            "procdemo took longer than {TIMEOUT:?}"
        );
        let run = Run {
            code: status.code(),
            stdout: std::mem::take(&mut self.raw),
            stderr: self.stderr.join().unwrap(),
            events: std::mem::take(&mut self.seen),
        };
        assert_nothing_left_behind(&run.events);
        run
    }
}

/// Every child the run started is gone: not running, not a zombie.
fn assert_nothing_left_behind(events: &[Value]) {
    for spawned in events.iter().filter(|e| e["event"] == "spawned") {
        let pid = spawned["child"].as_i64().unwrap();
        let cmdline = fs::read(PathBuf::from(format!("/proc/{pid}/cmdline"))).unwrap_or_default();
        let ours = cmdline.windows(7).any(|w| w == b"--child");
        assert!(
            !ours,
            "{} (pid {pid}) outlived procdemo",
            spawned["child_name"]
        );
        assert!(
            !fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| stat.contains("(procdemo) Z")),
            "{} (pid {pid}) was left a zombie",
            spawned["child_name"]
        );
    }
}
