//! The one renderer: an event (anything that implements [`Emit`]) with its [`Header`] becomes
//! one line of JSON or of text.
//!
//! JSON field names and values never depend on the language; the human sentences come from
//! the event itself (`messages`).

use serde_json::{Map, Value};

use crate::event::{Accent, Emit, Format, Header};
use crate::text::width as text_width;

/// The most a line may take to stay atomic on a pipe (`PIPE_BUF`, pipe(7)).
pub const MAX_LINE: usize = 4096;

/// The bytes of one line, newline included.
pub fn line(format: Format, header: &Header, event: &impl Emit) -> Vec<u8> {
    let mut line = match format {
        Format::Json => json_line(header, event),
        Format::Human { color, lang, width } => {
            let text = event.human(header, lang);
            human_line(header, &text, event.accent(), color, width.into())
        }
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

/// The event as one JSON object: the common fields first, then the event's own.
pub fn json_object(h: &Header, event: &impl Emit) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("t_ms".into(), ((h.t_ms * 1000.0).round() / 1000.0).into());
    m.insert("pid".into(), h.pid.as_raw().into());
    m.insert("ppid".into(), h.ppid.as_raw().into());
    m.insert("name".into(), h.name.into());
    m.insert("event".into(), event.kind().into());
    m.extend(event.fields());
    m
}

/// The same bytes as [`json_object`] serialised, written straight into one buffer: this is
/// the path of every `--json` line, a hundred thousand of them in a long `queue` run.
fn json_line(h: &Header, event: &impl Emit) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(b"{\"t_ms\":");
    // Numbers and strings always serialise.
    let _ = serde_json::to_writer(&mut out, &((h.t_ms * 1000.0).round() / 1000.0));
    out.extend_from_slice(b",\"pid\":");
    let _ = serde_json::to_writer(&mut out, &h.pid.as_raw());
    out.extend_from_slice(b",\"ppid\":");
    let _ = serde_json::to_writer(&mut out, &h.ppid.as_raw());
    out.extend_from_slice(b",\"name\":");
    let _ = serde_json::to_writer(&mut out, h.name);
    out.extend_from_slice(b",\"event\":");
    let _ = serde_json::to_writer(&mut out, event.kind());
    event.write_json_fields(&mut out);
    out.extend_from_slice(b"}\n");
    out
}

// ANSI SGR sequences (console_codes(4)).
const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const PALETTE: [&str; 6] = [
    "\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[34m", "\x1b[32m", "\x1b[91m",
];

/// A stable colour per process name, so one process's lines are easy to follow.
pub fn name_color(name: &str) -> &'static str {
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

