//! Teaching: English and Chinese, `--timeline`, the tour, `--explain`, help, completions and
//! the manual page.
//!
//! Tests marked "needs tickets" exercise the tickets scenario and pass once it has landed.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::harness::{self, procdemo, shell, Outcome};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        // --lang
        zh_tickets_prints_the_tutorials_lines, // needs tickets
        zh_is_the_default_when_lang_says_so,   // needs tickets
        zh_uses_the_tutorials_words_in_every_scenario,
        en_output_has_no_cjk_at_all,
        en_tickets_output_has_no_cjk_at_all, // needs tickets
        lang_flag_beats_the_locale,
        json_is_the_same_in_every_language,
        // --timeline
        timeline_for_every_scenario,
        timeline_for_tickets, // needs tickets
        timeline_join_overlaps_and_sequential_lines_up,
        timeline_tickets_lock_passes_from_buyer_to_buyer, // needs tickets
        timeline_tickets_without_lock_shows_the_race,     // needs tickets
        timeline_respects_color_never_and_no_color,
        timeline_colours_a_terminal_unless_no_color,
        timeline_keeps_json_stdout_clean,
        timeline_marks_children_stopped_by_sigterm,
        // tour and --explain
        tour_finishes_under_30_s_and_leaves_nothing, // needs tickets
        tour_in_chinese,                             // needs tickets
        tour_with_json_prints_only_events,
        explain_prints_the_paragraph_first,
        // help, completions, man
        every_scenario_help_teaches,
        completions_are_generated,
        man_pages_are_generated,
        hidden_commands_stay_hidden,
    ]
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FFF      // radicals
        | 0x3000..=0x303F    // CJK punctuation
        | 0x3040..=0x30FF    // kana
        | 0x3400..=0x4DBF    // extension A
        | 0x4E00..=0x9FFF    // unified ideographs
        | 0xAC00..=0xD7AF    // hangul
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0xFF00..=0xFFEF    // full-width forms
        | 0x20000..=0x3FFFF)
}

fn assert_no_cjk(what: &str, text: &str) {
    if let Some((n, line)) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.chars().any(is_cjk))
    {
        panic!(
            "{what}: CJK in English output, line {}: {line}\n{text}",
            n + 1
        );
    }
}

/// Terminal columns, counting wide characters twice.
fn columns(line: &str) -> usize {
    line.chars().map(|c| if is_cjk(c) { 2 } else { 1 }).sum()
}

fn ok(args: &[&str]) -> Outcome {
    let out = procdemo(args.iter().copied()).run();
    out.expect_code(0).expect_no_panic();
    out
}

/// An English run, whatever the machine's locale.
fn en(args: &[&str]) -> Outcome {
    let mut all = vec!["--lang", "en"];
    all.extend_from_slice(args);
    ok(&all)
}

fn zh(args: &[&str]) -> Outcome {
    let mut all = vec!["--lang", "zh"];
    all.extend_from_slice(args);
    ok(&all)
}

/// A human line without its prefix (time, name, pid).
fn human_text(line: &str) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..3 {
        rest = rest
            .split_once(char::is_whitespace)
            .map_or("", |(_, r)| r.trim_start());
    }
    rest
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// The chart's row for `name`, from stderr.
fn row<'a>(stderr: &'a str, name: &str) -> &'a str {
    stderr
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no timeline row for {name}:\n{stderr}"))
}

/// Column of the first and the last glyph of `glyphs` in a row (characters, all narrow).
fn span_of(row: &str, glyphs: &str) -> Option<(usize, usize)> {
    let chars: Vec<char> = row.chars().collect();
    let first = chars.iter().position(|c| glyphs.contains(*c))?;
    let last = chars.iter().rposition(|c| glyphs.contains(*c))?;
    Some((first, last))
}

const BAR: &str = "├─┤╳░█▒";

fn check_chart(scenario: &str, out: &Outcome, rows: &[&str]) {
    let err = &out.stderr;
    assert!(
        err.contains(&format!("timeline of {scenario}:")),
        "no chart title for {scenario}:\n{err}"
    );
    for name in rows {
        let r = row(err, name);
        assert!(span_of(r, BAR).is_some(), "empty row {name}:\n{err}");
    }
    assert!(
        err.contains("─ running") && err.contains("┤ ended"),
        "{err}"
    );
    for line in err.lines() {
        assert!(columns(line) <= 80, "wider than 80 columns: {line}");
    }
    assert!(!err.contains('\x1b'), "colour without a terminal:\n{err}");
}

