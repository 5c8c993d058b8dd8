//! English. Children of `spawn` and `join` say `Process-1 is running` / `is over`, as the
//! tutorial's examples do. Nothing here is in any other script: English output has no CJK.
//!
//! One module per lesson, in the registry's order: its one-line `ABOUT` (`--help`), the
//! paragraph `explain` gives for the options of a run (`--explain`, `<lesson> --help`, the
//! tour), the sentence the tour closes it with (`SHOWED`), then a sentence for each of its
//! events and for its summary.

use crate::child::Method;
use crate::error::code;
use crate::event::{Common, Ended, Header};
use crate::messages::Words;
use crate::text::trim_number;
use crate::timeline::ChartWords;

/// `1 child`, `2 children`: a count with its noun, in the right number.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Seconds for a reader, from milliseconds.
fn secs(ms: f64) -> String {
    format!("{:.3} s", ms / 1000.0)
}

/// When the tutorial's `seconds`, scaled, will have passed: "about 3 s later".
fn later(seconds: f64, scale: f64) -> String {
    match seconds * scale {
        0.0 => "at once (--time-scale 0: nothing sleeps)".to_owned(),
        t => format!("about {} s later", trim_number(t, 3)),
    }
}

/// What `--method` is in Python's words.
fn method(m: Method) -> &'static str {
    match m {
        Method::Exec => {
            "(--method is Python's start method: `spawn` and `forkserver` start a fresh \
             program, as --method exec does with fork + execve; `fork` copies the parent, as \
             --method fork does. Python 3.14 made forkserver the default on Linux.)"
        }
        Method::Fork => {
            "(--method is Python's start method: --method fork is Python's `fork`, which \
             copies the parent; `spawn` and `forkserver`, like --method exec, start a fresh \
             program. Python 3.14 made forkserver the default on Linux.)"
        }
    }
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
            "got {}: stopping {} and reaping them",
            signal.as_str(),
            count(*children as u64, "running child", "running children")
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

/// A question's choices, for `question` in each lesson's module.
fn choices(c: &[&str]) -> Option<Vec<String>> {
    Some(c.iter().map(|s| s.to_string()).collect())
}

pub mod spawn {
    use super::*;
    use crate::lesson::spawn::Question;
    use crate::lesson::spawn::{Args, Event, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str =
        "Start children that run on their own: the parent does not wait (tutorial, part 1)";
    pub const SHOWED: &str = "What it showed: start() returns at once, parent and child run at \
        the same time, and the parent still reaps its child before it exits.";

    pub fn explain(a: &Args, scale: f64) -> String {
        let (who, them) = if a.count == 1 {
            ("a child".to_owned(), "it")
        } else {
            (format!("{} children", a.count), "them")
        };
        format!(
            "spawn: a parent starts {who} and does not wait for {them}. Watch the order of \
             the lines: the main prints its own pid and goes on at once, while Process-1 is \
             still running on its own, and `is over` comes {}. The child's parent pid is the \
             main's pid. The main does not wait to do its work, but before it exits it still \
             reaps every child with waitpid(2), so none is left a zombie or an orphan. {}",
            later(3.0, scale),
            method(a.method)
        )
    }

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::NotWaiting { children: 1 } => "main goes on without waiting for its child; \
                 it still reaps it before it exits, so it is not orphaned"
                .to_owned(),
            Event::NotWaiting { children } => format!(
                "main goes on without waiting for its {children} children; it still reaps them \
                 before it exits, so none is orphaned"
            ),
            Event::Over => format!("{} is over: pid {}, parent pid {}", h.name, h.pid, h.ppid),
        }
    }

    pub fn summary(s: &Summary) -> String {
        format!(
            "done: {} created with {}, all reaped",
            count(s.children as u64, "child", "children"),
            s.method.as_str()
        )
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let n = d.n;
        match q {
            Question::Parent => Text::new(
                format!("The main starts {n} children and does not wait for them."),
                "Which pid does each child report as its parent pid?".to_owned(),
                choices(&[
                    "the main's pid",
                    "each child a different pid",
                    "1, init's pid",
                ]),
                "A child's parent is the process that created it: fork(2) makes the caller \
                 the parent, whatever the child then runs."
                    .to_owned(),
            ),
        }
    }
}

