//! English. Children of `spawn` and `join` say `Process-1 is running` / `is over`, as the
//! tutorial's examples do.

use crate::cli::{JoinMode, Method};
use crate::event::{Ended, Event, Header, Summary};
use crate::scenario::tickets::{EXIT_BOUGHT, EXIT_SOLD_OUT};

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

pub fn message(h: &Header, event: &Event) -> String {
    let me = h.name;
    match event {
        Event::Start { scenario } if me == "main" => format!(
            "main process of `{}` started: pid {}, parent pid {}",
            scenario.as_str(),
            h.pid,
            h.ppid
        ),
        Event::Start { .. } => format!("{me} is running: pid {}, parent pid {}", h.pid, h.ppid),
        Event::Spawned { child, child_name } => format!("started {child_name} (pid {child})"),
        Event::Exit {
            child,
            child_name,
            ended: e,
        } => format!(
            "reaped {child_name} (pid {child}): it {}{}",
            ended(e),
            buyer_answer(child_name, e)
        ),
        Event::Stopping { signal, children } => format!(
            "got {}: stopping {children} running child(ren) and reaping them",
            signal.as_str()
        ),
        Event::NotWaiting { children } => format!(
            "main goes on without waiting for its {children} child(ren); \
             it still reaps them before it exits, so none is orphaned"
        ),
        Event::Over => format!("{me} is over: pid {}, parent pid {}", h.pid, h.ppid),
        Event::MainDone { elapsed_ms, mode } => match mode {
            JoinMode::Parallel => format!(
                "主 (main): joined every child after {}: the longest sleep, not the sum",
                secs(*elapsed_ms)
            ),
            JoinMode::Sequential => format!(
                "主 (main): started and joined one child at a time: {}, the sum of the sleeps",
                secs(*elapsed_ms)
            ),
            JoinMode::NoJoin => format!(
                "主 (main): did not join, so it got here after {}",
                secs(*elapsed_ms)
            ),
        },
        Event::MoneySet { value, address } => {
            format!("{me} set its global money = {value} (at address {address:#x})")
        }
        Event::PipeSent { value } => format!("{me} wrote {value} into the pipe"),
        Event::MoneyRead { value, address } => {
            format!("main reads its own money after the join: {value} (at address {address:#x})")
        }
        Event::PipeReceived { value } => format!("main read {value} from the pipe"),
        Event::Alive { tick } => format!("{me} is alive (tick {tick})"),
        Event::Tick { tick, of } => format!("main works: line {tick} of {of}"),
        Event::Terminating {
            child,
            child_name,
            signal,
        } => format!(
            "main is done: sending {} to its daemon child {child_name} (pid {child})",
            signal.as_str()
        ),
        Event::Reset { tickets } => format!("set the ticket count to {tickets}"),
        Event::TempsCleaned { count } => {
            format!("removed {count} temporary file(s) left by a killed writer")
        }
        Event::Search { remaining } => format!("{me} sees {remaining} ticket(s) left"),
        Event::LockWait => format!("{me} waits for the lock"),
        Event::LockAcquired => format!("{me} holds the lock"),
        Event::LockReleased => format!("{me} released the lock"),
        Event::Bought { remaining } => {
            format!("{me} bought a ticket ({remaining} left)")
        }
        Event::SoldOut => format!("{me}: sold out, no ticket left"),
        Event::AlreadySoldOut { data } => format!(
            "{} has 0 tickets left, so every buyer will find it sold out; \
             to put one back, run `{}`",
            data.display(),
            crate::ticketfile::reset_command(data)
        ),
        Event::Summary(s) => summary(s),
    }
}

/// A tickets buyer answers with its exit status; say what the number means.
fn buyer_answer(child_name: &str, e: &Ended) -> &'static str {
    if !child_name.starts_with("buyer-") {
        return "";
    }
    match e {
        Ended::Code(EXIT_BOUGHT) => " (its answer: bought a ticket)",
        Ended::Code(EXIT_SOLD_OUT) => " (its answer: sold out; not a failure)",
        _ => "",
    }
}

fn summary(s: &Summary) -> String {
    match s {
        Summary::Spawn { children, method } => format!(
            "done: {children} child(ren) created with {}, all reaped",
            method.as_str()
        ),
        Summary::Join {
            children,
            elapsed_ms,
            mode,
        } => format!(
            "done: {children} child(ren), {} mode, {} in all",
            mode.as_str(),
            secs(*elapsed_ms)
        ),
        Summary::Isolate {
            method,
            parent_value,
            child_value,
            received,
        } => {
            let memory = match method {
                Method::Fork => {
                    "same virtual address, two values: fork gave the child a copy of the \
                     memory (copy-on-write)"
                }
                Method::Exec => "exec started a fresh program with its own memory",
            };
            format!(
                "done: the child's money was {child_value}, the main's is still \
                 {parent_value} ({memory}); through the pipe came {}",
                received.map_or("nothing".to_string(), |v| v.to_string())
            )
        }
        Summary::Daemon {
            daemon,
            child_pid,
            child_terminated_by,
        } => match (daemon, child_terminated_by) {
            (true, Some(sig)) => format!(
                "done: the daemon child {child_pid} was ended by {} when the main ended",
                sig.as_str()
            ),
            (_, Some(sig)) => format!("done: the child {child_pid} was ended by {}", sig.as_str()),
            (_, None) => format!("done: the child {child_pid} ended by itself and was waited for"),
        },
        Summary::Tickets {
            buyers,
            initial,
            sold,
            remaining,
            oversold,
            lock,
        } => {
            let base = format!(
                "done: {buyers} buyer(s), {initial} ticket(s) at the start, {sold} sold, {remaining} left"
            );
            let gone = initial.saturating_sub(*remaining);
            let extra = sold.saturating_sub(gone);
            match (oversold, lock) {
                (false, _) => base,
                (true, false) => format!(
                    "{base}: OVERSOLD by {extra}. {sold} buyer(s) were told they got a ticket, \
                     but the count in the file went down by only {gone}: without the lock, \
                     buyers read the same count before any of them wrote it back, and each \
                     one wrote the same new count over the others' (lost updates)"
                ),
                (true, true) => format!("{base}: OVERSOLD by {extra} with the lock on: a bug"),
            }
        }
    }
}
