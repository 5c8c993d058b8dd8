//! English. Children of `spawn` and `join` say `Process-1 is running` / `is over`, as the
//! tutorial's examples do. Nothing here is in any other script: English output has no CJK.
//!
//! One module per lesson, in the registry's order: its `TEXT` (help, `--explain`, the tour's
//! closing sentence), then a sentence for each of its events and for its summary.

use crate::error::code;
use crate::event::{Common, Ended, Header};
use crate::messages::{LessonText, Words};
use crate::text::trim_number;
use crate::timeline::ChartWords;

/// Seconds for a reader, from milliseconds.
fn secs(ms: f64) -> String {
    format!("{:.3} s", ms / 1000.0)
}

fn ended(e: &Ended) -> String {
    match e {
        Ended::Code(c) => format!("exited with code {c}"),
        Ended::Signal(s) => format!("was killed by {}", s.as_str()),
    }
}

/// The events every lesson shares.
pub fn common(h: &Header, event: &Common) -> String {
    match event {
        Common::Start { scenario } if h.name == "main" => format!(
            "main process of `{scenario}` started: pid {}, parent pid {}",
            h.pid, h.ppid
        ),
        Common::Start { .. } => format!(
            "{} is running: pid {}, parent pid {}",
            h.name, h.pid, h.ppid
        ),
        Common::Spawned { child, child_name } => format!("started {child_name} (pid {child})"),
        Common::Exit {
            child,
            child_name,
            ended: e,
        } => format!(
            "reaped {child_name} (pid {child}): it {}{}",
            ended(e),
            buyer_answer(child_name, e)
        ),
        Common::Stopping { signal, children } => format!(
            "got {}: stopping {children} running child(ren) and reaping them",
            signal.as_str()
        ),
    }
}

/// A tickets buyer answers with its exit status; say what the number means.
fn buyer_answer(child_name: &str, e: &Ended) -> &'static str {
    if !child_name.starts_with("buyer-") {
        return "";
    }
    match e {
        Ended::Code(code::SUCCESS) => " (its answer: bought a ticket)",
        Ended::Code(code::SOLD_OUT) => " (its answer: sold out; not a failure)",
        _ => "",
    }
}

pub mod spawn {
    use super::*;
    use crate::lesson::spawn::{Event, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "spawn: a parent starts a child and does not wait for it. Watch the order of \
            the lines: the main prints its own pid and goes on at once, while Process-1 is \
            still running on its own, and `is over` comes about 3 s later. The child's parent \
            pid is the main's pid. The main does not wait to do its work, but before it exits \
            it still reaps every child with waitpid(2), so none is left a zombie or an orphan.",
        showed: "What it showed: start() returns at once, parent and child run at the same \
            time, and the parent still reaps its child before it exits.",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::NotWaiting { children } => format!(
                "main goes on without waiting for its {children} child(ren); \
                 it still reaps them before it exits, so none is orphaned"
            ),
            Event::Over => format!("{} is over: pid {}, parent pid {}", h.name, h.pid, h.ppid),
        }
    }

    pub fn summary(s: &Summary) -> String {
        format!(
            "done: {} child(ren) created with {}, all reaped",
            s.children,
            s.method.as_str()
        )
    }
}

pub mod join {
    use super::*;
    use crate::lesson::join::{Event, Mode, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "join: three children sleep 0, 1 and 2 s, and the main waits for each one \
            with join (waitpid(2)). All of them are started before the first join, so they \
            sleep at the same time: the main's last line comes after about 2 s, the longest \
            sleep, not 3 s, the sum. With --sequential each child is started only after the \
            previous one was joined, and the times add up. Add --timeline to see the rows \
            overlap, or line up.",
        showed: "What it showed: children started together run together, so join waited about \
            as long as the longest child, not the sum of them all.",
    };

    fn mode(m: Mode) -> &'static str {
        match m {
            Mode::Parallel => "parallel",
            Mode::Sequential => "sequential",
            Mode::NoJoin => "no-join",
        }
    }

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::Over => format!("{} is over: pid {}, parent pid {}", h.name, h.pid, h.ppid),
            Event::MainDone { elapsed_ms, mode } => match mode {
                Mode::Parallel => format!(
                    "main: joined every child after {}: the longest sleep, not the sum",
                    secs(*elapsed_ms)
                ),
                Mode::Sequential => format!(
                    "main: started and joined one child at a time: {}, the sum of the sleeps",
                    secs(*elapsed_ms)
                ),
                Mode::NoJoin => format!(
                    "main: did not join, so it got here after {}",
                    secs(*elapsed_ms)
                ),
            },
        }
    }

    pub fn summary(s: &Summary) -> String {
        format!(
            "done: {} child(ren), {} mode, {} in all",
            s.children,
            mode(s.mode),
            secs(s.elapsed_ms)
        )
    }
}

