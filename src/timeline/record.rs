//! The run's shared record: every process appends what it emits, so that the main can draw
//! the `--timeline` chart (and write the `--trace` file) once the run is over.
//!
//! The main cannot see its children's stdout, so with `--timeline` the run keeps a second,
//! private record. The main creates an anonymous in-memory file (memfd_create(2)) and leaves
//! it open across exec; every child finds it under the number its command line names
//! (`timeline=FD`). Each process, the main included, appends each event to it as one JSON
//! line with a single write(2). All of them share one open file description opened with
//! `O_APPEND`, so every write lands whole at the end, never over another.
//!
//! A line of the record is `{"t_ms":…,"pid":…,"name":…,"mark":…,"event":{…}}`: the typed
//! [`Mark`] the chart draws from, and the event exactly as `--json` prints it.

use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard, PoisonError};

use anyhow::{Context, Result};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::event::{Emit, Header, Mark};
use crate::sys;

/// This process's descriptor of the run's record, while one is being kept.
static SINK: Mutex<Option<OwnedFd>> = Mutex::new(None);

fn sink() -> MutexGuard<'static, Option<OwnedFd>> {
    SINK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One line of the record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub t_ms: f64,
    pub pid: i32,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<Mark>,
    /// The event as `--json` prints it; absent for a mark alone (`Out::mark` in the sink).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Map<String, Value>>,
}

/// Main: start a new record for one run, inherited by every child started from now on.
pub fn begin() -> Result<()> {
    let fd = anonymous_file()?;
    fcntl(&fd, FcntlArg::F_SETFL(OFlag::O_APPEND)).context("fcntl(F_SETFL, O_APPEND)")?;
    sys::keep_open_across_exec(&fd)?;
    *sink() = Some(fd);
    Ok(())
}

/// An unnamed file: memfd_create(2), or where that is missing, an `O_TMPFILE` in the
/// temporary directory. Neither has a name anyone could find or need to remove.
fn anonymous_file() -> Result<OwnedFd> {
    use nix::sys::memfd::{memfd_create, MFdFlags};
    match memfd_create(c"procdemo-timeline", MFdFlags::MFD_CLOEXEC) {
        Ok(fd) => Ok(fd),
        Err(_) => {
            use std::os::unix::fs::OpenOptionsExt;
            let dir = std::env::temp_dir();
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(OFlag::O_TMPFILE.bits())
                .mode(0o600)
                .open(&dir)
                .map(OwnedFd::from)
                .with_context(|| format!("{}: an unnamed file for --timeline", dir.display()))
        }
    }
}

/// Child: keep writing into the record our parent handed down as descriptor `fd`.
pub fn adopt(fd: RawFd) -> Result<()> {
    let mut sink = sink();
    // A forked child already holds it, under the same number.
    if sink.as_ref().is_some_and(|own| own.as_raw_fd() == fd) {
        return Ok(());
    }
    *sink = Some(sys::inherited_fd(fd).context("the --timeline record")?);
    Ok(())
}

/// Is this process keeping a record?
pub fn recording() -> bool {
    sink().is_some()
}

/// The descriptor a child is told about, while a record is kept.
pub fn inherited() -> Option<RawFd> {
    sink().as_ref().map(|fd| fd.as_raw_fd())
}

/// Append one event, with its mark.
pub fn event(h: &Header, event: &impl Emit) {
    append(&Record {
        t_ms: h.t_ms,
        pid: h.pid.as_raw(),
        name: h.name.to_owned(),
        mark: event.mark(),
        event: Some(crate::render::json_object(h, event)),
    });
}

/// Append a mark that no event carries.
pub fn mark(h: &Header, mark: Mark) {
    append(&Record {
        t_ms: h.t_ms,
        pid: h.pid.as_raw(),
        name: h.name.to_owned(),
        mark: Some(mark),
        event: None,
    });
}

/// The record is an extra: a failure here never stops the run.
fn append(record: &Record) {
    if let Some(fd) = sink().as_ref() {
        if let Ok(mut line) = serde_json::to_vec(record) {
            line.push(b'\n');
            let _ = sys::write_all(fd.as_fd(), &line);
        }
    }
}

/// Main: stop recording and read back everything every process wrote.
pub fn end() -> Vec<Record> {
    let Some(fd) = sink().take() else {
        return Vec::new();
    };
    let mut file = std::fs::File::from(fd);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(0)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    parse(&String::from_utf8_lossy(&bytes))
}

/// JSON lines to records; a line that is not a whole record is skipped.
pub fn parse(text: &str) -> Vec<Record> {
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Ended, Span};

    #[test]
    fn records_round_trip_and_broken_lines_are_skipped() {
        let a = Record {
            t_ms: 0.5,
            pid: 1,
            name: "main".into(),
            mark: Some(Mark::Reaped {
                child: 2,
                ended: Ended::Code(0),
            }),
            event: Some(Map::new()),
        };
        let b = Record {
            t_ms: 9.0,
            pid: 2,
            name: "P".into(),
            mark: Some(Mark::Begin(Span::LockWait)),
            event: None,
        };
        let text = format!(
            "{}\nnot json\n{{\"t_ms\":1}}\n{}\n",
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        assert_eq!(parse(&text), vec![a, b]);
    }
}
