//! The JSON log line, written straight into the line buffer.
//!
//! Plugged into tracing-subscriber through its two extension points,
//! `FormatEvent` (one line per event) and `FormatFields` (a span's fields,
//! formatted once when the span opens). The lines have the same shape as
//! the crate's own JSON format: timestamp, level, message, the event's
//! fields, target, and the current span's fields under `span`.
//!
//! Why not the crate's JSON format: it stores a span's fields as a JSON
//! text and parses that text back into a map for every event, and it goes
//! through a byte-to-text adapter that checks UTF-8 on each write. On
//! `/v1/predict`, callgrind counted about 22,000 instructions for the one
//! line per request, more than checking and scoring the patient; this
//! formatter needs under a third of that (D-043). Here a span's fields are kept
//! as a ready JSON fragment and copied into each line as they are.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as JSON lines.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonLines;

/// Formats fields as the inside of a JSON object: `"a":1,"b":"x"`.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonFields;

/// For each byte, whether it must be escaped inside a JSON string: the
/// control characters, the quote and the backslash.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Writes text into a JSON string body, escaping as it goes, so a field
/// that is formatted with `Display` or `Debug` needs no buffer of its own.
struct Escaped<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaped<'_, W> {
    fn write_str(&mut self, mut text: &str) -> fmt::Result {
        // Plain runs are found with one table look-up per byte and copied
        // whole; most texts are one run. Every byte that needs escaping is
        // ASCII, so every cut falls between characters.
        while let Some(at) = text.bytes().position(|b| NEEDS_ESCAPE[usize::from(b)]) {
            self.0.write_str(&text[..at])?;
            let byte = text.as_bytes()[at];
            match byte {
                b'"' => self.0.write_str("\\\"")?,
                b'\\' => self.0.write_str("\\\\")?,
                b'\n' => self.0.write_str("\\n")?,
                b'\r' => self.0.write_str("\\r")?,
                b'\t' => self.0.write_str("\\t")?,
                _ => write!(self.0, "\\u{byte:04x}")?,
            }
            text = &text[at + 1..];
        }
        self.0.write_str(text)
    }
}

/// A JSON string from text at hand: escaped as it is copied, with none of
/// the formatting machinery that `write!` runs for every argument.
fn write_str<W: Write>(out: &mut W, text: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(text)?;
    out.write_char('"')
}

/// A JSON string from a value that must be formatted first (`%` and `?`
/// fields, and the message).
fn write_display<W: Write>(out: &mut W, text: impl fmt::Display) -> fmt::Result {
    out.write_char('"')?;
    write!(Escaped(out), "{text}")?;
    out.write_char('"')
}

/// Writes `"name":value` pairs, with a comma before all but the first.
/// `message` is written only when `message` is set, and skipped otherwise,
/// so a line can put the message first whatever the field order.
struct Pairs<'a, W: Write> {
    out: &'a mut W,
    first: bool,
    message: bool,
    result: fmt::Result,
}

impl<'a, W: Write> Pairs<'a, W> {
    fn new(out: &'a mut W, first: bool, message: bool) -> Self {
        Pairs {
            out,
            first,
            message,
            result: Ok(()),
        }
    }

    fn pair(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() || (field.name() == "message") != self.message {
            return;
        }
        self.result = (|| {
            self.out.write_str(if self.first { "\"" } else { ",\"" })?;
            self.first = false;
            Escaped(&mut *self.out).write_str(field.name())?;
            self.out.write_str("\":")?;
            value(self.out)
        })();
    }
}

