//! Many processes, one output: every line whole, and each one there exactly once.
//!
//! procdemo writes every line with a single write(2) (`sink::write_line`) and never keeps a
//! userspace buffer, so a line can neither tear (another process's bytes inside it) nor be
//! printed twice (a buffer copied into a forked child, then flushed by both). [`check_events`]
//! is the one check for both promises. To show that it can fail, the same check is run on the
//! output of a deliberately broken writer: this test binary re-executed with
//! [`BROKEN_WRITER`] as its first argument (as the reaper is), which writes procdemo's shapes
//! of output the ways procdemo must not. Its correct modes pass the same check, so the check
//! rejects the broken modes for what they do, not for what they print.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult, Pid};
use serde_json::{json, Value};

use crate::harness;

/// First argument that turns this test binary into the broken writer.
pub const BROKEN_WRITER: &str = "__procdemo_broken_writer";

// ---------------------------------------------------------------------------------------------
// The check.

/// What identifies a line, whatever the run's times and pids: `name event [child_name]`.
fn event_key(v: &Value) -> Option<String> {
    v["t_ms"].as_f64()?;
    v["pid"].as_i64()?;
    let mut key = format!("{} {}", v["name"].as_str()?, v["event"].as_str()?);
    if let Some(child) = v.get("child_name") {
        key = format!("{key} {}", child.as_str()?);
    }
    Some(key)
}

/// The start of a long line, for a message.
fn excerpt(line: &str) -> String {
    let cut: String = line.chars().take(300).collect();
    if cut.len() < line.len() {
        format!("{cut}… ({} bytes)", line.len())
    } else {
        cut
    }
}

/// The whole output of a run, as written: every line must be one whole JSON event ending in a
/// newline, and every `name event [child_name]` must occur exactly as often as `expected`
/// says, no more (a line printed twice), no less (a line lost or torn), nothing else.
pub fn check_events(
    bytes: &[u8],
    expected: &BTreeMap<String, usize>,
) -> Result<Vec<Value>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(format!(
            "the output ends inside a line: {}",
            excerpt(text.rsplit('\n').next().unwrap_or(""))
        ));
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut events = Vec::new();
    let mut torn = Vec::new();
    for (n, line) in text.split_terminator('\n').enumerate() {
        match serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|v| event_key(&v).map(|k| (k, v)))
        {
            Some((key, v)) => {
                *seen.entry(key).or_default() += 1;
                events.push(v);
            }
            None => torn.push(format!("line {}: {}", n + 1, excerpt(line))),
        }
    }
    let mut problems = Vec::new();
    if !torn.is_empty() {
        problems.push(format!(
            "{} line(s) not one whole event:\n{}",
            torn.len(),
            torn.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
        ));
    }
    for (key, &want) in expected {
        let got = seen.get(key).copied().unwrap_or(0);
        if got != want {
            problems.push(format!("{key}: {got} time(s), expected {want}"));
        }
    }
    for (key, &got) in &seen {
        if !expected.contains_key(key) {
            problems.push(format!("{key}: {got} time(s), not expected at all"));
        }
    }
    if problems.is_empty() {
        Ok(events)
    } else {
        Err(problems.join("\n"))
    }
}

fn expect(map: &mut BTreeMap<String, usize>, key: String) {
    *map.entry(key).or_default() += 1;
}

/// The lines of `procdemo --json join --count n`.
pub fn join_lines(n: usize) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in ["start", "main_done", "summary"] {
        expect(&mut m, format!("main {e}"));
    }
    for i in 1..=n {
        expect(&mut m, format!("main spawned Process-{i}"));
        expect(&mut m, format!("main exit Process-{i}"));
        expect(&mut m, format!("Process-{i} start"));
        expect(&mut m, format!("Process-{i} over"));
    }
    m
}

/// The lines of `procdemo --json spawn --count n` (either method).
pub fn spawn_lines(n: usize) -> BTreeMap<String, usize> {
    let mut m = join_lines(n);
    m.remove("main main_done");
    expect(&mut m, "main not_waiting".into());
    m
}

/// The lines of `procdemo --json isolate` (either method).
pub fn isolate_lines() -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in [
        "main start",
        "main spawned Process-1",
        "main exit Process-1",
        "main money_read",
        "main pipe_received",
        "main summary",
        "Process-1 start",
        "Process-1 money_set",
        "Process-1 pipe_sent",
    ] {
        expect(&mut m, e.into());
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Capturing a run's output byte for byte.

/// Where a run's stdout goes: straight into a regular file (all processes share one file
/// offset), or into a pipe (`| cat`), whose reader copies it to a file.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    File,
    Pipe,
}

