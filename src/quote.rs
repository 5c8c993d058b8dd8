//! Paths in messages, written as a shell word: one function for every error and hint.
//!
//! A path is a string of bytes that may hold anything but `/`-separated NULs: a newline, an
//! escape sequence, bytes that are not UTF-8. Printed as it is, a newline splits one error
//! into several lines, an escape sequence is obeyed by the terminal (it can recolour, retitle
//! or clear the screen: "terminal injection"), and a lossy conversion shows U+FFFD, so that a
//! command suggested in the message names another file. [`shell_quote`] writes the path the
//! way a shell reads it back byte for byte, as GNU `ls --quoting-style=shell-escape` does:
//!
//! | path | shown as |
//! |---|---|
//! | `data.json`, `dir/t-1.json`, `数据.json` | as it is |
//! | `my data.json`, `it's.json` | `'my data.json'`, `'it'\''s.json'` |
//! | a newline, ESC, byte 0xff, U+202E | `$'a\nb'`, `$'\x1b[31m'`, `$'\xff'`, `$'\xe2\x80\xae'` |
//!
//! `$'...'` (ANSI-C quoting) is understood by bash, zsh, ksh, busybox sh and, since POSIX
//! 2024, every POSIX shell. Escaped characters are written as their UTF-8 bytes (`\xHH`), so
//! the word means the same bytes whatever the reader's locale.

use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `path` as one shell word that names exactly this path, printable on one line.
pub fn shell_quote(path: &Path) -> String {
    shell_quote_bytes(path.as_os_str().as_bytes())
}

/// [`shell_quote`] for any bytes: a file name, an argument.
pub fn shell_quote_bytes(word: &[u8]) -> String {
    match std::str::from_utf8(word) {
        Ok(text) if !text.is_empty() && !text.starts_with(['=', '~']) && text.chars().all(bare) => {
            text.to_owned()
        }
        Ok(text) if !text.chars().any(is_unsafe_char) => {
            format!("'{}'", text.replace('\'', r"'\''"))
        }
        _ => ansi_c(word),
    }
}

/// Characters that need no quoting at all. Any non-ASCII character that is printable and
/// not a space: shells split words only on ASCII characters.
fn bare(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "_-+=.,/:@%".contains(c)
    } else {
        !is_unsafe_char(c) && !c.is_whitespace()
    }
}

/// Characters that must never reach a terminal raw: the control characters (C0, DEL, C1,
/// which holds the 8-bit CSI), the line and paragraph separators, and the invisible
/// formatting characters (Unicode category Cf: bidirectional overrides, which reorder what a
/// line seems to say, zero-width spaces and joiners, the byte order mark, tags).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061c}'
                | '\u{06dd}'
                | '\u{070f}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08e2}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
        )
}

/// `$'...'`: printable characters as they are (but `\` and `'`), everything else as bytes.
fn ansi_c(word: &[u8]) -> String {
    let mut out = String::from("$'");
    let hex = |out: &mut String, bytes: &[u8]| {
        for b in bytes {
            let _ = write!(out, "\\x{b:02x}");
        }
    };
    for chunk in word.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str(r"\\"),
                '\'' => out.push_str(r"\'"),
                '\n' => out.push_str(r"\n"),
                '\t' => out.push_str(r"\t"),
                '\r' => out.push_str(r"\r"),
                c if is_unsafe_char(c) => hex(&mut out, c.encode_utf8(&mut [0; 4]).as_bytes()),
                c => out.push(c),
            }
        }
        hex(&mut out, chunk.invalid());
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    fn q(bytes: &[u8]) -> String {
        shell_quote(Path::new(OsStr::from_bytes(bytes)))
    }

    #[test]
    fn plain_names_stay_as_they_are() {
        for plain in [
            "data.json",
            "dir/sub/t-1.json",
            "/tmp/a_b+c=d,e:f@g%h",
            "数据.json",
        ] {
            assert_eq!(q(plain.as_bytes()), plain);
        }
    }

    #[test]
    fn printable_names_get_single_quotes() {
        assert_eq!(q(b""), "''");
        assert_eq!(q(b"my data.json"), "'my data.json'");
        assert_eq!(q(b"it's.json"), r"'it'\''s.json'");
        assert_eq!(q(b"$HOME/*.json"), "'$HOME/*.json'");
        assert_eq!(q(b"~/data.json"), "'~/data.json'");
        assert_eq!(q(b"=data"), "'=data'");
        assert_eq!(q("全角\u{3000}空格".as_bytes()), "'全角\u{3000}空格'");
    }

    #[test]
    fn control_characters_and_bad_bytes_are_escaped() {
        assert_eq!(q(b"a\nb.json"), r"$'a\nb.json'");
        assert_eq!(q(b"\x1b[31mred"), r"$'\x1b[31mred'");
        assert_eq!(q(b"d\xffta.json"), r"$'d\xffta.json'");
        assert_eq!(q(b"tab\there's\\"), r"$'tab\there\'s\\'");
        // C1's CSI, and a right-to-left override that would reverse the rest of the line.
        assert_eq!(q("a\u{9b}b".as_bytes()), r"$'a\xc2\x9bb'");
        assert_eq!(
            q("x\u{202e}nosj.exe".as_bytes()),
            r"$'x\xe2\x80\xaenosj.exe'"
        );
        // A character cut short at the end is bytes too.
        assert_eq!(q(b"caf\xc3"), r"$'caf\xc3'");
        assert_eq!(q("é\n".as_bytes()), r"$'é\n'");
    }

    #[test]
    fn quoted_words_are_one_printable_line() {
        for word in [
            &b"a\nb"[..],
            b"\x1b]0;title\x07",
            b"\r\x85\xe2\x80\xa8",
            b"\xff\xfe",
        ] {
            let quoted = q(word);
            assert!(!quoted.chars().any(is_unsafe_char), "{quoted:?}");
        }
    }

    /// bash reads every quoted word back as the same bytes.
    fn bash_reads_back(words: &[Vec<u8>]) {
        let mut script = String::from("printf '%s\\0'");
        for word in words {
            script.push(' ');
            script.push_str(&q(word));
        }
        let mut child = Command::new("bash")
            .args(["--norc", "--noprofile", "-s"])
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("bash");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let mut expected = Vec::new();
        for word in words {
            expected.extend_from_slice(word);
            expected.push(0);
        }
        assert_eq!(out.stdout, expected, "script: {script}");
    }

    #[test]
    fn bash_reads_the_examples_back() {
        let words: Vec<Vec<u8>> = [
            &b"data.json"[..],
            b"",
            b"my data's.json",
            b"a\nb\tc\rd",
            b"\x1b[31m",
            b"d\xffta",
            b"\\x41\\'",
            "数据\u{202e}.json".as_bytes(),
            b"!event $x `y` \"z\"",
        ]
        .iter()
        .map(|w| w.to_vec())
        .collect();
        bash_reads_back(&words);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn word() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                // Any bytes but NUL, which no path holds.
                prop::collection::vec(1u8..=255, 0..12),
                any::<String>().prop_map(|s| s.replace('\0', "").into_bytes()),
                "[a-z'\\\\ \n$é]{0,8}".prop_map(String::into_bytes),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(16))]

            #[test]
            fn bash_reads_any_word_back(words in prop::collection::vec(word(), 1..64)) {
                for w in &words {
                    let quoted = q(w);
                    prop_assert!(!quoted.chars().any(is_unsafe_char), "{:?}", quoted);
                }
                bash_reads_back(&words);
            }
        }
    }
}
