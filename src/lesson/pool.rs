//! # pool: a few worker processes, started once, take task after task (进程池)
//!
//! Python's `Pool(3).map(f, range(10))`: starting a process costs time and memory, so instead
//! of one process per task, a pool starts W workers once, and each of them takes task after
//! task until there are none left. The main hands the tasks out and collects the results, and
//! gives them back in task order, whatever order they finished in. The same W pids do all T
//! tasks. `--no-pool` starts one new process per task instead (at most W at a time, so only
//! the starting differs): T pids, the start cost paid T times.
//!
//! The channels are two pipes (pipe(2)) carrying fixed-size records:
//!
//! - tasks, main → workers: 8 bytes, the task's number. Every worker reads from the same
//!   pipe, one record at a time, so whichever worker is free takes the next task. A record is
//!   far smaller than `PIPE_BUF`, so it is written whole and read whole, however many workers
//!   read at once (pipe(7)). When the main has written the last task it closes its end: a
//!   worker that finds the pipe empty and closed reads end-of-file, and exits.
//! - results, workers → main: 16 bytes, the task, the worker's pid and f(task). The main
//!   puts each result at its task's place, which is what puts them back in task order.
//!
//! The main writes tasks and reads results in one poll(2) loop: with more tasks than the
//! pipes hold, writing every task before reading any result would leave the main and its
//! workers each waiting for the other.

use std::collections::HashSet;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::PollFlags;
use nix::unistd::Pid;
use serde::Serialize;

use crate::child::{self, DecodeError, Encoder, Fields, Method};
use crate::event::LessonEvent;
use crate::lesson::part::TourPart;
use crate::sink::{Out, Settings};
use crate::supervisor::Supervisor;
use crate::sys;
use crate::time::TimeScale;
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};

/// The reference's `time.sleep(0.5)` in each task.
const TASK_SECONDS: f64 = 0.5;
/// Bytes of one task record: the task's number.
const TASK_RECORD: usize = 8;
/// Bytes of one result record: task (u32), pid (i32), result (u64).
const RESULT_RECORD: usize = 16;
/// The most the main writes or reads at once: `PIPE_BUF`, so a write is never split.
const CHUNK: usize = 4096;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// How many worker processes (with --no-pool: how many task processes at a time)
    #[arg(long, value_name = "W", default_value = "3", value_parser = crate::number::count)]
    pub workers: usize,

    /// How many tasks: f(0) ... f(T-1), where f squares its argument
    #[arg(long, value_name = "T", default_value = "10", value_parser = crate::number::count)]
    pub tasks: usize,

    /// One new process per task instead of a pool, for contrast
    #[arg(long)]
    pub no_pool: bool,
}

/// In the tour: part 2, the lessons after the tutorial.
pub const TOUR: TourPart = TourPart::AFTER;

pub const EXAMPLES: &str = "\
Examples:
  # Pool(3).map(f, range(10))
  procdemo pool
  # 3 rows doing every task
  procdemo --time-scale 0.2 pool --timeline
  # 10 short rows: one process per task
  procdemo --time-scale 0.2 pool --no-pool --timeline
  procdemo --json --time-scale 0 pool --workers 4 --tasks 10000 | tail -1";

/// How the tasks are run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Pool,
    NoPool,
}

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// worker (or task process): did one task.
    TaskDone { task: u64, result: u64 },
}

impl LessonEvent for Event {}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub workers: usize,
    pub tasks: usize,
    /// In task order; null for a task whose result never came (its process was killed).
    pub results: Vec<Option<u64>>,
    /// How many different processes ran tasks.
    pub pids: usize,
    pub mode: Mode,
    /// From the main's start to the last result.
    #[serde(serialize_with = "crate::event::ms")]
    pub elapsed_ms: f64,
}

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    let out = Out::main(s.format, "pool")?;
    let mut children = Supervisor::new(&out, s.scale)?;
    // The results come back on one pipe in both modes; its write end goes to every child.
    let (results, results_w) = pipe()?;
    let mut collected = Collected::new(args.tasks);
    let mode = if args.no_pool {
        without_pool(&mut children, args, &results, results_w, &mut collected)?;
        Mode::NoPool
    } else {
        with_pool(&mut children, args, &results, results_w, &mut collected)?;
        Mode::Pool
    };
    let elapsed_ms = out.clock().elapsed_ms();
    // Every process has written its result; let them go, and reap them.
    children.join_all()?;

    let missing = collected.results.iter().filter(|r| r.is_none()).count();
    out.emit(&Summary {
        workers: args.workers,
        tasks: args.tasks,
        results: collected.results,
        pids: collected.pids.len(),
        mode,
        elapsed_ms,
    })?;
    if missing > 0 {
        bail!(
            "{missing} of {} task(s) have no result: the process that took them ended first \
             (its `exit` event says how)",
            args.tasks
        );
    }
    children.finish()
}

