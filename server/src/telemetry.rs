//! Logs and the per-request span.
//!
//! One middleware gives every request its id, its span, its metrics and its
//! one log line, so no handler can forget any of them. It is a small
//! `from_fn` function rather than tracing-actix-web, because the same place
//! must also count the request in our Prometheus registry and name the
//! problems of a rejected request; tracing-actix-web would still need a
//! second middleware for that.
//!
//! What is logged: request id, method, route pattern (never the raw path or
//! query), status, latency, and for a rejected request the fields and kinds
//! of its problems. Never a body and never an input value: patient data
//! stays out of the logs.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use tracing::Instrument;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{ParseError, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;
use crate::error::{ApiError, ProblemKind};
use crate::log_format::{JsonFields, JsonLines};
use crate::state::AppState;

/// The request's id: the caller's `X-Request-Id` when it is a short plain
/// token (so a gateway's id follows the request), otherwise a new UUID.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The header's name, made once: looking it up by `&str` parses the name
/// again on every request.
const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// Routes that probes and scrapers hit every few seconds: logged at debug
/// so they do not bury the requests people look for.
const QUIET_ROUTES: [&str; 3] = ["/livez", "/readyz", "/metrics"];

/// Why `RUST_LOG` was refused.
#[derive(Debug, thiserror::Error)]
pub enum LogFilterError {
    #[error(
        "{0:?} filters by span or field, which this server does not do; \
         use target=level directives such as info,heartlab_server=debug"
    )]
    SpanOrField(String),
    #[error("{directive:?}: {error}")]
    Invalid {
        directive: String,
        error: ParseError,
    },
}

/// Reads `RUST_LOG` (default `info`) as a list of `target=level` directives.
///
/// Why not `EnvFilter`, the usual choice: it can also filter by span name
/// and field value, and to do that it takes a lock shared by every worker
/// each time any span is created, entered, left or closed, even when no
/// directive needs it. A request enters its span several times, so with two
/// workers that lock's memory bounces between the cores on every request.
/// `Targets` decides once per call site and then costs nothing per span.
/// The price: a span or field directive (`[request]`, `{route}`) is refused
/// at start, where `Targets` alone would read it as a target that never
/// matches and so log less than asked without a word.
pub fn log_filter(rust_log: Option<&str>) -> Result<Targets, LogFilterError> {
    let text = rust_log.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Ok(Targets::new().with_default(tracing::Level::INFO));
    }

    // Each directive is checked on its own so the error names the one at
    // fault; the whole list is then parsed once into the filter.
    for directive in text.split(',').map(str::trim) {
        if directive.contains(['[', ']', '{', '}']) {
            return Err(LogFilterError::SpanOrField(directive.to_owned()));
        }
        directive
            .parse::<Targets>()
            .map_err(|error| LogFilterError::Invalid {
                directive: directive.to_owned(),
                error,
            })?;
    }
    text.parse().map_err(|error| LogFilterError::Invalid {
        directive: text.to_owned(),
        error,
    })
}

/// Installs the global subscriber: JSON lines or pretty text, filtered by
/// `filter` (see `log_filter`). Lines are written to stdout by a background
/// thread, so a slow log reader never holds up a request; nothing is
/// dropped (the queue blocks when full). Keep the guard until exit: dropping
/// it flushes the last lines.
pub fn init(format: LogFormat, filter: Targets) -> WorkerGuard {
    // 4096 queued lines (about 1 MiB) absorb a burst; past that the queue
    // blocks rather than grow the process's memory or drop lines.
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(4096)
        // Buffered: under load the writer thread sends many lines per write
        // call; it flushes whenever the queue runs empty, so lines are not
        // held back when the server is quiet.
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        ));
    let lines = tracing_subscriber::fmt::layer().with_writer(writer);
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = match format {
        LogFormat::Json => registry
            .with(lines.fmt_fields(JsonFields).event_format(JsonLines))
            .try_init(),
        LogFormat::Pretty => registry.with(lines.compact()).try_init(),
    };
    guard
}

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    (!value.is_empty() && value.len() <= 64 && value.chars().all(plain)).then(|| value.to_owned())
}