pub mod join {
    use super::*;
    use crate::lesson::join::Question;
    use crate::lesson::join::{Args, Event, Mode, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "Start children and wait for each one with join: elapsed is the \
        max, not the sum (part 2)";
    pub const SHOWED: &str = "What it showed: children started together run together, so join \
        waited about as long as the longest child, not the sum of them all.";

    pub fn explain(a: &Args, scale: f64) -> String {
        let n = a.count as f64;
        let (longest, sum) = ((n - 1.0) * scale, n * (n - 1.0) / 2.0 * scale);
        let start = format!(
            "join: {}, and child i sleeps i seconds (0, 1, 2, …), scaled by --time-scale \
             {scale}. The main waits for each child with join, which is waitpid(2).",
            count(a.count as u64, "child", "children")
        );
        let rest = match a.mode() {
            Mode::Parallel => format!(
                "All of them are started before the first join, so they sleep at the same \
                 time: the main's line comes after about {}, the longest sleep, not {}, the \
                 sum. With --sequential each child is started only after the previous one was \
                 joined, and the times add up. Add --timeline to see the rows overlap.",
                secs(longest * 1000.0),
                secs(sum * 1000.0)
            ),
            Mode::Sequential => format!(
                "With --sequential each child is started only after the previous one was \
                 joined, so the sleeps add up: about {}, not {}, the longest. Add --timeline \
                 to see the rows line up one after another.",
                secs(sum * 1000.0),
                secs(longest * 1000.0)
            ),
            Mode::NoJoin => "With --no-join the main does not wait before its own line: it \
                 comes at once, while the children still sleep. It still reaps every child \
                 before it exits (the summary comes last), so none is left a zombie."
                .to_owned(),
        };
        format!("{start} {rest}")
    }

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
        let children = count(s.children as u64, "child", "children");
        match s.mode {
            Mode::NoJoin => format!(
                "done: {children}, no-join mode: the main went on after {}, and reaped them \
                 only at the end",
                secs(s.elapsed_ms)
            ),
            m => format!(
                "done: {children}, {} mode, joined in {}",
                mode(m),
                secs(s.elapsed_ms)
            ),
        }
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let n = d.n;
        match q {
            Question::Parallel => Text::new(
                format!(
                    "{n} children sleep 0, 1, … {} seconds (scaled); all are started, then \
                     joined one by one.",
                    n - 1
                ),
                "About how long does the main wait in its joins (in the tutorial's seconds)?"
                    .to_owned(),
                Some(vec![
                    format!("about {} s, the longest sleep", n - 1),
                    format!("about {} s, the sum of the sleeps", n * (n - 1) / 2),
                ]),
                "The children sleep at the same time: join waits for the longest, and every \
                 other join returns at once."
                    .to_owned(),
            ),
            Question::Sequential => Text::new(
                format!(
                    "{n} children sleep 0, 1, … {} seconds (scaled); each is started only \
                     after the previous one was joined (--sequential).",
                    n - 1
                ),
                "About how long does the main wait in its joins (in the tutorial's seconds)?"
                    .to_owned(),
                Some(vec![
                    format!("about {} s, the longest sleep", n - 1),
                    format!("about {} s, the sum of the sleeps", n * (n - 1) / 2),
                ]),
                "One child at a time: each sleep starts when the one before has ended, so \
                 they add up."
                    .to_owned(),
            ),
        }
    }
}

pub mod isolate {
    use super::*;
    use crate::lesson::isolate::Question;
    use crate::lesson::isolate::{Args, Event, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str =
        "A global variable changed in a child stays unchanged in the parent (part 3)";
    pub const SHOWED: &str = "What it showed: a child's memory is its own; the main's money \
        stayed 100, and only the pipe carried the child's value across.";

    pub fn explain(a: &Args, _scale: f64) -> String {
        let how = match a.method {
            Method::Exec => {
                "Here (--method exec) the child is a fresh program: the kernel loads it at a \
                 random address (ASLR), so its money sits at another address than the \
                 main's, different on every run. With --method fork the child is a copy of \
                 the main: both show the same address for money, yet hold different values \
                 there (copy-on-write)."
            }
            Method::Fork => {
                "Here (--method fork) the child is a copy of the main: both show the same \
                 address for money, yet hold different values there, because the kernel gave \
                 the child its own copy of the page when it wrote to it (copy-on-write)."
            }
        };
        format!(
            "isolate: a global money = 100. The child sets it to {} and shows it; after join \
             the main reads its own money: still 100, because every process has its own \
             memory. {how} Then the child sends its value through a pipe: processes cannot \
             see each other's variables, but they can talk through the kernel. {}",
            a.value,
            method(a.method)
        )
    }

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

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let n = d.n;
        match q {
            Question::Money => Text::new(
                format!("A global money = 100; the child sets it to {n}, and the main joins it."),
                "What does the main then read in its own money? (a number)".to_owned(),
                None,
                "The child changed its own copy: every process has its own memory.".to_owned(),
            ),
            Question::ForkAddress => Text::new(
                "The child is created by fork alone and sets its money; both print the \
                 address of money."
                    .to_owned(),
                "Do they print the same address?".to_owned(),
                choices(&["the same address", "different addresses"]),
                "fork copies the whole address space: the same virtual address, in two \
                 different memories (copy-on-write)."
                    .to_owned(),
            ),
        }
    }
}

