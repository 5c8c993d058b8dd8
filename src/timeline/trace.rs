//! `--trace FILE`: the run as a Chrome trace-event file, which ui.perfetto.dev and
//! chrome://tracing open.
//!
//! The same record the `--timeline` chart is drawn from, in the trace-event format (the
//! "Trace Event Format" document of the Chromium project): one track per process, named after
//! it (`process_name` metadata, `pid` = the real pid); a complete slice (`"ph": "X"`) for each
//! process's life and, nested in it, one for each marked stretch (waiting for the lock,
//! holding it, waiting on a queue, a zombie); an instant (`"ph": "i"`) for each event, its
//! fields as `args`; and a flow arrow from the main's `spawned` to the child's first event.
//! Timestamps are microseconds on the run's clock. A teacher can open a 1000-buyer run and zoom
//! in on one handover of the lock.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use super::record::Record;
use super::rows::{rows, Ending};
use crate::event::{Mark, Span};

/// The fields every event line has; an instant's `args` carry the rest.
const COMMON: [&str; 5] = ["t_ms", "pid", "ppid", "name", "event"];

fn us(t_ms: f64) -> f64 {
    (t_ms * 1000.0).round()
}

fn span_name(span: Span) -> &'static str {
    match span {
        Span::LockWait => "waiting for the lock",
        Span::LockHold => "holding the lock",
        Span::Unlocked => "read to write, unlocked",
        Span::QueueWait => "waiting on the queue",
        Span::Zombie => "zombie",
        Span::Joining => "waiting for a child (join)",
    }
}

