//! # shared: one integer in memory that every worker maps
//!
//! The sequel to `isolate`. There, a child's `money` was its own: same address, two values.
//! Here the main creates a small file that lives in memory only (memfd_create(2)), and every
//! worker maps it into its address space with `mmap(2)` and `MAP_SHARED`: each process sees
//! it at an address of its own, and all of them see the same physical page, so one value.
//! The descriptor passes to each worker through execve(2), and the worker maps it itself.
//! It has no name in any directory (nothing appears in `/dev/shm`): the kernel frees it when
//! the last process of the run lets go of it, however the run ends.
//!
//! Each worker adds 1 to the value K times, by reading it and writing it back (Python's
//! `v.value += 1`). Reading and writing back is two steps: two workers that both read 41
//! both write 42, and one add is lost. So by default each add is done holding a lock
//! (Python's `with v.get_lock():`), and the result is exactly W*K. `--no-lock` shows the lost
//! updates; `--atomic` makes each add one atomic instruction (`lock xadd` on x86-64), exact
//! without any lock.
//!
//! Which lock: a process-shared, robust pthread mutex (`sys::RobustMutex`) that lives in the
//! shared page beside the value. It is a futex: taking a free lock is one atomic instruction,
//! and the kernel is called only to put a waiter to sleep and to wake it. An `flock(2)` pair
//! per add would be two system calls every time (measured: about 1.5 s for 4 x 250,000 adds
//! on two cores, some 40 times slower, as slow as Python's own lock). And it survives its
//! holder's death, as a `flock` does: a worker killed holding it (SIGKILL included) leaves it
//! marked "owner died", and the next worker to lock it gets it with `EOWNERDEAD`, makes it
//! consistent again (pthread_mutex_consistent(3)) and says so (`lock_recovered`). The value
//! it guards is one word, whole whether or not the dead worker had written it back.
//!
//! The workers start adding together: each one, once it has mapped the page, says "ready" on
//! one pipe and then waits on another, which the main closes once every worker is ready.
//! Closing a pipe wakes every process blocked reading it (pipe(7)), but one after the other,
//! and 100000 adds take a fraction of a millisecond: the first one awake could be done before
//! the last one runs. So the workers then meet once more, in the page itself: each adds 1 to
//! an `arrived` word and spins (yielding the processor, sched_yield(2), so that the others
//! get to run too) until every worker has arrived, or a second has passed. On two cores, two
//! of them then really add at the same time, and `--no-lock` loses updates in most runs. The
//! summary says what happened: `final` is read from the page after the last join.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::poll::PollFlags;
use serde::Serialize;

use crate::child::{self, DecodeError, Encoder, Fields, Method};
use crate::event::{Ended, LessonEvent, Mark, Span};
use crate::lesson::part::TourPart;
use crate::sink::{Out, Settings};
use crate::supervisor::Supervisor;
use crate::sys::{self, SharedMemory};
use crate::time::TimeScale;
use crate::quiz::ask::{Answer, Ask, Drawn, Observed, Rng};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// How many worker processes
    #[arg(long, value_name = "W", default_value = "4", value_parser = crate::number::count)]
    pub workers: usize,

    /// How many times each worker adds 1
    #[arg(long, value_name = "K", default_value = "100000",
          value_parser = |s: &str| crate::number::bounded(s, 1, 100_000_000).map(|n| n as u64))]
    pub adds: u64,

    /// Read and write back without the lock, to see updates lost
    #[arg(long, conflicts_with = "atomic")]
    pub no_lock: bool,

    /// Add with one atomic instruction instead: exact, and no lock
    #[arg(long)]
    pub atomic: bool,
}

/// In the tour: part 2, the lessons after the tutorial.
pub const TOUR: TourPart = TourPart {
    args: &["--no-lock"],
    ..TourPart::AFTER
};

pub const EXAMPLES: &str = "\
Examples:
  # 4 workers x 100000 adds, locked: exact
  procdemo shared
  # read, add, write back: updates lost
  procdemo shared --no-lock
  # one atomic add each time: exact
  procdemo shared --atomic --adds 1000000
  # expected, final, lost
  procdemo --json shared --no-lock | tail -1";

/// How each add is made safe, or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Lock,
    NoLock,
    Atomic,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Lock => "lock",
            Mode::NoLock => "no-lock",
            Mode::Atomic => "atomic",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(untagged)]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    /// main or worker: mapped the shared page; the value's address in this process, the
    /// memory file's inode (the same for every process), the value read there.
    Mapped {
        #[serde(serialize_with = "crate::event::hex")]
        address: usize,
        inode: u64,
        value: u64,
    },
    /// main: every worker is ready; closing the pipe they wait on lets them all go at once.
    Go { workers: usize },
    /// worker: its last lock holder died holding it; the kernel handed the lock over.
    LockRecovered,
    /// worker: done, after `adds` adds.
    Added { adds: u64 },
}