/// The chart's time axis: where the bars begin in a row, how many columns they have, and how
/// many milliseconds a column stands for (the title's span over the ruler's width).
struct Axis {
    prefix: usize,
    bar: usize,
    column_ms: f64,
}

fn axis(stderr: &str) -> Axis {
    let title = stderr
        .lines()
        .find(|l| l.starts_with("timeline of "))
        .unwrap_or_else(|| panic!("no chart title:\n{stderr}"));
    // "timeline of join: 0.31 s in all, one column = 5.4 ms"
    let span_s: f64 = title
        .split_once(": ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no span in {title:?}"));
    let ruler = stderr
        .lines()
        .find(|l| l.trim_start().starts_with('┼'))
        .unwrap_or_else(|| panic!("no ruler:\n{stderr}"));
    let prefix = ruler.chars().take_while(|c| *c == ' ').count();
    let bar = ruler.chars().count() - prefix;
    Axis {
        prefix,
        bar,
        column_ms: span_s * 1000.0 / bar as f64,
    }
}

impl Axis {
    /// The column of the time `t_ms`, counted from the start of the row as `span_of` counts.
    fn col(&self, t_ms: f64) -> usize {
        self.prefix + ((t_ms.max(0.0) / self.column_ms) as usize).min(self.bar - 1)
    }
}

fn t(e: &Value) -> f64 {
    e["t_ms"].as_f64().unwrap()
}

/// `name`'s event `event` (its own, or the main's about it), from a `--json` run.
fn event_of(out: &Outcome, name: &str, event: &str) -> Value {
    out.events()
        .into_iter()
        .find(|e| {
            e["event"] == event
                && (e["name"] == name || (e["name"] == "main" && e["child_name"] == name))
        })
        .unwrap_or_else(|| panic!("no {event} of {name}:\n{}", out.stdout))
}

/// The row of `name` shows `glyphs` from the column of `from_ms` to that of `to_ms`. The chart
/// is drawn from the same events `--json` prints, so this holds however long anything took.
/// Slack: one column either way for rounding (the test reads the column width from the
/// chart's rounded title), and one more where a start or an end mark, or the next, more
/// telling stretch (the hold after the wait), covers the first or the last column of a span.
fn assert_drawn(out: &Outcome, name: &str, glyphs: &str, from_ms: f64, to_ms: f64) {
    let ax = axis(&out.stderr);
    let r = row(&out.stderr, name);
    let (first, last) =
        span_of(r, glyphs).unwrap_or_else(|| panic!("{name}: no {glyphs} at all:\n{}", out.stderr));
    let (a, b) = (ax.col(from_ms), ax.col(to_ms));
    assert!(
        first + 1 >= a && first <= a + 2 && last + 2 >= b && last <= b + 2,
        "{name}: {glyphs} drawn in columns {first}..{last}, the events say {a}..{b} \
         ({from_ms} to {to_ms} ms, {} ms a column):\n{}",
        ax.column_ms,
        out.stderr
    );
}

/// A child's whole row: from its start (or the main's `spawned`, if earlier) to its `exit`.
fn assert_row_drawn(out: &Outcome, name: &str) {
    let from = t(&event_of(out, name, "spawned")).min(t(&event_of(out, name, "start")));
    let to = t(&event_of(out, name, "exit"));
    assert_drawn(out, name, BAR, from, to);
}

// ---------------------------------------------------------------------------------------------
// --lang

fn tickets_zh(extra_env: Option<(&str, &str)>) -> Outcome {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let mut args = vec![];
    if extra_env.is_none() {
        args.extend(["--lang", "zh"]);
    }
    args.extend([
        "--time-scale",
        "0.01",
        "tickets",
        "--buyers",
        "10",
        "--tickets",
        "1",
        "--data",
        data.to_str().unwrap(),
    ]);
    let mut run = procdemo(args);
    if let Some((k, v)) = extra_env {
        run = run.env_remove("LC_ALL").env_remove("LC_MESSAGES").env(k, v);
    }
    let out = run.run();
    out.expect_code(0).expect_no_panic();
    out
}

fn assert_tutorial_ticket_lines(out: &Outcome) {
    let text = &out.stdout;
    // 用户3查询余票为:1 — the buyer's number, the count as read. The first search of the run
    // comes before any sale, so at least one buyer sees the one ticket.
    let searches: Vec<&str> = text.lines().filter(|l| l.contains("查询余票为:")).collect();
    assert_eq!(searches.len(), 10, "{text}");
    for i in 0..10 {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("buyer-{i} ")) && l.contains("查询余票为:"))
            .unwrap_or_else(|| panic!("no search line for buyer-{i}:\n{text}"));
        assert!(line.contains(&format!("用户{i}查询余票为:")), "{line}");
    }
    assert!(text.contains("查询余票为:1"), "{text}");
    assert_eq!(count(text, "抢票成功"), 1, "one ticket, one sale:\n{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("抢票成功") && l.contains(&format!("用户{}抢票成功", digit(l)))),
        "{text}"
    );
    assert_eq!(count(text, "没票了"), 9, "{text}");
    assert!(text.contains("完成"), "{text}");
}