pub mod isolate {
    use super::*;
    use crate::child::Method;
    use crate::lesson::isolate::{Event, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "isolate: a global money = 100. The child sets it to 99999999 and shows it; \
            after join the main reads its own money: still 100, because every process has its \
            own memory. With --method fork the child is a copy of the main: both show the same \
            address for money, yet hold different values there (copy-on-write). With the \
            default --method exec the child is a fresh program, loaded at a random address \
            (ASLR): its money sits elsewhere, differently on every run. Then the child sends \
            its value through a pipe: processes cannot see each other's variables, but they \
            can talk through the kernel.",
        showed: "What it showed: a child's memory is its own; the main's money stayed 100, and \
            only the pipe carried the child's value across.",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::MoneySet { value, address } => format!(
                "{} set its global money = {value} (at address {address:#x})",
                h.name
            ),
            Event::PipeSent { value } => format!("{} wrote {value} into the pipe", h.name),
            Event::MoneyRead { value, address } => format!(
                "main reads its own money after the join: {value} (at address {address:#x})"
            ),
            Event::PipeReceived { value } => format!("main read {value} from the pipe"),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let memory = match s.method {
            Method::Fork => {
                "same virtual address, two values: fork gave the child a copy of the memory \
                 (copy-on-write)"
            }
            Method::Exec => {
                "exec started a fresh program with memory of its own, loaded at another \
                 address"
            }
        };
        format!(
            "done: the child's money was {}, the main's is still {} ({memory}); through the \
             pipe came {}",
            s.child_value,
            s.parent_value,
            s.received.map_or("nothing".to_string(), |v| v.to_string())
        )
    }
}

pub mod daemon {
    use super::*;
    use crate::lesson::daemon::{Event, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "daemon: the child says it is alive every 3 s, forever, while the main prints \
            ten lines 0.1 s apart and ends. Watch how the child ends: it is a daemon, so the \
            main ends it with SIGTERM as soon as the main is done (and the kernel would end \
            it even if the main were killed with SIGKILL). With --no-daemon the child is an \
            ordinary child: it says it is alive three times, and the main waits for it.",
        showed: "What it showed: a daemon child does not outlive its main; it was ended by a \
            signal as soon as the main was done.",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::Alive { tick } => format!("{} is alive (tick {tick})", h.name),
            Event::Tick { tick, of } => format!("main works: line {tick} of {of}"),
            Event::Terminating {
                child,
                child_name,
                signal,
            } => format!(
                "main is done: sending {} to its daemon child {child_name} (pid {child})",
                signal.as_str()
            ),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let pid = s.child_pid;
        match (s.daemon, s.child_terminated_by) {
            (true, Some(sig)) => format!(
                "done: the daemon child {pid} was ended by {} when the main ended",
                sig.as_str()
            ),
            (_, Some(sig)) => format!("done: the child {pid} was ended by {}", sig.as_str()),
            (_, None) => format!("done: the child {pid} ended by itself and was waited for"),
        }
    }
}