/// `Pool(W)`: start W workers once; `pool.map(f, range(T))`: hand them every task, collect
/// every result.
fn with_pool(
    children: &mut Supervisor,
    args: &Args,
    results: &OwnedFd,
    results_w: OwnedFd,
    collected: &mut Collected,
) -> Result<()> {
    let (tasks_r, tasks_w) = pipe()?;
    sys::keep_open_across_exec(&tasks_r)?;
    sys::keep_open_across_exec(&results_w)?;
    for w in 0..args.workers {
        let role = Role {
            work: Work::Pool {
                tasks: tasks_r.as_raw_fd(),
            },
            results: results_w.as_raw_fd(),
        };
        children.start(format!("worker-{w}"), role, Method::Exec)?;
    }
    // Only the workers keep these ends: once they are all gone, the result pipe reports
    // end-of-file to the main, instead of waiting forever for a result nobody will send.
    drop(tasks_r);
    drop(results_w);
    // The main's end never blocks: it writes what fits, and polls for room.
    fcntl(&tasks_w, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).context("fcntl(O_NONBLOCK)")?;

    let mut tasks_w = Some(tasks_w);
    let mut next = 0;
    while collected.got < args.tasks {
        if let Some(w) = &tasks_w {
            next = send_tasks(w, next, args.tasks)?;
            if next == args.tasks {
                // No more tasks: the workers read end-of-file once the pipe is empty.
                tasks_w = None;
            }
        }
        let mut fds = vec![(results.as_fd(), PollFlags::POLLIN)];
        if let Some(w) = &tasks_w {
            fds.push((w.as_fd(), PollFlags::POLLOUT));
        }
        let ready = children.wait_ready(&fds)?;
        if ready[0].intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
            && !collected.read(results)?
        {
            break; // every worker has ended
        }
    }
    Ok(())
}

/// Write tasks `next..` into the pipe until it is full or every task is in; returns the
/// number of the next task still to send.
fn send_tasks(w: &OwnedFd, mut next: usize, tasks: usize) -> Result<usize> {
    let mut buf = [0u8; CHUNK];
    while next < tasks {
        let n = (tasks - next).min(CHUNK / TASK_RECORD);
        for (i, rec) in buf.chunks_exact_mut(TASK_RECORD).take(n).enumerate() {
            rec.copy_from_slice(&((next + i) as u64).to_ne_bytes());
        }
        // At most PIPE_BUF bytes: written whole or not at all (EAGAIN), never in part.
        match nix::unistd::write(w, &buf[..n * TASK_RECORD]) {
            Ok(written) => next += written / TASK_RECORD,
            Err(Errno::EAGAIN) => break,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).context("writing the task pipe"),
        }
    }
    Ok(next)
}

/// `--no-pool`: one new process per task, at most W at a time.
fn without_pool(
    children: &mut Supervisor,
    args: &Args,
    results: &OwnedFd,
    results_w: OwnedFd,
    collected: &mut Collected,
) -> Result<()> {
    sys::keep_open_across_exec(&results_w)?;
    let mut results_w = Some(results_w);
    let mut running: Vec<Pid> = Vec::with_capacity(args.workers);
    let mut next = 0;
    while collected.got < args.tasks {
        running.retain(|&pid| children.is_running(pid));
        while next < args.tasks && running.len() < args.workers {
            let Some(w) = &results_w else { break };
            let role = Role {
                work: Work::One { task: next as u64 },
                results: w.as_raw_fd(),
            };
            running.push(children.start(format!("task-{next}"), role, Method::Exec)?);
            next += 1;
        }
        if next == args.tasks {
            // Every task process has its copy: the pipe ends when the last of them does.
            results_w = None;
        }
        let ready = children.wait_ready(&[(results.as_fd(), PollFlags::POLLIN)])?;
        if ready[0].intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
            && !collected.read(results)?
        {
            break;
        }
    }
    Ok(())
}

/// A pipe whose two ends are close-on-exec until a lesson says otherwise.
fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let (r, w) = std::io::pipe().context("pipe")?;
    Ok((r.into(), w.into()))
}

/// The results so far, in task order, and who computed them.
struct Collected {
    results: Vec<Option<u64>>,
    got: usize,
    pids: HashSet<i32>,
}

impl Collected {
    fn new(tasks: usize) -> Collected {
        Collected {
            results: vec![None; tasks],
            got: 0,
            pids: HashSet::new(),
        }
    }

    /// Read the result records waiting in the pipe (one read(2) takes many). `false` at
    /// end-of-file: every process that could send a result has ended.
    fn read(&mut self, results: &OwnedFd) -> Result<bool> {
        let mut buf = [0u8; CHUNK];
        let n = loop {
            match nix::unistd::read(results, &mut buf) {
                Ok(n) => break n,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e).context("reading the result pipe"),
            }
        };
        if n == 0 {
            return Ok(false);
        }
        // Every record was written whole, and a pipe's pages hold whole records: a read of a
        // multiple of the record size returns whole records.
        if n % RESULT_RECORD != 0 {
            bail!("read {n} bytes from the result pipe: not whole records");
        }
        for rec in buf[..n].chunks_exact(RESULT_RECORD) {
            let task = u32::from_ne_bytes(rec[0..4].try_into().expect("4 bytes")) as usize;
            let pid = i32::from_ne_bytes(rec[4..8].try_into().expect("4 bytes"));
            let result = u64::from_ne_bytes(rec[8..16].try_into().expect("8 bytes"));
            let slot = self
                .results
                .get_mut(task)
                .with_context(|| format!("a result for task {task}, which does not exist"))?;
            if slot.replace(result).is_some() {
                bail!("task {task} came back twice: this is a bug in procdemo");
            }
            self.got += 1;
            self.pids.insert(pid);
        }
        Ok(true)
    }
}