/// The buyer number on a line whose prefix names `buyer-N`.
fn digit(line: &str) -> String {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("buyer-"))
        .unwrap_or("?")
        .to_string()
}

/// Needs tickets.
fn zh_tickets_prints_the_tutorials_lines() {
    assert_tutorial_ticket_lines(&tickets_zh(None));
}

/// Needs tickets.
fn zh_is_the_default_when_lang_says_so() {
    assert_tutorial_ticket_lines(&tickets_zh(Some(("LANG", "zh_CN.UTF-8"))));
}

fn zh_uses_the_tutorials_words_in_every_scenario() {
    let join = zh(&["--time-scale", "0.01", "join"]);
    let t = &join.stdout;
    for phrase in [
        "Process-1 is running",
        "Process-3 is over",
        "子进程父进程:",
        "主 ",
        "父进程:",
    ] {
        assert!(t.contains(phrase), "join: no {phrase:?}:\n{t}");
    }
    let spawn = zh(&["--time-scale", "0.01", "spawn"]);
    assert!(
        spawn.stdout.contains("Process-1 is running"),
        "{}",
        spawn.stdout
    );
    assert!(spawn.stdout.contains("父进程父进程:"), "{}", spawn.stdout);
    // A daemon child is ended when the main is done, maybe before it said anything; an
    // ordinary one says it is alive three times, whatever the load.
    let daemon = zh(&["--time-scale", "0.1", "daemon", "--ticks", "3"]);
    for phrase in ["皇帝jason寿正终寝", "守护进程"] {
        assert!(
            daemon.stdout.contains(phrase),
            "daemon: no {phrase}:\n{}",
            daemon.stdout
        );
    }
    let ordinary = zh(&[
        "--time-scale",
        "0.01",
        "daemon",
        "--no-daemon",
        "--ticks",
        "1",
    ]);
    assert_eq!(
        count(&ordinary.stdout, "总管正常活着"),
        3,
        "{}",
        ordinary.stdout
    );
    let isolate = zh(&["isolate"]);
    assert!(isolate.stdout.contains("money"), "{}", isolate.stdout);
    assert!(isolate.stdout.contains("仍然是 100"), "{}", isolate.stdout);
    // Every human line is Chinese, apart from the tutorial's English `is running`/`is over`.
    for out in [&join, &spawn, &daemon, &ordinary, &isolate] {
        for line in out.stdout.lines() {
            let text = human_text(line);
            let english = text.contains("is running") || text.contains("is over");
            assert!(english || text.chars().any(is_cjk), "not Chinese: {line}");
        }
    }
}

fn en_output_has_no_cjk_at_all() {
    for args in [
        &[
            "--time-scale",
            "0.01",
            "--explain",
            "--timeline",
            "spawn",
            "--count",
            "2",
        ][..],
        &["--time-scale", "0.01", "--explain", "--timeline", "join"],
        &["--explain", "--timeline", "isolate", "--method", "fork"],
        &[
            "--time-scale",
            "0.05",
            "--explain",
            "--timeline",
            "daemon",
            "--ticks",
            "2",
        ],
        &[
            "--time-scale",
            "0.05",
            "--timeline",
            "daemon",
            "--no-daemon",
            "--ticks",
            "1",
        ],
    ] {
        // Even with a Chinese locale: --lang en wins.
        let out = procdemo(["--lang", "en"].iter().chain(args).copied())
            .env("LANG", "zh_CN.UTF-8")
            .run();
        out.expect_code(0);
        assert_no_cjk(&format!("{args:?} stdout"), &out.stdout);
        assert_no_cjk(&format!("{args:?} stderr"), &out.stderr);
    }
    for args in [&["--help"][..], &["join", "--help"], &["tickets", "--help"]] {
        let out = en(args);
        assert_no_cjk("help", &out.stdout);
    }
}

