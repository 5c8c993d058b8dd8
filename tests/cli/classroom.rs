//! In front of a class: the Perfetto trace, Chinese everywhere, output that fits a terminal,
//! and explanations that follow the options given.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::harness::{self, procdemo};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![trace_of_a_thousand_buyers_is_a_valid_nested_trace,]
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