pub mod daemon {
    use super::*;
    use crate::lesson::daemon::Question;
    use crate::lesson::daemon::{Args, Event, KillMain, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "A daemon child is ended when the main process ends (part 4)";
    pub const SHOWED: &str = "What it showed: a daemon child does not outlive its main; it was \
        ended by a signal as soon as the main was done.";

    pub fn explain(a: &Args, scale: f64) -> String {
        let main = format!(
            "daemon: the child says it is alive every {}, while the main prints {} {} apart \
             and ends.",
            secs(3000.0 * scale),
            count(a.ticks as u64, "line", "lines"),
            secs(100.0 * scale)
        );
        if a.kill_main {
            let python = if a.like_python {
                " With --like-python the daemon starts without that signal, as CPython's \
                 does: it is orphaned and keeps saying it is alive, with a new parent pid, \
                 main's (main is a child subreaper, so orphans come to it instead of to \
                 init). main ends it after two ticks; Python would have left it running."
            } else {
                " Add --like-python to start the daemon without that signal, as CPython does."
            };
            return format!(
                "daemon --kill-main: three generations. main watches while Process-1 plays the \
                 tutorial's main and Process-2 its daemon, saying it is alive every {}. After \
                 a few of Process-1's lines, main kills it with SIGKILL: it runs no more code \
                 and cannot end its daemon, yet Process-2 dies within a second, because it \
                 asked the kernel for SIGKILL when its parent dies (prctl(PR_SET_PDEATHSIG)).\
                 {python}",
                secs(3000.0 * scale)
            );
        }
        if a.no_daemon {
            return format!(
                "{main} With --no-daemon the child is an ordinary child: it says it is alive \
                 three times and ends by itself, and the main waits for it, as Python waits \
                 for a non-daemonic child before it exits."
            );
        }
        format!(
            "{main} Watch how the child ends: it is a daemon, so the main ends it with SIGTERM \
             as soon as the main is done. Python does the same at a normal exit, but when its \
             main is killed with SIGKILL, CPython's daemon=True child is orphaned and keeps \
             running; procdemo's children ask the kernel for PR_SET_PDEATHSIG (prctl(2)), so \
             they end with their parent even then (see `procdemo daemon --kill-main \
             --like-python`). With --no-daemon the child is an ordinary child, and the main \
             waits for it."
        )
    }

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::Alive { tick } => {
                format!("{} is alive (tick {tick}), parent pid {}", h.name, h.ppid)
            }
            Event::Tick { tick, of } if h.name == "main" => {
                format!("main works: line {tick} of {of}")
            }
            Event::Tick { tick, of } => {
                format!(
                    "{}, the tutorial's main, works: line {tick} of {of}",
                    h.name
                )
            }
            Event::Terminating {
                child,
                child_name,
                signal,
            } => format!(
                "main is done: sending {} to its daemon child {child_name} (pid {child})",
                signal.as_str()
            ),
            Event::KilledMain { child, child_name } => format!(
                "main kills {child_name} (pid {child}), the tutorial's main, with SIGKILL: it \
                 runs no more code, so it cannot end its daemon itself"
            ),
            Event::EndingOrphan {
                child,
                child_name,
                signal,
            } => format!(
                "{child_name} (pid {child}) outlived its parent and runs on as an orphan: \
                 with no parent-death signal, nothing ends it, and under Python it would \
                 keep running. main ends it now with {}",
                signal.as_str()
            ),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let pid = s.child_pid;
        if let Some(k) = &s.kill_main {
            return kill_main(s, k);
        }
        match (s.daemon, s.child_terminated_by) {
            (true, Some(sig)) => format!(
                "done: the daemon child {pid} was ended by {} when the main ended",
                sig.as_str()
            ),
            (_, Some(sig)) => format!("done: the child {pid} was ended by {}", sig.as_str()),
            (_, None) => format!("done: the child {pid} ended by itself and was waited for"),
        }
    }

    fn kill_main(s: &Summary, k: &KillMain) -> String {
        let pid = s.child_pid;
        let after = format!("{} ms", trim_number(k.outlived_ms, 1));
        let how = s
            .child_terminated_by
            .map_or("exited by itself".to_string(), |sig| {
                format!("was ended by {}", sig.as_str())
            });
        if k.like_python {
            format!(
                "done: Process-1 was killed with SIGKILL; its daemon Process-2 (pid {pid}) \
                 was orphaned and kept running, adopted by main (a child subreaper); it {how} \
                 {after} later, because main ended it: Python would have left it running"
            )
        } else if k.orphaned {
            format!(
                "done: Process-1 was killed with SIGKILL; its daemon Process-2 (pid {pid}) \
                 still ran as an orphan, and {how} {after} later"
            )
        } else {
            format!(
                "done: Process-1 was killed with SIGKILL, and its daemon Process-2 (pid {pid}) \
                 {how} {after} later, from the kernel: it had asked for that with \
                 prctl(PR_SET_PDEATHSIG), so it did not outlive its parent"
            )
        }
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let n = d.n;
        match q {
            Question::Ends => Text::new(
                format!("A daemon child says it is alive every 3 s; the main prints {n} lines and is done."),
                "What happens to the daemon child then?".to_owned(),
                choices(&[
                    "the main ends it with a signal",
                    "it keeps running on its own",
                    "the main waits until it ends by itself",
                ]),
                "A daemon does not outlive its main: the main ends it (SIGTERM) when it is \
                 done."
                    .to_owned(),
            ),
            Question::Ordinary => Text::new(
                format!(
                    "The same with --no-daemon: an ordinary child that says it is alive three \
                     times; the main prints {n} lines."
                ),
                "What happens to the child when the main is done?".to_owned(),
                choices(&[
                    "the main ends it with a signal",
                    "it keeps running on its own",
                    "the main waits until it ends by itself",
                ]),
                "An ordinary child is joined: the main waits for it before it exits."
                    .to_owned(),
            ),
        }
    }
}

