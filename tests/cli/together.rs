//! `queue`, `pool` and `shared`: processes that work together through a kernel object.
//!
//! The invariants, checked from the events themselves as well as from the summary: every item
//! once and each producer's in order; results right and in task order; W pids for W workers;
//! an exact count with a lock or an atomic add, and never more than expected without one.
//! A race is never asserted to happen, only to be reported truthfully. Every path leaves
//! nothing behind: no process (the harness), no message queue, no `/dev/shm` entry.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use nix::errno::Errno;
use nix::mqueue::{mq_open, MQ_OFlag};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use serde_json::Value;

use crate::harness::{procdemo, shell, Outcome};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        queue_every_item_once_and_in_order,
        queue_waits_are_followed_by_their_put_or_get,
        queue_full_blocks_the_producer_and_sigkill_leaves_no_queue,
        queue_ctrl_c_and_closed_stdout_leave_nothing,
        queue_speaks_like_the_tutorial,
        pool_results_in_task_order_from_the_workers,
        pool_every_worker_takes_a_task_when_tasks_take_long,
        pool_without_a_pool_one_process_per_task_w_at_a_time,
        pool_timeline_shows_w_rows_against_t_rows,
        pool_killed_worker_ends_the_run_with_a_summary,
        shared_lock_and_atomic_are_exact,
        shared_without_the_lock_reports_what_happened,
        shared_one_page_many_addresses,
        shared_killed_worker_does_not_stop_the_others,
        sizes_out_of_range_are_usage_errors,
        nothing_left_in_dev_shm,
    ]
}

fn json(args: &[&str]) -> Outcome {
    let mut argv = vec!["--json"];
    argv.extend_from_slice(args);
    let out = procdemo(argv).run();
    out.expect_code(0).expect_no_panic();
    out
}

/// The queue a run created (from its `queue_open` event) no longer has a name.
fn assert_queue_gone(name: &str) {
    assert_eq!(
        mq_open(name, MQ_OFlag::O_RDONLY, Mode::empty(), None).map(drop),
        Err(Errno::ENOENT),
        "{name} still exists"
    );
}

fn str_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// `producer-3:17` -> (3, 17)
fn item(v: &Value) -> (u64, u64) {
    let s = v["item"].as_str().expect("item is a string");
    let (p, i) = s
        .strip_prefix("producer-")
        .and_then(|r| r.split_once(':'))
        .unwrap_or_else(|| panic!("bad item {s}"));
    (p.parse().unwrap(), i.parse().unwrap())
}

// ---------------------------------------------------------------------------------------------
// queue

