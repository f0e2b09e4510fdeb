//! The request body, read as JSON without a copy when it arrives whole.
//!
//! Why not actix-web's `web::Json`: for every request it parses the
//! Content-Type into a `Mime` (an allocation), reserves an 8 KiB buffer and
//! copies each chunk of the body into it, even when the whole body came in
//! the first chunk, as a patient of a few hundred bytes always does. Here a
//! body that arrives in one chunk is parsed where it lies; one that arrives
//! in pieces is gathered into a buffer sized by its Content-Length (D-044).
//!
//! The checks, their order and their errors are actix's own: the content
//! type, then the Content-Length against the limit, then the bytes read
//! against the limit, then serde_json. They are reported as actix's
//! `JsonPayloadError`, which `error::json_error` turns into our error body.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::dev::Payload;
use actix_web::error::JsonPayloadError;
use actix_web::http::header::{ContentLength, Header, CONTENT_TYPE};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_core::Stream;

use crate::error::{json_error, ApiError};
use crate::sent::FromJson;
use crate::state::AppState;

/// A JSON body, parsed into `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: FromJson> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = ReadJson<T>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> ReadJson<T> {
        let length = ContentLength::parse(req).ok().map(|length| length.0);
        let state = match start(req, length) {
            Ok(limit) => State::Reading {
                payload: payload.take(),
                limit,
                length,
                first: None,
                gathered: BytesMut::new(),
            },
            Err(error) => State::Failed(error),
        };
        ReadJson {
            state,
            _parsed: PhantomData,
        }
    }
}

/// The limit this request is held to, once its headers pass the checks.
fn start(req: &HttpRequest, length: Option<usize>) -> Result<usize, ApiError> {
    if !is_json(req) {
        return Err(json_error(JsonPayloadError::ContentType));
    }

    // Always there: `startup` registers the state before any route.
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.limits.max_body_bytes)
        .ok_or_else(|| ApiError::Internal("the app has no state to read limits from".into()))?;
    match length {
        Some(length) if length > limit => Err(json_error(JsonPayloadError::OverflowKnownLength {
            length,
            limit,
        })),
        _ => Ok(limit),
    }
}

/// Whether the Content-Type is JSON, by actix's rule: the subtype `json` or a
/// `+json` suffix. The header nearly every client sends is matched as bytes
/// before the general rule parses it.
fn is_json(req: &HttpRequest) -> bool {
    let plain = req
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/json"));
    plain
        || matches!(req.mime_type(), Ok(Some(mime))
            if mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
}

/// The future that reads and parses the body.
pub struct ReadJson<T> {
    state: State,
    _parsed: PhantomData<T>,
}

enum State {
    Failed(ApiError),
    Reading {
        payload: Payload,
        limit: usize,
        length: Option<usize>,
        /// The first chunk, kept as it came while it is the only one.
        first: Option<Bytes>,
        /// The chunks so far, once a second one has come.
        gathered: BytesMut,
    },
    Done,
}

impl<T> Unpin for ReadJson<T> {}

impl<T: FromJson> Future for ReadJson<T> {
    type Output = Result<Json<T>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let State::Reading {
            payload,
            limit,
            length,
            first,
            gathered,
        } = &mut this.state
        else {
            let error = match std::mem::replace(&mut this.state, State::Done) {
                State::Failed(error) => error,
                _ => ApiError::Internal("the body was polled after it was read".into()),
            };
            return Poll::Ready(Err(error.into()));
        };

        loop {
            let Some(chunk) = ready!(Pin::new(&mut *payload).poll_next(cx)) else {
                break;
            };
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => return Poll::Ready(Err(fail(JsonPayloadError::Payload(error)))),
            };

            let read = first.as_ref().map_or(gathered.len(), Bytes::len) + chunk.len();
            if read > *limit {
                let error = JsonPayloadError::Overflow { limit: *limit };
                return Poll::Ready(Err(fail(error)));
            }

            match first.take() {
                None if gathered.is_empty() => *first = Some(chunk),
                earlier => {
                    if let Some(earlier) = earlier {
                        gathered.reserve(length.unwrap_or(0).clamp(read, *limit));
                        gathered.extend_from_slice(&earlier);
                    }
                    gathered.extend_from_slice(&chunk);
                }
            }
        }

        let bytes = first.as_deref().unwrap_or(gathered);
        let parsed = T::from_json(bytes);
        this.state = State::Done;
        Poll::Ready(
            parsed
                .map(Json)
                .map_err(|e| fail(JsonPayloadError::Deserialize(e))),
        )
    }
}

fn fail(error: JsonPayloadError) -> actix_web::Error {
    json_error(error).into()
}
