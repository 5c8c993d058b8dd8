//! How a process of procdemo ends: every exit code in one table ([`code`]), and the errors
//! that carry a meaning of their own.
//!
//! Lessons return `anyhow::Result`; most errors are plain messages (exit 1). The few types
//! below mean something else, and `main` finds them with `downcast_ref`.

use std::fmt;

use nix::sys::signal::Signal;

/// Every exit code procdemo uses, main and children alike.
pub mod code {
    /// The lesson ran. For a tickets buyer: it bought a ticket.
    pub const SUCCESS: i32 = 0;
    /// A runtime error, said in one line on stderr; or `tickets` oversold with the lock on.
    pub const FAILURE: i32 = 1;
    /// A usage error: clap's own, or a `--child` command line that does not decode.
    pub const USAGE: i32 = 2;
    /// A tickets buyer found no ticket left: an answer, not a failure.
    pub const SOLD_OUT: i32 = 3;
    /// A child whose stdout was closed ends as a shell shows death by SIGPIPE: 128 + 13.
    pub const CLOSED_PIPE: i32 = signal(nix::libc::SIGPIPE);

    /// Ended by signal `n` (after stopping and reaping its children): 128 + n.
    pub const fn signal(n: i32) -> i32 {
        128 + n
    }
}

/// Children of the run did not do their job: they exited with a code their lesson does not
/// expect. Exit 1, naming the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildrenFailed {
    pub count: usize,
    pub first: String,
    pub pid: i32,
    pub code: i32,
}

impl fmt::Display for ChildrenFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ChildrenFailed {
            count,
            first,
            pid,
            code,
        } = self;
        if *count == 1 {
            write!(
                f,
                "{first} (pid {pid}) failed with exit code {code}; it said why above"
            )
        } else {
            write!(
                f,
                "{count} children failed, the first {first} (pid {pid}) with exit code {code}; \
                 each said why above"
            )
        }
    }
}

impl std::error::Error for ChildrenFailed {}

/// A child could not be created (fork(2) or posix_spawn(3) failed: a process limit, no
/// memory). Exit 1; the children already started are stopped and reaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouldNotStart {
    pub name: String,
    /// How many children had been started before.
    pub started: usize,
}

impl fmt::Display for CouldNotStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let children = if self.started == 1 {
            "child"
        } else {
            "children"
        };
        write!(
            f,
            "could not start {} ({} {children} had been started)",
            self.name, self.started
        )
    }
}

impl std::error::Error for CouldNotStart {}

/// SIGINT or SIGTERM arrived; the children have been stopped and reaped. Exit 128 + n.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped(pub Signal);

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stopped by {}", self.0.as_str())
    }
}

impl std::error::Error for Stopped {}

/// Nobody reads our stdout any more (`procdemo ... | head -1`). Not an error for the user:
/// the run ends quietly with exit 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputClosed;

impl fmt::Display for OutputClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stdout was closed")
    }
}

impl std::error::Error for OutputClosed {}

/// The exit code for an error, following the contract's table.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if let Some(Stopped(sig)) = err.downcast_ref::<Stopped>() {
        code::signal(*sig as i32)
    } else if err.downcast_ref::<OutputClosed>().is_some() {
        code::SUCCESS
    } else {
        code::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(exit_code(&Stopped(Signal::SIGINT).into()), 130);
        assert_eq!(exit_code(&Stopped(Signal::SIGTERM).into()), 143);
        assert_eq!(exit_code(&OutputClosed.into()), 0);
        assert_eq!(exit_code(&anyhow::anyhow!("bad file")), 1);
        // Context added on the way up does not hide the meaning.
        let wrapped = anyhow::Error::from(OutputClosed).context("emitting");
        assert_eq!(exit_code(&wrapped), 0);
    }
}
