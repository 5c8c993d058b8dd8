//! The one renderer: an [`Event`] with its [`Header`] becomes one line of JSON or of text.
//!
//! JSON field names and values never depend on the language; human wording lives in
//! `messages`.

use serde_json::{Map, Value};

use crate::event::{Ended, Event, Format, Header, Summary, MAX_LINE};
use crate::messages::Lang;

/// The bytes of one line, newline included.
pub fn line(format: Format, header: &Header, event: &Event) -> Vec<u8> {
    let mut line = match format {
        Format::Json => json_line(header, event),
        Format::Human { color, lang } => human_line(header, event, color, lang),
    };
    // A line must fit in one atomic write. Only a pathological value (a path of thousands of
    // bytes) could make a human line longer; cut it rather than let it tear.
    if line.len() > MAX_LINE && !matches!(format, Format::Json) {
        let mut cut = MAX_LINE - 4;
        while !is_char_boundary(&line, cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.extend_from_slice("…\n".as_bytes());
    }
    line
}

fn is_char_boundary(bytes: &[u8], i: usize) -> bool {
    // UTF-8 continuation bytes look like 0b10xx_xxxx.
    i >= bytes.len() || (bytes[i] & 0xC0) != 0x80
}

fn json_line(h: &Header, event: &Event) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("t_ms".into(), h.t_ms.into());
    m.insert("pid".into(), h.pid.as_raw().into());
    m.insert("ppid".into(), h.ppid.as_raw().into());
    m.insert("name".into(), h.name.into());
    m.insert("event".into(), event.kind().into());
    fields(event, &mut m);
    let mut out = serde_json::to_vec(&Value::Object(m)).expect("a map of plain values serialises");
    out.push(b'\n');
    out
}

/// The event's own fields, after the common ones.
fn fields(event: &Event, m: &mut Map<String, Value>) {
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    match event {
        Event::Start { scenario } => put("scenario", scenario.as_str().into()),
        Event::Spawned { child, child_name } => {
            put("child", child.as_raw().into());
            put("child_name", child_name.as_str().into());
        }
        Event::Exit {
            child,
            child_name,
            ended,
        } => {
            put("child", child.as_raw().into());
            put("child_name", child_name.as_str().into());
            match ended {
                Ended::Code(c) => put("code", (*c).into()),
                Ended::Signal(s) => put("signal", s.as_str().into()),
            }
        }
        Event::Stopping { signal, children } => {
            put("signal", signal.as_str().into());
            put("children", (*children).into());
        }
        Event::Summary(s) => summary_fields(s, &mut put),
        Event::NotWaiting { children } => put("children", (*children).into()),
        Event::Over | Event::LockWait | Event::LockAcquired | Event::LockReleased => {}
        Event::SoldOut => {}
        Event::MainDone { elapsed_ms, mode } => {
            put("elapsed_ms", round_ms(*elapsed_ms).into());
            put("mode", mode.as_str().into());
        }
        Event::MoneySet { value, address } | Event::MoneyRead { value, address } => {
            put("value", (*value).into());
            put("address", format!("{address:#x}").into());
        }
        Event::PipeSent { value } | Event::PipeReceived { value } => put("value", (*value).into()),
        Event::Alive { tick } => put("tick", (*tick).into()),
        Event::Tick { tick, of } => {
            put("tick", (*tick).into());
            put("of", (*of).into());
        }
        Event::Terminating {
            child,
            child_name,
            signal,
        } => {
            put("child", child.as_raw().into());
            put("child_name", child_name.as_str().into());
            put("signal", signal.as_str().into());
        }
        Event::Reset { tickets } => put("tickets", (*tickets).into()),
        Event::TempsCleaned { count } => put("count", (*count).into()),
        Event::Search { remaining } | Event::Bought { remaining } => {
            put("remaining", (*remaining).into())
        }
        Event::AlreadySoldOut { data } => put("data", data.to_string_lossy().into()),
    }
}

