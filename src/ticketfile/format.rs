//! The ticket file's contents: parsing bytes into [`Tickets`], and writing them back.
//!
//! The file is UTF-8 JSON, a single object whose `"ticket"` member is a
//! non-negative integer written as one (`3`, not `3.0` or `3e0`) that fits in
//! 64 bits. Any other members are kept, in their order, when a buyer writes the
//! file back; a leading UTF-8 byte order mark is tolerated (RFC 8259 allows a
//! reader to ignore one) and not written back. We write in the tutorial's
//! `json.dump` style, `{"ticket": 1}`, plus a final newline.
//!
//! Nothing here touches the file system: see `store` for that.

use std::fmt;

use serde_json::{Map, Value};

use crate::quote::is_unsafe_char;

/// The largest ticket file we read or write. A real one is a dozen bytes, but it may carry
/// other keys (an owner, notes), and those are kept; the limit only keeps a wrong `--data`
/// path (a log file, a disk image) from being read whole. A file over it is an error, for
/// reading and for `--tickets` alike: never reset, never cut.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// [`MAX_BYTES`] as people write it.
pub const MAX_SIZE_TEXT: &str = "1 MiB";

/// Longest JSON text we quote back in an error message, in characters.
const FOUND_CHARS: usize = 40;

/// The contents of a valid ticket file.
#[derive(Debug, Clone)]
pub struct Tickets {
    /// The tickets left.
    pub count: u64,
    /// The whole object as read, `"ticket"` included so that it keeps its
    /// place; its value there is stale, `count` is the truth.
    doc: Map<String, Value>,
}

impl Tickets {
    /// A fresh file's contents: `{"ticket": count}`.
    pub fn new(count: u64) -> Tickets {
        let mut doc = Map::new();
        doc.insert("ticket".to_owned(), Value::from(count));
        Tickets { count, doc }
    }

    /// The same document with another count.
    pub fn with_count(&self, count: u64) -> Tickets {
        Tickets {
            count,
            doc: self.doc.clone(),
        }
    }

    /// The file's bytes: one line of JSON in the tutorial's style,
    /// `{"ticket": 1, "other": [1, 2]}`, and a newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::from("{");
        for (i, (key, value)) in self.doc.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_json(&mut out, &Value::from(key.as_str()));
            out.push_str(": ");
            if key == "ticket" {
                out.push_str(&self.count.to_string());
            } else {
                write_json(&mut out, value);
            }
        }
        out.push_str("}\n");
        out.into_bytes()
    }
}

/// Two `Tickets` are equal when they would write the same file.
impl PartialEq for Tickets {
    fn eq(&self, other: &Tickets) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

/// Appends `value` as JSON with Python's default separators (`", "` and
/// `": "`); serde_json's own compact form has no spaces at all.
fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(out, &Value::from(key.as_str()));
                out.push_str(": ");
                write_json(out, item);
            }
            out.push('}');
        }
        // Strings, numbers, booleans and null: serde_json's form, escapes included.
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// What is wrong with the contents of a ticket file. The messages leave out
/// the file name; `store::read` puts it in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// No bytes at all, or only whitespace.
    Empty,
    /// More than [`MAX_BYTES`].
    TooLarge,
    /// The first byte that is not part of valid UTF-8.
    NotUtf8 {
        offset: usize,
    },
    /// serde_json's description, with line and column.
    InvalidJson(String),
    /// What the top level was instead of an object, e.g. "an array".
    NotAnObject(&'static str),
    MissingTicket,
    /// The value's JSON text (shortened), e.g. `"5"`, `-1` or `1.0`.
    NotANonNegativeInteger(String),
    /// The value's JSON text (shortened), an integer of 2^64 or more.
    TicketTooLarge(String),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Empty => write!(f, "empty file"),
            FormatError::TooLarge => write!(
                f,
                "file too large to be a ticket file (over {MAX_SIZE_TEXT}, procdemo's limit)"
            ),
            FormatError::NotUtf8 { offset } => {
                write!(f, "not UTF-8 text (binary bytes at offset {offset})")
            }
            FormatError::InvalidJson(msg) => write!(f, "invalid JSON: {msg}"),
            FormatError::NotAnObject(found) => write!(
                f,
                r#"the top level must be an object like {{"ticket": 1}}, found {found}"#
            ),
            FormatError::MissingTicket => write!(f, r#""ticket" is missing"#),
            FormatError::NotANonNegativeInteger(found) => {
                write!(
                    f,
                    r#""ticket" must be a non-negative integer, found {found}"#
                )
            }
            FormatError::TicketTooLarge(found) => write!(
                f,
                r#""ticket" is too large (must fit in 64 bits), found {found}"#
            ),
        }
    }
}

