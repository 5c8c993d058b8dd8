//! Every human sentence procdemo prints, one file per language. JSON never goes through here.
//!
//! A language is one type implementing [`Words`]: the events of every scenario, the paragraph
//! `--explain` and the tour print before a scenario, the sentence the tour closes it with, and
//! the words of the `--timeline` chart. The compiler checks that a language says everything;
//! adding a third one is one file, one variant of [`Lang`] and one arm of [`Lang::words`].

pub mod en;
pub mod zh;

use clap::ValueEnum;

use crate::event::{Event, Header, Scenario};

/// The language of human output (`--lang`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English
    En,
    /// Chinese, with the tutorial's own wording
    Zh,
}

impl Lang {
    /// The sentences of this language.
    pub fn words(self) -> &'static dyn Words {
        match self {
            Lang::En => &en::English,
            Lang::Zh => &zh::Chinese,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The default: the first of `LC_ALL`, `LC_MESSAGES`, `LANG` that is set and not empty
    /// (the order of precedence of locale(7)) picks Chinese when it begins with `zh`.
    pub fn from_env() -> Lang {
        Self::from_locale(|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()))
    }

    fn from_locale(var: impl Fn(&str) -> Option<String>) -> Lang {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .filter_map(var)
            .find(|v| !v.is_empty());
        match locale {
            Some(l) if l.starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }
}

/// What the `--timeline` chart calls things.
pub struct ChartWords {
    /// The legend, one entry per glyph.
    pub started: &'static str,
    pub running: &'static str,
    pub waiting: &'static str,
    pub holding: &'static str,
    pub racing: &'static str,
    pub ended: &'static str,
    pub killed: &'static str,
    /// How a row ended: the main (still running while it draws), a buyer's result.
    pub main_done: &'static str,
    pub bought: &'static str,
    pub sold_out: &'static str,
    pub unknown: &'static str,
}

/// Everything one language says. Each language file implements it in full.
pub trait Words: Sync {
    /// One event as a sentence; the line's time, name and pid are added around it.
    fn event(&self, h: &Header, event: &Event) -> String;
    /// What a scenario shows and what to watch for: printed by `--explain` and the tour.
    fn explain(&self, scenario: Scenario) -> &'static str;
    /// One sentence the tour closes a scenario with: what it showed.
    fn showed(&self, scenario: Scenario) -> &'static str;
    /// The tour's first paragraph, given the time scale it runs at.
    fn tour_intro(&self, scale: f64) -> String;
    /// The heading of part `n` of `of`.
    fn tour_heading(&self, n: usize, of: usize, scenario: Scenario) -> String;
    /// The tour's last paragraph.
    fn tour_outro(&self) -> &'static str;
    /// The chart's title: which scenario, how long, how much time one column stands for.
    fn chart_title(&self, scenario: &str, span_ms: f64, column_ms: f64) -> String;
    /// A row that ended with an exit code (0 included) and nothing more to say.
    fn chart_exit(&self, code: i32) -> String;
    /// The line that stands for the rows left out of a long chart.
    fn chart_more(&self, rows: usize) -> String;
    fn chart(&self) -> &'static ChartWords;
}

/// How many terminal columns `s` takes: East Asian wide characters take two.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let wide = matches!(c as u32,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD);
    if c.is_control() {
        0
    } else if wide {
        2
    } else {
        1
    }
}

/// Break a paragraph into lines of at most `max` columns: between words, and between any two
/// wide (CJK) characters, which need no space to be broken apart.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_w = 0;
    // Pieces that are never broken apart: a run of non-space narrow characters (a word), or a
    // wide (CJK) character; closing punctuation stays with what comes before it, an opening
    // bracket with what comes after it. A line never starts with a space.
    let mut pieces: Vec<String> = Vec::new();
    let mut opening = false;
    for c in text.chars() {
        let closes = matches!(
            c,
            '，' | '。' | '：' | '；' | '、' | '）' | '！' | '？' | '」'
        );
        let narrow_word = |p: &String| {
            p.chars()
                .last()
                .is_some_and(|l| l != ' ' && char_width(l) == 1)
        };
        match pieces.last_mut() {
            Some(last) if opening || (closes && last != " ") => last.push(c),
            Some(last) if c != ' ' && char_width(c) == 1 && narrow_word(last) => last.push(c),
            _ => pieces.push(c.to_string()),
        }
        opening = matches!(c, '（' | '「');
    }
    for piece in pieces {
        let w = width(&piece);
        if piece == " " {
            if line_w > 0 && line_w < max {
                line.push(' ');
                line_w += 1;
            }
            continue;
        }
        if line_w + w > max && line_w > 0 {
            lines.push(line.trim_end().to_owned());
            line.clear();
            line_w = 0;
        }
        line.push_str(&piece);
        line_w += w;
    }
    if !line.trim_end().is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// `buyer-3` is the tutorial's `用户3`; other names stay as they are.
pub fn buyer_number(name: &str) -> Option<&str> {
    name.strip_prefix("buyer-")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_picks_the_language() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Lang::from_locale(env(&[])), Lang::En);
        assert_eq!(Lang::from_locale(env(&[("LANG", "zh_CN.UTF-8")])), Lang::Zh);
        assert_eq!(
            Lang::from_locale(env(&[("LC_ALL", "C"), ("LANG", "zh_CN.UTF-8")])),
            Lang::En
        );
        assert_eq!(
            Lang::from_locale(env(&[("LC_ALL", ""), ("LC_MESSAGES", "zh_TW")])),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_locale(env(&[("LC_MESSAGES", "en_US"), ("LANG", "zh_CN")])),
            Lang::En
        );
    }

    #[test]
    fn widths_count_wide_characters_twice() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("用户3"), 5);
        assert_eq!(width("░█─╳·├┤"), 7);
    }

    #[test]
    fn wrapping_respects_the_width() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        for line in wrap(text, 20) {
            assert!(width(&line) <= 20, "{line}");
        }
        assert_eq!(wrap(text, 20).join(" "), text);
        let zh = "进程与进程之间数据是隔离的，无法直接交互，但是可以通过某些技术实现间接交互。";
        let lines = wrap(zh, 20);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(width(line) <= 20, "{line}");
            assert!(!line.starts_with('，') && !line.starts_with('。'));
        }
        for lang in [Lang::En, Lang::Zh] {
            for s in [
                Scenario::Spawn,
                Scenario::Join,
                Scenario::Isolate,
                Scenario::Daemon,
                Scenario::Tickets,
            ] {
                for line in wrap(lang.words().explain(s), 78) {
                    assert!(width(&line) <= 78, "{line}");
                    assert!(!line.ends_with('（'), "{line}");
                }
            }
        }
        assert_eq!(lines.concat(), zh);
    }

    #[test]
    fn buyers_are_users() {
        assert_eq!(buyer_number("buyer-3"), Some("3"));
        assert_eq!(buyer_number("buyer-"), None);
        assert_eq!(buyer_number("Process-1"), None);
    }
}