pub mod tickets {
    use super::*;
    use crate::lesson::tickets::Question;
    use crate::lesson::tickets::{Args, Event, KillHolder, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str = "Buyers race for tickets in a shared file; an exclusive flock keeps \
        the count right (part 5)";
    pub const SHOWED: &str = "What it showed: the lock made the buyers take turns, so no ticket \
        was sold twice; run `procdemo tickets --tickets 1 --no-lock` to see the race it \
        prevents.";

    pub fn explain(a: &Args, scale: f64) -> String {
        let tickets = match a.tickets {
            Some(n) => count(n, "ticket", "tickets"),
            None => "the tickets in the file".to_owned(),
        };
        let start = format!(
            "tickets: {} share one ticket file, {}, with {tickets}. Each one first searches \
             (reads the count without the lock), then buys: read, sleep {}, take a ticket if \
             any is left, write it back.",
            count(a.buyers as u64, "buyer process", "buyer processes"),
            crate::quote::shell_quote(&a.data),
            secs(1000.0 * scale)
        );
        if a.kill_holder {
            return format!(
                "{start} With --kill-holder, while the buyers queue for the lock, main finds \
                 the one holding it in /proc/locks (what lslocks shows) and kills it with \
                 SIGKILL in the middle of its buy. The kernel closes a dead process's files, \
                 and that releases its flock: the others carry on, and the file stays whole. \
                 Python's multiprocessing.Lock would have stayed taken, and every other buyer \
                 would have waited forever."
            );
        }
        let rest = if a.no_lock {
            "With --no-lock nobody takes the lock: watch the buyers read the same count \
             before anyone writes it back, so more buyers are told they bought a ticket than \
             the count went down by (lost updates). The summary says by how much."
        } else {
            "The buy is done under an exclusive flock(2) on the lock file beside the data: \
             watch the lock pass from one buyer to the next, and only as many buyers succeed \
             as there were tickets. A buyer answers with its exit status: 0 when it bought, 3 \
             when it found the tickets sold out (an answer, not a failure); the main reaps \
             them in the order they exit. Add --no-lock to see the race the lock prevents."
        };
        format!("{start} {rest}")
    }

    pub fn event(h: &Header, e: &Event) -> String {
        let me = h.name;
        match e {
            Event::Reset { tickets } => format!("set the ticket count to {tickets}"),
            Event::TempsCleaned { count } => {
                format!(
                    "removed {} left by a killed writer",
                    super::count(*count as u64, "temporary file", "temporary files")
                )
            }
            Event::AlreadySoldOut { data } => format!(
                "{} has 0 tickets left, so every buyer will find it sold out; \
                 to put one back, run `{}`",
                crate::quote::shell_quote(data),
                crate::ticketfile::reset_command(data)
            ),
            Event::Search { remaining } => {
                format!("{me} sees {} left", count(*remaining, "ticket", "tickets"))
            }
            Event::LockWait => format!("{me} waits for the lock"),
            Event::LockAcquired => format!("{me} holds the lock"),
            Event::LockReleased => format!("{me} released the lock"),
            Event::Bought { remaining } => format!("{me} bought a ticket ({remaining} left)"),
            Event::SoldOut => format!("{me}: sold out, no ticket left"),
            Event::KilledHolder { child, child_name } => format!(
                "main finds {child_name} (pid {child}) holding the lock in /proc/locks (what \
                 lslocks shows) and kills it with SIGKILL in the middle of its buy: the \
                 kernel closes its files, and that releases its lock"
            ),
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
            unconfirmed,
            kill_holder,
        } = s;
        let base = format!(
            "done: {}, {} at the start, {sold} sold, {remaining} left",
            count(*buyers as u64, "buyer", "buyers"),
            count(*initial, "ticket", "tickets"),
        );
        let gone = initial.saturating_sub(*remaining);
        let extra = sold.saturating_sub(gone);
        let mut text = match (oversold, lock) {
            (false, _) => base,
            (true, false) => format!(
                "{base}: OVERSOLD by {extra}. {} told they got a ticket, \
                 but the count in the file went down by only {gone}: without the lock, buyers \
                 read the same count before any of them wrote it back, and each one wrote the \
                 same new count over the others' (lost updates)",
                if *sold == 1 {
                    "1 buyer was".to_owned()
                } else {
                    format!("{sold} buyers were")
                }
            ),
            (true, true) => format!("{base}: OVERSOLD by {extra} with the lock on: a bug"),
        };
        match unconfirmed {
            0 => {}
            1 => text.push_str(
                "; 1 more ticket left the file unconfirmed: a buyer was killed after it took \
                 a ticket (its rename) and before it could answer",
            ),
            n => text.push_str(&format!(
                "; {n} more tickets left the file unconfirmed: {n} buyers were killed after \
                 they took a ticket (their rename) and before they could answer"
            )),
        }
        match kill_holder {
            Some(KillHolder { killed: Some(name) }) => text.push_str(&format!(
                ". {name} was killed holding the lock: the kernel released it, the other \
                 buyers carried on, and the file stayed whole. Python's multiprocessing.Lock \
                 would have stayed taken, and every other buyer would have waited forever"
            )),
            Some(KillHolder { killed: None }) => text.push_str(
                ". No buyer was caught holding the lock, so none was killed: at this \
                 --time-scale a buy is over in a moment; try --time-scale 0.1",
            ),
            None => {}
        }
        text
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let Drawn { n, m } = d;
        let locked = || {
            format!(
                "{n} buyers, {}, and the lock on.",
                count(m, "ticket", "tickets")
            )
        };
        match q {
            Question::Sold => Text::new(
                locked(),
                "How many buyers get a ticket? (a number)".to_owned(),
                None,
                "With the lock the buyers take turns, and each takes one ticket while any \
                 is left."
                    .to_owned(),
            ),
            Question::SoldOut => Text::new(
                locked(),
                "How many buyers answer \"sold out\", with exit status 3? (a number)".to_owned(),
                None,
                "Every buyer answers: those that came after the last ticket find it sold out."
                    .to_owned(),
            ),
            Question::WholeFile => Text::new(
                format!(
                    "{n} buyers, {}, and no lock (--no-lock): they race.",
                    count(m, "ticket", "tickets")
                ),
                "Can a buyer read a half-written ticket file?".to_owned(),
                choices(&[
                    "no: every buyer reads a whole file",
                    "yes: a buyer can read it mid-write",
                ]),
                "Each write goes to a temporary file renamed over the data (rename(2)): a \
                 reader sees the old file or the new one, never half. The race loses \
                 updates; it never tears the file."
                    .to_owned(),
            ),
        }
    }
}

pub mod zombie {
    use super::*;
    use crate::lesson::zombie::Question;
    use crate::lesson::zombie::{Args, Event, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str =
        "A child that has exited but is not reaped yet: a zombie, <defunct> in ps";
    pub const SHOWED: &str =
        "What it showed: an exited child stays a zombie until its parent waits for it; \
            no signal removes it, only the reap does, and then its pid is free again.";

    pub fn explain(a: &Args, scale: f64) -> String {
        format!(
            "zombie: {} at once, but the main does not reap {} yet: it \
            does not call waitpid(2). A process that has exited keeps its pid and its exit \
            status in the kernel until its parent collects them; until then it is a zombie, \
            state Z in /proc, what ps shows as <defunct>. Watch the main read each child's \
            state, print a ps command to try from another terminal, and send each zombie \
            SIGKILL: nothing changes, a zombie is dead already. After {} (--hold {}, scaled \
            by --time-scale) the main reaps them, and /proc/<pid> is gone.",
            if a.count == 1 {
                "the child exits".to_owned()
            } else {
                format!("the {} children exit", a.count)
            },
            if a.count == 1 { "it" } else { "them" },
            secs(a.hold * scale * 1000.0),
            trim_number(a.hold, 3)
        )
    }

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::Exiting => format!("{} exits now, with exit code 0", h.name),
            Event::Zombie {
                child,
                child_name,
                state: 'Z',
            } => format!(
                "{child_name} (pid {child}) has exited but is not reaped yet: state Z in \
                 /proc/{child}/stat, a zombie (<defunct> in ps)"
            ),
            Event::Zombie {
                child,
                child_name,
                state,
            } => format!(
                "{child_name} (pid {child}) has exited; /proc/{child}/stat says state {state}"
            ),
            Event::PsHint { command } => {
                format!("look from another terminal while they are held: {command}")
            }
            Event::KillZombie {
                child,
                child_name,
                signal,
                state: 'Z',
            } => format!(
                "sent {} to {child_name} (pid {child}): still state Z. A zombie is dead \
                 already; no signal reaches it, only a reap removes it",
                signal.as_str()
            ),
            Event::KillZombie {
                child,
                child_name,
                signal,
                state,
            } => format!(
                "sent {} to {child_name} (pid {child}): state now {state}",
                signal.as_str()
            ),
            Event::Holding {
                zombies,
                seconds,
                for_ms,
            } => format!(
                "main leaves its {} unreaped for {} (--hold {})",
                count(*zombies as u64, "zombie", "zombies"),
                secs(*for_ms),
                trim_number(*seconds, 3)
            ),
            Event::Gone { child, child_name } => {
                format!("reaped, and /proc/{child} is gone: {child_name}'s pid is free again")
            }
        }
    }

