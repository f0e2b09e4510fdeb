//! Every error the API answers with, mapped to a status code in one place.
//!
//! A client's mistake is a 4xx whose JSON body lists each problem with the
//! field it concerns ("age", "rows[3].chol", or "body" when the request as a
//! whole is wrong). Only the server's own state (not ready) is a 5xx.

use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// What is wrong with one field, as a stable code a client can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A required field is absent.
    Missing,
    /// A field the schema does not have (often a typo).
    UnknownField,
    /// A key sent more than once in one object.
    DuplicateField,
    /// A string where a number belongs, an array where an object belongs...
    WrongType,
    /// Not a finite number.
    NotFinite,
    /// A fraction where a whole number belongs.
    NotWhole,
    /// Outside the contract's plausible range.
    OutOfRange,
    /// Not one of the contract's codes for this category.
    NotAnAllowedCode,
    /// An allowed code that the model never saw in training.
    UnseenCode,
    /// A batch with no rows.
    EmptyBatch,
    /// A batch with more rows than the configured limit.
    TooManyRows,
    /// Not JSON, or JSON cut short.
    InvalidJson,
    /// JSON nested deeper than the parser accepts.
    TooDeeplyNested,
    /// A body over the configured size limit.
    TooLarge,
    /// A Content-Type other than application/json.
    WrongContentType,
    /// No such endpoint.
    NotFound,
    /// The endpoint exists but not for this method.
    MethodNotAllowed,
    /// The server cannot predict yet, or is shutting down.
    NotReady,
    /// A fault of the server's own (never a client's mistake).
    Internal,
}

impl ProblemKind {
    /// The same code as in JSON, for a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Missing => "missing",
            ProblemKind::UnknownField => "unknown_field",
            ProblemKind::DuplicateField => "duplicate_field",
            ProblemKind::WrongType => "wrong_type",
            ProblemKind::NotFinite => "not_finite",
            ProblemKind::NotWhole => "not_whole",
            ProblemKind::OutOfRange => "out_of_range",
            ProblemKind::NotAnAllowedCode => "not_an_allowed_code",
            ProblemKind::UnseenCode => "unseen_code",
            ProblemKind::EmptyBatch => "empty_batch",
            ProblemKind::TooManyRows => "too_many_rows",
            ProblemKind::InvalidJson => "invalid_json",
            ProblemKind::TooDeeplyNested => "too_deeply_nested",
            ProblemKind::TooLarge => "too_large",
            ProblemKind::WrongContentType => "wrong_content_type",
            ProblemKind::NotFound => "not_found",
            ProblemKind::MethodNotAllowed => "method_not_allowed",
            ProblemKind::NotReady => "not_ready",
            ProblemKind::Internal => "internal",
        }
    }
}

/// One problem with the request.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Problem {
    /// The field concerned, as a path (`age`, `rows[3].chol`), or `body`.
    #[schema(example = "age")]
    pub field: String,
    pub problem: ProblemKind,
    /// For people: what is wrong and what is allowed.
    #[schema(example = "300 is outside the plausible range 18 to 100")]
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, problem: ProblemKind, message: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            problem,
            message: message.into(),
        }
    }
}

/// Problems listed in one answer. A body of thousands of unknown keys
/// would otherwise get an answer many times its own size.
pub const MAX_LISTED: usize = 100;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A short code: `invalid_input`, `bad_request`, `not_ready`...
    pub error: String,
    /// One sentence for people.
    pub message: String,
    /// Every problem found, not only the first, so one round trip fixes all.
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The JSON parsed but does not fit the input schema.
    #[error("the input does not fit the model's input schema")]
    Invalid(Vec<Problem>),
    /// The request as a whole could not be read.
    #[error("{message}")]
    Body {
        status: StatusCode,
        kind: ProblemKind,
        field: &'static str,
        message: String,
    },
    #[error("not ready: {0}")]
    NotReady(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn body(status: StatusCode, kind: ProblemKind, message: impl Into<String>) -> Self {
        ApiError::Body {
            status,
            kind,
            field: "body",
            message: message.into(),
        }
    }

    /// The problems this error carries (for the body, the logs and metrics).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            ApiError::Invalid(problems) => problems.clone(),
            ApiError::Body {
                kind,
                field,
                message,
                ..
            } => vec![Problem::new(*field, *kind, message.clone())],
            ApiError::NotReady(reason) => vec![Problem::new(
                "server",
                ProblemKind::NotReady,
                reason.clone(),
            )],
            ApiError::Internal(_) => vec![Problem::new(
                "server",
                ProblemKind::Internal,
                "the server failed; the request was not at fault",
            )],
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "invalid_input",
            ApiError::Body { kind, .. } => kind.as_str(),
            ApiError::NotReady(_) => "not_ready",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Body { status, .. } => *status,
            ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut problems = self.problems();
        let message = match self {
            ApiError::Invalid(p) if p.len() == 1 => "1 problem with the input".to_owned(),
            ApiError::Invalid(p) if p.len() > MAX_LISTED => {
                format!(
                    "{} problems with the input; the first {MAX_LISTED} are listed",
                    p.len()
                )
            }
            ApiError::Invalid(p) => format!("{} problems with the input", p.len()),
            // An internal error's detail goes to the log, not to the client.
            ApiError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        problems.truncate(MAX_LISTED);
        HttpResponse::build(self.status_code()).json(ErrorBody {
            error: self.code().to_owned(),
            message,
            problems,
        })
    }
}

/// Turns the body reader's errors (size, content type, syntax) into our
/// error body, so they name the body and say what is wrong.
pub fn json_error(error: JsonPayloadError) -> ApiError {
    match &error {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::body(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::TooLarge,
            format!("the body is {length} bytes; the limit is {limit}"),
        ),
        JsonPayloadError::Overflow { limit } => ApiError::body(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::TooLarge,
            format!("the body is over the limit of {limit} bytes"),
        ),
        JsonPayloadError::ContentType => ApiError::Body {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            kind: ProblemKind::WrongContentType,
            field: "content-type",
            message: "send the body as JSON with Content-Type: application/json".to_owned(),
        },
        JsonPayloadError::Deserialize(e) => {
            let kind = if e.to_string().contains("recursion limit") {
                ProblemKind::TooDeeplyNested
            } else {
                ProblemKind::InvalidJson
            };
            let detail = if e.is_eof() {
                format!("the JSON ends too early (cut short?): {e}")
            } else {
                format!("the body is not valid JSON: {e}")
            };
            ApiError::body(StatusCode::BAD_REQUEST, kind, detail)
        }
        other => ApiError::body(
            StatusCode::BAD_REQUEST,
            ProblemKind::InvalidJson,
            format!("the body could not be read: {other}"),
        ),
    }
}