// Numbers go through itoa and zmij, the formatters serde_json itself uses:
// the same digits as `Display`, without its padding and width handling.
impl<W: Write> Visit for Pairs<'_, W> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: such a value is written as null.
        if value.is_finite() {
            self.pair(field, |out| {
                out.write_str(zmij::Buffer::new().format_finite(value))
            });
        } else {
            self.pair(field, |out| out.write_str("null"));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pair(field, |out| {
            out.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pair(field, |out| {
            out.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pair(field, |out| {
            out.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.pair(field, |out| write_str(out, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.pair(field, |out| write_display(out, format_args!("{value:?}")));
    }
}

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        for message in [true, false] {
            let mut pairs = Pairs::new(&mut writer, true, message);
            fields.record(&mut pairs);
            pairs.result?;
        }
        Ok(())
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        for message in [true, false] {
            let first = current.fields.is_empty();
            let mut pairs = Pairs::new(&mut current.fields, first, message);
            fields.record(&mut pairs);
            pairs.result?;
        }
        Ok(())
    }
}

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // humantime writes the same RFC 3339 form as tracing-subscriber's
        // clock (UTC, microseconds) from a fixed buffer, in a tenth of the
        // time.
        let now = humantime::format_rfc3339_micros(std::time::SystemTime::now());
        write!(writer, "{{\"timestamp\":\"{now}\",\"level\":")?;
        write_str(&mut writer, meta.level().as_str())?;

        for message in [true, false] {
            let mut pairs = Pairs::new(&mut writer, false, message);
            event.record(&mut pairs);
            pairs.result?;
        }

        writer.write_str(",\"target\":")?;
        write_str(&mut writer, meta.target())?;

        if let Some(span) = ctx.lookup_current() {
            writer.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            if let Some(fields) = extensions.get::<FormattedFields<JsonFields>>() {
                if !fields.is_empty() {
                    writer.write_str(fields)?;
                    writer.write_char(',')?;
                }
            }
            writer.write_str("\"name\":")?;
            write_str(&mut writer, span.name())?;
            writer.write_char('}')?;
        }
        writer.write_str("}\n")
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// Collects every line written, for the test to read back.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn logged_text(emit: impl FnOnce()) -> String {
        let lines = Lines::default();
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .fmt_fields(JsonFields)
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        text
    }

    fn logged(emit: impl FnOnce()) -> Vec<Value> {
        logged_text(emit)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    /// The message comes right after the level, whether the event's fields
    /// start with it (one pass) or name it among the others (two passes),
    /// and the other fields keep their order.
    #[test]
    fn the_message_comes_first_in_either_order() {
        let text = logged_text(|| {
            tracing::info!(a = 1, b = "x", "first");
            tracing::info!(a = 1, message = "middle", b = "x");
        });

        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        for (line, message) in lines.iter().zip(["first", "middle"]) {
            let after_level = line.split_once("\"level\":\"INFO\",").map(|(_, rest)| rest);
            let expected = format!("\"message\":\"{message}\",\"a\":1,\"b\":\"x\",");
            assert!(
                after_level.is_some_and(|rest| rest.starts_with(&expected)),
                "{line}"
            );
        }
    }

    #[test]
    fn a_request_line_carries_its_fields_and_its_span() {
        let lines = logged(|| {
            let span = tracing::info_span!("request", request_id = %"abc-1", method = %"POST");
            span.in_scope(|| {
                tracing::info!(
                    route = "/v1/predict",
                    status = 200u16,
                    latency_ms = 0.25,
                    "done"
                );
            });
            tracing::warn!(ratio = f64::NAN, "outside");
        });

        assert_eq!(lines.len(), 2);
        let line = &lines[0];
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "done");
        assert_eq!(line["route"], "/v1/predict");
        assert_eq!(line["status"], 200);
        assert_eq!(line["latency_ms"], 0.25);
        assert_eq!(line["span"]["request_id"], "abc-1");
        assert_eq!(line["span"]["method"], "POST");
        assert_eq!(line["span"]["name"], "request");
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
        let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 8, "{keys:?}");

        assert_eq!(lines[1]["ratio"], Value::Null);
        assert!(lines[1].get("span").is_none());
    }

    proptest! {
        /// Whatever text a field holds, the line is valid JSON and the text
        /// comes back unchanged.
        #[test]
        fn any_text_survives_the_line(text in any::<String>(), shown in any::<String>()) {
            let lines = logged(|| {
                let span = tracing::info_span!("request", request_id = %shown);
                span.in_scope(|| tracing::info!(text = text.as_str(), "{}", shown));
            });
            prop_assert_eq!(lines.len(), 1);
            prop_assert_eq!(lines[0]["text"].as_str(), Some(text.as_str()));
            prop_assert_eq!(lines[0]["message"].as_str(), Some(shown.as_str()));
            prop_assert_eq!(lines[0]["span"]["request_id"].as_str(), Some(shown.as_str()));
        }

        /// A span field given as text (as the server gives the request id)
        /// comes back unchanged too.
        #[test]
        fn any_span_text_survives_the_line(text in any::<String>()) {
            let lines = logged(|| {
                let span = tracing::info_span!("request", request_id = text.as_str());
                span.in_scope(|| tracing::info!("done"));
            });
            prop_assert_eq!(lines[0]["span"]["request_id"].as_str(), Some(text.as_str()));
        }

        /// Every number comes back as the same number; a float JSON cannot
        /// hold comes back as null.
        #[test]
        fn any_number_survives_the_line(
            float in any::<f64>(),
            signed in any::<i64>(),
            unsigned in any::<u64>(),
            flag in any::<bool>(),
        ) {
            let lines = logged(|| tracing::info!(float, signed, unsigned, flag, "numbers"));
            let line = &lines[0];
            if float.is_finite() {
                prop_assert_eq!(line["float"].as_f64(), Some(float));
            } else {
                prop_assert!(line["float"].is_null());
            }
            prop_assert_eq!(line["signed"].as_i64(), Some(signed));
            prop_assert_eq!(line["unsigned"].as_u64(), Some(unsigned));
            prop_assert_eq!(line["flag"].as_bool(), Some(flag));
        }
    }
}