/// Needs tickets.
fn en_tickets_output_has_no_cjk_at_all() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    for lock in [true, false] {
        let mut args = vec![
            "--time-scale",
            "0.01",
            "--explain",
            "--timeline",
            "tickets",
            "--buyers",
            "4",
            "--tickets",
            "1",
            "--data",
            data.to_str().unwrap(),
        ];
        if !lock {
            args.push("--no-lock");
        }
        let out = en(&args);
        assert_no_cjk("tickets stdout", &out.stdout);
        assert_no_cjk("tickets stderr", &out.stderr);
        assert!(out.stdout.contains("buyer-0"), "{}", out.stdout);
    }
}

fn lang_flag_beats_the_locale() {
    let run = |lang: Option<&str>, env: &[(&str, &str)]| {
        let mut args = vec![];
        if let Some(l) = lang {
            args.extend(["--lang", l]);
        }
        args.extend(["--time-scale", "0", "join", "--count", "1"]);
        let mut r = procdemo(args)
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("LANG");
        for (k, v) in env {
            r = r.env(k, v);
        }
        let out = r.run();
        out.expect_code(0);
        out.stdout.chars().any(is_cjk)
    };
    assert!(!run(None, &[]), "no locale: English");
    assert!(run(None, &[("LANG", "zh_CN.UTF-8")]));
    assert!(run(None, &[("LC_MESSAGES", "zh_TW.UTF-8"), ("LANG", "C")]));
    assert!(!run(
        None,
        &[("LC_ALL", "C.UTF-8"), ("LANG", "zh_CN.UTF-8")]
    ));
    assert!(run(None, &[("LC_ALL", ""), ("LANG", "zh_CN.UTF-8")]));
    assert!(!run(Some("en"), &[("LANG", "zh_CN.UTF-8")]));
    assert!(run(Some("zh"), &[("LANG", "en_US.UTF-8")]));
    let bad = procdemo(["--lang", "fr", "join"]).run();
    bad.expect_code(2);
}

/// Events without what differs from run to run (times, pids, addresses), sorted.
fn normalized(out: &Outcome) -> Vec<String> {
    let mut v: Vec<String> = out
        .events()
        .into_iter()
        .map(|mut e| {
            let m = e.as_object_mut().unwrap();
            for k in [
                "t_ms",
                "pid",
                "ppid",
                "child",
                "child_pid",
                "address",
                "elapsed_ms",
            ] {
                m.remove(k);
            }
            Value::Object(m.clone()).to_string()
        })
        .collect();
    v.sort();
    v
}

