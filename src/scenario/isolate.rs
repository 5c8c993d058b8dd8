//! # isolate: every process has its own memory
//!
//! The tutorial's third example: a global `money = 100`; the child sets it to 99999999; after
//! `join` the parent prints its own `money`, still 100. Each process has its own address
//! space. With `--method fork` the child starts as a copy of the parent (fork(2)): both print
//! the same virtual address for `money`, yet hold different values there, because the kernel
//! gave the child its own copy of the page the moment it wrote to it (copy-on-write). With
//! `--method exec` the child is a fresh program (execve(2)) with its own `money = 100`; as
//! procdemo is linked at a fixed address, it even sits at the same virtual address, in memory
//! of its own.
//!
//! Isolated, but not deaf: the child writes its value into a pipe (pipe(2)) whose write end it
//! inherited, and the parent reads it from the other end. That is how processes talk: through
//! the kernel, never through each other's variables.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::{Context, Result};

use crate::child::Role;
use crate::cli::{Global, IsolateArgs};
use crate::event::{Event, Out, Scenario, Summary};
use crate::supervisor::Supervisor;
use crate::sys;

/// The tutorial's `money = 100`: one global in this program's data segment.
static MONEY: AtomicI64 = AtomicI64::new(100);

fn money_address() -> usize {
    &MONEY as *const AtomicI64 as usize
}

pub fn run(g: &Global, args: &IsolateArgs) -> Result<()> {
    let out = Out::main(g.format(), Scenario::Isolate)?;
    let mut children = Supervisor::new(&out, g.time_scale)?;

    // The pipe the child will answer through. Both ends are close-on-exec; the write end is
    // made inheritable, so the exec'ed child finds it open under the same number.
    let (mut reader, writer) = std::io::pipe().context("pipe")?;
    sys::keep_open_across_exec(&writer)?;
    let child = children.start(
        "Process-1".into(),
        Role::Isolate {
            value: args.value,
            pipe: writer.as_raw_fd(),
        },
        args.method,
    )?;
    // Close our copy of the write end: the pipe reports end-of-file only once every write
    // end is closed (pipe(7)), and ours would keep it open forever.
    drop(writer);

    // p.join(); print(money)
    children.join(child)?;
    let parent_value = MONEY.load(Ordering::Relaxed);
    out.emit(&Event::MoneyRead {
        value: parent_value,
        address: money_address(),
    })?;

    // What the child said through the pipe.
    let mut text = String::new();
    (&mut reader)
        .take(64)
        .read_to_string(&mut text)
        .context("reading the pipe")?;
    let received = text.trim().parse::<i64>().ok();
    if let Some(value) = received {
        out.emit(&Event::PipeReceived { value })?;
    }

    out.emit(&Event::Summary(Summary::Isolate {
        method: args.method,
        parent_value,
        child_value: args.value,
        received,
    }))
}

/// The child: `global money; money = value`, show it, and send it to the parent.
pub fn child(out: &Out, value: i64, pipe: RawFd) -> Result<()> {
    let pipe = sys::inherited_fd(pipe)?;
    out.emit(&Event::Start {
        scenario: Scenario::Isolate,
    })?;
    MONEY.store(value, Ordering::Relaxed);
    out.emit(&Event::MoneySet {
        value: MONEY.load(Ordering::Relaxed),
        address: money_address(),
    })?;
    let value = MONEY.load(Ordering::Relaxed);
    std::fs::File::from(pipe)
        .write_all(format!("{value}\n").as_bytes())
        .context("writing the pipe")?;
    out.emit(&Event::PipeSent { value })
}
