//! Every human sentence procdemo prints, one file per language. JSON never goes through here.
//!
//! A language file has one module per lesson (its one-line help, the paragraph that explains
//! a run with the options given, the tour's closing sentence, a sentence for each of its
//! events and for its summary), the sentences of
//! the events every lesson shares, and the rest of [`Words`]: the tour's own paragraphs and the
//! `--timeline` chart's words. The registry (`lesson/mod.rs`) calls a lesson's module in each
//! file, so the compiler checks that every language says everything.

pub mod en;
pub mod zh;

use serde_json::{Map, Value};

use crate::event::{fields_of, write_fields_of, Accent, Common, Emit, Ended, Header, Lang, Mark};
use crate::timeline::ChartWords;

/// The rest of what one language says.
pub trait Words: Sync {
    /// The tour's first paragraph, given the time scale it runs at.
    fn tour_intro(&self, scale: f64) -> String;
    /// The heading of part `n` of `of`.
    fn tour_heading(&self, n: usize, of: usize, lesson: &str) -> String;
    /// The paragraph before the lessons after the tutorial (`tour --all`).
    fn tour_second_part(&self) -> &'static str;
    /// The tour's last paragraph, after the tutorial's five or (`all`) after every lesson.
    fn tour_outro(&self, all: bool) -> &'static str;
    fn chart(&self) -> &'static ChartWords;
}

/// The sentences of `lang`.
pub fn words(lang: Lang) -> &'static dyn Words {
    match lang {
        Lang::En => &en::English,
        Lang::Zh => &zh::Chinese,
    }
}

impl Emit for Common {
    fn kind(&self) -> &'static str {
        self.into()
    }

    fn fields(&self) -> Map<String, Value> {
        fields_of(self)
    }

    fn write_json_fields(&self, out: &mut Vec<u8>) {
        write_fields_of(self, out)
    }

    fn human(&self, h: &Header, lang: Lang) -> String {
        match lang {
            Lang::En => en::common(h, self),
            Lang::Zh => zh::common(h, self),
        }
    }

    fn mark(&self) -> Option<Mark> {
        Common::mark(self)
    }

    fn accent(&self) -> Accent {
        match self {
            Common::Exit {
                ended: Ended::Signal(_),
                ..
            }
            | Common::Stopping { .. } => Accent::Warning,
            _ => Accent::Plain,
        }
    }
}

/// `buyer-3` is the tutorial's `用户3`; other names stay as they are.
pub fn buyer_number(name: &str) -> Option<&str> {
    name.strip_prefix("buyer-")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A list as Python prints it, `[0, 1, 4]`, cut after `max` entries for a reader; `None`
/// where an entry is missing.
pub fn python_list(items: &[Option<u64>], max: usize) -> String {
    let mut s = String::from("[");
    for (i, item) in items.iter().take(max).enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        match item {
            Some(v) => s.push_str(&v.to_string()),
            None => s.push_str("None"),
        }
    }
    if items.len() > max {
        s.push_str(", …");
    }
    s.push(']');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::Lesson;
    use crate::text::{width, wrap};

    #[test]
    fn every_paragraph_wraps_within_78_columns_and_english_has_no_cjk() {
        for lang in [Lang::En, Lang::Zh] {
            for lesson in Lesson::ALL {
                let explain = crate::lesson::default_command(*lesson).explain(lang, 1.0);
                for line in wrap(&explain, 78) {
                    assert!(width(&line) <= 78, "{line}");
                    assert!(!line.ends_with('（'), "{line}");
                }
                if lang == Lang::En {
                    for s in [&explain, lesson.showed(lang), lesson.about(lang)] {
                        assert!(s.chars().all(|c| width(&c.to_string()) <= 1), "{s}");
                    }
                }
            }
        }
    }

    #[test]
    fn lists_print_as_python_does() {
        assert_eq!(python_list(&[Some(0), Some(1), None], 5), "[0, 1, None]");
        assert_eq!(python_list(&[Some(0), Some(1), Some(4)], 2), "[0, 1, …]");
        assert_eq!(python_list(&[], 2), "[]");
    }

    #[test]
    fn buyers_are_users() {
        assert_eq!(buyer_number("buyer-3"), Some("3"));
        assert_eq!(buyer_number("buyer-"), None);
        assert_eq!(buyer_number("Process-1"), None);
    }
}