/// `   0.302s Process-1    4242  text`, the text wrapped to `width` columns (0: not wrapped)
/// with a hanging indent under the text's own column, so the time, name and pid stand out.
fn human_line(h: &Header, text: &str, accent: Accent, color: bool, width: usize) -> Vec<u8> {
    let time = format!("{:>8.3}s", h.t_ms / 1000.0);
    // The columns in front of the text: time, name (at least 10), pid (at least 7), two spaces.
    let indent =
        time.len() + 1 + text_width(h.name).max(10) + 1 + h.pid.to_string().len().max(7) + 2;
    let wrapped;
    let text = if width > indent + 20 && text_width(text) > width - indent - 1 {
        let pad = format!("\n{}", " ".repeat(indent));
        wrapped = crate::text::wrap_balanced(text, width - indent - 1).join(&pad);
        wrapped.as_str()
    } else {
        text
    };
    let line = if color {
        let accent = match accent {
            Accent::Plain => "",
            Accent::Warning => "\x1b[33m",
            Accent::Summary => "\x1b[1;32m",
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
    use crate::event::{Common, Ended, Lang};
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
        let line = line(Format::Json, &header(), &Common::Start { scenario: "join" });
        let text = String::from_utf8(line).unwrap();
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
        assert_eq!(
            text,
            "{\"t_ms\":12.346,\"pid\":42,\"ppid\":7,\"name\":\"Process-1\",\"event\":\"start\",\
             \"scenario\":\"join\"}\n"
        );
    }

    #[test]
    fn human_lines_name_their_process_and_colour_only_when_asked() {
        let ev = Common::Start { scenario: "join" };
        let text = String::from_utf8(line(
            Format::Human {
                color: false,
                lang: Lang::En,
                width: 0,
            },
            &header(),
            &ev,
        ))
        .unwrap();
        assert!(text.contains("Process-1") && text.contains("42"), "{text}");
        assert!(!text.contains('\x1b'));
        let colored = line(
            Format::Human {
                color: true,
                lang: Lang::En,
                width: 0,
            },
            &header(),
            &ev,
        );
        assert!(colored.contains(&0x1b));
    }

    /// What `json_object` gives, serialised: the reference the fast line must equal.
    fn by_map(h: &Header, event: &impl Emit) -> Vec<u8> {
        let mut v = serde_json::to_vec(&Value::Object(json_object(h, event))).unwrap();
        v.push(b'\n');
        v
    }

    /// The fast line and the map serialised, for one event under one header.
    fn same(h: &Header, event: &impl Emit) {
        assert_eq!(
            String::from_utf8(line(Format::Json, h, event)).unwrap(),
            String::from_utf8(by_map(h, event)).unwrap()
        );
    }

    #[test]
    fn the_json_line_is_the_json_object_byte_for_byte() {
        use crate::lesson::{join, pool, queue, shared, tickets};
        use nix::sys::signal::Signal;
        for t_ms in [0.0, 5.0, 12.345678, 1e9 + 0.0004] {
            for name in ["main", "用户\"3\"\n"] {
                let h = Header {
                    t_ms,
                    pid: Pid::from_raw(42),
                    ppid: Pid::from_raw(1),
                    name,
                };
                same(&h, &Common::Start { scenario: "queue" });
                same(
                    &h,
                    &Common::Spawned {
                        child: Pid::from_raw(43),
                        child_name: "worker-0".into(),
                    },
                );
                same(
                    &h,
                    &Common::Stopping {
                        signal: Signal::SIGTERM,
                        children: 2,
                    },
                );
                same(
                    &h,
                    &Common::Exit {
                        child: Pid::from_raw(44),
                        child_name: "buyer-9".into(),
                        ended: Ended::Code(3),
                    },
                );
                same(
                    &h,
                    &Common::Exit {
                        child: Pid::from_raw(43),
                        child_name: "consumer-1".into(),
                        ended: Ended::Signal(Signal::SIGKILL),
                    },
                );
                let item = queue::Item {
                    producer: 1,
                    seq: 22,
                };
                same(&h, &queue::Event::Put { item });
                same(&h, &queue::Event::QueueFull { item: None });
                same(&h, &queue::Event::QueueEmpty);
                same(
                    &h,
                    &pool::Event::TaskDone {
                        task: 9999,
                        result: 99_980_001,
                    },
                );
                same(
                    &h,
                    &shared::Event::Mapped {
                        address: 0x7f00_dead_b000,
                        inode: 7,
                        value: 0,
                    },
                );
                same(
                    &h,
                    &join::Event::MainDone {
                        elapsed_ms: 2001.123456,
                        mode: join::Mode::Parallel,
                    },
                );
                same(
                    &h,
                    &tickets::Event::AlreadySoldOut {
                        data: "dir/\"quoted\" data.json".into(),
                    },
                );
                same(
                    &h,
                    &pool::Summary {
                        workers: 3,
                        tasks: 3,
                        results: vec![Some(0), None, Some(4)],
                        pids: 2,
                        mode: pool::Mode::NoPool,
                        elapsed_ms: 12.5,
                    },
                );
            }
        }
    }

    #[test]
    fn exit_reports_code_or_signal() {
        let ev = Common::Exit {
            child: Pid::from_raw(43),
            child_name: "buyer-0".into(),
            ended: Ended::Signal(nix::sys::signal::Signal::SIGKILL),
        };
        let v: Value = serde_json::from_slice(&line(Format::Json, &header(), &ev)).unwrap();
        assert_eq!(v["signal"], "SIGKILL");
        assert!(v.get("code").is_none());
    }

    #[test]
    fn overlong_human_lines_are_cut_to_one_atomic_write() {
        struct Long;
        impl Emit for Long {
            fn kind(&self) -> &'static str {
                "long"
            }
            fn fields(&self) -> Map<String, Value> {
                Map::new()
            }
            fn human(&self, _: &Header, _: Lang) -> String {
                "用".repeat(3000)
            }
        }
        let human = Format::Human {
            color: false,
            lang: Lang::Zh,
            width: 0,
        };
        let l = line(human, &header(), &Long);
        assert!(l.len() <= MAX_LINE && l.ends_with(b"\n"));
        assert!(String::from_utf8(l).is_ok());
    }
}
