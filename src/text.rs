//! Plain text helpers: how wide a string is on a terminal, how to wrap a paragraph, how to
//! print a number for a reader. Nothing here knows about processes.

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
    // A number and its unit stay on one line: "3.000 s", not "3.000" / "s".
    let mut glued: Vec<String> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let unit = matches!(
            piece.as_str(),
            "s" | "ms" | "s," | "ms," | "s:" | "ms:" | "s)"
        );
        let n = glued.len();
        if unit
            && n >= 2
            && glued[n - 1] == " "
            && glued[n - 2].ends_with(|c: char| c.is_ascii_digit())
        {
            glued.pop();
            glued[n - 2].push(' ');
            glued[n - 2].push_str(&piece);
        } else {
            glued.push(piece);
        }
    }
    for piece in glued {
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

/// [`wrap`], but without a lone word on the last line: where the last line would take less
/// than a quarter of `max`, a narrower width that gives as many lines is taken instead, so
/// the words spread over the lines more evenly ("exited with code" / "0" becomes two lines of
/// like length).
pub fn wrap_balanced(text: &str, max: usize) -> Vec<String> {
    let lines = wrap(text, max);
    let lonely =
        |lines: &[String]| lines.len() > 1 && lines.last().is_some_and(|l| width(l) < max / 4);
    if !lonely(&lines) {
        return lines;
    }
    for narrower in (max * 3 / 4..max).rev() {
        let tried = wrap(text, narrower);
        if tried.len() > lines.len() {
            break;
        }
        if !lonely(&tried) {
            return tried;
        }
    }
    lines
}

/// A number with at most `decimals` decimals, without trailing zeros.
pub fn trim_number(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(lines.concat(), zh);
    }

    #[test]
    fn balanced_wrapping_leaves_no_word_alone() {
        let text = "reaped Process-1 (pid 4242): it exited with code 0";
        let plain = wrap(text, 48);
        assert_eq!(plain.last().map(String::as_str), Some("0"), "{plain:?}");
        let balanced = wrap_balanced(text, 48);
        assert_eq!(balanced.len(), plain.len());
        assert!(
            balanced.iter().all(|l| width(l) <= 48 && width(l) >= 12),
            "{balanced:?}"
        );
        assert_eq!(balanced.join(" "), text);
    }

    #[test]
    fn a_number_keeps_its_unit() {
        let lines = wrap(
            "main leaves its 2 zombies unreaped for 3.000 s (--hold 3)",
            43,
        );
        assert!(lines.iter().all(|l| l != "s (--hold 3)"), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("3.000 s")), "{lines:?}");
    }

    #[test]
    fn numbers_lose_trailing_zeros() {
        assert_eq!(trim_number(1.500, 3), "1.5");
        assert_eq!(trim_number(2.0, 3), "2");
        assert_eq!(trim_number(0.0006, 3), "0.001");
    }
}
