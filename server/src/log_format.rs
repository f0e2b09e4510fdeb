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

use std::cell::{Cell, RefCell};
use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::json_text::{write_bool, write_display, write_f64, write_int, write_str, Escaped};

/// Formats events as JSON lines.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonLines;

/// Formats fields as the inside of a JSON object: `"a":1,"b":"x"`.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonFields;

/// Which fields one visit writes: the message is written first, so a line
/// whose fields do not start with it takes two visits, one for the message
/// and one for the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pass {
    All,
    MessageOnly,
    AllButMessage,
}

impl Pass {
    /// The visits for fields in this order: one when the message comes
    /// first or not at all (as tracing's macros put it), two otherwise.
    fn for_fields<'a>(mut names: impl Iterator<Item = &'a str>) -> &'static [Pass] {
        let first = names.next();
        if first.is_none_or(|name| name == "message") || names.all(|name| name != "message") {
            &[Pass::All]
        } else {
            &[Pass::MessageOnly, Pass::AllButMessage]
        }
    }

    fn writes(self, field: &Field) -> bool {
        match self {
            Pass::All => true,
            Pass::MessageOnly => field.name() == "message",
            Pass::AllButMessage => field.name() != "message",
        }
    }
}

/// Writes `"name":value` pairs, with a comma before all but the first, for
/// the fields its pass takes.
struct Pairs<'a, W: Write> {
    out: &'a mut W,
    first: bool,
    pass: Pass,
    result: fmt::Result,
}

impl<'a, W: Write> Pairs<'a, W> {
    fn new(out: &'a mut W, first: bool, pass: Pass) -> Self {
        Pairs {
            out,
            first,
            pass,
            result: Ok(()),
        }
    }

    fn pair(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() || !self.pass.writes(field) {
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

// Numbers and strings are written as serde_json writes them (`json_text`).
impl<W: Write> Visit for Pairs<'_, W> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.pair(field, |out| write_f64(out, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pair(field, |out| write_int(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pair(field, |out| write_int(out, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pair(field, |out| write_bool(out, value));
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
        for pass in [Pass::MessageOnly, Pass::AllButMessage] {
            let mut pairs = Pairs::new(&mut writer, true, pass);
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
        for pass in [Pass::MessageOnly, Pass::AllButMessage] {
            let first = current.fields.is_empty();
            let mut pairs = Pairs::new(&mut current.fields, first, pass);
            fields.record(&mut pairs);
            pairs.result?;
        }
        Ok(())
    }
}

thread_local! {
    /// The second the last line of this thread was written in, and its
    /// text up to the seconds: `2026-12-04T16:05:29`.
    static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
}

/// The time in RFC 3339 form, UTC, with microseconds, as tracing-subscriber's
/// clock and humantime write it: `2026-12-04T16:05:29.123456Z`. The date and
/// time of day change once a second, so humantime writes them once a second
/// per thread and every line adds only its microseconds.
fn write_timestamp<W: Write>(out: &mut W, now: SystemTime) -> fmt::Result {
    let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
        return write!(out, "{}", humantime::format_rfc3339_micros(now));
    };
    let second = since_epoch.as_secs();

    let (cached, mut text) = SECOND.get();
    if cached != second {
        let whole = humantime::format_rfc3339_seconds(now).to_string();
        match whole.as_bytes().get(..19) {
            Some(prefix) => text.copy_from_slice(prefix),
            None => return write!(out, "{}", humantime::format_rfc3339_micros(now)),
        }
        SECOND.set((second, text));
    }

    // The prefix came from humantime's text, so it is ASCII.
    out.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)?;
    let micros = since_epoch.subsec_micros();
    let mut digits = *b".000000Z";
    let mut rest = micros;
    for place in (1..=6).rev() {
        digits[place] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
}

thread_local! {
    /// The line being written, reused from line to line.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// The line is put together in a buffer of this thread's and handed to
    /// the subscriber's writer in one piece: each write to that writer is a
    /// call through a trait object, and a line takes a few dozen writes.
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        LINE.with(|line| match line.try_borrow_mut() {
            Ok(mut line) => {
                line.clear();
                write_line(&mut *line, ctx, event)?;
                writer.write_str(&line)
            }
            // A line formatted while this thread's buffer holds another.
            // tracing lets no thread back into the subscriber it is in, so
            // only a second subscriber could get here; it writes directly.
            Err(_) => write_line(&mut writer, ctx, event),
        })
    }
}

fn write_line<W, S>(
    out: &mut W,
    ctx: &FmtContext<'_, S, JsonFields>,
    event: &Event<'_>,
) -> fmt::Result
where
    W: Write,
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let meta = event.metadata();
    out.write_str("{\"timestamp\":\"")?;
    write_timestamp(out, SystemTime::now())?;
    out.write_str("\",\"level\":")?;
    write_str(out, meta.level().as_str())?;

    let names = meta.fields().iter().map(|field| field.name());
    for &pass in Pass::for_fields(names) {
        let mut pairs = Pairs::new(&mut *out, false, pass);
        event.record(&mut pairs);
        pairs.result?;
    }

    out.write_str(",\"target\":")?;
    write_str(out, meta.target())?;

    if let Some(span) = ctx.lookup_current() {
        out.write_str(",\"span\":{")?;
        let extensions = span.extensions();
        if let Some(fields) = extensions.get::<FormattedFields<JsonFields>>() {
            if !fields.is_empty() {
                out.write_str(fields)?;
                out.write_char(',')?;
            }
        }
        out.write_str("\"name\":")?;
        write_str(out, span.name())?;
        out.write_char('}')?;
    }
    out.write_str("}\n")
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

    /// A value that logs while it is being formatted, as a careless
    /// `Display` might.
    struct Chatty;

    impl fmt::Display for Chatty {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            tracing::warn!("formatting a chatty value");
            f.write_str("chatty")
        }
    }

    /// An event logged while another line is being written neither breaks
    /// that line nor panics on the line buffer. (tracing itself drops the
    /// inner event: a thread already inside the subscriber is not let in
    /// again.)
    #[test]
    fn a_value_that_logs_while_formatted_leaves_its_line_whole() {
        let lines = logged(|| tracing::info!(value = %Chatty, "outer"));

        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["message"], "outer");
        assert_eq!(lines[0]["value"], "chatty");
    }

    proptest! {
        /// Any time from 1970 to the year 9999 is written as humantime
        /// writes it, the cached second included: twice in the same second,
        /// then in the next one.
        #[test]
        fn timestamps_are_humantimes(
            seconds in 0u64..253_402_300_799,
            nanos in 0u32..1_000_000_000,
        ) {
            let at = UNIX_EPOCH + std::time::Duration::new(seconds, nanos);
            for time in [at, at, at + std::time::Duration::from_secs(1)] {
                let mut text = String::new();
                write_timestamp(&mut text, time).unwrap();
                prop_assert_eq!(text, humantime::format_rfc3339_micros(time).to_string());
            }
        }

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