fn check_queue(out: &Outcome, producers: u64, consumers: u64, items: u64, capacity: u64) {
    let s = out.summary();
    let main = out.main_pid();
    let total = producers * items;
    assert_eq!(
        (
            &s["producers"],
            &s["consumers"],
            &s["capacity"],
            &s["put"],
            &s["got"]
        ),
        (
            &Value::from(producers),
            &Value::from(consumers),
            &Value::from(capacity),
            &Value::from(total),
            &Value::from(total)
        ),
        "{s}"
    );
    assert_eq!(
        (&s["lost"], &s["duplicated"]),
        (&0.into(), &0.into()),
        "{s}"
    );
    assert_eq!(s["in_order"], true, "{s}");

    let events = out.events();
    // Every child is a direct child of main, named as the contract says.
    for v in events.iter().filter(|v| v["name"] != "main") {
        assert_eq!(v["ppid"], main, "{v}");
        let name = str_of(v, "name");
        let ok = name
            .strip_prefix("producer-")
            .map(|n| n.parse::<u64>().unwrap() < producers)
            .or_else(|| {
                name.strip_prefix("consumer-")
                    .map(|n| n.parse::<u64>().unwrap() < consumers)
            });
        assert_eq!(ok, Some(true), "{name}");
    }
    // Each producer put its own items, each once, in order.
    let mut puts: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for v in events.iter().filter(|v| v["event"] == "put") {
        puts.entry(str_of(v, "name")).or_default().push(item(v));
    }
    assert_eq!(puts.len() as u64, producers);
    for (name, list) in &puts {
        let p: u64 = name.strip_prefix("producer-").unwrap().parse().unwrap();
        let want: Vec<(u64, u64)> = (0..items).map(|i| (p, i)).collect();
        assert_eq!(list, &want, "{name}");
    }
    // Every item got exactly once; per consumer, each producer's items in increasing order.
    let mut got_count: HashMap<(u64, u64), u32> = HashMap::new();
    let mut last: HashMap<(String, u64), u64> = HashMap::new();
    for v in events.iter().filter(|v| v["event"] == "got") {
        let (p, i) = item(v);
        *got_count.entry((p, i)).or_default() += 1;
        if let Some(prev) = last.insert((str_of(v, "name"), p), i) {
            assert!(prev < i, "{v}: producer-{p}:{i} after :{prev}");
        }
    }
    assert_eq!(got_count.len() as u64, total);
    assert!(got_count.values().all(|&n| n == 1));
    // One end marker per consumer, and each consumer's last word is its queue_end.
    assert_eq!(out.events_of("end_marker").len() as u64, consumers);
    let ends = out.events_of("queue_end");
    let enders: BTreeSet<String> = ends.iter().map(|v| str_of(v, "name")).collect();
    assert_eq!(ends.len() as u64, consumers);
    assert_eq!(enders.len() as u64, consumers);
    for c in 0..consumers {
        let name = format!("consumer-{c}");
        let own: Vec<&Value> = events.iter().filter(|v| v["name"] == name).collect();
        assert_eq!(own.last().unwrap()["event"], "queue_end", "{name}");
    }
    assert_eq!(out.events_of("exit").len() as u64, producers + consumers);
    assert!(out.events_of("exit").iter().all(|e| e["code"] == 0));
    let open = &out.events_of("queue_open")[0];
    assert_eq!(open["capacity"], capacity);
    assert_queue_gone(open["queue"].as_str().unwrap());
}

fn queue_every_item_once_and_in_order() {
    let out = json(&["--time-scale", "0", "queue"]);
    check_queue(&out, 2, 2, 5, 3);
    for (p, c, n, k) in [(3, 2, 200, 1), (1, 4, 100, 10), (4, 1, 50, 2), (2, 3, 1, 1)] {
        let out = json(&[
            "--time-scale",
            "0",
            "queue",
            "--producers",
            &p.to_string(),
            "--consumers",
            &c.to_string(),
            "--items",
            &n.to_string(),
            "--capacity",
            &k.to_string(),
        ]);
        check_queue(&out, p, c, n, k);
    }
    // With the sleeps of the lesson (scaled), the same holds.
    let out = json(&["--time-scale", "0.02", "queue"]);
    check_queue(&out, 2, 2, 5, 3);
}

/// Each process's own lines are in the order it wrote them: a wait is always followed by the
/// put or the get that ended it.
fn queue_waits_are_followed_by_their_put_or_get() {
    let out = json(&[
        "--lang",
        "en",
        "--timeline",
        "--time-scale",
        "0.05",
        "queue",
        "--producers",
        "3",
        "--consumers",
        "2",
        "--items",
        "10",
        "--capacity",
        "1",
    ]);
    check_queue(&out, 3, 2, 10, 1);
    let events = out.events();
    // The main's reaping (`exit`) may come between its own wait and its put.
    let mut by_name: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for v in events.iter().filter(|v| v["event"] != "exit") {
        by_name.entry(str_of(v, "name")).or_default().push(v);
    }
    for (name, own) in &by_name {
        for pair in own.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            match a["event"].as_str().unwrap() {
                "queue_full" if name != "main" => {
                    assert_eq!(b["event"], "put", "{name}: {a} then {b}");
                    assert_eq!(a["item"], b["item"]);
                }
                "queue_full" => assert_eq!(b["event"], "end_marker", "{a} then {b}"),
                "queue_empty" => assert!(
                    b["event"] == "got" || b["event"] == "queue_end",
                    "{name}: {a} then {b}"
                ),
                _ => {}
            }
        }
    }
    // The chart: a row per process, and the waits drawn as waits whenever there were any.
    for name in by_name.keys() {
        assert!(
            out.stderr.lines().any(|l| l.starts_with(name.as_str())),
            "{name}: {}",
            out.stderr
        );
    }
    // The longest wait, from a process's wait event to its next line.
    let mut longest = 0.0f64;
    for own in by_name.values() {
        for pair in own.windows(2) {
            if pair[0]["event"] == "queue_full" || pair[0]["event"] == "queue_empty" {
                let waited = pair[1]["t_ms"].as_f64().unwrap() - pair[0]["t_ms"].as_f64().unwrap();
                longest = longest.max(waited);
            }
        }
    }
    // "timeline of queue: 0.25 s in all, one column = 4.5 ms"
    let column_ms: f64 = out
        .stderr
        .split("one column = ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the chart's title");
    let drawn = out.stderr.contains("┄ waiting on the queue");
    // Drawn only if some process waited; surely drawn if a wait spans a few columns.
    assert!(longest > 0.0 || !drawn, "{}", out.stderr);
    if longest > 3.0 * column_ms {
        assert!(drawn, "a wait of {longest} ms not drawn:\n{}", out.stderr);
    }
}

