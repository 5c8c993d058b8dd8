//! `--timeline`: after the run, one row per process on one time axis, drawn on stderr.
//!
//! The main cannot see its children's stdout, so with `--timeline` the run keeps a second,
//! private record. The main creates an anonymous in-memory file (memfd_create(2)) and leaves
//! it open across exec; every child finds it under the number its command line names
//! (`timeline=FD`). Each process, the main included, appends each of its events to it as one
//! JSON line with a single write(2). All of them share one open file description opened with
//! `O_APPEND`, so every write lands whole at the end, never over another. When the run is
//! over, the main reads the record back and [`draw`]s it: a pure function, events in, lines
//! out.

use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard, PoisonError};

use anyhow::{Context, Result};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use serde_json::Value;

use crate::messages::{width, Words};
use crate::sys;

// ---------------------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------------------

/// This process's descriptor of the run's record, while one is being kept.
static SINK: Mutex<Option<OwnedFd>> = Mutex::new(None);

fn sink() -> MutexGuard<'static, Option<OwnedFd>> {
    SINK.lock().unwrap_or_else(PoisonError::into_inner)
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

/// Append one JSON line. The chart is an extra: a failure here never stops the run.
pub fn record(line: &[u8]) {
    if let Some(fd) = sink().as_ref() {
        let _ = crate::event::write_line(fd, line);
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

/// One event of the record, with the fields the chart uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    pub t_ms: f64,
    pub pid: i32,
    pub name: String,
    pub event: String,
    pub scenario: Option<String>,
    pub child: Option<i32>,
    pub code: Option<i32>,
    pub signal: Option<String>,
}

/// JSON lines to records; a line that is not a whole event is skipped.
pub fn parse(text: &str) -> Vec<Record> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            let int = |k: &str| v.get(k).and_then(Value::as_i64).map(|n| n as i32);
            let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            Some(Record {
                t_ms: v.get("t_ms")?.as_f64()?,
                pid: int("pid")?,
                name: text("name")?,
                event: text("event")?,
                scenario: text("scenario"),
                child: int("child"),
                code: int("code"),
                signal: text("signal"),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The chart
// ---------------------------------------------------------------------------------------

/// The widest a chart line gets: one less than a classic 80-column terminal, so that no
/// terminal wraps it.
pub const WIDTH: usize = 79;
/// At most this many rows; a long run says how many it left out.
const MAX_ROWS: usize = 32;

/// What one column of a row shows, from the least to the most telling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    Empty,
    Run,
    Wait,
    Race,
    Hold,
    Start,
    End,
    Killed,
}

impl Cell {
    fn glyph(self) -> char {
        match self {
            Cell::Empty => ' ',
            Cell::Run => '─',
            Cell::Wait => '░',
            Cell::Race => '▒',
            Cell::Hold => '█',
            Cell::Start => '├',
            Cell::End => '┤',
            Cell::Killed => '╳',
        }
    }

    fn color(self) -> &'static str {
        match self {
            Cell::Wait => "\x1b[33m",
            Cell::Race => "\x1b[31m",
            Cell::Hold => "\x1b[32m",
            Cell::Killed => "\x1b[1;31m",
            _ => "",
        }
    }

    fn label(self, w: &crate::messages::ChartWords) -> &'static str {
        match self {
            Cell::Empty => "",
            Cell::Run => w.running,
            Cell::Wait => w.waiting,
            Cell::Race => w.racing,
            Cell::Hold => w.holding,
            Cell::Start => w.started,
            Cell::End => w.ended,
            Cell::Killed => w.killed,
        }
    }
}

/// How a row ended.
#[derive(Clone, Debug, PartialEq)]
enum Ending {
    /// The main, which is drawing: done, or stopped by a signal.
    Main {
        stopped: Option<String>,
    },
    Code(i32),
    Signal(String),
    /// Never reaped in the record (it cannot happen unless the run was cut short).
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Bought,
    SoldOut,
}

#[derive(Clone, Debug)]
struct Row {
    name: String,
    pid: i32,
    start: f64,
    end: f64,
    ending: Ending,
    outcome: Option<Outcome>,
    spans: Vec<(f64, f64, Cell)>,
}