    pub fn summary(s: &Summary) -> String {
        let after = if s.gone_after_reap {
            "every /proc/<pid> was gone after the reap"
        } else {
            "some /proc/<pid> was still there after the reap"
        };
        format!(
            "done: {}, {} seen as zombies (state Z) before their reap; {after}",
            count(s.children as u64, "child", "children"),
            s.zombies_seen
        )
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let n = d.n;
        match q {
            Question::State => Text::new(
                format!(
                    "{} exit at once; the main leaves them unreaped for a second and reads \
                     their state in /proc/<pid>/stat.",
                    count(n, "child", "children")
                ),
                "Which state letter does it read before the reap?".to_owned(),
                choices(&["R, running", "S, sleeping", "Z, zombie"]),
                "A child that has exited is a zombie until its parent waits for it: only its \
                 exit status is left, for the parent to collect."
                    .to_owned(),
            ),
        }
    }
}

pub mod orphan {
    use super::*;
    use crate::lesson::orphan::Question;
    use crate::lesson::orphan::{Args, Event, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str =
        "The parent exits first: its child is adopted by a subreaper, or by init";
    pub const SHOWED: &str =
        "What it showed: an orphan is never left without a parent; it is re-parented \
            to the nearest subreaper or to init, which then reaps it.";

    pub fn explain(_: &Args, _scale: f64) -> String {
        "orphan: three generations. main starts Process-1, which starts Process-2 and \
            exits at once without waiting for it: Process-2 is an orphan. Every process has a \
            parent, so the kernel gives it a new one: the nearest ancestor that has made \
            itself a child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), or else init, pid 1. \
            Watch Process-2's parent pid: Process-1's first, then its adopter's. By default \
            main is a subreaper, adopts the orphan and reaps it. With --no-subreaper the \
            orphan goes to someone above main, whom main names; main cannot wait for a \
            process that is not its child, so it watches it with a pidfd until it ends."
            .to_owned()
    }

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::Subreaper { subreaper: true } => "main made itself a child subreaper \
                (prctl PR_SET_CHILD_SUBREAPER): orphans below it will be re-parented to it"
                .to_string(),
            Event::Subreaper { subreaper: false } => "main is not a subreaper \
                (--no-subreaper): orphans below it go to the nearest subreaper above it, \
                or to init"
                .to_string(),
            Event::Leaving { child, child_name } => format!(
                "{} started {child_name} (pid {child}) and exits now, without waiting for it",
                h.name
            ),
            Event::Adopted { old_ppid, new_ppid } => format!(
                "{}: my parent {old_ppid} has exited; my parent pid is now {new_ppid}: \
                 I was adopted",
                h.name
            ),
            Event::Adopter {
                child,
                child_name,
                adopter,
                comm,
                is_main: true,
            } => format!(
                "{child_name} (pid {child}) was re-parented to main itself (pid {adopter}, \
                 {comm}), a subreaper: main will reap it like a child of its own"
            ),
            Event::Adopter {
                child,
                child_name,
                adopter,
                comm,
                is_main: false,
            } => format!(
                "{child_name} (pid {child}) was re-parented to pid {adopter} ({comm}){}: \
                 not main's child, so main cannot wait for it; it watches it with a pidfd",
                if adopter.as_raw() == 1 {
                    ", init"
                } else {
                    ", the nearest subreaper above main"
                }
            ),
            Event::OrphanEnded { child, child_name } => format!(
                "the pidfd of {child_name} (pid {child}) is readable: it has ended, and its \
                 adopter reaps it, not main"
            ),
            Event::Over => format!("{} is over: pid {}, parent pid {}", h.name, h.pid, h.ppid),
            Event::MainGone => format!(
                "{}: the lifeline pipe is closed, main is gone: I end too",
                h.name
            ),
        }
    }

    pub fn summary(s: &Summary) -> String {
        let by = if s.subreaper {
            "main, a subreaper, which reaped it"
        } else {
            "a process above main, which reaps it"
        };
        format!(
            "done: Process-1 ({}) left its child Process-2 ({}) an orphan; pid {} adopted \
             it: {by}",
            s.parent_pid, s.orphan_pid, s.adopted_by
        )
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, _: Drawn) -> Text {
        match q {
            Question::Adopter => Text::new(
                "main starts Process-1, which starts Process-2 and exits at once; main is a \
                 child subreaper."
                    .to_owned(),
                "Who becomes Process-2's parent after Process-1 is gone?".to_owned(),
                choices(&[
                    "main, the subreaper",
                    "init, pid 1",
                    "nobody: it keeps Process-1's pid",
                ]),
                "An orphan is re-parented at once, to the nearest subreaper above it \
                 (PR_SET_CHILD_SUBREAPER), or else to init."
                    .to_owned(),
            ),
        }
    }
}