pub mod tickets {
    use super::*;
    use crate::lesson::tickets::{Event, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "tickets: buyer processes share one ticket file. Each one first searches \
            (reads the count without the lock), then buys under an exclusive flock(2): read, \
            sleep 1 s, take a ticket if any is left, write, release. Watch the lock pass from \
            one buyer to the next, and only as many buyers succeed as there were tickets. \
            With --no-lock they all read the same count before anyone writes it back, and \
            more tickets are sold than there were.",
        showed: "What it showed: the lock made the buyers take turns, so no ticket was sold \
            twice; run `procdemo tickets --tickets 1 --no-lock` to see the race it prevents.",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        let me = h.name;
        match e {
            Event::Reset { tickets } => format!("set the ticket count to {tickets}"),
            Event::TempsCleaned { count } => {
                format!("removed {count} temporary file(s) left by a killed writer")
            }
            Event::AlreadySoldOut { data } => format!(
                "{} has 0 tickets left, so every buyer will find it sold out; \
                 to put one back, run `{}`",
                data.display(),
                crate::ticketfile::reset_command(data)
            ),
            Event::Search { remaining } => format!("{me} sees {remaining} ticket(s) left"),
            Event::LockWait => format!("{me} waits for the lock"),
            Event::LockAcquired => format!("{me} holds the lock"),
            Event::LockReleased => format!("{me} released the lock"),
            Event::Bought { remaining } => format!("{me} bought a ticket ({remaining} left)"),
            Event::SoldOut => format!("{me}: sold out, no ticket left"),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let Summary {
            buyers,
            initial,
            sold,
            remaining,
            oversold,
            lock,
        } = s;
        let base = format!(
            "done: {buyers} buyer(s), {initial} ticket(s) at the start, {sold} sold, \
             {remaining} left"
        );
        let gone = initial.saturating_sub(*remaining);
        let extra = sold.saturating_sub(gone);
        match (oversold, lock) {
            (false, _) => base,
            (true, false) => format!(
                "{base}: OVERSOLD by {extra}. {sold} buyer(s) were told they got a ticket, \
                 but the count in the file went down by only {gone}: without the lock, buyers \
                 read the same count before any of them wrote it back, and each one wrote the \
                 same new count over the others' (lost updates)"
            ),
            (true, true) => format!("{base}: OVERSOLD by {extra} with the lock on: a bug"),
        }
    }
}

pub mod queue {
    use super::*;
    use crate::lesson::queue::{Event, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "queue: producers and consumers. Two producer processes put items on one \
            queue, two consumer processes get them and handle them, more slowly; the queue \
            holds 3 items at most. The queue is a kernel object, a POSIX message queue \
            (mq_send, mq_receive), and the kernel does the waiting: a producer that finds it \
            full waits until a consumer takes something, a consumer that finds it empty waits \
            until a producer puts something. Watch the lines that say `waits`, or add \
            --timeline to see the waits. When both producers are done, the main puts one end \
            marker per consumer (Python's None), and each consumer stops at the one it gets. \
            Every item is handled exactly once, and each producer's items come out in the \
            order it put them.",
        showed: "What it showed: processes that never talk to each other shared the work \
            through one queue; a full queue holds the producers back, an empty one makes the \
            consumers wait, and every item came through once, in order.",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        let me = h.name;
        match e {
            Event::QueueOpen { queue, capacity } => format!(
                "main created the queue {queue}, a POSIX message queue for {capacity} item(s), \
                 and removed its name at once: it lives as long as a process holds it open"
            ),
            Event::QueueFull { item: Some(item) } => {
                format!("{me}: the queue is full; waits to put {item}")
            }
            Event::QueueFull { item: None } => {
                format!("{me}: the queue is full; waits to put an end marker")
            }
            Event::Put { item } => format!("{me} made {item} and put it on the queue"),
            Event::QueueEmpty => format!("{me}: the queue is empty; waits"),
            Event::Got { item } => format!("{me} got {item} and handles it"),
            Event::QueueEnd => format!("{me} got an end marker: nothing more, it stops"),
            Event::EndMarker => {
                "main put an end marker on the queue (one per consumer)".to_string()
            }
        }
    }

    pub fn summary(s: &Summary) -> String {
        let base = format!(
            "done: {} producer(s) put {} item(s), {} consumer(s) got {}, through a queue of {}",
            s.producers, s.put, s.consumers, s.got, s.capacity
        );
        if s.lost == 0 && s.duplicated == 0 && s.in_order {
            format!("{base}: every item exactly once, each producer's in order")
        } else {
            format!(
                "{base}: {} lost, {} duplicated, {}",
                s.lost,
                s.duplicated,
                if s.in_order {
                    "in order"
                } else {
                    "OUT OF ORDER"
                }
            )
        }
    }
}

pub mod pool {
    use super::*;
    use crate::lesson::pool::{Event, Mode, Summary};
    use crate::messages::python_list;

    pub const TEXT: LessonText = LessonText {
        explain: "pool: a process pool, Python's Pool(3).map(f, range(10)), where f squares \
            its argument after a short sleep. Starting a process costs time, so the pool \
            starts 3 worker processes once, and each takes task after task from one shared \
            pipe until none is left. Watch the pids: the same three do all ten tasks. The \
            results come back on another pipe, in whatever order they finish, and the main \
            puts each one at its task's place: they come out in task order. With --no-pool \
            every task gets a new process instead: ten pids, ten starts.",
        showed: "What it showed: a few processes, started once, did every task, and the \
            results came back in task order, whatever order they finished in.",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::TaskDone { task, result } => {
                format!("{} did task {task}: {task} * {task} = {result}", h.name)
            }
        }
    }

