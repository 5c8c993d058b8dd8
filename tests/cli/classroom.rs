//! In front of a class: the Perfetto trace, Chinese everywhere, output that fits a terminal,
//! and explanations that follow the options given.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::harness::{self, procdemo};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        trace_of_a_thousand_buyers_is_a_valid_nested_trace,
        tour_fits_an_80_column_terminal,
        daemon_at_time_scale_zero_keeps_its_order_without_a_flood,
        errors_and_help_speak_chinese,
    ]
}

/// The structural checks a trace viewer relies on.
fn check_trace(trace: &Value, events: &[Value]) {
    let list = trace["traceEvents"].as_array().expect("traceEvents");
    for e in list {
        for k in ["ph", "ts", "pid", "tid"] {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
    }
    // Every process of the run (every pid that wrote an event) has a named track.
    let named: HashMap<i64, &str> = list
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .map(|e| {
            (
                e["pid"].as_i64().unwrap(),
                e["args"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    let pids: HashSet<i64> = events.iter().map(|e| e["pid"].as_i64().unwrap()).collect();
    for e in events {
        let pid = e["pid"].as_i64().unwrap();
        assert_eq!(
            named.get(&pid).copied(),
            e["name"].as_str(),
            "track of {pid}"
        );
    }
    // On each track, complete slices nest: sorted by start (longest first), each one lies
    // within every open one it starts in.
    for pid in &pids {
        let mut slices: Vec<(f64, f64)> = list
            .iter()
            .filter(|e| e["ph"] == "X" && e["pid"].as_i64() == Some(*pid))
            .map(|e| {
                let ts = e["ts"].as_f64().unwrap();
                (ts, ts + e["dur"].as_f64().unwrap())
            })
            .collect();
        assert!(!slices.is_empty(), "no life slice for {pid}");
        slices.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        let mut open: Vec<(f64, f64)> = Vec::new();
        for s in slices {
            while open.last().is_some_and(|o| o.1 <= s.0 && o.1 < s.1) {
                open.pop();
            }
            if let Some(o) = open.last() {
                assert!(s.1 <= o.1, "slice {s:?} overlaps {o:?} on {pid}");
            }
            open.push(s);
        }
    }
    // One instant per event line.
    let instants = list.iter().filter(|e| e["ph"] == "i").count();
    assert_eq!(instants, events.len());
}

fn trace_of_a_thousand_buyers_is_a_valid_nested_trace() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let trace = dir.path().join("run.trace.json");
    let out = procdemo([
        "--json",
        "--time-scale",
        "0",
        "--trace",
        trace.to_str().unwrap(),
        "tickets",
        "--buyers",
        "1000",
        "--tickets",
        "10",
        "--data",
        data.to_str().unwrap(),
    ])
    .timeout(std::time::Duration::from_secs(120))
    .run();
    out.expect_code(0);
    let bytes = std::fs::read(&trace).unwrap();
    assert!(bytes.len() < 5 << 20, "{} bytes", bytes.len());
    let v: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    check_trace(&v, &out.events());
    // Nothing else was left in the directory: the trace was renamed into place.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("trace-tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // The lock's holds are there, one per buyer that got the lock.
    let holds = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "holding the lock")
        .count();
    assert_eq!(holds, 1000);
}

/// On a real terminal of 80 columns (a pseudo-terminal from script(1)), no line of the tour,
/// in either language, is wider than the terminal: event lines wrap with a hanging indent,
/// paragraphs and charts are made to fit.
fn tour_fits_an_80_column_terminal() {
    for lang in ["en", "zh"] {
        let out = harness::shell(&format!(
            r#"script -qec 'stty cols 80 rows 40; "$PROCDEMO" --lang {lang} --time-scale 0 tour --all --timeline' /dev/null"#
        ))
        .run();
        out.expect_code(0);
        let text = out.stdout.replace('\r', "");
        assert!(text.contains("tickets"), "{text}");
        let wide: Vec<&str> = text.lines().filter(|l| columns(l) > 80).collect();
        assert!(
            wide.is_empty(),
            "{lang}: lines wider than 80 columns: {wide:#?}"
        );
        // Wrapped, not cut: a continuation line is indented under the message column.
        assert!(
            text.lines().any(|l| l.starts_with(&" ".repeat(30))),
            "{text}"
        );
    }
}

/// Terminal columns of a line: East Asian wide characters take two.
fn columns(line: &str) -> usize {
    line.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

/// `--time-scale 0 daemon`: the child's first `alive` comes before the main's first line, as
/// at the tutorial's pace, and then the child waits asleep instead of printing thousands of
/// lines until the main ends it.
fn daemon_at_time_scale_zero_keeps_its_order_without_a_flood() {
    for _ in 0..5 {
        let out = procdemo(["--json", "--time-scale", "0", "daemon"]).run();
        out.expect_code(0);
        let kinds: Vec<String> = out
            .events()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect();
        let at = |k: &str| kinds.iter().position(|e| e == k).unwrap_or(usize::MAX);
        assert_eq!(out.events_of("alive").len(), 1, "{}", out.stdout);
        assert!(at("alive") < at("tick"), "{}", out.stdout);
        assert_eq!(out.events_of("tick").len(), 10);
        assert!(at("tick") < at("terminating"), "{}", out.stdout);
        assert_eq!(out.summary()["child_terminated_by"], "SIGTERM");
    }
}

/// With `--lang zh` (or a zh locale), help, usage errors and runtime errors are Chinese.
fn errors_and_help_speak_chinese() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    std::fs::write(&data, "{\"ticket\": \"5\"}").unwrap();
    let out = procdemo(["--lang", "zh", "tickets", "--data", data.to_str().unwrap()]).run();
    out.expect_code(1);
    let line = out.stderr.trim();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with("procdemo: 错误：") && line.contains("非负整数"),
        "{line}"
    );
    // The locale alone is enough, for usage errors too; `--lang` typed wins over it.
    let usage = procdemo(["join", "--count", "0"])
        .env("LANG", "zh_CN.UTF-8")
        .run();
    usage.expect_code(2);
    assert!(usage.stderr.contains("超出范围"), "{}", usage.stderr);
    let english = procdemo(["join", "--count", "0", "--lang", "en"])
        .env("LANG", "zh_CN.UTF-8")
        .run();
    assert!(
        english.stderr.contains("out of range"),
        "{}",
        english.stderr
    );
    // A child that failed (strace makes its prctl(2) fail): the main's line in Chinese too.
    let failed = crate::harness::command(
        "strace",
        [
            "-f",
            "-o",
            "/dev/null",
            "-e",
            "trace=prctl",
            "-e",
            "inject=prctl:error=EPERM",
            crate::harness::procdemo_bin(),
            "--lang",
            "zh",
            "--time-scale",
            "0",
            "join",
            "--count",
            "2",
        ],
    )
    .run();
    failed.expect_code(1);
    let last = failed.stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("procdemo: 错误：") && last.contains("失败"),
        "{}",
        failed.stderr
    );
    // Help: clap's own words and procdemo's, in Chinese.
    let help = procdemo(["--lang", "zh", "zombie", "--help"]).run();
    help.expect_code(0);
    assert!(
        help.stdout.contains("用法：") && help.stdout.contains("僵尸"),
        "{}",
        help.stdout
    );
    assert!(!help.stdout.contains("Usage:") && !help.stdout.contains("Print help"));
}
