//! `--timeline` and `--trace`: after the run, one row per process on one time axis, drawn on
//! stderr, or written as a trace file for Perfetto.
//!
//! One step per module: [`record`] keeps what every process of the run emitted (a shared
//! in-memory file), [`rows`] turns those records into one row per process from their typed
//! marks, [`draw`] turns rows into lines of text, and [`trace`] into trace events.

pub mod draw;
pub mod record;
pub mod rows;
pub mod trace;

pub use draw::{ChartWords, WIDTH};

/// The chart of a finished run, as lines without newlines.
pub fn chart(
    records: &[record::Record],
    lesson: &str,
    color: bool,
    words: &ChartWords,
) -> Vec<String> {
    draw::draw(rows::rows(records), lesson, WIDTH, color, words)
}

#[cfg(test)]
mod tests {
    use super::record::Record;
    use super::*;
    use crate::event::{Ended, Lang, Mark, Outcome, Span};
    use crate::messages;
    use crate::text::width;
    use nix::sys::signal::Signal;

    fn rec(t: f64, pid: i32, name: &str, mark: Option<Mark>) -> Record {
        Record {
            t_ms: t,
            pid,
            name: name.into(),
            mark,
            event: Some(Default::default()),
        }
    }

    fn main_mark(t: f64, mark: Mark) -> Record {
        rec(t, 100, "main", Some(mark))
    }

    fn reaped(t: f64, child: i32, ended: Ended) -> [Record; 2] {
        [
            main_mark(t - 0.5, Mark::Exited { child }),
            main_mark(t, Mark::Reaped { child, ended }),
        ]
    }

    /// join: three children sleeping 0, 100 and 200 ms, in parallel or one after another.
    fn join(sequential: bool) -> Vec<Record> {
        let mut v = vec![rec(0.0, 100, "main", None)];
        let mut t = 1.0;
        for i in 0..3 {
            let pid = 101 + i;
            let name = format!("Process-{}", i + 1);
            v.push(main_mark(t, Mark::Spawned { child: pid }));
            v.push(rec(t + 1.0, pid, &name, None));
            let over = t + 1.0 + 100.0 * i as f64;
            v.push(rec(over, pid, &name, None));
            if sequential {
                v.extend(reaped(over + 1.0, pid, Ended::Code(0)));
                t = over + 2.0;
            } else {
                t += 1.0;
            }
        }
        if !sequential {
            for i in 0..3 {
                v.extend(reaped(3.5 + 100.0 * i as f64, 101 + i, Ended::Code(0)));
            }
        }
        let last = v.iter().map(|r| r.t_ms).fold(0.0, f64::max);
        v.push(rec(last + 1.0, 100, "main", None));
        v
    }

