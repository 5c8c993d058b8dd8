//! The ways a run can end other than success, as types `main` maps to exit codes.
//!
//! Scenarios return `anyhow::Result`; most errors are plain messages (exit 1). The few below
//! carry a meaning of their own, and `main` finds them with `downcast_ref`.

use std::fmt;

use nix::sys::signal::Signal;

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
        128 + *sig as i32
    } else if err.downcast_ref::<OutputClosed>().is_some() {
        0
    } else {
        1
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