fn queue_full_blocks_the_producer_and_sigkill_leaves_no_queue() {
    // One slow consumer, stopped: the producer fills the queue of 2 and must wait.
    let mut live = procdemo([
        "--json",
        "--time-scale",
        "0.01",
        "queue",
        "--producers",
        "1",
        "--consumers",
        "1",
        "--items",
        "10000",
        "--capacity",
        "2",
    ])
    .grace(Duration::from_millis(1500))
    .spawn();
    let open = live.wait_for(Duration::from_secs(20), |v| v["event"] == "queue_open");
    let name = open["queue"].as_str().unwrap().to_string();
    // The name was removed at once: while the run goes on, there is nothing to open.
    assert_queue_gone(&name);
    let consumer = live.wait_for(Duration::from_secs(20), |v| {
        v["event"] == "start" && v["name"] == "consumer-0"
    });
    let consumer = Pid::from_raw(consumer["pid"].as_i64().unwrap() as i32);
    kill(consumer, Signal::SIGSTOP).unwrap();
    let full = live.wait_for(Duration::from_secs(30), |v| {
        v["event"] == "queue_full" && v["name"] == "producer-0"
    });
    // At most capacity + what the consumer took before it stopped were put before the wait.
    assert!(full["item"].is_string(), "{full}");
    live.signal_main(Signal::SIGKILL);
    let out = live.finish();
    assert_eq!(out.signal(), Some("SIGKILL"));
    assert_queue_gone(&name);
}

fn queue_ctrl_c_and_closed_stdout_leave_nothing() {
    let mut live = procdemo([
        "--json",
        "--time-scale",
        "0.01",
        "queue",
        "--items",
        "10000",
    ])
    .spawn();
    live.wait_for_n(3, Duration::from_secs(30), |v| v["event"] == "got");
    live.signal_group(Signal::SIGINT);
    let out = live.finish();
    out.expect_code(130).expect_no_panic();
    let open = &out.events_of("queue_open")[0];
    assert_queue_gone(open["queue"].as_str().unwrap());

    let out = shell(
        r#""$PROCDEMO" --json --time-scale 0 queue --items 10000 | head -1; echo "code=${PIPESTATUS[0]}" >&2"#,
    )
    .run();
    out.expect_code(0).expect_no_panic();
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("code=0") || out.stderr.contains("code=141"),
        "{}",
        out.stderr
    );
}

fn queue_speaks_like_the_tutorial() {
    let zh = procdemo(["--lang", "zh", "--time-scale", "0.01", "queue"]).run();
    zh.expect_code(0);
    assert_eq!(
        zh.stdout.matches("没有了，下班").count(),
        2,
        "{}",
        zh.stdout
    );
    assert_eq!(zh.stdout.matches("生产了producer-").count(), 10);
    let en = procdemo(["--lang", "en", "--time-scale", "0.01", "queue"]).run();
    en.expect_code(0);
    assert!(en.stdout.is_ascii(), "{}", en.stdout);
    assert_eq!(
        en.stdout
            .matches("got an end marker: nothing more, it stops")
            .count(),
        2
    );
    assert!(en
        .stdout
        .contains("every item exactly once, each producer's in order"));
}