fn json_is_the_same_in_every_language() {
    // (arguments, whether the child's own lines count). A daemon child is ended when the main
    // is done: how many lines it wrote by then depends on the machine, not on the language.
    for (args, child_lines) in [
        (
            &["--json", "--time-scale", "0", "join", "--count", "2"][..],
            true,
        ),
        (&["--json", "isolate"], true),
        (
            &["--json", "--time-scale", "0.01", "daemon", "--ticks", "2"],
            false,
        ),
        (
            &[
                "--json",
                "--time-scale",
                "0.01",
                "daemon",
                "--no-daemon",
                "--ticks",
                "2",
            ],
            true,
        ),
    ] {
        let en = procdemo(args.iter().copied())
            .env("LANG", "en_US.UTF-8")
            .run();
        let zh = procdemo(["--lang", "zh"].iter().chain(args).copied()).run();
        en.expect_code(0);
        zh.expect_code(0);
        assert!(!zh.stdout.chars().any(is_cjk), "{}", zh.stdout);
        let keep = |out: &Outcome| -> Vec<String> {
            normalized(out)
                .into_iter()
                .filter(|l| child_lines || l.contains("\"name\":\"main\""))
                .collect()
        };
        let (en, zh) = (keep(&en), keep(&zh));
        assert!(en.len() >= 5, "{args:?}: {en:?}");
        assert_eq!(en, zh, "{args:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// --timeline

fn timeline_for_every_scenario() {
    let spawn = en(&[
        "--time-scale",
        "0.01",
        "--timeline",
        "spawn",
        "--count",
        "2",
    ]);
    check_chart("spawn", &spawn, &["main", "Process-1", "Process-2"]);
    let join = en(&["--time-scale", "0.01", "--timeline", "join"]);
    check_chart(
        "join",
        &join,
        &["main", "Process-1", "Process-2", "Process-3"],
    );
    for method in ["exec", "fork"] {
        let isolate = en(&["--timeline", "isolate", "--method", method]);
        check_chart("isolate", &isolate, &["main", "Process-1"]);
    }
    let daemon = en(&[
        "--time-scale",
        "0.05",
        "--timeline",
        "daemon",
        "--ticks",
        "3",
    ]);
    check_chart("daemon", &daemon, &["main", "Process-1"]);
    let child = row(&daemon.stderr, "Process-1");
    assert!(
        child.contains('╳') && child.ends_with("SIGTERM"),
        "{}",
        daemon.stderr
    );
    assert!(daemon.stderr.contains("╳ killed by a signal"));
    // The chart is drawn after the run: stdout is complete before it.
    assert!(spawn.stdout.lines().last().unwrap().contains("done:"));
    // Without --timeline, nothing on stderr.
    let quiet = en(&["--time-scale", "0", "join"]);
    assert_eq!(quiet.stderr, "");
}

/// Needs tickets.
fn timeline_for_tickets() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let out = en(&[
        "--time-scale",
        "0.01",
        "--timeline",
        "tickets",
        "--buyers",
        "3",
        "--tickets",
        "1",
        "--data",
        data.to_str().unwrap(),
    ]);
    check_chart("tickets", &out, &["main", "buyer-0", "buyer-1", "buyer-2"]);
    let zh = zh(&[
        "--time-scale",
        "0.01",
        "--timeline",
        "tickets",
        "--buyers",
        "3",
        "--tickets",
        "1",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(zh.stderr.contains("tickets 的时间线"), "{}", zh.stderr);
    assert!(zh.stderr.contains("抢票成功") && zh.stderr.contains("没票了"));
    for line in zh.stderr.lines() {
        assert!(columns(line) <= 80, "wider than 80 columns: {line}");
    }
}

fn timeline_join_overlaps_and_sequential_lines_up() {
    // With --json the events the chart is drawn from are on stdout too: every bar is checked
    // against the times it stands for, and the lesson against the order of events.
    // Children sleep 0, 250 and 500 ms.
    let join = |extra: &[&str]| {
        let mut args = vec!["--json", "--time-scale", "0.25", "--timeline", "join"];
        args.extend_from_slice(extra);
        let out = en(&args);
        for name in ["Process-1", "Process-2", "Process-3"] {
            assert_row_drawn(&out, name);
        }
        out
    };
    let par = join(&[]);
    let seq = join(&["--sequential"]);
    let bars = |out: &Outcome, name: &str| span_of(row(&out.stderr, name), BAR).unwrap();
    let (p2, p3) = (bars(&par, "Process-2"), bars(&par, "Process-3"));
    let (s2, s3) = (bars(&seq, "Process-2"), bars(&seq, "Process-3"));
    // Parallel: Process-3 started while Process-2 still slept (250 ms: the margin load would
    // have to eat), so the bars overlap.
    assert!(
        t(&event_of(&par, "Process-3", "start")) < t(&event_of(&par, "Process-2", "over")),
        "parallel children did not overlap:\n{}",
        par.stdout
    );
    assert!(p3.0 <= p2.1, "no overlap:\n{}", par.stderr);
    // Sequential: Process-3 was started only once Process-2 had been reaped: it begins where
    // the other ends.
    assert!(s3.0 >= s2.1, "overlap in --sequential:\n{}", seq.stderr);
}

/// `tickets` with 4 buyers on `data`, `--json` and the chart.
fn tickets_timeline(data: &Path, lock: bool, scale: &str) -> harness::Live {
    let mut args = vec![
        "--lang",
        "en",
        "--json",
        "--time-scale",
        scale,
        "--timeline",
        "tickets",
        "--buyers",
        "4",
        "--data",
        data.to_str().unwrap(),
    ];
    if !lock {
        args.push("--no-lock");
    }
    procdemo(args).spawn()
}

/// Needs tickets.
fn timeline_tickets_lock_passes_from_buyer_to_buyer() {
    // We hold the lock until all four buyers wait for it, so every one of them surely waits;
    // then each holds it 50 ms in turn.
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    std::fs::write(&data, "{\"ticket\": 1}").unwrap();
    let lock = std::fs::File::create(dir.path().join("data.json.lock")).unwrap();
    fs2::FileExt::lock_exclusive(&lock).unwrap();
    let mut live = tickets_timeline(&data, true, "0.05");
    live.wait_for_n(4, Duration::from_secs(20), |e| e["event"] == "lock_wait");
    drop(lock);
    let out = live.finish();
    out.expect_code(0).expect_no_panic();

    let mut holds = Vec::new();
    for i in 0..4 {
        let name = format!("buyer-{i}");
        let (wait, acquired, released) = (
            t(&event_of(&out, &name, "lock_wait")),
            t(&event_of(&out, &name, "lock_acquired")),
            t(&event_of(&out, &name, "lock_released")),
        );
        assert_drawn(&out, &name, "█", acquired, released);
        // The wait shows where it lasted two columns or more (its last column is the hold's).
        let ax = axis(&out.stderr);
        if ax.col(acquired) >= ax.col(wait) + 3 {
            assert_drawn(&out, &name, "░", wait, acquired);
        }
        let decided = out
            .events()
            .into_iter()
            .find(|e| {
                e["name"] == name.as_str() && (e["event"] == "bought" || e["event"] == "sold_out")
            })
            .unwrap();
        holds.push((
            acquired,
            t(&decided),
            span_of(row(&out.stderr, &name), "█").unwrap(),
        ));
    }
    // In the order they got it, each buyer took the lock only after the one before had
    // decided, and the chart draws the holds in that order.
    holds.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in holds.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "two holders at once:\n{}",
            out.stdout
        );
        assert!(
            pair[1].2 .0 >= pair[0].2 .0,
            "holds out of order:\n{}",
            out.stderr
        );
    }
    assert!(out.stderr.contains('░'), "nobody waited:\n{}", out.stderr);
    assert!(out.stderr.contains("█ holding the lock"));
    assert_eq!(count(&out.stderr, " bought"), 1, "{}", out.stderr);
    assert_eq!(count(&out.stderr, " sold out"), 3, "{}", out.stderr);
}

/// Needs tickets.
fn timeline_tickets_without_lock_shows_the_race() {
    // The tutorial's timing: a buyer waits 1 s between reading the count and writing it back,
    // so all four read before the first one writes unless starting them takes a whole second.
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    std::fs::write(&data, "{\"ticket\": 1}").unwrap();
    let out = tickets_timeline(&data, false, "1").finish();
    out.expect_code(0).expect_no_panic();
    let mut windows = Vec::new();
    for i in 0..4 {
        let name = format!("buyer-{i}");
        let search = t(&event_of(&out, &name, "search"));
        let decided = out
            .events()
            .into_iter()
            .find(|e| {
                e["name"] == name.as_str() && (e["event"] == "bought" || e["event"] == "sold_out")
            })
            .unwrap_or_else(|| panic!("{name} never decided:\n{}", out.stdout));
        assert_drawn(&out, &name, "▒", search, t(&decided));
        windows.push(span_of(row(&out.stderr, &name), "▒").unwrap());
    }
    let latest_start = windows.iter().map(|w| w.0).max().unwrap();
    let earliest_end = windows.iter().map(|w| w.1).min().unwrap();
    assert!(
        latest_start <= earliest_end,
        "the windows do not overlap:\n{}",
        out.stderr
    );
    assert!(!out.stderr.contains('█'), "{}", out.stderr);
    assert!(out.stderr.contains("▒ read to write, unlocked"));
    let sum = out.summary();
    assert_eq!(
        (&sum["sold"], &sum["oversold"]),
        (&4.into(), &true.into()),
        "{sum}"
    );
}

fn timeline_respects_color_never_and_no_color() {
    let base = ["--time-scale", "0.01", "--timeline", "join", "--count", "2"];
    // The harness sets NO_COLOR; --color never without it; and auto with it.
    let never = procdemo(["--color", "never"].iter().chain(&base).copied())
        .env_remove("NO_COLOR")
        .run();
    never.expect_code(0);
    assert!(!never.stderr.contains('\x1b') && never.stderr.contains("timeline"));
    let auto = ok(&base);
    assert!(!auto.stderr.contains('\x1b'));
    // always means always, on stdout and on stderr.
    let always = procdemo(["--color", "always"].iter().chain(&base).copied()).run();
    always.expect_code(0);
    assert!(always.stderr.contains('\x1b'), "{}", always.stderr);
    assert!(always.stdout.contains('\x1b'));
}

/// On a terminal (util-linux `script` gives the run a pseudo-terminal), `auto` colours the
/// chart, and `NO_COLOR` turns that off.
fn timeline_colours_a_terminal_unless_no_color() {
    let cmd =
        "script -qec \"$PROCDEMO --lang en --time-scale 0.01 --timeline join --count 2\" /dev/null";
    let colored = shell(cmd).env_remove("NO_COLOR").env("TERM", "xterm").run();
    colored.expect_code(0);
    assert!(
        colored.stdout.contains("timeline of join"),
        "{}",
        colored.stdout
    );
    assert!(colored.stdout.contains("\x1b["), "no colour on a terminal");
    let plain = shell(cmd).env("NO_COLOR", "1").env("TERM", "xterm").run();
    plain.expect_code(0);
    assert!(
        plain.stdout.contains("timeline of join"),
        "{}",
        plain.stdout
    );
    assert!(!plain.stdout.contains('\x1b'), "NO_COLOR ignored");
}

fn timeline_keeps_json_stdout_clean() {
    let out = ok(&["--json", "--time-scale", "0.01", "--timeline", "join"]);
    // Every stdout line is an event; the chart is on stderr only.
    let events = out.events();
    assert_eq!(events.last().unwrap()["event"], "summary");
    assert!(out.stderr.contains("Process-3"), "{}", out.stderr);
}

fn timeline_marks_children_stopped_by_sigterm() {
    let mut live = procdemo([
        "--lang",
        "en",
        "--json",
        "--timeline",
        "join",
        "--count",
        "3",
    ])
    .spawn();
    live.wait_for(Duration::from_secs(10), |e| {
        e["event"] == "start" && e["name"] == "Process-3"
    });
    live.signal_main(Signal::SIGTERM);
    let out = live.finish();
    assert_eq!(out.code(), Some(143), "{}", out.stderr);
    assert!(out.stderr.contains("timeline of join"), "{}", out.stderr);
    let p3 = row(&out.stderr, "Process-3");
    assert!(
        p3.contains('╳') && p3.ends_with("SIGTERM"),
        "{}",
        out.stderr
    );
    assert!(
        row(&out.stderr, "main").ends_with("SIGTERM"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// tour and --explain

/// Needs tickets.
fn tour_finishes_under_30_s_and_leaves_nothing() {
    let tmp = harness::temp_dir();
    let started = Instant::now();
    let out = procdemo(["--lang", "en", "tour"])
        .env("TMPDIR", tmp.path().to_str().unwrap())
        .cwd(tmp.path())
        .timeout(Duration::from_secs(60))
        .run();
    let took = started.elapsed();
    out.expect_code(0).expect_no_panic();
    assert!(took < Duration::from_secs(30), "the tour took {took:?}");
    let t = &out.stdout;
    let mut at = 0;
    for (n, s) in ["spawn", "join", "isolate", "daemon", "tickets"]
        .iter()
        .enumerate()
    {
        let heading = format!("── {}/5 {s} ──", n + 1);
        let found = t[at..]
            .find(&heading)
            .unwrap_or_else(|| panic!("{heading} missing or out of order:\n{t}"));
        at += found;
        // The paragraph first, then the run, then one sentence on what it showed.
        let part = &t[at..];
        let start = part
            .find(&format!("main process of `{s}` started"))
            .unwrap();
        let showed = part.find("What it showed:").unwrap();
        assert!(part.find(&format!("{s}: ")).unwrap() < start, "{part}");
        assert!(start < showed, "{part}");
    }
    assert_eq!(count(t, "What it showed:"), 5, "{t}");
    assert!(t.starts_with("procdemo tour:"), "{t}");
    assert!(t.contains("That was the tour."));
    assert_eq!(
        count(t, " bought a ticket ("),
        1,
        "tickets: 1 ticket, 1 sale:\n{t}"
    );
    // The tour's ticket file was temporary, and the user's directory untouched.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_no_cjk("tour", t);
}

/// Needs tickets.
fn tour_in_chinese() {
    let tmp = harness::temp_dir();
    let out = procdemo(["--time-scale", "0.01", "tour"])
        .env_remove("LC_ALL")
        .env("LANG", "zh_CN.UTF-8")
        .env("TMPDIR", tmp.path().to_str().unwrap())
        .run();
    out.expect_code(0).expect_no_panic();
    let t = &out.stdout;
    for phrase in [
        "procdemo 导览",
        "第 1/5 部分：spawn",
        "第 5/5 部分：tickets",
        "结论：",
        "is running",
        "主 ",
        "总管正常活着",
        "皇帝jason寿正终寝",
        "查询余票为:",
        "抢票成功",
        "没票了",
        "导览结束",
    ] {
        assert!(t.contains(phrase), "no {phrase}:\n{t}");
    }
    assert_eq!(count(t, "结论："), 5);
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
}

/// `--json tour`: the tour's runs, as events only; its narration is human text, left out.
fn tour_with_json_prints_only_events() {
    let out = procdemo(["--json", "--time-scale", "0", "tour"]).run();
    out.expect_code(0);
    let summaries: Vec<String> = out
        .events_of("summary")
        .iter()
        .map(|s| s["scenario"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(summaries, ["spawn", "join", "isolate", "daemon", "tickets"]);
    assert_eq!(out.stderr, "");
}

fn explain_prints_the_paragraph_first() {
    let out = en(&["--explain", "--time-scale", "0", "join", "--count", "2"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("join: 2 children"), "{}", out.stdout);
    let blank = lines.iter().position(|l| l.is_empty()).unwrap();
    assert!(lines[blank + 1].contains("main process of `join` started"));
    for l in &lines[..blank] {
        assert!(columns(l) <= 80, "{l}");
    }
    for s in ["spawn", "isolate", "daemon"] {
        let args = ["--explain", "--time-scale", "0", s, "--help"];
        // --help wins over running anything; the paragraph is the long description there.
        let help = en(&args);
        assert!(help.stdout.contains(&format!("{s}: ")), "{}", help.stdout);
    }
    let zh = zh(&["--explain", "--time-scale", "0", "isolate"]);
    assert!(
        zh.stdout.starts_with("isolate：全局变量 money = 100"),
        "{}",
        zh.stdout
    );
    for l in zh.stdout.lines().take_while(|l| !l.is_empty()) {
        assert!(columns(l) <= 80, "{l}");
    }
    // JSON has no room for prose.
    procdemo(["--json", "--explain", "join"])
        .run()
        .expect_code(2);
}

// ---------------------------------------------------------------------------------------------
// help, completions, man

fn every_scenario_help_teaches() {
    for s in ["spawn", "join", "isolate", "daemon", "tickets", "tour"] {
        let out = procdemo([s, "--help"]).env("COLUMNS", "80").run();
        out.expect_code(0);
        let h = &out.stdout;
        let (description, rest) = h.split_once("Usage:").expect("usage");
        assert!(
            description.split_whitespace().count() > 40,
            "{s}: no paragraph:\n{h}"
        );
        let examples = rest.split_once("Examples:").expect("examples").1;
        let n = examples
            .lines()
            .filter(|l| l.trim_start().starts_with("procdemo "))
            .count();
        assert!((2..=4).contains(&n), "{s}: {n} examples:\n{h}");
        for l in h.lines() {
            assert!(l.chars().count() <= 80, "{s} help line too wide: {l}");
        }
    }
}

fn completions_are_generated() {
    let bash = ok(&["completions", "bash"]);
    assert!(bash.stdout.contains("complete -F") && bash.stdout.contains("procdemo"));
    for word in ["tickets", "--timeline", "--lang", "--explain", "tour"] {
        assert!(bash.stdout.contains(word), "bash: no {word}");
    }
    // The script is valid bash.
    let dir = harness::temp_dir();
    let file = dir.path().join("procdemo.bash");
    std::fs::write(&file, &bash.stdout).unwrap();
    harness::command("bash", ["-n", file.to_str().unwrap()])
        .run()
        .expect_code(0);

    let zsh = ok(&["completions", "zsh"]);
    assert!(
        zsh.stdout.starts_with("#compdef procdemo"),
        "{}",
        zsh.stdout
    );
    assert!(zsh.stdout.contains("--no-lock"));
    let fish = ok(&["completions", "fish"]);
    assert!(fish.stdout.contains("complete -c procdemo"));
    assert!(fish.stdout.contains("sequential"));
    procdemo(["completions", "tcsh"]).run().expect_code(2);
}

fn man_pages_are_generated() {
    let page = ok(&["man"]);
    assert!(page.stdout.contains(".TH procdemo 1"), "{}", page.stdout);
    for word in ["tickets", "timeline", "tour"] {
        assert!(page.stdout.contains(word), "man: no {word}");
    }
    let dir = harness::temp_dir();
    let out_dir = dir.path().join("man1");
    ok(&["man", "--dir", out_dir.to_str().unwrap()]);
    for name in [
        "procdemo.1",
        "procdemo-spawn.1",
        "procdemo-join.1",
        "procdemo-isolate.1",
        "procdemo-daemon.1",
        "procdemo-tickets.1",
        "procdemo-tour.1",
    ] {
        let text =
            std::fs::read_to_string(out_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains(".TH"), "{name}");
    }
    let tickets = std::fs::read_to_string(out_dir.join("procdemo-tickets.1")).unwrap();
    assert!(tickets.contains("flock"), "the description is in the page");
    // Hidden commands get no page.
    assert!(!out_dir.join("procdemo-completions.1").exists());
    assert!(!out_dir.join("procdemo-man.1").exists());
}

fn hidden_commands_stay_hidden() {
    let help = ok(&["--help"]).stdout;
    assert!(help.contains("tour"), "{help}");
    assert!(!help.contains("completions"), "{help}");
    assert!(
        !help.lines().any(|l| l.trim_start().starts_with("man ")),
        "{help}"
    );
    assert!(!help.contains("--child"), "{help}");
}
