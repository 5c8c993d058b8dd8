//! # join: wait for children, and see that they ran at the same time
//!
//! The tutorial's second example: child `i` sleeps `i` seconds, and the main calls `p.join()`
//! on each one, which blocks in `waitpid(2)` until that child has ended. Because all children
//! were started before the first join, they sleep at the same time, and the main's elapsed time
//! is about the longest sleep (2 s for three children), not the sum (0 + 1 + 2 = 3 s).
//!
//! `--sequential` starts and joins one child at a time: the sleeps add up. `--no-join` prints
//! at once, before any child has ended; the main still reaps its children before it exits.

use std::time::Instant;

use anyhow::Result;

use crate::child::Role;
use crate::cli::{Global, JoinArgs, JoinMode, Method};
use crate::event::{Event, Out, Scenario, Summary};
use crate::supervisor::Supervisor;
use crate::time::TimeScale;

pub fn run(g: &Global, args: &JoinArgs) -> Result<()> {
    let out = Out::main(g.format(), Scenario::Join)?;
    let mut children = Supervisor::new(&out, g.time_scale)?;
    let mode = args.mode();
    let started = Instant::now();

    // Child i (from 0) is Process-(i+1) and sleeps i seconds.
    let role = |i: usize| Role::Join { secs: i as u64 };
    let name = |i: usize| format!("Process-{}", i + 1);

    match mode {
        JoinMode::Parallel | JoinMode::NoJoin => {
            let mut pids = Vec::with_capacity(args.count);
            for i in 0..args.count {
                pids.push(children.start(name(i), role(i), Method::Exec)?);
            }
            if mode == JoinMode::Parallel {
                // [p.join() for p in p_list]
                for pid in pids {
                    children.join(pid)?;
                }
            }
        }
        JoinMode::Sequential => {
            for i in 0..args.count {
                let pid = children.start(name(i), role(i), Method::Exec)?;
                children.join(pid)?;
            }
        }
    }

    // print('主'); print(time.time() - start_time)
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    out.emit(&Event::MainDone { elapsed_ms, mode })?;

    // Without join the children are still running: reap them before leaving all the same.
    children.join_all()?;
    out.emit(&Event::Summary(Summary::Join {
        children: args.count,
        elapsed_ms,
        mode,
    }))
}

/// A child: `print('%s is running' % name)`, sleep `secs`, `print('%s is over' % name)`.
pub fn child(out: &Out, scale: TimeScale, secs: u64) -> Result<()> {
    out.emit(&Event::Start {
        scenario: Scenario::Join,
    })?;
    scale.sleep(secs as f64);
    out.emit(&Event::Over)
}