fn summary_fields(s: &Summary, put: &mut impl FnMut(&str, Value)) {
    match s {
        Summary::Spawn { children, method } => {
            put("scenario", "spawn".into());
            put("children", (*children).into());
            put("method", method.as_str().into());
        }
        Summary::Join {
            children,
            elapsed_ms,
            mode,
        } => {
            put("scenario", "join".into());
            put("children", (*children).into());
            put("elapsed_ms", round_ms(*elapsed_ms).into());
            put("mode", mode.as_str().into());
        }
        Summary::Isolate {
            method,
            parent_value,
            child_value,
            received,
        } => {
            put("scenario", "isolate".into());
            put("method", method.as_str().into());
            put("parent_value", (*parent_value).into());
            put("child_value", (*child_value).into());
            put("received", (*received).into());
        }
        Summary::Daemon {
            daemon,
            child_pid,
            child_terminated_by,
        } => {
            put("scenario", "daemon".into());
            put("daemon", (*daemon).into());
            put("child_pid", child_pid.as_raw().into());
            put(
                "child_terminated_by",
                child_terminated_by.map(|s| s.as_str()).into(),
            );
        }
        Summary::Tickets {
            buyers,
            initial,
            sold,
            remaining,
            oversold,
            lock,
        } => {
            put("scenario", "tickets".into());
            put("buyers", (*buyers).into());
            put("initial", (*initial).into());
            put("sold", (*sold).into());
            put("remaining", (*remaining).into());
            put("oversold", (*oversold).into());
            put("lock", (*lock).into());
        }
    }
}

/// Milliseconds to the microsecond, without float noise such as 150.30000000000001.
fn round_ms(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

// ANSI SGR sequences (console_codes(4)).
const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const PALETTE: [&str; 6] = [
    "\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[34m", "\x1b[32m", "\x1b[91m",
];

/// A stable colour per process name, so one process's lines are easy to follow.
pub(crate) fn name_color(name: &str) -> &'static str {
    if name == "main" {
        return BOLD;
    }
    let n: usize = name
        .rsplit(['-', '_'])
        .next()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| name.bytes().map(usize::from).sum());
    PALETTE[n % PALETTE.len()]
}

fn human_line(h: &Header, event: &Event, color: bool, lang: Lang) -> Vec<u8> {
    let text = lang.words().event(h, event);
    let time = format!("{:>8.3}s", h.t_ms / 1000.0);
    let line = if color {
        let accent = match event {
            Event::Summary(_) => "\x1b[1;32m",
            Event::Exit {
                ended: Ended::Signal(_),
                ..
            }
            | Event::Stopping { .. }
            | Event::Terminating { .. } => "\x1b[33m",
            _ => "",
        };
        let end = if accent.is_empty() { "" } else { RESET };
        format!(
            "{DIM}{time}{RESET} {c}{name:<10}{RESET} {DIM}{pid:>7}{RESET}  {accent}{text}{end}\n",
            c = name_color(h.name),
            name = h.name,
            pid = h.pid,
        )
    } else {
        format!("{time} {:<10} {:>7}  {text}\n", h.name, h.pid)
    };
    line.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Scenario;
    use nix::unistd::Pid;

    fn header() -> Header<'static> {
        Header {
            t_ms: 12.345678,
            pid: Pid::from_raw(42),
            ppid: Pid::from_raw(7),
            name: "Process-1",
        }
    }

    #[test]
    fn json_has_the_common_fields_first() {
        let line = line(
            Format::Json,
            &header(),
            &Event::Start {
                scenario: Scenario::Join,
            },
        );
        let text = String::from_utf8(line).unwrap();
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
        assert!(
            text.starts_with(
                r#"{"t_ms":12.345678,"pid":42,"ppid":7,"name":"Process-1","event":"start""#
            ),
            "{text}"
        );
    }

    #[test]
    fn human_lines_name_their_process_and_fit_one_write() {
        let text = String::from_utf8(line(
            Format::Human {
                color: false,
                lang: Lang::En,
            },
            &header(),
            &Event::Over,
        ))
        .unwrap();
        assert!(text.contains("Process-1") && text.contains("42"), "{text}");
        assert!(!text.contains('\x1b'));
        let colored = line(
            Format::Human {
                color: true,
                lang: Lang::En,
            },
            &header(),
            &Event::Over,
        );
        assert!(colored.contains(&0x1b));
    }

    #[test]
    fn exit_reports_code_or_signal() {
        let ev = Event::Exit {
            child: Pid::from_raw(43),
            child_name: "buyer-0".into(),
            ended: Ended::Signal(nix::sys::signal::Signal::SIGKILL),
        };
        let v: Value = serde_json::from_slice(&line(Format::Json, &header(), &ev)).unwrap();
        assert_eq!(v["signal"], "SIGKILL");
        assert!(v.get("code").is_none());
    }
}
