//! Rows in, lines out: the `--timeline` chart, a pure function of the rows and the words.

use crate::event::{Ended, Outcome, Span};
use crate::text::width;

use super::rows::{Ending, Row};

/// The widest a chart line gets: one less than a classic 80-column terminal, so that no
/// terminal wraps it.
pub const WIDTH: usize = 79;
/// At most this many rows; a long run says how many it left out.
const MAX_ROWS: usize = 32;

/// What the chart calls things, in one language (filled in by `messages`).
pub struct ChartWords {
    /// The legend, one entry per glyph.
    pub started: &'static str,
    pub running: &'static str,
    pub lock_wait: &'static str,
    pub lock_hold: &'static str,
    pub unlocked: &'static str,
    pub queue_wait: &'static str,
    pub zombie: &'static str,
    pub joining: &'static str,
    pub ended: &'static str,
    pub killed: &'static str,
    /// How a row ended: the main (still running while it draws), a buyer's answer.
    pub main_done: &'static str,
    pub bought: &'static str,
    pub sold_out: &'static str,
    pub unknown: &'static str,
    /// The title: which lesson, how long, how much time one column stands for.
    pub title: fn(lesson: &str, span_ms: f64, column_ms: f64) -> String,
    /// A row that ended with an exit code (0 included) and nothing more to say.
    pub exit: fn(code: i32) -> String,
    /// The line that stands for the rows left out of a long chart.
    pub more: fn(rows: usize) -> String,
    /// The unit after the axis labels.
    pub seconds: &'static str,
}

/// What one column of a row shows, from the least to the most telling: where two stretches
/// share a column, the more telling one is drawn (a brief zombie never hides the end of a
/// hold of the lock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    Empty,
    Run,
    Joining,
    Zombie,
    QueueWait,
    LockWait,
    Unlocked,
    LockHold,
    Start,
    End,
    Killed,
}

impl Cell {
    fn of(span: Span) -> Cell {
        match span {
            Span::LockWait => Cell::LockWait,
            Span::LockHold => Cell::LockHold,
            Span::Unlocked => Cell::Unlocked,
            Span::QueueWait => Cell::QueueWait,
            Span::Zombie => Cell::Zombie,
            Span::Joining => Cell::Joining,
        }
    }

    fn glyph(self) -> char {
        match self {
            Cell::Empty => ' ',
            Cell::Run => '─',
            Cell::Joining => '·',
            Cell::QueueWait => '┄',
            Cell::LockWait => '░',
            Cell::Unlocked => '▒',
            Cell::LockHold => '█',
            Cell::Zombie => 'z',
            Cell::Start => '├',
            Cell::End => '┤',
            Cell::Killed => '╳',
        }
    }

    fn color(self) -> &'static str {
        match self {
            Cell::LockWait | Cell::QueueWait => "\x1b[33m",
            Cell::Unlocked => "\x1b[31m",
            Cell::LockHold => "\x1b[32m",
            Cell::Zombie => "\x1b[35m",
            Cell::Killed => "\x1b[1;31m",
            _ => "",
        }
    }

    fn label(self, w: &ChartWords) -> &'static str {
        match self {
            Cell::Empty => "",
            Cell::Run => w.running,
            Cell::Joining => w.joining,
            Cell::QueueWait => w.queue_wait,
            Cell::LockWait => w.lock_wait,
            Cell::Unlocked => w.unlocked,
            Cell::LockHold => w.lock_hold,
            Cell::Zombie => w.zombie,
            Cell::Start => w.started,
            Cell::End => w.ended,
            Cell::Killed => w.killed,
        }
    }

    /// The legend's order.
    const LEGEND: [Cell; 10] = [
        Cell::Start,
        Cell::Run,
        Cell::Joining,
        Cell::LockWait,
        Cell::LockHold,
        Cell::Unlocked,
        Cell::QueueWait,
        Cell::Zombie,
        Cell::End,
        Cell::Killed,
    ];
}