/// What a child of this lesson does.
#[derive(Clone, Debug, PartialEq)]
pub enum Work {
    /// A pool worker: tasks from this pipe until it ends.
    Pool { tasks: RawFd },
    /// `--no-pool`: this one task.
    One { task: u64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub work: Work,
    /// The result pipe's write end.
    pub results: RawFd,
}

impl child::Role for Role {
    const LESSON: &'static str = "pool";

    fn encode(&self, kv: &mut Encoder) {
        match self.work {
            Work::Pool { tasks } => kv.number("tasks", tasks),
            Work::One { task } => kv.number("task", task),
        }
        kv.number("results", self.results);
    }

    fn decode(kv: &mut Fields) -> Result<Self, DecodeError> {
        let work = match kv.optional("task") {
            Some(_) => Work::One {
                task: kv.number_in("task", 0..=9_999)?,
            },
            None => Work::Pool {
                tasks: kv.descriptor("tasks")?,
            },
        };
        Ok(Role {
            work,
            results: kv.descriptor("results")?,
        })
    }

    fn run(self, out: &Out, scale: TimeScale) -> Result<i32> {
        let results = sys::inherited_fd(self.results)?;
        let pid = std::process::id() as i32;
        // A line per task: the parent pid, which cannot change (we die with our parent), is
        // read once rather than with every line.
        let out = &out.with_fixed_parent();
        match self.work {
            Work::Pool { tasks } => {
                let tasks = sys::inherited_fd(tasks)?;
                // Task after task, until the main has closed the pipe and it is empty.
                while let Some(task) = next_task(&tasks)? {
                    do_task(out, scale, &results, pid, task)?;
                }
            }
            Work::One { task } => do_task(out, scale, &results, pid, task)?,
        }
        Ok(crate::error::code::SUCCESS)
    }
}

/// One task record from the pipe, or `None` at end-of-file.
fn next_task(tasks: &OwnedFd) -> Result<Option<u64>> {
    let mut rec = [0u8; TASK_RECORD];
    loop {
        return match nix::unistd::read(tasks, &mut rec) {
            Ok(0) => Ok(None),
            Ok(TASK_RECORD) => Ok(Some(u64::from_ne_bytes(rec))),
            Ok(n) => bail!("read {n} bytes from the task pipe: not a whole record"),
            Err(Errno::EINTR) => continue,
            Err(e) => Err(e).context("reading the task pipe"),
        };
    }
}

/// `f(n)`: sleep, square, say so, send the result back.
fn do_task(out: &Out, scale: TimeScale, results: &OwnedFd, pid: i32, task: u64) -> Result<()> {
    scale.sleep(TASK_SECONDS);
    let result = task * task;
    // Said before it is sent: every `task_done` line comes before the main's summary.
    out.emit(&Event::TaskDone { task, result })?;
    let mut rec = [0u8; RESULT_RECORD];
    rec[0..4].copy_from_slice(&(task as u32).to_ne_bytes());
    rec[4..8].copy_from_slice(&pid.to_ne_bytes());
    rec[8..16].copy_from_slice(&result.to_ne_bytes());
    loop {
        return match nix::unistd::write(results, &rec) {
            Ok(RESULT_RECORD) => Ok(()),
            Ok(n) => bail!("wrote {n} bytes of a result record"),
            Err(Errno::EINTR) => continue,
            Err(e) => Err(e).context("writing the result pipe"),
        };
    }
}

// ---------------------------------------------------------------------------------------
// The quiz
// ---------------------------------------------------------------------------------------

/// What `procdemo quiz` asks about this lesson (its words: `question` in the message files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Question {
    /// How many processes does the pool start?
    #[strum(serialize = "pool_processes")]
    Processes,
}

impl Ask for Question {
    const ALL: &'static [Question] = &[Question::Processes];

    fn draw(self, rng: &mut Rng) -> Drawn {
        // Workers and tasks: more tasks than workers.
        let workers = rng.between(2, 4);
        Drawn::two(workers, rng.between(workers + 2, 12))
    }

    fn args(self, d: Drawn) -> Vec<String> {
        vec![
            "--workers".into(),
            d.n.to_string(),
            "--tasks".into(),
            d.m.to_string(),
        ]
    }

    fn expected(self, d: Drawn) -> Answer {
        Answer::Number(d.n)
    }

    fn observed(self, _: Drawn, run: &Observed) -> Option<Answer> {
        run.summary()?; // no summary: the run was cut short
        // The processes the main started: the pool's workers, started once.
        let spawned = run.of("spawned").filter(|e| e["name"] == "main").count();
        Some(Answer::Number(spawned as u64))
    }
}