impl LessonEvent for Event {}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub workers: usize,
    /// Per worker.
    pub adds: u64,
    /// workers * adds.
    pub expected: u64,
    /// The value after the last join.
    pub r#final: u64,
    /// expected - final.
    pub lost: u64,
    pub mode: Mode,
}

/// Words of shared memory: the value, and the start barrier's count of workers arrived.
const WORDS: usize = 2;
const VALUE: usize = 0;
const ARRIVED: usize = 1;

pub fn run(s: &Settings, args: &Args) -> Result<()> {
    let out = Out::main(s.format, "shared")?;
    let mode = match (args.no_lock, args.atomic) {
        (true, _) => Mode::NoLock,
        (_, true) => Mode::Atomic,
        _ => Mode::Lock,
    };

    // v = Value('q', 0): one word in a page that every worker will map.
    let memory = SharedMemory::create(c"procdemo-shared", WORDS)?;
    sys::keep_open_across_exec(&memory.fd())?;
    let value = &memory.words()[VALUE];
    out.emit(&mapped(&memory, value)?)?;

    // The start barrier: workers say "ready" on one pipe, and wait on the other.
    let (ready, ready_w) = pipe()?;
    let (go_r, go) = pipe()?;
    sys::keep_open_across_exec(&ready_w)?;
    sys::keep_open_across_exec(&go_r)?;

    let mut children = Supervisor::new(&out, s.scale)?;
    let mut pids = Vec::with_capacity(args.workers);
    // The contract names them as the tutorial's processes are named: Process-1, Process-2, …
    for w in 1..=args.workers {
        let role = Role {
            mode,
            workers: args.workers,
            adds: args.adds,
            memory: memory.fd().as_raw_fd(),
            ready: ready_w.as_raw_fd(),
            go: go_r.as_raw_fd(),
        };
        pids.push(children.start(format!("Process-{w}"), role, Method::Exec)?);
    }
    drop(ready_w);
    drop(go_r);

    // Wait until every worker still running has said it is ready (one byte each).
    let mut ready_count = 0;
    loop {
        let running = pids.iter().filter(|&&p| children.is_running(p)).count();
        if ready_count >= running {
            break;
        }
        let r = children.wait_ready(&[(ready.as_fd(), PollFlags::POLLIN)])?;
        if r[0].intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
            let mut buf = [0u8; 256];
            match nix::unistd::read(&ready, &mut buf) {
                Ok(0) => break,
                Ok(n) => ready_count += n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e).context("reading the ready pipe"),
            }
        }
    }
    out.emit(&Event::Go {
        workers: ready_count,
    })?;
    // Go: closing the last write end wakes every worker blocked reading the pipe, at once.
    drop(go);

    // for p in ps: p.join()
    let mut killed = false;
    for pid in pids {
        killed |= matches!(children.join(pid)?, Ended::Signal(_));
    }
    let expected = args.workers as u64 * args.adds;
    let r#final = value.load(Ordering::SeqCst);
    out.emit(&Summary {
        workers: args.workers,
        adds: args.adds,
        expected,
        r#final,
        lost: expected.saturating_sub(r#final),
        mode,
    })?;
    if mode != Mode::NoLock && r#final != expected && !killed {
        bail!(
            "{} of {expected} adds lost in {} mode: this is a bug in procdemo",
            expected.saturating_sub(r#final),
            mode.as_str()
        );
    }
    children.finish()
}

fn mapped(memory: &SharedMemory, value: &AtomicU64) -> Result<Event> {
    Ok(Event::Mapped {
        address: value as *const AtomicU64 as usize,
        inode: memory.inode()?,
        value: value.load(Ordering::SeqCst),
    })
}

/// Arrive, then wait until all `workers` have arrived, or a second has passed (a worker may
/// have been killed on its way). Spinning, not sleeping: a process woken from sleep starts
/// some microseconds after its waker, one spinning starts at once.
fn start_together(arrived: &AtomicU64, workers: u64) {
    arrived.fetch_add(1, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut spins = 0u32;
    while arrived.load(Ordering::Acquire) < workers {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) {
            // Let a worker that has not arrived yet have this processor.
            std::thread::yield_now();
            if Instant::now() > deadline {
                return;
            }
        } else {
            std::hint::spin_loop();
        }
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let (r, w) = std::io::pipe().context("pipe")?;
    Ok((r.into(), w.into()))
}

/// A worker: map the page, wait for the start, add K times.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub mode: Mode,
    pub workers: usize,
    pub adds: u64,
    /// The shared memory's descriptor.
    pub memory: RawFd,
    /// Write end of the "ready" pipe.
    pub ready: RawFd,
    /// Read end of the "go" pipe.
    pub go: RawFd,
}