    pub fn summary(s: &Summary) -> String {
        let how = match s.mode {
            Mode::Pool => format!("a pool of {} worker(s)", s.workers),
            Mode::NoPool => "one new process per task".to_string(),
        };
        format!(
            "done: {}; {} process(es) ran the {} task(s), {how}, in {}",
            python_list(&s.results, 20),
            s.pids,
            s.tasks,
            secs(s.elapsed_ms)
        )
    }
}

pub mod shared {
    use super::*;
    use crate::lesson::shared::{Event, Mode, Summary};

    pub const TEXT: LessonText = LessonText {
        explain: "shared: the sequel to isolate. There, each process had its own money. \
            Here the main makes one integer in a page of memory that every worker maps \
            (memfd_create, then mmap with MAP_SHARED): each process sees it at an address of \
            its own, and all of them see one page, one value. Each of 4 workers adds 1 to it \
            100000 times, by reading it and writing it back. By default each add holds a \
            lock, a process-shared mutex in the same page, and the result is exact. With \
            --no-lock two workers can read the same value and both write back that value plus \
            one: updates are lost, and the summary says how many. With --atomic each add is \
            one atomic instruction: exact, and no lock.",
        showed: "What it showed: every worker mapped the same page, and with the lock the \
            count came out exact; run `procdemo shared --no-lock` to see the updates the lock \
            prevents from being lost.",
    };

    pub fn event(h: &Header, e: &Event) -> String {
        let me = h.name;
        match e {
            Event::Mapped {
                address,
                inode,
                value,
            } if me == "main" => format!(
                "main made the shared page (memory file inode {inode}) and mapped it: \
                 value {value} at address {address:#x}"
            ),
            Event::Mapped {
                address,
                inode,
                value,
            } => format!(
                "{me} mapped the same page (inode {inode}) at its own address {address:#x}: \
                 value {value}"
            ),
            Event::Go { workers } => format!(
                "main: all {workers} worker(s) are ready; it closes the pipe they wait on: go!"
            ),
            Event::LockRecovered => format!(
                "{me}: the lock's last holder died holding it; the kernel handed the lock \
                 over, and it was made consistent again"
            ),
            Event::Added { adds } => format!("{me} is done: it added 1, {adds} times"),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let base = format!(
            "done: {} worker(s) x {} adds: expected {}, final {}, lost {}",
            s.workers, s.adds, s.expected, s.r#final, s.lost
        );
        match (s.mode, s.lost) {
            (Mode::Lock, 0) => format!("{base}: exact, with the lock"),
            (Mode::Atomic, 0) => {
                format!("{base}: exact, with one atomic add each time and no lock")
            }
            (Mode::NoLock, 0) => format!(
                "{base}: no update was lost this time, but nothing prevented it; run it again, \
                 or with more --adds"
            ),
            (Mode::NoLock, _) => format!(
                "{base}: without the lock, workers read the same value and each wrote it back \
                 plus one over the others' (lost updates)"
            ),
            (_, _) => format!("{base}: a worker ended before it was done"),
        }
    }
}

/// English.
pub struct English;

static CHART: ChartWords = ChartWords {
    started: "started",
    running: "running",
    lock_wait: "waiting for the lock",
    lock_hold: "holding the lock",
    unlocked: "read to write, unlocked",
    queue_wait: "waiting on the queue",
    zombie: "zombie: exited, not yet reaped",
    ended: "ended",
    killed: "killed by a signal",
    main_done: "done",
    bought: "bought",
    sold_out: "sold out",
    unknown: "?",
    title: |lesson, span_ms, column_ms| {
        format!(
            "timeline of {lesson}: {} s in all, one column = {} ms",
            trim_number(span_ms / 1000.0, 3),
            trim_number(column_ms, 1)
        )
    },
    exit: |code| format!("exit {code}"),
    more: |rows| format!("… and {rows} more process(es), not drawn"),
    seconds: "s",
};

impl Words for English {
    fn tour_intro(&self, scale: f64) -> String {
        format!(
            "procdemo tour: the five examples of the multiprocessing tutorial, each with real \
             processes, real pids and real system calls. Every sleep is multiplied by {scale}, \
             so the whole tour takes a few seconds. Each part says what to watch for, runs, and \
             sums up what it showed. Every line names its process: time, name, pid."
        )
    }

    fn tour_heading(&self, n: usize, of: usize, lesson: &str) -> String {
        format!("── {n}/{of} {lesson} ──")
    }

    fn tour_outro(&self) -> &'static str {
        "That was the tour. Each scenario has more to try: `procdemo <scenario> --help` lists \
         its options and examples, and --timeline draws every process on one time axis."
    }

    fn chart(&self) -> &'static ChartWords {
        &CHART
    }
}