impl std::error::Error for FormatError {}

/// Checks and decodes the bytes of a ticket file. Never panics, whatever the
/// bytes are.
pub fn parse(bytes: &[u8]) -> Result<Tickets, FormatError> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(FormatError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| FormatError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_matches(is_json_whitespace).is_empty() {
        return Err(FormatError::Empty);
    }
    // serde_json limits nesting to 128 levels, so deep input cannot overflow
    // the stack.
    let doc = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(doc)) => doc,
        Ok(other) => return Err(FormatError::NotAnObject(kind_of(&other))),
        Err(e) => return Err(FormatError::InvalidJson(e.to_string())),
    };
    let ticket = doc.get("ticket").ok_or(FormatError::MissingTicket)?;
    let count = match ticket {
        // `as_u64` is Some exactly for integer literals from 0 to 2^64-1.
        Value::Number(n) => match n.as_u64() {
            Some(count) => count,
            None => {
                // serde_json turned `1.0`, `1e3`, `-0` and `18446744073709551616`
                // alike into a float; only the source text tells them apart.
                let number = n.to_string();
                let raw = raw_member(text, "ticket").unwrap_or(&number);
                let digits = raw.strip_prefix('-').unwrap_or(raw);
                let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
                let found = shorten(raw);
                return Err(if integer && !raw.starts_with('-') {
                    FormatError::TicketTooLarge(found)
                } else {
                    FormatError::NotANonNegativeInteger(found)
                });
            }
        },
        other => {
            return Err(FormatError::NotANonNegativeInteger(shorten(
                &other.to_string(),
            )))
        }
    };
    Ok(Tickets { count, doc })
}

