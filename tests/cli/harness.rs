//! Run the real procdemo binary the way a user would, and prove it leaves nothing behind.
//!
//! Every run goes through a small helper, the *reaper*: this test binary re-executed with
//! [`REAPER`] as its first argument (the same trick procdemo plays with `--child`). The reaper
//! makes itself a child subreaper (`PR_SET_CHILD_SUBREAPER`, prctl(2)), so any process that
//! procdemo orphans is re-parented to it instead of to init, where it would vanish from view.
//! It starts the command in a new process group (so a test can send SIGINT to "the whole
//! group" as Ctrl-C does without hitting the test runner), waits for it, and then looks at its
//! own children: whatever is still there, alive or a zombie, was left behind. It kills and
//! reaps those too, so a failing test never leaks either, and writes a JSON report.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, SigHandler, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde_json::{json, Value};

/// How long orphans get to end by themselves after the main was SIGKILLed, in grace mode.
/// Their parent-death SIGKILL ends them at once; this is only a bound, far above any delay a
/// loaded machine adds and far below the sleeps the tests give them (a child that outlives it
/// counts as left behind, so the test fails), so the test does not depend on how busy the
/// machine is. How long each one took is in the report (`after_ms`).
pub const ORPHAN_GRACE: Duration = Duration::from_secs(10);

/// First argument that turns this test binary into the reaper.
pub const REAPER: &str = "__procdemo_reaper";

/// Set in the environment of everything the suite starts, so that at the end the suite can
/// find any process of its own still on the machine, however it got re-parented.
pub const SUITE_MARK: &str = "PROCDEMO_TEST_SUITE";

/// Every pid on the machine, from the numbered directories of /proc.
pub fn proc_pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
}

/// Processes of this test suite still alive anywhere on the machine: (pid, command line).
pub fn suite_leftovers() -> Vec<(i32, String)> {
    let mark = format!("{SUITE_MARK}={}", std::process::id());
    let mut left = Vec::new();
    for pid in proc_pids() {
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|kv| kv == mark.as_bytes()) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            left.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    left
}

pub fn procdemo_bin() -> &'static str {
    env!("CARGO_BIN_EXE_procdemo")
}

/// A fresh directory for one test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("procdemo-test-")
        .tempdir()
        .expect("temp dir")
}

// ---------------------------------------------------------------------------------------------
// The test side.

/// A command to run under the reaper.
pub struct Run {
    program: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, Option<String>)>,
    cwd: Option<PathBuf>,
    grace: Duration,
    timeout: Duration,
    ignore: Vec<String>,
    unread_stdout: Option<usize>,
}

/// `procdemo ARGS...`
pub fn procdemo<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Run {
        program: procdemo_bin().into(),
        args: args.into_iter().map(Into::into).collect(),
        envs: vec![
            ("NO_COLOR".into(), Some("1".into())),
            (SUITE_MARK.into(), Some(std::process::id().to_string())),
        ],
        cwd: None,
        grace: Duration::ZERO,
        timeout: Duration::from_secs(60),
        ignore: Vec::new(),
        unread_stdout: None,
    }
}

/// Any `PROGRAM ARGS...`, under the same reaper.
pub fn command<I, S>(program: &str, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut run = procdemo(args);
    run.program = program.into();
    run
}

/// `bash -c SCRIPT`, with `$PROCDEMO` naming the binary: for pipelines like `| head -1`.
pub fn shell(script: &str) -> Run {
    command("bash", ["-c", script]).env("PROCDEMO", procdemo_bin())
}

impl Run {
    pub fn env(mut self, key: &str, value: &str) -> Run {
        self.envs.push((key.into(), Some(value.into())));
        self
    }

