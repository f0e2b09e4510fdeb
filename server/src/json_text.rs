//! JSON strings and numbers, written straight into a text buffer.
//!
//! Shared by the two places that write JSON on every request without
//! serde_json: the log line (`log_format`) and the prediction answer
//! (`answer`). Both must write what serde_json would write, byte for byte,
//! so strings are escaped by serde_json's own rules (the short escapes
//! `\b \t \n \f \r \" \\`, `\u00xx` for the other control characters) and
//! numbers go through itoa and zmij, the formatters serde_json uses. Tests
//! here and in `answer` hold the output equal to serde_json's.

use std::fmt::{self, Write};

/// For each byte, the letter of its short escape, `u` for a `\u00xx`
/// escape, or 0 when it is written as it is.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[b'\t' as usize] = b't';
    table[b'\n' as usize] = b'n';
    table[0x0c] = b'f';
    table[b'\r' as usize] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes text into a JSON string body, escaping as it goes, so a value
/// that is formatted with `Display` or `Debug` needs no buffer of its own.
pub struct Escaped<'a, W: Write>(pub &'a mut W);

/// Whether text goes into a JSON string as it is. Written as a fold with
/// no early exit, so the compiler checks many bytes per instruction: the
/// texts written on every request (ids, routes, field names) are all plain.
fn is_plain(text: &str) -> bool {
    text.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    })
}

impl<W: Write> Write for Escaped<'_, W> {
    fn write_str(&mut self, mut text: &str) -> fmt::Result {
        if is_plain(text) {
            return self.0.write_str(text);
        }

        // Plain runs are found with one table look-up per byte and copied
        // whole. Every byte that needs escaping is ASCII, so every cut falls
        // between characters.
        while let Some(at) = text.bytes().position(|b| ESCAPE[usize::from(b)] != 0) {
            self.0.write_str(&text[..at])?;
            let byte = text.as_bytes()[at];
            match ESCAPE[usize::from(byte)] {
                b'u' => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.0.write_str("\\u00")?;
                    self.0.write_char(char::from(HEX[usize::from(byte >> 4)]))?;
                    self.0
                        .write_char(char::from(HEX[usize::from(byte & 0xf)]))?;
                }
                letter => {
                    self.0.write_char('\\')?;
                    self.0.write_char(char::from(letter))?;
                }
            }
            text = &text[at + 1..];
        }
        self.0.write_str(text)
    }
}

/// A JSON string from text at hand: escaped as it is copied, with none of
/// the formatting machinery that `write!` runs for every argument.
pub fn write_str<W: Write>(out: &mut W, text: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(text)?;
    out.write_char('"')
}

/// A JSON string from a value that must be formatted first.
pub fn write_display<W: Write>(out: &mut W, text: impl fmt::Display) -> fmt::Result {
    out.write_char('"')?;
    write!(Escaped(out), "{text}")?;
    out.write_char('"')
}

/// A float as serde_json writes it: the shortest digits that read back to
/// the same value, and null for NaN and the infinities, which JSON lacks.
pub fn write_f64<W: Write>(out: &mut W, value: f64) -> fmt::Result {
    if value.is_finite() {
        out.write_str(zmij::Buffer::new().format_finite(value))
    } else {
        out.write_str("null")
    }
}

/// A whole number as serde_json writes it.
pub fn write_int<W: Write>(out: &mut W, value: impl itoa::Integer) -> fmt::Result {
    out.write_str(itoa::Buffer::new().format(value))
}

pub fn write_bool<W: Write>(out: &mut W, value: bool) -> fmt::Result {
    out.write_str(if value { "true" } else { "false" })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ours(write: impl FnOnce(&mut String) -> fmt::Result) -> String {
        let mut out = String::new();
        write(&mut out).expect("writing into a String cannot fail");
        out
    }

    #[test]
    fn every_escape_is_serde_jsons() {
        let every_ascii: String = (0u8..=0x7f).map(char::from).collect();
        let expected = serde_json::to_string(&every_ascii).unwrap();
        assert_eq!(ours(|out| write_str(out, &every_ascii)), expected);
    }

    proptest! {
        #[test]
        fn any_text_is_written_as_serde_json_writes_it(text in any::<String>()) {
            let expected = serde_json::to_string(&text).unwrap();
            prop_assert_eq!(ours(|out| write_str(out, &text)), expected.clone());
            prop_assert_eq!(ours(|out| write_display(out, &text)), expected);
        }

        #[test]
        fn any_number_is_written_as_serde_json_writes_it(
            float in any::<f64>(),
            signed in any::<i64>(),
            flag in any::<bool>(),
        ) {
            prop_assert_eq!(
                ours(|out| write_f64(out, float)),
                serde_json::to_string(&float).unwrap()
            );
            prop_assert_eq!(
                ours(|out| write_int(out, signed)),
                serde_json::to_string(&signed).unwrap()
            );
            prop_assert_eq!(
                ours(|out| write_bool(out, flag)),
                serde_json::to_string(&flag).unwrap()
            );
        }
    }
}