// ---------------------------------------------------------------------------------------------
// pool

fn pids_of(out: &Outcome, event: &str) -> BTreeSet<i64> {
    out.events_of(event)
        .iter()
        .map(|v| v["pid"].as_i64().unwrap())
        .collect()
}

fn check_results(s: &Value, tasks: u64) {
    let results = s["results"].as_array().unwrap();
    assert_eq!(results.len() as u64, tasks);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.as_u64(), Some((i * i) as u64), "result {i}");
    }
}

fn pool_results_in_task_order_from_the_workers() {
    let out = json(&[
        "--time-scale",
        "0",
        "pool",
        "--workers",
        "4",
        "--tasks",
        "500",
    ]);
    let s = out.summary();
    assert_eq!(s["mode"], "pool");
    assert_eq!((&s["workers"], &s["tasks"]), (&4.into(), &500.into()));
    check_results(&s, 500);
    // Each task done once, by a worker, with the right result.
    let done = out.events_of("task_done");
    assert_eq!(done.len(), 500);
    let tasks: BTreeSet<u64> = done.iter().map(|v| v["task"].as_u64().unwrap()).collect();
    assert_eq!(tasks.len(), 500);
    for v in &done {
        let t = v["task"].as_u64().unwrap();
        assert_eq!(v["result"].as_u64(), Some(t * t));
        assert!(str_of(v, "name").starts_with("worker-"), "{v}");
    }
    // `pids` is the number of different processes that did tasks, all of them workers.
    let workers: BTreeSet<i64> = out
        .events_of("spawned")
        .iter()
        .map(|v| v["child"].as_i64().unwrap())
        .collect();
    assert_eq!(workers.len(), 4);
    let did = pids_of(&out, "task_done");
    assert!(did.is_subset(&workers));
    assert_eq!(s["pids"].as_u64(), Some(did.len() as u64));
    assert!(s["elapsed_ms"].as_f64().unwrap() > 0.0);
    // The default run: Pool(3).map(f, range(10)).
    let out = json(&["--time-scale", "0", "pool"]);
    let s = out.summary();
    check_results(&s, 10);
    assert!(s["pids"].as_u64().unwrap() <= 3);
}

/// When each task takes a second, each of the W workers has taken one before any is done:
/// then `pids` is W (the summary's claim is checked against the events).
fn pool_every_worker_takes_a_task_when_tasks_take_long() {
    let out = json(&[
        "--time-scale",
        "2",
        "pool",
        "--workers",
        "3",
        "--tasks",
        "3",
    ]);
    let s = out.summary();
    check_results(&s, 3);
    assert_eq!(s["pids"], 3, "{}", out.stdout);
    assert_eq!(pids_of(&out, "task_done").len(), 3);
}

fn pool_without_a_pool_one_process_per_task_w_at_a_time() {
    let out = json(&[
        "--time-scale",
        "0",
        "pool",
        "--no-pool",
        "--workers",
        "3",
        "--tasks",
        "40",
    ]);
    let s = out.summary();
    assert_eq!(s["mode"], "no-pool");
    check_results(&s, 40);
    assert_eq!(s["pids"], 40);
    // task-i did task i, and only it.
    let done = out.events_of("task_done");
    assert_eq!(done.len(), 40);
    for v in &done {
        assert_eq!(str_of(v, "name"), format!("task-{}", v["task"]));
    }
    // Never more than W task processes at once, from the main's own spawned/exit lines.
    let mut running = 0i32;
    for v in out.events().iter().filter(|v| v["name"] == "main") {
        match v["event"].as_str().unwrap() {
            "spawned" => running += 1,
            "exit" => running -= 1,
            _ => {}
        }
        assert!(running <= 3, "{running} at once");
    }
}