/// JSON's four whitespace characters (RFC 8259, section 2).
fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `text` cut to [`FOUND_CHARS`] characters, with `…` when something was cut, and with every
/// character that must not reach a terminal raw (DEL, C1 controls, bidirectional overrides;
/// serde_json leaves them unescaped in strings) written as a JSON escape, `\u009b`: an error
/// message stays one printable line whatever the file holds.
fn shorten(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == FOUND_CHARS {
            out.push('…');
            break;
        }
        if is_unsafe_char(c) {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The source text of the last member named `key` of the top-level object in
/// `text`, which serde_json has already accepted. (serde_json, too, keeps the
/// last of repeated keys.) None if the walk meets anything unexpected.
fn raw_member<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let mut found = None;
    let mut pos = expect(text, skip_whitespace(text, 0), '{')?;
    if text.get(skip_whitespace(text, pos)..)?.starts_with('}') {
        return None;
    }
    loop {
        let name_start = skip_whitespace(text, pos);
        let (name, name_end) = next_value(text, name_start)?;
        let value_start = skip_whitespace(text, expect(text, name_end, ':')?);
        let (_, value_end) = next_value(text, value_start)?;
        if name.as_str() == Some(key) {
            found = Some(text.get(value_start..value_end)?);
        }
        let after = skip_whitespace(text, value_end);
        match text.get(after..)?.chars().next()? {
            ',' => pos = after + 1,
            '}' => return found,
            _ => return None,
        }
    }
}

/// Parses one JSON value starting at byte `pos`; returns it and where it ends.
fn next_value(text: &str, pos: usize) -> Option<(Value, usize)> {
    let mut values = serde_json::Deserializer::from_str(text.get(pos..)?).into_iter::<Value>();
    let value = values.next()?.ok()?;
    Some((value, pos + values.byte_offset()))
}

/// The position just past `c`, which must come next after any whitespace.
fn expect(text: &str, pos: usize, c: char) -> Option<usize> {
    let pos = skip_whitespace(text, pos);
    text.get(pos..)?
        .starts_with(c)
        .then_some(pos + c.len_utf8())
}

fn skip_whitespace(text: &str, pos: usize) -> usize {
    let rest = text.get(pos..).unwrap_or_default();
    pos + (rest.len() - rest.trim_start_matches(is_json_whitespace).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str) -> String {
        parse(input.as_bytes()).unwrap_err().to_string()
    }

    fn count(input: &str) -> u64 {
        parse(input.as_bytes()).unwrap().count
    }

    #[test]
    fn accepts_plain_ticket_files() {
        assert_eq!(count(r#"{"ticket": 1}"#), 1);
        assert_eq!(count(r#"{"ticket":0}"#), 0);
        assert_eq!(count(" \t\r\n{\"ticket\": 7}\n\n  "), 7);
        assert_eq!(count(r#"{"ticket": 18446744073709551615}"#), u64::MAX);
        // serde_json, like Python, keeps the last of repeated keys.
        assert_eq!(count(r#"{"ticket": "x", "ticket": 3}"#), 3);
        assert_eq!(count(r#"{"tick\u0065t": 4}"#), 4);
    }

    #[test]
    fn a_byte_order_mark_is_accepted_and_not_written_back() {
        let t = parse("\u{feff}{\"ticket\": 2}".as_bytes()).unwrap();
        assert_eq!(t.count, 2);
        assert_eq!(t.to_bytes(), b"{\"ticket\": 2}\n");
        assert_eq!(err("\u{feff}"), "empty file");
    }

    #[test]
    fn every_format_error_has_a_clear_message() {
        let cases = [
            ("", "empty file"),
            (" \n\t", "empty file"),
            (
                "invalid JSON",
                "invalid JSON: expected value at line 1 column 1",
            ),
            (
                r#"{"ticket": 1"#,
                "invalid JSON: EOF while parsing an object at line 1 column 12",
            ),
            (
                r#"{"ticket": 1} x"#,
                "invalid JSON: trailing characters at line 1 column 15",
            ),
            (
                "[1]",
                r#"the top level must be an object like {"ticket": 1}, found an array"#,
            ),
            (
                r#""x""#,
                r#"the top level must be an object like {"ticket": 1}, found a string"#,
            ),
            (
                "5",
                r#"the top level must be an object like {"ticket": 1}, found a number"#,
            ),
            (
                "null",
                r#"the top level must be an object like {"ticket": 1}, found null"#,
            ),
            (
                "true",
                r#"the top level must be an object like {"ticket": 1}, found a boolean"#,
            ),
            ("{}", r#""ticket" is missing"#),
            (r#"{"Ticket": 1}"#, r#""ticket" is missing"#),
            (
                r#"{"ticket": "5"}"#,
                r#""ticket" must be a non-negative integer, found "5""#,
            ),
            (
                r#"{"ticket": -1}"#,
                r#""ticket" must be a non-negative integer, found -1"#,
            ),
            (
                r#"{"ticket": -0}"#,
                r#""ticket" must be a non-negative integer, found -0"#,
            ),
            (
                r#"{"ticket": 1.5}"#,
                r#""ticket" must be a non-negative integer, found 1.5"#,
            ),
            (
                r#"{"ticket": 1.0}"#,
                r#""ticket" must be a non-negative integer, found 1.0"#,
            ),
            (
                r#"{"ticket": 1e3}"#,
                r#""ticket" must be a non-negative integer, found 1e3"#,
            ),
            (
                r#"{"ticket":-2E0}"#,
                r#""ticket" must be a non-negative integer, found -2E0"#,
            ),
            (
                r#"{"ticket": true}"#,
                r#""ticket" must be a non-negative integer, found true"#,
            ),
            (
                r#"{"ticket": null}"#,
                r#""ticket" must be a non-negative integer, found null"#,
            ),
            (
                r#"{"ticket": [1]}"#,
                r#""ticket" must be a non-negative integer, found [1]"#,
            ),
            (
                r#"{"ticket": -99999999999999999999}"#,
                r#""ticket" must be a non-negative integer, found -99999999999999999999"#,
            ),
            (
                r#"{"a": {"ticket": 1}, "ticket": 18446744073709551616, "b": 2}"#,
                r#""ticket" is too large (must fit in 64 bits), found 18446744073709551616"#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(err(input), expected, "input: {input}");
        }
    }

    #[test]
    fn binary_bytes_are_reported_with_their_offset() {
        assert_eq!(
            parse(b"{\"t\xff").unwrap_err(),
            FormatError::NotUtf8 { offset: 3 }
        );
        assert_eq!(
            parse(b"{\"t\xff").unwrap_err().to_string(),
            "not UTF-8 text (binary bytes at offset 3)"
        );
        // A UTF-16 byte order mark is not UTF-8 either.
        assert_eq!(
            parse(b"\xff\xfe{").unwrap_err(),
            FormatError::NotUtf8 { offset: 0 }
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!(r#"{{"ticket": 1, "x": {}}}"#, "[".repeat(50_000));
        assert_eq!(
            err(&deep),
            "invalid JSON: recursion limit exceeded at line 1 column 146"
        );
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let accents = "é".repeat(60);
        assert!(err(&format!(r#"{{"ticket": "{accents}"}}"#)).ends_with("éé…"));
        let long = "x".repeat(100);
        let message = err(&format!(r#"{{"ticket": "{long}"}}"#));
        let expected = format!(
            r#""ticket" must be a non-negative integer, found "{}…"#,
            "x".repeat(FOUND_CHARS - 1)
        );
        assert_eq!(message, expected);
        let digits = "9".repeat(100);
        assert_eq!(
            err(&format!(r#"{{"ticket": {digits}}}"#)),
            format!(
                r#""ticket" is too large (must fit in 64 bits), found {}…"#,
                "9".repeat(FOUND_CHARS)
            )
        );
    }

    #[test]
    fn size_limit() {
        let mut padded = br#"{"ticket": 1}"#.to_vec();
        padded.resize(MAX_BYTES as usize, b' ');
        assert_eq!(parse(&padded).unwrap().count, 1);
        padded.push(b' ');
        assert_eq!(
            parse(&padded).unwrap_err().to_string(),
            "file too large to be a ticket file (over 1 MiB, procdemo's limit)"
        );
    }

    #[test]
    fn a_valid_file_over_64_kib_is_read_whole() {
        let notes = "n".repeat(100 * 1024);
        let input = format!(r#"{{"ticket": 5, "owner": "alice", "notes": "{notes}"}}"#);
        let t = parse(input.as_bytes()).unwrap();
        assert_eq!(t.count, 5);
        let again = parse(&t.with_count(4).to_bytes()).unwrap();
        assert_eq!(again.doc["owner"], "alice");
        assert_eq!(again.doc["notes"].as_str().unwrap().len(), notes.len());
    }

    #[test]
    fn found_values_are_shown_on_one_printable_line() {
        // serde_json keeps DEL, C1 controls and U+202E raw inside strings.
        assert_eq!(
            err("{\"ticket\": \"\u{7f}\u{9b}31m\u{202e}x\"}"),
            r#""ticket" must be a non-negative integer, found "\u007f\u009b31m\u202ex""#
        );
        assert_eq!(
            err("{\"ticket\": \"\u{e0041}\"}"),
            r#""ticket" must be a non-negative integer, found "\udb40\udc41""#
        );
        assert_eq!(
            err(r#"{"ticket": "a\nb"}"#),
            r#""ticket" must be a non-negative integer, found "a\nb""#
        );
    }

    #[test]
    fn other_keys_survive_in_order() {
        let input = r#"{"zeta": [1, {"x": null}], "ticket": 5, "alpha": "é\n", "n": 1.5}"#;
        let t = parse(input.as_bytes()).unwrap();
        let bytes = t.with_count(4).to_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "{\"zeta\": [1, {\"x\": null}], \"ticket\": 4, \"alpha\": \"é\\n\", \"n\": 1.5}\n"
        );
        let again = parse(&bytes).unwrap();
        assert_eq!(again.count, 4);
        assert_eq!(
            again.doc.keys().collect::<Vec<_>>(),
            ["zeta", "ticket", "alpha", "n"]
        );
        assert_eq!(again.doc["zeta"], t.doc["zeta"]);
        assert_eq!(again.with_count(5), t);
    }

    #[test]
    fn new_files_are_in_the_tutorial_style() {
        assert_eq!(Tickets::new(0).to_bytes(), b"{\"ticket\": 0}\n");
        let mut t = Tickets::new(3);
        t.count = 2;
        assert_eq!(t.to_bytes(), b"{\"ticket\": 2}\n");
        assert_eq!(parse(&t.to_bytes()).unwrap(), t.with_count(2));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<String>().prop_map(Value::from),
            ]
        }

        fn value() -> impl Strategy<Value = Value> {
            leaf().prop_recursive(3, 16, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                    prop::collection::vec((any::<String>(), inner), 0..4)
                        .prop_map(|members| Value::Object(members.into_iter().collect())),
                ]
            })
        }

        /// Bytes that look like ticket files more often than random bytes do: pieces of one,
        /// shuffled and cut, mixed with random bytes.
        fn ticketish_bytes() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                Just(&b"{"[..]),
                Just(&b"}"[..]),
                Just(&b"\"ticket\""[..]),
                Just(&b"\"owner\""[..]),
                Just(&b": "[..]),
                Just(&b", "[..]),
                Just(&b"["[..]),
                Just(&b"]"[..]),
                Just(&b"\""[..]),
                Just(&b"\\u0000"[..]),
                Just(&b"\xef\xbb\xbf"[..]),
                Just(&b"18446744073709551616"[..]),
                Just(&b"-0"[..]),
                Just(&b"1e3"[..]),
                Just(&b"null"[..]),
                Just(&b" \n"[..]),
                Just(&b"\x7f\xc2\x9b\xe2\x80\xae"[..]),
            ];
            prop::collection::vec(
                prop_oneof![
                    3 => piece.prop_map(<[u8]>::to_vec),
                    1 => prop::collection::vec(any::<u8>(), 0..4),
                    2 => any::<u64>().prop_map(|n| n.to_string().into_bytes()),
                ],
                0..24,
            )
            .prop_map(|parts| parts.concat())
        }

        /// An independent judge of a ticket file: serde_json alone, on the text without a
        /// byte order mark.
        fn judge(bytes: &[u8]) -> Option<u64> {
            let text = std::str::from_utf8(bytes).ok()?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            serde_json::from_str::<Value>(text)
                .ok()?
                .as_object()?
                .get("ticket")?
                .as_u64()
        }

        /// Every input is either accepted, and then written back as a file that parses to the
        /// same document, or refused with a message of one printable line.
        fn accepted_or_refused(bytes: &[u8]) -> Result<(), TestCaseError> {
            match parse(bytes) {
                Ok(t) => {
                    prop_assert_eq!(Some(t.count), judge(bytes));
                    let again = parse(&t.to_bytes()).unwrap();
                    prop_assert_eq!(&again.doc, &t.doc);
                    prop_assert_eq!(again, t);
                }
                Err(e) => {
                    prop_assert_eq!(judge(bytes), None, "refused: {}", e);
                    let message = e.to_string();
                    prop_assert!(
                        !message.chars().any(is_unsafe_char),
                        "not one printable line: {:?}",
                        message
                    );
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4096))]

            #[test]
            fn any_bytes_are_accepted_or_refused_in_one_line(
                bytes in prop::collection::vec(any::<u8>(), 0..256),
            ) {
                accepted_or_refused(&bytes)?;
            }

            #[test]
            fn ticket_like_bytes_are_accepted_or_refused_in_one_line(bytes in ticketish_bytes()) {
                accepted_or_refused(&bytes)?;
            }
        }

        proptest! {

            #[test]
            fn parse_never_panics_on_near_ticket_files(
                before in "[ \n{\"a:,]{0,3}",
                ticket in "[-+0-9.eE\"a-z\\[\\]{} ]{0,24}",
                after in "[ \n},\"a:]{0,3}",
            ) {
                let text = format!("{before}{{\"ticket\": {ticket}{after}");
                if let Err(e) = parse(text.as_bytes()) {
                    let _ = e.to_string();
                }
            }

            #[test]
            fn objects_round_trip(
                others in prop::collection::vec((any::<String>(), value()), 0..6),
                at in any::<prop::sample::Index>(),
                count in any::<u64>(),
                new_count in any::<u64>(),
            ) {
                let mut members: Vec<(String, Value)> = Vec::new();
                for (key, value) in others {
                    if key != "ticket" && !members.iter().any(|(k, _)| *k == key) {
                        members.push((key, value));
                    }
                }
                let at = at.index(members.len() + 1);
                members.insert(at, ("ticket".to_owned(), Value::from(count)));
                let doc: Map<String, Value> = members.into_iter().collect();
                let text = Value::Object(doc.clone()).to_string();

                let parsed = parse(text.as_bytes()).unwrap();
                prop_assert_eq!(parsed.count, count);
                let written = parsed.with_count(new_count).to_bytes();
                let again = parse(&written).unwrap();
                prop_assert_eq!(again.count, new_count);
                let mut expected = doc;
                expected.insert("ticket".to_owned(), Value::from(new_count));
                let keys = |m: &Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
                prop_assert_eq!(keys(&again.doc), keys(&expected));
                prop_assert_eq!(again.doc, expected);
            }
        }
    }
}
