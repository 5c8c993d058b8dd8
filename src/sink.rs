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
}

impl Out {
    pub fn new(format: Format, clock: Clock, name: impl Into<String>) -> Out {
        Out {
            format,
            clock,
            pid: nix::unistd::getpid(),
            name: name.into(),
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
            // Asked every time: if our parent dies, we are re-parented and this changes.
            ppid: nix::unistd::getppid(),
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

/// A paragraph of narration on stdout, each of its lines wrapped to 78 columns (a line that
/// starts with spaces keeps them on its continuation lines), followed by a blank line.
pub fn paragraph(text: &str) -> Result<()> {
    let mut out = String::new();
    for line in text.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        // An indented line (a quiz's choice) hangs its continuation under its text.
        let hang = if indent.is_empty() {
            0
        } else {
            indent.len() + 3
        };
        let pad = format!("\n{}", " ".repeat(hang));
        let width = 78usize.saturating_sub(hang).max(20);
        out.push_str(indent);
        out.push_str(&crate::text::wrap(line.trim_start(), width).join(&pad));
        out.push('\n');
    }
    out.push('\n');
    write_line(std::io::stdout(), out.as_bytes())
}