    fn en() -> &'static ChartWords {
        messages::words(Lang::En).chart()
    }

    fn draw_en(records: &[Record]) -> Vec<String> {
        chart(records, "join", false, en())
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
        let first = bar.iter().position(|c| "├─┤╳░█▒z".contains(*c)).unwrap();
        let last = bar.iter().rposition(|c| "├─┤╳░█▒z".contains(*c)).unwrap();
        (first, last)
    }

    #[test]
    fn every_line_fits_80_columns_in_both_languages() {
        for lang in [Lang::En, Lang::Zh] {
            for seq in [false, true] {
                let lines = chart(&join(seq), "join", false, messages::words(lang).chart());
                // Title, axis labels, ruler, four rows, a legend of one or two lines.
                assert!((8..=9).contains(&lines.len()), "{lines:#?}");
                for l in &lines {
                    assert!(width(l) <= 80, "{} columns: {l}", width(l));
                }
            }
        }
    }

    #[test]
    fn parallel_rows_overlap_and_sequential_rows_line_up() {
        let prefix = "Process-1 100 ".chars().count();
        let par = draw_en(&join(false));
        let seq = draw_en(&join(true));
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
        let lines = draw_en(&join(false));
        let names: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| *w == "main" || w.starts_with("Process-"))
            .collect();
        assert_eq!(names, ["main", "Process-1", "Process-2", "Process-3"]);
        assert!(row_of(&lines, "main").ends_with("┤ done"), "{lines:#?}");
        assert!(row_of(&lines, "Process-3").ends_with("┤ exit 0"));
        assert!(lines[0].starts_with("timeline of join"), "{}", lines[0]);
        assert!(lines.iter().any(|l| l.contains("─ running")));
    }

    #[test]
    fn a_zombie_shows_between_the_exit_and_the_reap() {
        // Process-1 exits at 10 ms; the main reaps it only at 90 ms.
        let v = vec![
            rec(0.0, 100, "main", None),
            main_mark(1.0, Mark::Spawned { child: 101 }),
            rec(2.0, 101, "Process-1", None),
            main_mark(10.0, Mark::Exited { child: 101 }),
            main_mark(
                90.0,
                Mark::Reaped {
                    child: 101,
                    ended: Ended::Code(0),
                },
            ),
            rec(100.0, 100, "main", None),
        ];
        let lines = chart(&v, "zombie", false, en());
        let row = row_of(&lines, "Process-1");
        let zs = row.matches('z').count();
        // 80 of 100 ms, on a bar of about 60 columns.
        assert!(zs > 30, "{lines:#?}");
        assert!(row.contains("z┤"), "{lines:#?}");
        assert!(lines.iter().any(|l| l.contains("z zombie")));
    }

    #[test]
    fn no_colour_means_no_escape_and_colour_adds_only_escapes() {
        let plain = chart(&tickets(true), "tickets", false, en());
        assert!(plain.iter().all(|l| !l.contains('\x1b')));
        let colored = chart(&tickets(true), "tickets", true, en());
        assert!(colored.iter().any(|l| l.contains('\x1b')));
        let stripped: Vec<String> = colored.iter().map(|l| strip_ansi(l)).collect();
        assert_eq!(stripped, plain);
    }

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

    /// tickets: four buyers, one ticket; with the lock they take turns, without it they race.
    fn tickets(lock: bool) -> Vec<Record> {
        let mut v = vec![rec(0.0, 100, "main", None)];
        for i in 0..4 {
            v.push(main_mark(1.0 + i as f64, Mark::Spawned { child: 101 + i }));
        }
        for i in 0..4 {
            let (pid, name) = (101 + i, format!("buyer-{i}"));
            let t = 2.0 + i as f64;
            let answer = Mark::Outcome(if i == 0 {
                Outcome::Bought
            } else {
                Outcome::SoldOut
            });
            v.push(rec(t, pid, &name, None));
            let done = if lock {
                v.push(rec(t + 1.5, pid, &name, Some(Mark::Begin(Span::LockWait))));
                let got = 10.0 + 20.0 * i as f64;
                v.push(rec(got, pid, &name, Some(Mark::Begin(Span::LockHold))));
                v.push(rec(got + 19.0, pid, &name, Some(answer)));
                v.push(rec(got + 19.5, pid, &name, Some(Mark::End(Span::LockHold))));
                got + 19.5
            } else {
                v.push(rec(t + 1.0, pid, &name, Some(Mark::Begin(Span::Unlocked))));
                v.push(rec(t + 21.0, pid, &name, Some(Mark::End(Span::Unlocked))));
                v.push(rec(t + 21.0, pid, &name, Some(answer)));
                t + 21.0
            };
            v.extend(reaped(done + 1.0, pid, Ended::Code(0)));
        }
        let last = v.iter().map(|r| r.t_ms).fold(0.0, f64::max);
        v.push(rec(last + 1.0, 100, "main", None));
        v
    }

    #[test]
    fn the_lock_passes_from_buyer_to_buyer() {
        let lines = chart(&tickets(true), "tickets", false, en());
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
        let legend = lines[lines.len() - 2..].join(" ");
        assert!(
            legend.contains("░ waiting for the lock") && legend.contains("█ holding"),
            "{lines:#?}"
        );
    }

    #[test]
    fn without_the_lock_the_read_to_write_windows_overlap() {
        let lines = chart(&tickets(false), "tickets", false, en());
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
    fn a_killed_child_and_a_stopped_main_are_marked() {
        let mut v = vec![
            rec(0.0, 100, "main", None),
            main_mark(1.0, Mark::Spawned { child: 101 }),
            rec(2.0, 101, "Process-1", None),
        ];
        v.extend(reaped(100.0, 101, Ended::Signal(Signal::SIGTERM)));
        v.push(main_mark(
            101.0,
            Mark::Stopping {
                signal: Signal::SIGINT,
            },
        ));
        let lines = chart(&v, "daemon", false, en());
        assert!(
            row_of(&lines, "Process-1").ends_with("╳ SIGTERM"),
            "{lines:#?}"
        );
        assert!(row_of(&lines, "main").ends_with("╳ SIGINT"), "{lines:#?}");
        assert!(lines.iter().any(|l| l.contains("╳ killed by a signal")));
    }

    #[test]
    fn long_runs_are_cut_short_and_empty_records_draw_nothing() {
        let mut v = vec![rec(0.0, 100, "main", None)];
        for i in 0..100 {
            v.push(main_mark(i as f64, Mark::Spawned { child: 1000 + i }));
            v.extend(reaped(200.0 + i as f64, 1000 + i, Ended::Code(0)));
        }
        let lines = chart(&v, "spawn", false, en());
        assert!(lines.len() < 45, "{}", lines.len());
        assert!(lines.iter().any(|l| l.contains("70 more")), "{lines:#?}");
        assert!(chart(&[], "spawn", false, en()).is_empty());
    }
}