    pub fn env_remove(mut self, key: &str) -> Run {
        self.envs.push((key.into(), None));
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Run {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    /// After the command has returned, give orphans this long to end by themselves (they
    /// should, after the main was killed with SIGKILL) before they count as left behind.
    pub fn grace(mut self, grace: Duration) -> Run {
        self.grace = grace;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Run {
        self.timeout = timeout;
        self
    }

    /// Start the command with these signals ignored (`SIGINT`, `SIGCHLD`...), as a shell
    /// starts a background job.
    pub fn ignoring(mut self, signals: &[&str]) -> Run {
        self.ignore = signals.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Give the command a pipe on stdout that nobody reads, as `procdemo … | sleep 60` does:
    /// the test holds the reading end open and never reads from it, so once the pipe holds
    /// `capacity` bytes (fcntl(2) `F_SETPIPE_SZ`, rounded up to a page) every further write
    /// to it waits. No line reaches the test; find the command with [`Live::command_pid`].
    pub fn unread_stdout(mut self, capacity: usize) -> Run {
        self.unread_stdout = Some(capacity);
        self
    }

    /// Run to the end and check that nothing was left behind.
    pub fn run(self) -> Outcome {
        self.spawn().finish()
    }

    /// Start, to interact with the run while it goes on.
    pub fn spawn(self) -> Live {
        static N: AtomicU64 = AtomicU64::new(0);
        let report = std::env::temp_dir().join(format!(
            "procdemo-reaper-{}-{}.json",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
        cmd.arg(REAPER)
            .arg(&report)
            .arg(self.grace.as_millis().to_string())
            .arg(self.timeout.as_millis().to_string())
            .arg(self.ignore.join(","))
            .arg(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        // The reaper writes nothing on stdout: the command inherits it as it is.
        let unread = match self.unread_stdout {
            Some(capacity) => {
                let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
                let size = nix::fcntl::FcntlArg::F_SETPIPE_SZ(capacity as i32);
                nix::fcntl::fcntl(&write, size).expect("F_SETPIPE_SZ");
                cmd.stdout(Stdio::from(write));
                Some(read)
            }
            None => {
                cmd.stdout(Stdio::piped());
                None
            }
        };
        for (k, v) in &self.envs {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        // Never the repository: a test that forgets `--data` must not touch its data.json.
        let scratch = self.cwd.is_none().then(temp_dir);
        cmd.current_dir(match (&self.cwd, &scratch) {
            (Some(dir), _) => dir.as_path(),
            (None, Some(tmp)) => tmp.path(),
            (None, None) => unreachable!(),
        });
        let mut child = cmd.spawn().expect("start the reaper");
        let (tx, lines) = mpsc::channel::<String>();
        let out_thread = child.stdout.take().map(|stdout| {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
        });
        let mut stderr = child.stderr.take().unwrap();
        let err_thread = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Live {
            _scratch: scratch,
            child,
            report,
            lines,
            seen: Vec::new(),
            out_thread,
            err_thread: Some(err_thread),
            _unread: unread,
        }
    }
}

/// A run in progress.
pub struct Live {
    /// The working directory when the test named none; removed with the run.
    _scratch: Option<tempfile::TempDir>,
    child: Child,
    report: PathBuf,
    lines: Receiver<String>,
    seen: Vec<String>,
    out_thread: Option<JoinHandle<()>>,
    err_thread: Option<JoinHandle<String>>,
    /// With [`Run::unread_stdout`]: the pipe's reading end, open and never read.
    _unread: Option<std::os::fd::OwnedFd>,
}

impl Live {
    /// Wait for the first JSON event (from now on, or already seen) that matches `pred`.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        for line in &self.seen {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                if pred(&v) {
                    return v;
                }
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        if pred(&v) {
                            return v;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no matching event within {timeout:?}; seen:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "stdout ended before a matching event; seen:\n{}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// Wait for `n` events for which `pred` holds.
    pub fn wait_for_n(&mut self, n: usize, timeout: Duration, pred: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            let count = self
                .seen
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| pred(v))
                .count();
            if count >= n {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "only {count} of {n} matching events; seen:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The pid of the command the reaper started (procdemo's main, when it runs procdemo
    /// directly), from /proc: for a run whose stdout the test does not see.
    pub fn command_pid(&self) -> Pid {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // The reaper's only child until the command orphans something.
            if let Some((pid, _, _)) = children_of(self.child.id() as i32).first() {
                return Pid::from_raw(*pid);
            }
            assert!(Instant::now() < deadline, "the reaper started no command");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The pid of procdemo's main process, from its `start` event.
    pub fn main_pid(&mut self) -> Pid {
        let v = self.wait_for(Duration::from_secs(20), |v| {
            v["name"] == "main" && v["event"] == "start"
        });
        Pid::from_raw(v["pid"].as_i64().unwrap() as i32)
    }

    pub fn signal_main(&mut self, sig: Signal) {
        self.try_signal_main(sig).expect("signal the main");
    }

    /// Signal procdemo's whole process group, as the terminal does on Ctrl-C.
    pub fn signal_group(&mut self, sig: Signal) {
        self.try_signal_group(sig).expect("signal the group");
    }

    /// As `signal_main`, for a run that may already have ended (ESRCH).
    pub fn try_signal_main(&mut self, sig: Signal) -> nix::Result<()> {
        let pid = self.main_pid();
        kill(pid, sig)
    }

    pub fn try_signal_group(&mut self, sig: Signal) -> nix::Result<()> {
        let pid = self.main_pid();
        killpg(pid, sig)
    }

    /// Wait for the end and check that nothing was left behind.
    pub fn finish(self) -> Outcome {
        let outcome = self.finish_allowing_leaks();
        assert!(
            outcome.leaked().is_empty(),
            "processes left behind: {:#}\nstdout:\n{}\nstderr:\n{}",
            outcome.report["leaked"],
            outcome.stdout,
            outcome.stderr
        );
        outcome
    }

    /// Wait for the end; the caller inspects `leaked()` itself.
    pub fn finish_allowing_leaks(mut self) -> Outcome {
        let status = self.child.wait().expect("wait for the reaper");
        if let Some(t) = self.out_thread.take() {
            let _ = t.join();
        }
        let mut lines = std::mem::take(&mut self.seen);
        lines.extend(self.lines.try_iter());
        let stderr = self.err_thread.take().unwrap().join().unwrap_or_default();
        let report: Value = std::fs::read(&self.report)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| panic!("the reaper wrote no report ({status}); stderr:\n{stderr}"));
        let _ = std::fs::remove_file(&self.report);
        assert!(
            report["timed_out"] == false,
            "the run timed out and was killed\nstdout:\n{}\nstderr:\n{stderr}",
            lines.join("\n")
        );
        Outcome {
            stdout: lines.join("\n") + if lines.is_empty() { "" } else { "\n" },
            stderr,
            report,
        }
    }
}

/// How a run ended and what it printed.
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    /// The reaper's report: `status`, `leaked`, `orphans`, `pid`.
    pub report: Value,
}

impl Outcome {
    /// The exit code, or `None` if the command died of a signal.
    pub fn code(&self) -> Option<i32> {
        self.report["status"]["code"].as_i64().map(|c| c as i32)
    }

    pub fn signal(&self) -> Option<&str> {
        self.report["status"]["signal"].as_str()
    }

    pub fn leaked(&self) -> Vec<Value> {
        self.report["leaked"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Orphans that ended after the command returned: `{pid, ended, after_ms}`.
    pub fn orphans(&self) -> Vec<Value> {
        self.report["orphans"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Every stdout line as JSON; panics on a line that is not a whole JSON object.
    pub fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\n{}", self.stdout))
            })
            .collect()
    }

    pub fn events_of(&self, kind: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|v| v["event"] == kind)
            .collect()
    }

    /// How many stale temporary files the run's processes removed (`temps_cleaned`).
    pub fn temps_cleaned(&self) -> u64 {
        self.events_of("temps_cleaned")
            .iter()
            .map(|e| e["count"].as_u64().expect("a count"))
            .sum()
    }

    /// The summary, which must be the last line.
    pub fn summary(&self) -> Value {
        let events = self.events();
        let last = events.last().cloned().unwrap_or_else(|| {
            panic!(
                "no output; code {:?}; stderr:\n{}",
                self.code(),
                self.stderr
            )
        });
        assert_eq!(
            last["event"], "summary",
            "last line is not the summary:\n{}",
            self.stdout
        );
        last
    }

    pub fn main_pid(&self) -> i64 {
        let first = &self.events()[0];
        assert_eq!(first["name"], "main");
        assert_eq!(first["event"], "start", "first line must be main's start");
        first["pid"].as_i64().unwrap()
    }

    /// Assert exit code `code`, with the output in the message if not.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "status {}\nstdout:\n{}\nstderr:\n{}",
            self.report["status"],
            self.stdout,
            self.stderr
        );
        self
    }

    /// No panic text anywhere, whatever happened.
    pub fn expect_no_panic(&self) -> &Self {
        for text in [&self.stdout, &self.stderr] {
            assert!(
                !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
                "panic text:\n{text}"
            );
        }
        self
    }
}

/// Is `pid` still a live process (not gone, not a zombie)?
pub fn alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat_state(&stat) != Some('Z'),
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------------------------
// The reaper side: runs in its own process, single-threaded.

fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

fn stat_state(stat: &str) -> Option<char> {
    stat_fields(stat).first().and_then(|s| s.chars().next())
}

/// The direct children of `me`, from /proc: (pid, state, command line).
pub fn children_of(me: i32) -> Vec<(i32, char, String)> {
    let mut out = Vec::new();
    for pid in proc_pids() {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let fields = stat_fields(&stat);
        if fields.get(1).and_then(|p| p.parse::<i32>().ok()) == Some(me) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .replace('\0', " ")
                        .trim()
                        .to_string()
                })
                .unwrap_or_default();
            out.push((pid, stat_state(&stat).unwrap_or('?'), cmdline));
        }
    }
    out
}

fn ended_json(status: WaitStatus) -> Option<(i32, Value)> {
    match status {
        WaitStatus::Exited(pid, code) => Some((pid.as_raw(), json!({ "code": code }))),
        WaitStatus::Signaled(pid, sig, _) => {
            Some((pid.as_raw(), json!({ "signal": sig.as_str() })))
        }
        _ => None,
    }
}

/// `REAPER report grace_ms timeout_ms ignored program args...`
pub fn reaper_main(args: &[String]) -> ! {
    let [report, grace, timeout, ignore, program, rest @ ..] = args else {
        eprintln!("usage: {REAPER} REPORT GRACE_MS TIMEOUT_MS IGNORED PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let grace = Duration::from_millis(grace.parse().expect("grace ms"));
    let timeout = Duration::from_millis(timeout.parse().expect("timeout ms"));
    let ignored: Vec<Signal> = ignore
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("signal name"))
        .collect();

    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    let me = std::process::id() as i32;

    let mut cmd = Command::new(program);
    cmd.args(rest).process_group(0);
    // SAFETY: the closure runs in the forked child before exec and only calls signal(2),
    // which is async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            // The command starts as a terminal's foreground job does, whatever the test run
            // itself inherited: `cargo test &` from a script runs with SIGINT and SIGQUIT
            // ignored (bash(1), SIGNALS), and every program a test starts, a `sleep` in its
            // pipeline included, would inherit that across execve(2) and outlive a Ctrl-C.
            for sig in [Signal::SIGINT, Signal::SIGQUIT] {
                nix::sys::signal::signal(sig, SigHandler::SigDfl).map_err(std::io::Error::from)?;
            }
            for sig in &ignored {
                nix::sys::signal::signal(*sig, SigHandler::SigIgn).map_err(std::io::Error::from)?;
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let pid = Pid::from_raw(child.id() as i32);

    let mut status = Value::Null;
    let mut timed_out = false;
    let mut early_orphans = Vec::new();
    // Wait for the command, collecting any orphan that ends meanwhile.
    while status.is_null() {
        match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {
                if started.elapsed() > timeout && !timed_out {
                    timed_out = true;
                    let _ = killpg(pid, Signal::SIGKILL);
                    let _ = kill(pid, Signal::SIGKILL);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(ws) => {
                if let Some((p, ended)) = ended_json(ws) {
                    if p == pid.as_raw() {
                        status = ended;
                    } else {
                        early_orphans.push(json!({ "pid": p, "ended": ended, "after_ms": -1 }));
                    }
                }
            }
            Err(_) => break,
        }
    }
    let returned = Instant::now();

    // The command has returned. Whatever is still our child was left behind by it; with a
    // grace period, orphans may still end by themselves (PR_SET_PDEATHSIG after a SIGKILL).
    let mut orphans = early_orphans;
    let mut leaked = Vec::new();
    loop {
        while let Ok(ws) = waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
            let Some((p, ended)) = ended_json(ws) else {
                break;
            };
            if grace.is_zero() {
                // Without grace, even a zombie procdemo failed to reap counts as a leak.
                leaked.push(json!({ "pid": p, "state": "Z", "cmdline": "", "ended": ended }));
            } else {
                orphans.push(json!({
                    "pid": p, "ended": ended,
                    "after_ms": returned.elapsed().as_millis() as u64,
                }));
            }
        }
        let left = children_of(me);
        if left.is_empty() {
            break;
        }
        if returned.elapsed() >= grace {
            for (p, state, cmdline) in left {
                leaked.push(json!({ "pid": p, "state": state.to_string(), "cmdline": cmdline }));
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
            while waitpid(None::<Pid>, None).is_ok() {}
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }

    let report_json = json!({
        "pid": pid.as_raw(),
        "status": status,
        "timed_out": timed_out,
        "elapsed_ms": returned.duration_since(started).as_millis() as u64,
        "leaked": leaked,
        "orphans": orphans,
    });
    std::fs::write(report, report_json.to_string()).expect("write the report");
    std::process::exit(0)
}

// ---------------------------------------------------------------------------------------------
// Small helpers the ticket tests share.

/// A temporary path as the `&str` an argument list takes.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// Exit 0 and nothing on stderr, as `--json` promises when all goes well.
pub fn success(out: &Outcome) {
    out.expect_code(0);
    assert!(out.stderr.is_empty(), "stderr: {}", out.stderr);
}

/// Is strace(1) installed? The tests that inject faults with it skip themselves without it
/// (`.ci/run` installs it).
pub fn have_strace() -> bool {
    Command::new("strace").arg("-V").output().is_ok()
}

/// File names in `dir`, sorted; names that are not UTF-8 shown lossily.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The `ticket` count of a ticket file, which must be valid.
pub fn ticket_count(data: &Path) -> u64 {
    let v: Value = serde_json::from_slice(&std::fs::read(data).unwrap()).expect("valid JSON");
    v["ticket"].as_u64().expect("a whole number")
}