impl child::Role for Role {
    const LESSON: &'static str = "shared";

    fn encode(&self, kv: &mut Encoder) {
        kv.put("mode", self.mode.as_str());
        kv.number("workers", self.workers);
        kv.number("adds", self.adds);
        kv.number("memory", self.memory);
        kv.number("ready", self.ready);
        kv.number("go", self.go);
    }

    fn decode(kv: &mut Fields) -> Result<Self, DecodeError> {
        let mode = match kv.text("mode")? {
            "lock" => Mode::Lock,
            "no-lock" => Mode::NoLock,
            "atomic" => Mode::Atomic,
            other => return Err(child::bad(format!("unknown mode `{other}`"))),
        };
        Ok(Role {
            mode,
            workers: kv.number_in("workers", 1..=10_000)?,
            adds: kv.number_in("adds", 1..=100_000_000)?,
            memory: kv.descriptor("memory")?,
            ready: kv.descriptor("ready")?,
            go: kv.descriptor("go")?,
        })
    }

    fn run(self, out: &Out, _: TimeScale) -> Result<i32> {
        let memory = SharedMemory::inherited(self.memory, WORDS)?;
        let value = &memory.words()[VALUE];
        out.emit(&mapped(&memory, value)?)?;
        let ready = sys::inherited_fd(self.ready)?;
        let go = sys::inherited_fd(self.go)?;
        // Ready; then wait until the main closes the go pipe (end-of-file).
        loop {
            match nix::unistd::write(&ready, b"r") {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e).context("writing the ready pipe"),
            }
        }
        drop(ready);
        let mut byte = [0u8; 1];
        loop {
            match nix::unistd::read(&go, &mut byte) {
                Ok(0) => break,
                Ok(_) => bail!("the go pipe carried data"),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e).context("reading the go pipe"),
            }
        }
        drop(go);
        start_together(&memory.words()[ARRIVED], self.workers as u64);

        match self.mode {
            Mode::Lock => {
                let lock = memory.mutex()?;
                for _ in 0..self.adds {
                    // with v.get_lock(): v.value += 1
                    let held = lock.lock()?;
                    if held.recovered {
                        out.emit(&Event::LockRecovered)?;
                    }
                    let v = value.load(Ordering::Relaxed);
                    value.store(v + 1, Ordering::Relaxed);
                    drop(held);
                }
            }
            Mode::NoLock => {
                // The whole stretch is a race window: between this read and its write back,
                // any other worker's writes are overwritten.
                out.mark(Mark::Begin(Span::Unlocked));
                for _ in 0..self.adds {
                    // Two steps, as in Python's `v.value += 1`. Without `black_box` the
                    // compiler fuses them into one `inc` on memory: still not atomic (no
                    // `lock` prefix), but a window so narrow that updates are seldom lost.
                    let v = std::hint::black_box(value.load(Ordering::Relaxed));
                    value.store(v + 1, Ordering::Relaxed);
                }
                out.mark(Mark::End(Span::Unlocked));
            }
            Mode::Atomic => {
                for _ in 0..self.adds {
                    value.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        out.emit(&Event::Added { adds: self.adds })?;
        Ok(crate::error::code::SUCCESS)
    }
}

// ---------------------------------------------------------------------------------------
// The quiz
// ---------------------------------------------------------------------------------------

/// What `procdemo quiz` asks about this lesson (its words: `question` in the message files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Question {
    /// The final value, with the lock?
    #[strum(serialize = "shared_locked")]
    Locked,
}

impl Ask for Question {
    const ALL: &'static [Question] = &[Question::Locked];

    fn draw(self, rng: &mut Rng) -> Drawn {
        // Workers and adds per worker.
        Drawn::two(rng.between(2, 4), rng.between(1, 50) * 1000)
    }

    fn args(self, d: Drawn) -> Vec<String> {
        vec![
            "--workers".into(),
            d.n.to_string(),
            "--adds".into(),
            d.m.to_string(),
        ]
    }

    fn expected(self, d: Drawn) -> Answer {
        Answer::Number(d.n * d.m)
    }

    fn observed(self, _: Drawn, run: &Observed) -> Option<Answer> {
        Some(Answer::Number(run.summary()?["final"].as_u64()?))
    }
}