/// Events in, rows out: one row per process, the main first, then children in start order.
fn rows(records: &[Record]) -> Vec<Row> {
    let main_pid = records
        .iter()
        .find(|r| r.name == "main" && r.event == "start")
        .or(records.first())
        .map(|r| r.pid);
    let Some(main_pid) = main_pid else {
        return Vec::new();
    };
    let mut order = vec![main_pid];
    let mains = || records.iter().filter(|r| r.pid == main_pid);
    for r in mains().filter(|r| r.event == "spawned") {
        if let Some(c) = r.child.filter(|c| !order.contains(c)) {
            order.push(c);
        }
    }
    for r in records {
        if !order.contains(&r.pid) {
            order.push(r.pid);
        }
    }
    let last = records.iter().map(|r| r.t_ms).fold(0.0, f64::max);

    order
        .into_iter()
        .map(|pid| {
            let mut own: Vec<&Record> = records.iter().filter(|r| r.pid == pid).collect();
            own.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
            let about = |event: &str| mains().find(|r| r.event == event && r.child == Some(pid));
            let name = own
                .first()
                .map(|r| r.name.clone())
                .unwrap_or_else(|| pid.to_string());
            let first_own = own.first().map_or(0.0, |r| r.t_ms);
            let last_own = own.last().map_or(first_own, |r| r.t_ms);
            let (start, end, ending) = if pid == main_pid {
                let stopped = own
                    .iter()
                    .find(|r| r.event == "stopping")
                    .and_then(|r| r.signal.clone());
                (first_own, last, Ending::Main { stopped })
            } else {
                let start = about("spawned").map_or(first_own, |r| r.t_ms.min(first_own));
                match about("exit") {
                    Some(exit) => {
                        let ending = match (&exit.signal, exit.code) {
                            (Some(s), _) => Ending::Signal(s.clone()),
                            (None, Some(c)) => Ending::Code(c),
                            (None, None) => Ending::Unknown,
                        };
                        (start, exit.t_ms.max(last_own), ending)
                    }
                    None => (start, last_own, Ending::Unknown),
                }
            };

            // Waiting for and holding the lock; without the lock, the window from the read
            // (`search`, right before the unlocked buy reads again) to the write.
            let mut spans = Vec::new();
            let mut waiting = None;
            let mut holding = None;
            let mut searched = None;
            let mut locked = false;
            let mut outcome = None;
            for r in &own {
                match r.event.as_str() {
                    "lock_wait" => {
                        locked = true;
                        waiting = Some(r.t_ms);
                    }
                    "lock_acquired" => {
                        locked = true;
                        if let Some(t) = waiting.take() {
                            spans.push((t, r.t_ms, Cell::Wait));
                        }
                        holding = Some(r.t_ms);
                    }
                    "lock_released" => {
                        if let Some(t) = holding.take() {
                            spans.push((t, r.t_ms, Cell::Hold));
                        }
                    }
                    "search" => searched = Some(r.t_ms),
                    "bought" | "sold_out" => {
                        outcome = Some(if r.event == "bought" {
                            Outcome::Bought
                        } else {
                            Outcome::SoldOut
                        });
                        if !locked {
                            if let Some(t) = searched.take() {
                                spans.push((t, r.t_ms, Cell::Race));
                            }
                        }
                    }
                    _ => {}
                }
            }
            if let Some(t) = waiting {
                spans.push((t, end, Cell::Wait));
            }
            if let Some(t) = holding {
                spans.push((t, end, Cell::Hold));
            }
            Row {
                name,
                pid,
                start,
                end,
                ending,
                outcome,
                spans,
            }
        })
        .collect()
}

fn outcome_text(row: &Row, words: &dyn Words) -> String {
    let w = words.chart();
    match (&row.ending, &row.outcome) {
        (Ending::Main { stopped: Some(s) }, _) => s.clone(),
        (Ending::Main { stopped: None }, _) => w.main_done.to_owned(),
        // A buyer's answer, whatever exit status it was given with.
        (Ending::Code(_), Some(Outcome::Bought)) => w.bought.to_owned(),
        (Ending::Code(_), Some(Outcome::SoldOut)) => w.sold_out.to_owned(),
        (Ending::Code(c), _) => words.chart_exit(*c),
        (Ending::Signal(s), _) => s.clone(),
        (Ending::Unknown, _) => w.unknown.to_owned(),
    }
}

/// `s` cut or padded to exactly `cols` terminal columns.
fn fit(s: &str, cols: usize) -> String {
    let mut out = String::new();
    let mut w = 0;
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let cw = width(&c.to_string());
        let room = if i + 1 < chars.len() { cols - 1 } else { cols };
        if w + cw > room && i + 1 < chars.len() {
            out.push('…');
            w += 1;
            break;
        }
        out.push(*c);
        w += cw;
    }
    out.extend(std::iter::repeat_n(' ', cols.saturating_sub(w)));
    out
}