fn pool_timeline_shows_w_rows_against_t_rows() {
    let pool = procdemo(["--lang", "en", "--time-scale", "0.05", "--timeline", "pool"]).run();
    pool.expect_code(0);
    let rows =
        |out: &Outcome, prefix: &str| out.stderr.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(rows(&pool, "worker-"), 3, "{}", pool.stderr);
    assert_eq!(rows(&pool, "task-"), 0);
    let no_pool = procdemo([
        "--lang",
        "en",
        "--time-scale",
        "0.05",
        "--timeline",
        "pool",
        "--no-pool",
    ])
    .run();
    no_pool.expect_code(0);
    assert_eq!(rows(&no_pool, "task-"), 10, "{}", no_pool.stderr);
    assert_eq!(rows(&no_pool, "worker-"), 0);
}

fn pool_killed_worker_ends_the_run_with_a_summary() {
    let mut live = procdemo([
        "--json",
        "--time-scale",
        "0.05",
        "pool",
        "--workers",
        "2",
        "--tasks",
        "40",
    ])
    .spawn();
    let first = live.wait_for(Duration::from_secs(20), |v| {
        v["event"] == "task_done" && v["name"] == "worker-0"
    });
    kill(
        Pid::from_raw(first["pid"].as_i64().unwrap() as i32),
        Signal::SIGKILL,
    )
    .unwrap();
    let out = live.finish();
    out.expect_no_panic();
    let s = out.summary();
    let results = s["results"].as_array().unwrap();
    // Whatever came back is right and in its place; the rest is null, and the run says so.
    for (i, r) in results.iter().enumerate() {
        assert!(r.is_null() || r.as_u64() == Some((i * i) as u64), "{r}");
    }
    let missing = results.iter().filter(|r| r.is_null()).count();
    let killed = out
        .events_of("exit")
        .into_iter()
        .any(|e| e["child_name"] == "worker-0" && e["signal"] == "SIGKILL");
    assert!(killed, "{}", out.stdout);
    if missing > 0 {
        out.expect_code(1);
        assert!(out.stderr.contains("have no result"), "{}", out.stderr);
    } else {
        out.expect_code(0);
    }
}

// ---------------------------------------------------------------------------------------------
// shared

fn check_shared(s: &Value, workers: u64, adds: u64, mode: &str) -> (u64, u64) {
    assert_eq!(s["mode"], mode);
    assert_eq!((&s["workers"], &s["adds"]), (&workers.into(), &adds.into()));
    let expected = s["expected"].as_u64().unwrap();
    let fin = s["final"].as_u64().unwrap();
    assert_eq!(expected, workers * adds);
    assert!(fin <= expected, "{s}");
    assert_eq!(s["lost"].as_u64(), Some(expected - fin), "{s}");
    (expected, fin)
}

fn shared_lock_and_atomic_are_exact() {
    let out = json(&["shared"]);
    let (expected, fin) = check_shared(&out.summary(), 4, 100_000, "lock");
    assert_eq!(fin, expected);
    let added = out.events_of("added");
    assert_eq!(added.len(), 4);
    assert!(added.iter().all(|v| v["adds"] == 100_000));
    assert_eq!(out.events_of("go")[0]["workers"], 4);
    let out = json(&["shared", "--atomic", "--workers", "3", "--adds", "1000000"]);
    let (expected, fin) = check_shared(&out.summary(), 3, 1_000_000, "atomic");
    assert_eq!(fin, expected);
    let out = json(&["shared", "--workers", "1", "--adds", "1"]);
    let (expected, fin) = check_shared(&out.summary(), 1, 1, "lock");
    assert_eq!((expected, fin), (1, 1));
}

/// Never asserts that updates were lost: only that `final` and `lost` tell the truth.
fn shared_without_the_lock_reports_what_happened() {
    let mut lost_any = 0;
    for _ in 0..3 {
        let out = json(&["shared", "--no-lock"]);
        let (expected, fin) = check_shared(&out.summary(), 4, 100_000, "no-lock");
        lost_any += expected - fin;
        // Each worker still did all its adds; what was lost was overwritten.
        let added = out.events_of("added");
        assert_eq!(added.len(), 4);
        let human = procdemo(["--lang", "en", "shared", "--no-lock"]).run();
        human.expect_code(0);
        let last = human.stdout.lines().last().unwrap().to_string();
        assert!(last.contains("expected 400000, final "), "{last}");
    }
    eprintln!("shared --no-lock: {lost_any} updates lost in 3 runs");
}