pub mod queue {
    use super::*;
    use crate::lesson::queue::Question;
    use crate::lesson::queue::{Args, Event, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str =
        "Producers and consumers share one bounded queue, a POSIX message queue";
    pub const SHOWED: &str =
        "What it showed: processes that never talk to each other shared the work \
            through one queue; a full queue holds the producers back, an empty one makes the \
            consumers wait, and every item came through once, in order.";

    pub fn explain(_: &Args, _scale: f64) -> String {
        "queue: producers and consumers. Two producer processes put items on one \
            queue, two consumer processes get them and handle them, more slowly; the queue \
            holds 3 items at most. The queue is a kernel object, a POSIX message queue \
            (mq_send, mq_receive), and the kernel does the waiting: a producer that finds it \
            full waits until a consumer takes something, a consumer that finds it empty waits \
            until a producer puts something. Watch the lines that say `waits`, or add \
            --timeline to see the waits. When both producers are done, the main puts one end \
            marker per consumer (Python's None), and each consumer stops at the one it gets. \
            Every item is handled exactly once, and each producer's items come out in the \
            order it put them."
            .to_owned()
    }

    pub fn event(h: &Header, e: &Event) -> String {
        let me = h.name;
        match e {
            Event::QueueOpen { queue, capacity } => format!(
                "main created the queue {queue}, a POSIX message queue for {}, and removed its \
                 name at once: it lives as long as a process holds it open",
                count(*capacity as u64, "item", "items")
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
            "done: {} put {}, {} got {}, through a queue of {}",
            count(s.producers as u64, "producer", "producers"),
            count(s.put, "item", "items"),
            count(s.consumers as u64, "consumer", "consumers"),
            s.got,
            s.capacity
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

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let Drawn { n, m } = d;
        match q {
            Question::Items => Text::new(
                format!(
                    "{} {} {} each into one bounded queue; 2 consumers get them until the \
                     main's end markers.",
                    count(n, "producer", "producers"),
                    if n == 1 { "puts" } else { "put" },
                    count(m, "item", "items")
                ),
                "How many items do the consumers get in all? (a number)".to_owned(),
                None,
                "A queue hands each item to exactly one consumer, once: every item put is got, \
                 none twice."
                    .to_owned(),
            ),
        }
    }
}

pub mod pool {
    use super::*;
    use crate::lesson::pool::Question;
    use crate::lesson::pool::{Args, Event, Mode, Summary};
    use crate::messages::python_list;
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str =
        "A pool of worker processes, started once, takes task after task (Pool(3).map)";
    pub const SHOWED: &str =
        "What it showed: a few processes, started once, did every task, and the \
            results came back in task order, whatever order they finished in.";

    pub fn explain(_: &Args, _scale: f64) -> String {
        "pool: a process pool, Python's Pool(3).map(f, range(10)), where f squares \
            its argument after a short sleep. Starting a process costs time, so the pool \
            starts 3 worker processes once, and each takes task after task from one shared \
            pipe until none is left. Watch the pids: the same three do all ten tasks. The \
            results come back on another pipe, in whatever order they finish, and the main \
            puts each one at its task's place: they come out in task order. With --no-pool \
            every task gets a new process instead: ten pids, ten starts."
            .to_owned()
    }

    pub fn event(h: &Header, e: &Event) -> String {
        match e {
            Event::TaskDone { task, result } => {
                format!("{} did task {task}: {task} * {task} = {result}", h.name)
            }
        }
    }

    pub fn summary(s: &Summary) -> String {
        let how = match s.mode {
            Mode::Pool => format!("a pool of {}", count(s.workers as u64, "worker", "workers")),
            Mode::NoPool => "one new process per task".to_string(),
        };
        format!(
            "done: {}; {} ran the {}, {how}, in {}",
            python_list(&s.results, 20),
            count(s.pids as u64, "process", "processes"),
            count(s.tasks as u64, "task", "tasks"),
            secs(s.elapsed_ms)
        )
    }

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let Drawn { n, m } = d;
        match q {
            Question::Processes => Text::new(
                format!("Pool({n}).map(f, range({m})): {m} tasks for a pool of {n} workers."),
                "How many processes does the main start? (a number)".to_owned(),
                None,
                "A pool starts its workers once; each takes task after task, so the start cost \
                 is paid W times, not T."
                    .to_owned(),
            ),
        }
    }
}

pub mod shared {
    use super::*;
    use crate::lesson::shared::Question;
    use crate::lesson::shared::{Args, Event, Mode, Summary};
    use crate::quiz::ask::Drawn;
    use crate::quiz::data::Text;

    pub const ABOUT: &str =
        "One integer in memory every worker maps: exact with a lock, lost updates without";
    pub const SHOWED: &str =
        "What it showed: every worker mapped the same page, and with the lock the \
            count came out exact; run `procdemo shared --no-lock` to see the updates the lock \
            prevents from being lost.";

    pub fn explain(_: &Args, _scale: f64) -> String {
        "shared: the sequel to isolate. There, each process had its own money. \
            Here the main makes one integer in a page of memory that every worker maps \
            (memfd_create, then mmap with MAP_SHARED): each process sees it at an address of \
            its own, and all of them see one page, one value. Each of 4 workers adds 1 to it \
            100000 times, by reading it and writing it back. By default each add holds a \
            lock, a process-shared mutex in the same page, and the result is exact. With \
            --no-lock two workers can read the same value and both write back that value plus \
            one: updates are lost, and the summary says how many. With --atomic each add is \
            one atomic instruction: exact, and no lock."
            .to_owned()
    }

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
                "main: all {} ready; it closes the pipe they wait on: go!",
                count(*workers as u64, "worker is", "workers are")
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
            "done: {} x {} adds: expected {}, final {}, lost {}",
            count(s.workers as u64, "worker", "workers"),
            s.adds,
            s.expected,
            s.r#final,
            s.lost
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

    /// What the quiz asks about this lesson.
    pub fn question(q: Question, d: Drawn) -> Text {
        let Drawn { n, m } = d;
        match q {
            Question::Locked => Text::new(
                format!(
                    "{n} workers each add 1 to one shared integer {m} times, reading it and \
                     writing it back under the lock."
                ),
                "What is its final value? (a number)".to_owned(),
                None,
                "With the lock, a read and its write-back are never split by another worker: \
                 no update is lost."
                    .to_owned(),
            ),
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
    joining: "waiting for a child (join)",
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
            trim_number(column_ms, if column_ms < 1.0 { 3 } else { 1 })
        )
    },
    exit: |code| format!("exit {code}"),
    more: |rows| {
        let what = if rows == 1 { "process" } else { "processes" };
        format!("… and {rows} more {what}, not drawn")
    },
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

    fn tour_second_part(&self) -> &'static str {
        "Part 2: the lessons after the tutorial. They go further than Python's \
         multiprocessing shows: what is left of a child that has ended, who adopts an orphan, \
         and how processes work together."
    }

    fn tour_outro(&self, all: bool) -> &'static str {
        if all {
            "That was the tour. Each lesson has more to try: `procdemo <lesson> --help` lists its \
             options and examples, and --timeline draws every process on one time axis."
        } else {
            "That was the tour. Each lesson has more to try: `procdemo <lesson> --help` \
             lists its options and examples, and --timeline draws every process on one time \
             axis. The lessons after the tutorial come with `procdemo tour --all`."
        }
    }

