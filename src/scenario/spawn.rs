//! # spawn: a parent starts children and goes on without waiting
//!
//! The tutorial's first example: `p = Process(target=test); p.start()`, then the parent prints
//! its own pid (`os.getpid()`) and its parent's (`os.getppid()`) while the child runs on its own.
//! Here each child is a real process, created either by re-executing procdemo (`--method
//! exec`: `posix_spawn(3)`, which is `clone(2)` + `execve(2)`) or by `fork(2)` alone
//! (`--method fork`: a copy of the parent that keeps running the parent's code). Every child
//! prints `Process-N is running` with its pid and its parent's pid, sleeps 3 s, and prints
//! `Process-N is over`.
//!
//! The parent does not wait for them to do its own work, but before it exits it still
//! collects each one with `waitpid(2)`: a child that ends unreaped stays a zombie, and one
//! whose parent exits first is re-parented to init, which is exactly the loose end a
//! well-behaved program never leaves.

use anyhow::Result;

use crate::child::Role;
use crate::cli::{Global, SpawnArgs};
use crate::event::{Event, Out, Scenario, Summary};
use crate::supervisor::Supervisor;
use crate::time::TimeScale;

/// How long each child sleeps between `is running` and `is over`, in the tutorial's seconds.
const CHILD_SLEEP: f64 = 3.0;

pub fn run(g: &Global, args: &SpawnArgs) -> Result<()> {
    // The parent's pid and ppid: the tutorial's `print('父进程:', os.getpid())`.
    let out = Out::main(g.format(), Scenario::Spawn)?;
    let mut children = Supervisor::new(&out, g.time_scale)?;

    // p.start(), count times. Each call returns as soon as the child exists.
    for i in 1..=args.count {
        children.start(format!("Process-{i}"), Role::Spawn, args.method)?;
    }
    out.emit(&Event::NotWaiting {
        children: args.count,
    })?;

    // The parent's own work is done; collect every child before leaving.
    children.join_all()?;
    out.emit(&Event::Summary(Summary::Spawn {
        children: args.count,
        method: args.method,
    }))
}

/// A child: say who it is (pid, parent pid), sleep, say it is over.
pub fn child(out: &Out, scale: TimeScale) -> Result<()> {
    out.emit(&Event::Start {
        scenario: Scenario::Spawn,
    })?;
    scale.sleep(CHILD_SLEEP);
    out.emit(&Event::Over)
}