fn shared_one_page_many_addresses() {
    let out = json(&["shared", "--workers", "3", "--adds", "10"]);
    let mapped = out.events_of("mapped");
    assert_eq!(mapped.len(), 4, "main and three workers");
    let inodes: BTreeSet<u64> = mapped
        .iter()
        .map(|v| v["inode"].as_u64().unwrap())
        .collect();
    assert_eq!(inodes.len(), 1, "one page: {mapped:?}");
    let pids: BTreeSet<i64> = mapped.iter().map(|v| v["pid"].as_i64().unwrap()).collect();
    assert_eq!(pids.len(), 4);
    let names: BTreeSet<String> = mapped.iter().map(|v| str_of(v, "name")).collect();
    assert_eq!(
        names,
        ["Process-1", "Process-2", "Process-3", "main"]
            .map(String::from)
            .into()
    );
    for v in &mapped {
        assert!(v["address"].as_str().unwrap().starts_with("0x"), "{v}");
        assert_eq!(v["value"], 0, "{v}");
    }
    // The workers mapped it before anyone added (the barrier), and the go came after.
    let go = &out.events_of("go")[0];
    assert_eq!(go["workers"], 3);
}

fn shared_killed_worker_does_not_stop_the_others() {
    let mut live = procdemo(["--json", "shared", "--workers", "2", "--adds", "20000000"]).spawn();
    live.wait_for(Duration::from_secs(20), |v| v["event"] == "go");
    let worker = live.wait_for(Duration::from_secs(20), |v| {
        v["event"] == "mapped" && v["name"] == "Process-1"
    });
    std::thread::sleep(Duration::from_millis(30));
    // Killed while adding, perhaps holding the lock: the other worker must still finish.
    let _ = kill(
        Pid::from_raw(worker["pid"].as_i64().unwrap() as i32),
        Signal::SIGKILL,
    );
    let out = live.finish();
    out.expect_no_panic();
    let s = out.summary();
    check_shared(&s, 2, 20_000_000, "lock");
    let added = out.events_of("added");
    assert!(
        added.iter().any(|v| v["name"] == "Process-2"),
        "{}",
        out.stdout
    );
    if added.len() == 1 {
        // Process-1 died before it was done: the run says so and still ends well.
        out.expect_code(0);
        let exit = out
            .events_of("exit")
            .into_iter()
            .find(|e| e["child_name"] == "Process-1")
            .unwrap();
        assert_eq!(exit["signal"], "SIGKILL");
    }
    for v in out.events_of("lock_recovered") {
        assert_eq!(v["name"], "Process-2");
    }
}

// ---------------------------------------------------------------------------------------------
// All three

fn sizes_out_of_range_are_usage_errors() {
    for args in [
        &["queue", "--capacity", "0"][..],
        &["queue", "--capacity", "11"],
        &["queue", "--items", "100001"],
        &["queue", "--producers", "0"],
        &["queue", "--consumers", "10001"],
        &["pool", "--workers", "0"],
        &["pool", "--tasks", "10001"],
        &["shared", "--adds", "0"],
        &["shared", "--adds", "100000001"],
        &["shared", "--workers", "10001"],
        &["shared", "--no-lock", "--atomic"],
    ] {
        let out = procdemo(args.to_vec()).run();
        out.expect_code(2).expect_no_panic();
        assert_eq!(out.stdout, "", "{args:?}");
    }
}

fn shm_entries() -> BTreeSet<String> {
    std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("procdemo"))
        .collect()
}

fn nothing_left_in_dev_shm() {
    let before = shm_entries();
    let mut pids = Vec::new();
    for args in [
        &["--time-scale", "0", "queue"][..],
        &["--time-scale", "0", "pool"],
        &["--time-scale", "0", "pool", "--no-pool"],
        &["shared"],
        &["shared", "--no-lock"],
        &["shared", "--atomic"],
    ] {
        pids.push(json(args).main_pid().to_string());
    }
    let after = shm_entries();
    let new: Vec<&String> = after.difference(&before).collect();
    assert!(new.is_empty(), "left in /dev/shm by {pids:?}: {new:?}");
}