fn outcome_text(row: &Row, w: &ChartWords) -> String {
    match (&row.ending, &row.outcome) {
        (Ending::Main { stopped: Some(s) }, _) => s.as_str().to_owned(),
        (Ending::Main { stopped: None }, _) => w.main_done.to_owned(),
        // A buyer's answer, whatever exit status it was given with.
        (Ending::Ended(Ended::Code(_)), Some(Outcome::Bought)) => w.bought.to_owned(),
        (Ending::Ended(Ended::Code(_)), Some(Outcome::SoldOut)) => w.sold_out.to_owned(),
        (Ending::Ended(Ended::Code(c)), _) => (w.exit)(*c),
        (Ending::Ended(Ended::Signal(s)), _) => s.as_str().to_owned(),
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
    crate::text::trim_number(t_ms / 1000.0, decimals)
}

/// Draw the chart: rows in, lines out (no newlines), none wider than `max_width` terminal
/// columns. With `color`, ANSI colours mark the stretches; every glyph reads without them.
pub fn draw(
    mut rows: Vec<Row>,
    lesson: &str,
    max_width: usize,
    color: bool,
    w: &ChartWords,
) -> Vec<String> {
    if rows.is_empty() {
        return Vec::new();
    }
    let left_out = rows.len().saturating_sub(MAX_ROWS);
    if left_out > 0 {
        rows.truncate(MAX_ROWS - 1);
    }
    let span = rows.iter().map(|r| r.end).fold(0.0, f64::max).max(0.001);
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
    let outcomes: Vec<String> = rows.iter().map(|r| outcome_text(r, w)).collect();
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

    let mut lines = vec![(w.title)(lesson, span, column_ms)];

    // The axis: labels over a ruler, one tick at least every ten columns apart.
    let step = tick_step(column_ms, 10.0);
    let mut labels = String::new();
    let mut ruler: Vec<char> = vec!['─'; bar];
    let mut k = 0.0;
    while k * step <= span {
        let c = col(k * step);
        ruler[c] = '┼';
        let text = tick_label(k * step, step);
        let used = width(&labels);
        // A label may reach over the outcome column, never past the line's end.
        if c >= used + usize::from(used > 0) && c + text.len() <= bar + 1 + out_w {
            labels.extend(std::iter::repeat_n(' ', c - used));
            labels.push_str(&text);
        }
        k += 1.0;
    }
    if width(&labels) + 1 + width(w.seconds) <= bar + 1 + out_w {
        labels.push(' ');
        labels.push_str(w.seconds);
    }
    let pad = " ".repeat(prefix);
    lines.push(format!("{pad}{}", paint(&labels, DIM)));
    lines.push(format!(
        "{pad}{}",
        paint(&ruler.iter().collect::<String>(), DIM)
    ));

    // The rows.
    let mut used: Vec<Cell> = Vec::new();
    for (row, outcome) in rows.iter().zip(&outcomes) {
        let mut cells = vec![Cell::Empty; bar];
        let (a, b) = (col(row.start), col(row.end));
        for cell in &mut cells[a..=b] {
            *cell = Cell::Run;
        }
        let mut spans: Vec<(f64, f64, Cell)> = row
            .spans
            .iter()
            .map(|&(t0, t1, kind)| (t0, t1, Cell::of(kind)))
            .collect();
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
            Ending::Ended(Ended::Signal(_)) => Cell::Killed,
            Ending::Main { stopped: Some(_) } => Cell::Killed,
            _ => Cell::End,
        };
        // A zombie lasts until the reap, which is the row's end: when it is shorter than a
        // column, it takes the column before the end mark (if that column only says
        // "running"), so that the mark stays at the true end and the zombie still shows.
        if cells[b] == Cell::Zombie && b > a + 1 && cells[b - 1] == Cell::Run {
            cells[b - 1] = Cell::Zombie;
        }
        // The end mark goes just after a stretch the process marked itself (a short hold of
        // the lock) rather than over it.
        let at = if cells[b] > Cell::Zombie && cells[b] < Cell::Start && b + 1 < bar {
            b + 1
        } else {
            b
        };
        cells[at] = end;

        let mut text = String::new();
        let mut i = 0;
        while i < bar {
            let cell = cells[i];
            if !used.contains(&cell) {
                used.push(cell);
            }
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
        lines.push((w.more)(left_out + 1));
    }

    // The legend: only the glyphs this chart uses (and always what a row is made of).
    let mut line = String::new();
    let mut line_w = 0;
    for cell in Cell::LEGEND {
        if !(used.contains(&cell) || matches!(cell, Cell::Run | Cell::End)) {
            continue;
        }
        let entry = format!(
            "{} {}",
            paint(&cell.glyph().to_string(), cell.color()),
            cell.label(w)
        );
        // Visible width: the glyph, a space, the label.
        let entry_w = 2 + width(cell.label(w));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_numbers() {
        assert_eq!(tick_step(4.0, 10.0), 50.0);
        assert_eq!(tick_step(0.1, 10.0), 1.0);
        assert_eq!(tick_step(60.0, 10.0), 1000.0);
        assert_eq!(tick_label(150.0, 50.0), "0.15");
        assert_eq!(tick_label(2000.0, 1000.0), "2");
        assert_eq!(tick_label(0.0, 50.0), "0");
    }

    #[test]
    fn names_are_cut_or_padded_to_their_column() {
        assert_eq!(fit("main", 6), "main  ");
        assert_eq!(fit("Process-12345", 8), "Process…");
        assert_eq!(width(&fit("用户12345", 6)), 6);
    }
}
