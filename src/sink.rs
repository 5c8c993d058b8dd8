//! The sink: where events go. [`Out`] is one process's voice: it renders an event
//! (`render`), records it for the `--timeline` chart and the `--trace` file
//! (`timeline::record`), and writes it as one line with a single `write(2)`.
//!
//! Many processes share one stdout. write(2) on a pipe is atomic up to `PIPE_BUF` (4096 bytes
//! on Linux, pipe(7)), and on a regular file the kernel serialises writers that share the
//! file offset, so a line written in one call never has another process's bytes inside it.
//! Buffered `println!` would split or merge lines at buffer boundaries; that is why no
//! lesson prints directly.

use std::io::ErrorKind;
use std::os::fd::AsFd;

use anyhow::Result;
use nix::errno::Errno;
use nix::unistd::Pid;

use crate::error::OutputClosed;
use crate::event::{Common, Emit, Format, Header, Mark};
use crate::render;
use crate::time::{Clock, TimeScale};
use crate::timeline::record;

/// What every lesson's main side needs to know about the run, resolved from the command line
/// once (`cli::Global::settings`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub format: Format,
    pub scale: TimeScale,
}

/// One process's voice: its name, the run's clock and the output format.
#[derive(Clone, Debug)]
pub struct Out {
    format: Format,
    clock: Clock,
    pid: Pid,
    name: String,
    /// The parent pid, when it cannot change any more (see [`Out::with_fixed_parent`]).
    ppid: Option<Pid>,
}

impl Out {
    pub fn new(format: Format, clock: Clock, name: impl Into<String>) -> Out {
        Out {
            format,
            clock,
            pid: nix::unistd::getpid(),
            name: name.into(),
            ppid: None,
        }
    }

    /// The same voice, with the parent pid read once, now, instead of at every line: for a
    /// child whose parent cannot change while it lives, one that dies with its parent
    /// (`sys::die_with_parent`, which every child's `child::run` has called), on a path that
    /// writes many lines. (A child that outlives its parent on purpose, an orphan, must not
    /// use it: its adoption changes its parent pid.)
    pub fn with_fixed_parent(&self) -> Out {
        Out {
            ppid: Some(nix::unistd::getppid()),
            ..self.clone()
        }
    }

    /// The main process's voice, started with its `start` event: the first line of every run,
    /// the tutorial's `print('父进程:', os.getpid())`.
    pub fn main(format: Format, lesson: &'static str) -> Result<Out> {
        let out = Out::new(format, Clock::start(), "main");
        out.emit(&Common::Start { scenario: lesson })?;
        Ok(out)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    fn header(&self) -> Header<'_> {
        Header {
            t_ms: self.clock.elapsed_ms(),
            pid: self.pid,
            // Asked every time (unless fixed): if our parent dies, we are re-parented and
            // this changes.
            ppid: self.ppid.unwrap_or_else(nix::unistd::getppid),
            name: &self.name,
        }
    }

    /// Write one event as one line on stdout (and into the run's record, when one is kept).
    ///
    /// Fails with [`OutputClosed`] when nobody reads stdout any more (`| head -1`): procdemo
    /// ignores SIGPIPE (`sys::ignore_sigpipe`), so write(2) returns EPIPE instead of killing us.
    pub fn emit(&self, event: &impl Emit) -> Result<()> {
        let header = self.header();
        if record::recording() {
            record::event(&header, event);
        }
        write_line(
            std::io::stdout().as_fd(),
            &render::line(self.format, &header, event),
        )
    }

    /// A mark for the timeline alone, with no line on stdout: the lesson says where a stretch
    /// of its life begins or ends (the race window of an unlocked buyer, for instance).
    pub fn mark(&self, mark: Mark) {
        if record::recording() {
            record::mark(&self.header(), mark);
        }
    }
}

/// One write(2) for the whole line. A short write can only happen to a line larger than
/// `PIPE_BUF` or when a signal interrupts a blocked write; the rest is then written after it.
pub fn write_line(fd: impl AsFd, line: &[u8]) -> Result<()> {
    let fd = fd.as_fd();
    let mut rest = line;
    while !rest.is_empty() {
        match nix::unistd::write(fd, rest) {
            Ok(n) => rest = &rest[n..],
            Err(Errno::EINTR) => continue,
            Err(Errno::EPIPE) => return Err(OutputClosed.into()),
            Err(e) => {
                let e = std::io::Error::from(e);
                if e.kind() == ErrorKind::BrokenPipe {
                    return Err(OutputClosed.into());
                }
                return Err(anyhow::Error::new(e).context("writing to stdout"));
            }
        }
    }
    Ok(())
}

/// A paragraph of narration on stdout, wrapped to 78 columns, followed by a blank line.
pub fn paragraph(text: &str) -> Result<()> {
    let mut out = crate::text::wrap(text, 78).join("\n");
    out.push_str("\n\n");
    write_line(std::io::stdout(), out.as_bytes())
}