    fn chart(&self) -> &'static ChartWords {
        &CHART
    }
}

pub mod quiz {
    use super::*;
    use crate::quiz::data::{Event, QuizWords, Summary};

    pub fn event(e: &Event) -> String {
        match e {
            Event::Question {
                number, command, ..
            } => format!("question {number}: {command}"),
            Event::Answer { number, given } => match given {
                Some(a) => format!("answer {number}: {a}"),
                None => format!("answer {number}: not a valid answer"),
            },
            Event::Outcome {
                number,
                observed,
                correct,
            } => format!(
                "outcome {number}: it did {}; {}",
                observed.map_or("nothing that answers".to_owned(), |a| a.to_string()),
                if *correct { "right" } else { "wrong" }
            ),
        }
    }

    pub fn summary(s: &Summary) -> String {
        format!(
            "score: {} of {} right ({} answered); replay it with --seed {}",
            s.correct, s.questions, s.answered, s.seed
        )
    }

    pub static WORDS: QuizWords = QuizWords {
        intro: |seed, n| {
            format!(
                "procdemo quiz: {} about real processes. For each, predict what will \
                 happen, then watch the real run answer. Answer with a letter or a number. \
                 (Seed {seed}: `procdemo quiz --seed {seed}` asks the same again.)",
                count(n as u64, "question", "questions")
            )
        },
        sheet: |seed| format!("procdemo quiz --seed {seed}: the answers."),
        heading: |n, of| format!("── question {n} of {of} ──"),
        answer: |a| format!("Answer: {a}"),
        invalid: |choices, again| {
            let want = match choices {
                Some(n) => format!("a letter from a to {}", (b'a' + n as u8 - 1) as char),
                None => "a whole number".to_owned(),
            };
            if again {
                format!("That is not {want}; try again.")
            } else {
                format!("That is not {want}: it counts as wrong.")
            }
        },
        verdict: |given, observed, correct| {
            let said = given.map_or("nothing valid".to_owned(), |a| a.to_string());
            let did = observed.map_or("nothing that answers".to_owned(), |a| a.to_string());
            format!(
                "You said {said}; the real run did {did}: {}",
                if correct { "right." } else { "not this time." }
            )
        },
        ended: || "End of input: the quiz stops here.".to_owned(),
    };
}