/// Run `command` (a shell command line: `"$PROCDEMO" ...` or `"$WRITER" ...`) under the reaper
/// with its stdout sent to `target`, and return exactly the bytes written there.
pub fn capture(command: &str, target: Target) -> Vec<u8> {
    let dir = harness::temp_dir();
    let file = dir.path().join("out");
    let redirect = match target {
        Target::File => format!("> '{}'", file.display()),
        Target::Pipe => format!("| cat > '{}'", file.display()),
    };
    let exe = std::env::current_exe().expect("test binary");
    let out = harness::shell(&format!("{command} {redirect}"))
        .env("WRITER", exe.to_str().expect("a UTF-8 path"))
        .run();
    out.expect_code(0);
    assert!(out.stderr.is_empty(), "{command}: {}", out.stderr);
    read_all(&file)
}

fn read_all(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
}

// ---------------------------------------------------------------------------------------------
// The broken writer: runs in its own process, single-threaded, so it may fork.

/// One line of procdemo's JSON, from this process.
fn line(name: &str, event: &str, extra: Value) -> Vec<u8> {
    let mut v = json!({
        "t_ms": 0.0,
        "pid": std::process::id(),
        "ppid": nix::unistd::getppid().as_raw(),
        "name": name,
        "event": event,
    });
    if let (Some(m), Value::Object(extra)) = (v.as_object_mut(), extra) {
        m.extend(extra);
    }
    let mut bytes = v.to_string().into_bytes();
    bytes.push(b'\n');
    bytes
}

fn write_all(fd: impl AsFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match nix::unistd::write(fd.as_fd(), bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(nix::errno::Errno::EINTR) => {}
            // Nobody reads any more (`| head`): end as SIGPIPE would have ended us.
            Err(nix::errno::Errno::EPIPE) => std::process::exit(141),
            Err(e) => panic!("broken writer: write: {e}"),
        }
    }
}

/// How a line reaches stdout.
#[derive(Clone, Copy, PartialEq)]
enum Lines {
    /// One write(2) per line: what procdemo does.
    Whole,
    /// Three write(2)s per line, a moment apart, as buffered or unbuffered stdio does with a
    /// long line (Rust's `println!` writes a line over 1 KiB and its newline apart;
    /// `eprintln!` writes every piece of its format string apart).
    Split,
}

fn put(lines: Lines, bytes: &[u8]) {
    let stdout = std::io::stdout();
    match lines {
        Lines::Whole => write_all(&stdout, bytes),
        Lines::Split => {
            let half = bytes.len() / 2;
            let pieces = [&bytes[..half], &bytes[half..bytes.len() - 1], b"\n"];
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                write_all(&stdout, piece);
            }
        }
    }
}

/// The lines of `join --count n`, from n forked children that all write at once.
fn imitate_join(n: usize, lines: Lines) {
    put(lines, &line("main", "start", json!({"scenario": "join"})));
    // Every child waits until the main has started them all, then they write together.
    let (gate_r, gate_w): (OwnedFd, OwnedFd) = nix::unistd::pipe().expect("pipe");
    let mut children = Vec::new();
    for i in 1..=n {
        let name = format!("Process-{i}");
        // SAFETY: this process is single-threaded (the broken writer runs before any test
        // thread exists), so the child may do anything the parent could.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                drop(gate_w);
                let mut buf = [0u8; 1];
                while !matches!(nix::unistd::read(&gate_r, &mut buf), Ok(0)) {}
                put(lines, &line(&name, "start", json!({"scenario": "join"})));
                put(lines, &line(&name, "over", json!({})));
                // SAFETY: _exit(2) ends the child at once, flushing nothing.
                unsafe { nix::libc::_exit(0) };
            }
            ForkResult::Parent { child } => {
                put(
                    lines,
                    &line(
                        "main",
                        "spawned",
                        json!({"child": child.as_raw(), "child_name": name}),
                    ),
                );
                children.push((child, name));
            }
        }
    }
    drop(gate_w);
    for (child, name) in children {
        waitpid(child, None).expect("waitpid");
        put(
            lines,
            &line(
                "main",
                "exit",
                json!({"child": child.as_raw(), "child_name": name, "code": 0}),
            ),
        );
    }
    put(lines, &line("main", "main_done", json!({})));
    put(lines, &line("main", "summary", json!({"scenario": "join"})));
}