/// A new random id, written straight into its string rather than through
/// `Display` and the formatting machinery.
fn new_id() -> String {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut text)
        .to_owned()
}

/// The middleware: id, span, metrics, one log line, and the id echoed back.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = incoming_id(&req).unwrap_or_else(new_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    // Route, status and latency go on the closing event rather than being
    // recorded into the span: each record re-formats the span's fields.
    let span = tracing::info_span!(
        "request",
        request_id = id.as_str(),
        method = method.as_str()
    );

    let mut res = next.call(req).instrument(span.clone()).await?;

    let seconds = started.elapsed().as_secs_f64();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    let latency_ms = seconds * 1000.0;

    // Field names and kinds only: the messages may quote the values sent.
    let problems = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .map(ApiError::problems)
        .unwrap_or_default();
    if let Some(state) = &state {
        state
            .metrics
            .observe_request(&route, method.as_str(), res.status().as_str(), seconds);
        for problem in &problems {
            state.metrics.count_problem(problem.problem.as_str());
            // A code outside the contract was never seen in training either.
            if matches!(
                problem.problem,
                ProblemKind::UnseenCode | ProblemKind::NotAnAllowedCode
            ) {
                let feature = problem.field.rsplit('.').next().unwrap_or_default();
                state.metrics.count_unseen(feature);
            }
        }
    }

    // The message is a plain text field, first: the line writes it without
    // the formatting machinery and in one pass over the fields (log_format).
    let route = route.as_str();
    span.in_scope(|| {
        let listed: Vec<String> = problems
            .iter()
            .take(20)
            .map(|p| format!("{}:{}", p.field, p.problem.as_str()))
            .collect();
        let error = res.response().error().filter(|_| status >= 500);
        let internal = error.is_some_and(|e| matches!(e.as_error(), Some(ApiError::Internal(_))));
        if let (Some(error), true) = (error, internal) {
            tracing::error!(message = "request failed", route, status, latency_ms, error = %error);
        } else if let Some(error) = error {
            tracing::warn!(message = "request refused", route, status, latency_ms, error = %error);
        } else if !problems.is_empty() {
            let problems = listed.join(",");
            tracing::info!(
                message = "request rejected",
                route,
                status,
                latency_ms,
                problems
            );
        } else if QUIET_ROUTES.contains(&route) {
            tracing::debug!(message = "request done", route, status, latency_ms);
        } else {
            tracing::info!(message = "request done", route, status, latency_ms);
        }
    });

    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use tracing::level_filters::LevelFilter;

    use super::{log_filter, LogFilterError};

    #[test]
    fn the_filter_is_info_when_rust_log_is_unset_or_blank() {
        for unset in [None, Some(""), Some("  ")] {
            let filter = log_filter(unset).expect("the default parses");
            assert_eq!(filter.default_level(), Some(LevelFilter::INFO), "{unset:?}");
        }
    }

    #[test]
    fn target_directives_are_read_as_written() {
        let filter = log_filter(Some("warn,heartlab_server=debug")).expect("valid directives");
        assert_eq!(filter.default_level(), Some(LevelFilter::WARN));
        assert!(filter.would_enable("heartlab_server::telemetry", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("actix_server", &tracing::Level::INFO));
    }

    #[test]
    fn a_span_directive_is_refused_rather_than_ignored() {
        let span = log_filter(Some("info,[request]=debug")).unwrap_err();
        assert!(
            span.to_string()
                .contains("\"[request]=debug\" filters by span"),
            "{span}"
        );
        let field = log_filter(Some("heartlab_server[{route}]=trace")).unwrap_err();
        assert!(matches!(field, LogFilterError::SpanOrField(_)), "{field}");
        let level = log_filter(Some("info,heartlab_server=loud")).unwrap_err();
        assert!(
            level.to_string().starts_with("\"heartlab_server=loud\": "),
            "{level}"
        );
    }
}