/// The trace of a finished run: `{"traceEvents": [...], "displayTimeUnit": "ms"}`.
pub fn trace(records: &[Record], lesson: &str) -> Value {
    let mut events: Vec<Value> = Vec::new();
    for (i, row) in rows(records).iter().enumerate() {
        let (pid, tid) = (row.pid, row.pid);
        events.push(
            json!({"name": "process_name", "ph": "M", "pid": pid, "tid": tid,
                           "ts": 0, "args": {"name": row.name}}),
        );
        events.push(
            json!({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": tid,
                           "ts": 0, "args": {"sort_index": i}}),
        );
        let how = match &row.ending {
            Ending::Main { stopped: Some(s) } => s.as_str().to_owned(),
            Ending::Main { stopped: None } => "done".to_owned(),
            Ending::Ended(e) => e.to_string(),
            Ending::Unknown => "not reaped".to_owned(),
        };
        let (start, end) = (us(row.start), us(row.end).max(us(row.start)));
        events.push(
            json!({"name": row.name, "cat": lesson, "ph": "X", "pid": pid, "tid": tid,
                           "ts": start, "dur": end - start, "args": {"ended": how}}),
        );
        // Stretches nest in the life slice: clamp each into it.
        for &(from, to, kind) in &row.spans {
            let from = us(from).clamp(start, end);
            let to = us(to).clamp(from, end);
            events.push(json!({"name": span_name(kind), "cat": "stretch", "ph": "X",
                               "pid": pid, "tid": tid, "ts": from, "dur": to - from}));
        }
    }
    // One instant per event, and a flow from each `spawned` to the child's first line.
    let mut flow = 0u64;
    for r in records {
        if let Some(event) = &r.event {
            let name = event.get("event").and_then(Value::as_str).unwrap_or("?");
            let args: Map<String, Value> = event
                .iter()
                .filter(|(k, _)| !COMMON.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            events.push(json!({"name": name, "cat": "event", "ph": "i", "s": "t",
                               "pid": r.pid, "tid": r.pid, "ts": us(r.t_ms), "args": args}));
        }
        if let Some(Mark::Spawned { child }) = r.mark {
            let first = records
                .iter()
                .filter(|c| c.pid == child)
                .map(|c| c.t_ms)
                .fold(f64::INFINITY, f64::min);
            if first.is_finite() {
                flow += 1;
                events.push(
                    json!({"name": "start", "cat": "spawn", "ph": "s", "id": flow,
                                   "pid": r.pid, "tid": r.pid, "ts": us(r.t_ms)}),
                );
                events.push(
                    json!({"name": "start", "cat": "spawn", "ph": "f", "bp": "e",
                                   "id": flow, "pid": child, "tid": child,
                                   "ts": us(first.max(r.t_ms))}),
                );
            }
        }
    }
    json!({"traceEvents": events, "displayTimeUnit": "ms"})
}

/// Write the trace to `path` atomically: a temporary file beside it, then rename(2), so that a
/// reader (or a browser tab reloading it) never sees half a file.
pub fn write(path: &Path, records: &[Record], lesson: &str) -> Result<()> {
    let bytes = serde_json::to_vec(&trace(records, lesson)).context("serialising the trace")?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile_in(dir, path)?;
    let result = tmp
        .1
        .write_all(&bytes)
        .and_then(|()| tmp.1.sync_all())
        .and_then(|()| std::fs::rename(&tmp.0, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp.0);
    }
    result.with_context(|| format!("{}: writing the trace", path.display()))
}

/// A new file beside `path`, named after it and this process: `.NAME.trace-tmp.PID`.
fn tempfile_in(dir: &Path, path: &Path) -> Result<(std::path::PathBuf, std::fs::File)> {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or(path.as_os_str()));
    name.push(format!(".trace-tmp.{}", std::process::id()));
    let tmp = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .with_context(|| format!("{}: writing the trace", path.display()))?;
    Ok((tmp, file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Ended;

    fn rec(t: f64, pid: i32, name: &str, mark: Option<Mark>, event: Option<&str>) -> Record {
        Record {
            t_ms: t,
            pid,
            name: name.into(),
            mark,
            event: event.map(|e| {
                let mut m = Map::new();
                m.insert("t_ms".into(), t.into());
                m.insert("event".into(), e.into());
                m.insert("remaining".into(), 3.into());
                m
            }),
        }
    }

    #[test]
    fn slices_nest_and_every_process_has_a_named_track() {
        let v = vec![
            rec(0.0, 1, "main", None, Some("start")),
            rec(
                1.0,
                1,
                "main",
                Some(Mark::Spawned { child: 2 }),
                Some("spawned"),
            ),
            rec(2.0, 2, "buyer-0", None, Some("start")),
            rec(
                3.0,
                2,
                "buyer-0",
                Some(Mark::Begin(Span::LockWait)),
                Some("lock_wait"),
            ),
            rec(
                4.0,
                2,
                "buyer-0",
                Some(Mark::Begin(Span::LockHold)),
                Some("lock_acquired"),
            ),
            // Killed while holding the lock: the hold lasts until the end of its life.
            rec(9.0, 1, "main", Some(Mark::Exited { child: 2 }), None),
            rec(
                10.0,
                1,
                "main",
                Some(Mark::Reaped {
                    child: 2,
                    ended: Ended::Code(0),
                }),
                Some("exit"),
            ),
        ];
        let t = trace(&v, "tickets");
        let events = t["traceEvents"].as_array().unwrap();
        for e in events {
            for k in ["ph", "ts", "pid", "tid"] {
                assert!(e.get(k).is_some(), "{k} missing in {e}");
            }
        }
        let names: Vec<&str> = events
            .iter()
            .filter(|e| e["name"] == "process_name")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["main", "buyer-0"]);
        let slices: Vec<&Value> = events
            .iter()
            .filter(|e| e["ph"] == "X" && e["pid"] == 2)
            .collect();
        let life = slices[0];
        let (a, b) = (
            life["ts"].as_f64().unwrap(),
            life["ts"].as_f64().unwrap() + life["dur"].as_f64().unwrap(),
        );
        for s in &slices[1..] {
            let (x, y) = (
                s["ts"].as_f64().unwrap(),
                s["ts"].as_f64().unwrap() + s["dur"].as_f64().unwrap(),
            );
            assert!(a <= x && y <= b, "{s} outside the life {life}");
        }
        let instant = events
            .iter()
            .find(|e| e["ph"] == "i" && e["name"] == "lock_wait")
            .unwrap();
        assert_eq!(instant["args"]["remaining"], 3);
        assert!(instant["args"].get("t_ms").is_none());
        assert_eq!(events.iter().filter(|e| e["ph"] == "s").count(), 1);
    }

    #[test]
    fn the_file_appears_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        write(&path, &[rec(0.0, 1, "main", None, Some("start"))], "spawn").unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(v["traceEvents"].is_array());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