/// The lines of `spawn --count n --method fork`, kept in a userspace buffer (as C stdio keeps
/// them when stdout is a file or a pipe) and written when the buffer is flushed. With
/// `flush_before_fork` this is correct; without it, each child gets a copy of what the main
/// had not written yet, and both write it.
fn imitate_spawn_fork(n: usize, flush_before_fork: bool) {
    let mut buffer: Vec<u8> = Vec::new();
    let flush = |buffer: &mut Vec<u8>| {
        write_all(std::io::stdout(), buffer);
        buffer.clear();
    };
    buffer.extend(line("main", "start", json!({"scenario": "spawn"})));
    let mut children: Vec<(Pid, String)> = Vec::new();
    for i in 1..=n {
        let name = format!("Process-{i}");
        if flush_before_fork {
            flush(&mut buffer);
        }
        // SAFETY: single-threaded, as above.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                buffer.extend(line(&name, "start", json!({"scenario": "spawn"})));
                buffer.extend(line(&name, "over", json!({})));
                // exit(3) flushes stdio buffers; so does this child.
                flush(&mut buffer);
                // SAFETY: _exit(2) ends the child at once.
                unsafe { nix::libc::_exit(0) };
            }
            ForkResult::Parent { child } => {
                buffer.extend(line(
                    "main",
                    "spawned",
                    json!({"child": child.as_raw(), "child_name": name}),
                ));
                children.push((child, name));
            }
        }
    }
    buffer.extend(line("main", "not_waiting", json!({"children": n})));
    for (child, name) in children {
        waitpid(child, None).expect("waitpid");
        buffer.extend(line(
            "main",
            "exit",
            json!({"child": child.as_raw(), "child_name": name, "code": 0}),
        ));
    }
    buffer.extend(line("main", "summary", json!({"scenario": "spawn"})));
    flush(&mut buffer);
}

/// `BROKEN_WRITER MODE N`, MODE one of `join-whole`, `join-split`, `fork-flushed`,
/// `fork-buffered`.
pub fn broken_writer_main(args: &[String]) -> ! {
    let [mode, n] = args else {
        eprintln!("usage: {BROKEN_WRITER} MODE N");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("a count");
    match mode.as_str() {
        "join-whole" => imitate_join(n, Lines::Whole),
        "join-split" => imitate_join(n, Lines::Split),
        "fork-flushed" => imitate_spawn_fork(n, true),
        "fork-buffered" => imitate_spawn_fork(n, false),
        other => {
            eprintln!("{BROKEN_WRITER}: unknown mode {other}");
            std::process::exit(2);
        }
    }
    std::process::exit(0)
}

// ---------------------------------------------------------------------------------------------
// The check fails on broken output.

/// `"$WRITER" BROKEN_WRITER MODE N`, for `capture`.
pub fn writer(mode: &str, n: usize) -> String {
    format!("\"$WRITER\" {BROKEN_WRITER} {mode} {n}")
}

pub fn tests() -> Vec<libtest_mimic::Trial> {
    crate::trials![
        the_line_check_rejects_torn_lines,
        the_line_check_rejects_lines_written_twice,
    ]
}

/// Many processes writing at once, each line in three write(2)s: some lines tear, and the
/// check says so; written whole, the same lines pass.
fn the_line_check_rejects_torn_lines() {
    const N: usize = 40;
    for target in [Target::File, Target::Pipe] {
        let whole = capture(&writer("join-whole", N), target);
        if let Err(e) = check_events(&whole, &join_lines(N)) {
            panic!("{target:?}: one write(2) per line must pass: {e}");
        }
        let split = capture(&writer("join-split", N), target);
        match check_events(&split, &join_lines(N)) {
            Ok(_) => panic!(
                "{target:?}: lines written in pieces passed the check:\n{}",
                String::from_utf8_lossy(&split)
            ),
            Err(e) => assert!(e.contains("not one whole event"), "{target:?}: {e}"),
        }
    }
}

/// A userspace buffer not flushed before fork(2): the child writes the main's pending lines
/// again, and the check says which; flushed before each fork, the same lines pass.
fn the_line_check_rejects_lines_written_twice() {
    const N: usize = 4;
    for target in [Target::File, Target::Pipe] {
        let flushed = capture(&writer("fork-flushed", N), target);
        if let Err(e) = check_events(&flushed, &spawn_lines(N)) {
            panic!("{target:?}: a buffer flushed before each fork must pass: {e}");
        }
        let doubled = capture(&writer("fork-buffered", N), target);
        match check_events(&doubled, &spawn_lines(N)) {
            Ok(_) => panic!(
                "{target:?}: lines written twice passed the check:\n{}",
                String::from_utf8_lossy(&doubled)
            ),
            // Every child flushed the main's start line too.
            Err(e) => assert!(
                e.contains(&format!("main start: {} time(s), expected 1", N + 1)),
                "{target:?}: {e}"
            ),
        }
    }
}