/// A tick every `step` ms, the smallest of 1, 2, 5 × 10ⁿ that leaves `min_cols` columns.
fn tick_step(column_ms: f64, min_cols: f64) -> f64 {
    let want = column_ms * min_cols;
    let mut decade = 0.001;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * decade >= want {
                return m * decade;
            }
        }
        decade *= 10.0;
    }
}

/// A tick's label, in seconds, with as many decimals as the step needs.
fn tick_label(t_ms: f64, step_ms: f64) -> String {
    let step_s = step_ms / 1000.0;
    let decimals = if step_s >= 1.0 {
        0
    } else {
        (-step_s.log10()).ceil().max(0.0) as usize
    };
    crate::messages::en::trim_number(t_ms / 1000.0, decimals)
}

/// Draw the chart: events in, lines out (no newlines), none wider than `max_width`
/// terminal columns. With `color`, ANSI colours mark the lock; every glyph reads without them.
pub fn draw(records: &[Record], max_width: usize, color: bool, words: &dyn Words) -> Vec<String> {
    let mut rows = rows(records);
    if rows.is_empty() {
        return Vec::new();
    }
    let left_out = rows.len().saturating_sub(MAX_ROWS);
    if left_out > 0 {
        rows.truncate(MAX_ROWS - 1);
    }
    let span = rows.iter().map(|r| r.end).fold(0.0, f64::max).max(0.001);
    let scenario = records
        .iter()
        .find_map(|r| r.scenario.clone())
        .unwrap_or_else(|| "procdemo".into());

    let name_w = rows
        .iter()
        .map(|r| width(&r.name))
        .max()
        .unwrap_or(4)
        .clamp(4, 12);
    let pid_w = rows
        .iter()
        .map(|r| r.pid.to_string().len())
        .max()
        .unwrap_or(1);
    let outcomes: Vec<String> = rows.iter().map(|r| outcome_text(r, words)).collect();
    let out_w = outcomes.iter().map(|o| width(o)).max().unwrap_or(0).min(16);
    let prefix = name_w + 1 + pid_w + 1;
    let bar = max_width.saturating_sub(prefix + 1 + out_w).max(10);
    let column_ms = span / bar as f64;
    let col = |t: f64| ((t.max(0.0) / column_ms) as usize).min(bar - 1);

    let paint = |s: &str, code: &str| {
        if color && !code.is_empty() {
            format!("{code}{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    const DIM: &str = "\x1b[2m";

    let mut lines = vec![words.chart_title(&scenario, span, column_ms)];

    // The axis: labels over a ruler, one tick at least every ten columns apart.
    let step = tick_step(column_ms, 10.0);
    let mut labels = String::new();
    let mut ruler: Vec<char> = vec!['─'; bar];
    let mut k = 0.0;
    while k * step <= span {
        let c = col(k * step);
        ruler[c] = '┼';
        let text = tick_label(k * step, step);
        let at = c;
        let used = width(&labels);
        // A label may reach over the outcome column, never past the line's end.
        if at >= used + usize::from(used > 0) && at + text.len() <= bar + 1 + out_w {
            labels.extend(std::iter::repeat_n(' ', at - used));
            labels.push_str(&text);
        }
        k += 1.0;
    }
    if width(&labels) + 2 <= bar + 1 + out_w {
        labels.push_str(" s");
    }
    let pad = " ".repeat(prefix);
    lines.push(format!("{pad}{}", paint(&labels, DIM)));
    lines.push(format!(
        "{pad}{}",
        paint(&ruler.iter().collect::<String>(), DIM)
    ));

    // The rows.
    let mut used = [false; 8];
    for (row, outcome) in rows.iter().zip(&outcomes) {
        let mut cells = vec![Cell::Empty; bar];
        let (a, b) = (col(row.start), col(row.end));
        for cell in &mut cells[a..=b] {
            *cell = Cell::Run;
        }
        let mut spans = row.spans.clone();
        spans.sort_by_key(|s| s.2);
        for (t0, t1, kind) in spans {
            for cell in &mut cells[col(t0)..=col(t1).max(col(t0))] {
                *cell = (*cell).max(kind);
            }
        }
        if b > a {
            cells[a] = Cell::Start;
        }
        let end = match row.ending {
            Ending::Signal(_) => Cell::Killed,
            Ending::Main { stopped: Some(_) } => Cell::Killed,
            _ => Cell::End,
        };
        // The end mark goes just after a lock column rather than over it.
        let at = if cells[b] > Cell::Run && cells[b] < Cell::Start && b + 1 < bar {
            b + 1
        } else {
            b
        };
        cells[at] = end;

        let mut text = String::new();
        let mut i = 0;
        while i < bar {
            let cell = cells[i];
            used[cell as usize] = true;
            let mut j = i;
            while j < bar && cells[j] == cell {
                j += 1;
            }
            let run: String = std::iter::repeat_n(cell.glyph(), j - i).collect();
            text.push_str(&paint(&run, cell.color()));
            i = j;
        }
        let name = fit(&row.name, name_w);
        let name = if color {
            paint(&name, crate::render::name_color(&row.name))
        } else {
            name
        };
        let line = format!(
            "{name} {:>pid_w$} {text} {}",
            row.pid,
            paint(&fit(outcome, out_w), end.color())
        );
        lines.push(line.trim_end().to_owned());
    }
    if left_out > 0 {
        lines.push(words.chart_more(left_out + 1));
    }

    // The legend: only the glyphs this chart uses.
    let w = words.chart();
    let mut legend: Vec<String> = Vec::new();
    for cell in [
        Cell::Start,
        Cell::Run,
        Cell::Wait,
        Cell::Hold,
        Cell::Race,
        Cell::End,
        Cell::Killed,
    ] {
        if used[cell as usize] || matches!(cell, Cell::Run | Cell::End) {
            legend.push(format!(
                "{} {}",
                paint(&cell.glyph().to_string(), cell.color()),
                cell.label(w)
            ));
        }
    }
    let mut line = String::new();
    let mut line_w = 0;
    for entry in legend {
        // Visible width: the glyph, a space, the label.
        let entry_w = width(&strip_ansi(&entry));
        if line_w > 0 && line_w + 3 + entry_w > max_width {
            lines.push(std::mem::take(&mut line));
            line_w = 0;
        }
        if line_w > 0 {
            line.push_str("   ");
            line_w += 3;
        }
        line.push_str(&entry);
        line_w += entry_w;
    }
    lines.push(line);
    lines
}

/// The text without ANSI SGR sequences: what the reader sees.
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Lang;

    fn rec(t: f64, pid: i32, name: &str, event: &str) -> Record {
        Record {
            t_ms: t,
            pid,
            name: name.into(),
            event: event.into(),
            ..Record::default()
        }
    }

    fn spawned(t: f64, child: i32) -> Record {
        Record {
            child: Some(child),
            ..rec(t, 100, "main", "spawned")
        }
    }

    fn exit(t: f64, child: i32, code: Option<i32>, signal: Option<&str>) -> Record {
        Record {
            child: Some(child),
            code,
            signal: signal.map(str::to_owned),
            ..rec(t, 100, "main", "exit")
        }
    }

    fn start(t: f64, pid: i32, name: &str, scenario: &str) -> Record {
        Record {
            scenario: Some(scenario.into()),
            ..rec(t, pid, name, "start")
        }
    }

    /// join: three children sleeping 0, 100 and 200 ms, in parallel or one after another.
    fn join(sequential: bool) -> Vec<Record> {
        let mut v = vec![start(0.0, 100, "main", "join")];
        let mut t = 1.0;
        for i in 0..3 {
            let pid = 101 + i;
            let name = format!("Process-{}", i + 1);
            v.push(spawned(t, pid));
            v.push(start(t + 1.0, pid, &name, "join"));
            let over = t + 1.0 + 100.0 * i as f64;
            v.push(rec(over, pid, &name, "over"));
            if sequential {
                v.push(exit(over + 1.0, pid, Some(0), None));
                t = over + 2.0;
            } else {
                t += 1.0;
            }
        }
        if !sequential {
            for i in 0..3 {
                v.push(exit(3.0 + 100.0 * i as f64, 101 + i, Some(0), None));
            }
        }
        let last = v.iter().map(|r| r.t_ms).fold(0.0, f64::max);
        v.push(rec(last + 1.0, 100, "main", "main_done"));
        v.push(rec(last + 2.0, 100, "main", "summary"));
        v
    }

    fn en() -> &'static dyn Words {
        Lang::En.words()
    }

    fn row_of<'a>(lines: &'a [String], name: &str) -> &'a str {
        lines
            .iter()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name} in {lines:#?}"))
    }

    /// Column of the first and last glyph of a row's bar.
    fn extent(line: &str, prefix: usize) -> (usize, usize) {
        let bar: Vec<char> = line.chars().skip(prefix).collect();
        let first = bar.iter().position(|c| "├─┤╳░█▒".contains(*c)).unwrap();
        let last = bar.iter().rposition(|c| "├─┤╳░█▒".contains(*c)).unwrap();
        (first, last)
    }

    #[test]
    fn every_line_fits_80_columns_in_both_languages() {
        for lang in [Lang::En, Lang::Zh] {
            for seq in [false, true] {
                let lines = draw(&join(seq), WIDTH, false, lang.words());
                // Title, axis labels, ruler, four rows, legend.
                assert_eq!(lines.len(), 8, "{lines:#?}");
                for l in &lines {
                    assert!(width(l) <= 80, "{} columns: {l}", width(l));
                }
            }
        }
    }

    #[test]
    fn parallel_rows_overlap_and_sequential_rows_line_up() {
        let prefix = "Process-1 100 ".chars().count();
        let par = draw(&join(false), WIDTH, false, en());
        let seq = draw(&join(true), WIDTH, false, en());
        let (p2, p3) = (
            extent(row_of(&par, "Process-2"), prefix),
            extent(row_of(&par, "Process-3"), prefix),
        );
        // Parallel: both start at the left edge, so they overlap.
        assert!(p2.0 <= 1 && p3.0 <= 1, "{par:#?}");
        assert!(p3.1 > p2.1);
        let (s2, s3) = (
            extent(row_of(&seq, "Process-2"), prefix),
            extent(row_of(&seq, "Process-3"), prefix),
        );
        // Sequential: Process-3 starts where Process-2 ended.
        assert!(s3.0 >= s2.1, "{seq:#?}");
    }

    #[test]
    fn rows_come_in_start_order_with_how_they_ended() {
        let lines = draw(&join(false), WIDTH, false, en());
        let names: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| *w == "main" || w.starts_with("Process-"))
            .collect();
        assert_eq!(names, ["main", "Process-1", "Process-2", "Process-3"]);
        assert!(row_of(&lines, "main").ends_with("┤ done"), "{lines:#?}");
        assert!(row_of(&lines, "Process-3").ends_with("┤ exit 0"));
        assert!(lines[0].starts_with("timeline of join"), "{}", lines[0]);
        assert!(lines.last().unwrap().contains("─ running"));
    }

    #[test]
    fn no_colour_means_no_escape_and_colour_adds_only_escapes() {
        let plain = draw(&tickets(true), WIDTH, false, en());
        assert!(plain.iter().all(|l| !l.contains('\x1b')));
        let colored = draw(&tickets(true), WIDTH, true, en());
        assert!(colored.iter().any(|l| l.contains('\x1b')));
        let stripped: Vec<String> = colored.iter().map(|l| strip_ansi(l)).collect();
        assert_eq!(stripped, plain);
    }

    /// tickets: four buyers, one ticket; with the lock they take turns, without it they race.
    fn tickets(lock: bool) -> Vec<Record> {
        let mut v = vec![start(0.0, 100, "main", "tickets")];
        for i in 0..4 {
            v.push(spawned(1.0 + i as f64, 101 + i));
        }
        for i in 0..4 {
            let (pid, name) = (101 + i, format!("buyer-{i}"));
            let t = 2.0 + i as f64;
            v.push(start(t, pid, &name, "tickets"));
            v.push(rec(t + 1.0, pid, &name, "search"));
            let done = if lock {
                v.push(rec(t + 1.5, pid, &name, "lock_wait"));
                let got = 10.0 + 20.0 * i as f64;
                v.push(rec(got, pid, &name, "lock_acquired"));
                v.push(rec(
                    got + 19.0,
                    pid,
                    &name,
                    if i == 0 { "bought" } else { "sold_out" },
                ));
                v.push(rec(got + 19.5, pid, &name, "lock_released"));
                got + 19.5
            } else {
                v.push(rec(t + 21.0, pid, &name, "bought"));
                t + 21.0
            };
            v.push(exit(done + 1.0, pid, Some(0), None));
        }
        let last = v.iter().map(|r| r.t_ms).fold(0.0, f64::max);
        v.push(rec(last + 1.0, 100, "main", "summary"));
        v
    }

    #[test]
    fn the_lock_passes_from_buyer_to_buyer() {
        let lines = draw(&tickets(true), WIDTH, false, en());
        let holds: Vec<(usize, usize)> = (0..4)
            .map(|i| {
                let row: Vec<char> = row_of(&lines, &format!("buyer-{i}")).chars().collect();
                let first = row.iter().position(|c| *c == '█').expect("a hold");
                let last = row.iter().rposition(|c| *c == '█').unwrap();
                (first, last)
            })
            .collect();
        for pair in holds.windows(2) {
            // The next buyer gets the lock when the previous one lets it go: the same column
            // at the most, never earlier.
            assert!(pair[1].0 >= pair[0].1, "holds overlap: {lines:#?}");
            assert!(pair[1].1 > pair[0].1, "{lines:#?}");
        }
        assert!(row_of(&lines, "buyer-1").contains('░'), "{lines:#?}");
        assert!(row_of(&lines, "buyer-0").ends_with("bought"));
        assert!(row_of(&lines, "buyer-3").ends_with("sold out"));
        let legend = lines.last().unwrap();
        assert!(legend.contains("░ waiting for the lock") && legend.contains("█ holding"));
    }

    #[test]
    fn without_the_lock_the_read_to_write_windows_overlap() {
        let lines = draw(&tickets(false), WIDTH, false, en());
        let windows: Vec<(usize, usize)> = (0..4)
            .map(|i| {
                let row: Vec<char> = row_of(&lines, &format!("buyer-{i}")).chars().collect();
                let first = row.iter().position(|c| *c == '▒').expect("a window");
                let last = row.iter().rposition(|c| *c == '▒').unwrap();
                (first, last)
            })
            .collect();
        let latest_start = windows.iter().map(|w| w.0).max().unwrap();
        let earliest_end = windows.iter().map(|w| w.1).min().unwrap();
        assert!(latest_start <= earliest_end, "no common moment: {lines:#?}");
        assert!(!lines.iter().any(|l| l.contains('█')));
    }

    #[test]
    fn a_killed_child_is_marked() {
        let v = vec![
            start(0.0, 100, "main", "daemon"),
            spawned(1.0, 101),
            start(2.0, 101, "Process-1", "daemon"),
            rec(3.0, 101, "Process-1", "alive"),
            exit(100.0, 101, None, Some("SIGTERM")),
            rec(101.0, 100, "main", "summary"),
        ];
        let lines = draw(&v, WIDTH, false, en());
        let row = row_of(&lines, "Process-1");
        assert!(row.ends_with("╳ SIGTERM"), "{lines:#?}");
        assert!(lines.last().unwrap().contains("╳ killed by a signal"));
    }

    #[test]
    fn long_runs_are_cut_short_and_empty_records_draw_nothing() {
        let mut v = vec![start(0.0, 100, "main", "spawn")];
        for i in 0..100 {
            v.push(spawned(i as f64, 1000 + i));
            v.push(exit(200.0 + i as f64, 1000 + i, Some(0), None));
        }
        let lines = draw(&v, WIDTH, false, en());
        assert!(lines.len() < 45, "{}", lines.len());
        assert!(lines.iter().any(|l| l.contains("70 more")), "{lines:#?}");
        assert!(draw(&[], WIDTH, false, en()).is_empty());
    }

    #[test]
    fn records_parse_from_json_lines() {
        let text = concat!(
            r#"{"t_ms":0.5,"pid":1,"ppid":0,"name":"main","event":"start","scenario":"join"}"#,
            "\n",
            r#"{"t_ms":9,"pid":1,"ppid":0,"name":"main","event":"exit","child":2,"child_name":"P","signal":"SIGTERM"}"#,
            "\nnot json\n{\"t_ms\":1}\n"
        );
        let r = parse(text);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].scenario.as_deref(), Some("join"));
        assert_eq!(r[1].child, Some(2));
        assert_eq!(r[1].signal.as_deref(), Some("SIGTERM"));
    }

    #[test]
    fn ticks_are_nice_numbers() {
        assert_eq!(tick_step(4.0, 10.0), 50.0);
        assert_eq!(tick_step(0.1, 10.0), 1.0);
        assert_eq!(tick_step(60.0, 10.0), 1000.0);
        assert_eq!(tick_label(150.0, 50.0), "0.15");
        assert_eq!(tick_label(2000.0, 1000.0), "2");
        assert_eq!(tick_label(0.0, 50.0), "0");
    }
}
