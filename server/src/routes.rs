//! The endpoints. Each handler is short: check, score, answer. The checks
//! live in `input`, the error mapping in `error`, the counting in `metrics`
//! and the per-request span in `telemetry`.

use actix_web::dev::Extensions;
use actix_web::http::header::{ContentType, HeaderValue, CONTENT_TYPE};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use heartlab::artifact::InputField;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::answer::{BatchResponse, PredictResponse, RowPrediction};
use crate::body::Json;
use crate::error::{ApiError, ErrorBody, Problem};
use crate::input::{self, Patient, Place};
use crate::openapi::{BatchRequestDoc, PatientDoc};
use crate::sent::{SentBatch, SentPatient};
use crate::state::{AppState, Model, Scored};
use crate::telemetry::RequestId;

/// The answer of the health endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `alive`, `ready` or `not_ready`.
    pub status: &'static str,
    /// Why the server is not ready (absent when it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One input of the model, as the server checks it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InputFieldDoc {
    pub name: String,
    pub meaning: String,
    pub integer: bool,
    /// Allowed codes (categorical inputs).
    pub codes: Option<Vec<i64>>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The codes the model saw in training; others are rejected.
    pub seen_in_training: Option<Vec<f64>>,
    /// Whether this model uses the input; an unused one may be left out.
    pub used: bool,
}

impl From<&InputField> for InputFieldDoc {
    fn from(f: &InputField) -> Self {
        InputFieldDoc {
            name: f.name.clone(),
            meaning: f.meaning.clone(),
            integer: f.integer,
            codes: f.codes.clone(),
            min: f.min,
            max: f.max,
            seen_in_training: f.seen_in_training.clone(),
            used: f.used,
        }
    }
}

/// What the server knows about its model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelInfo {
    pub model_version: String,
    pub format_version: u32,
    pub feature_logic_version: u32,
    pub threshold: f64,
    pub input_schema: Vec<InputFieldDoc>,
    /// The hospitals the model knows, when the hospital is one of its inputs.
    pub hospitals: Option<Vec<String>>,
    /// Crate version and git commit of the code that trained the model.
    #[schema(value_type = Object)]
    pub code: Value,
    /// Each raw data file and its SHA-256.
    #[schema(value_type = Object)]
    pub data: Value,
    /// Seed, part sizes, validation and test scores.
    #[schema(value_type = Object)]
    pub training: Value,
}

/// A 200 answer whose JSON bytes are already written (see `answer`). The
/// content type is a ready header value, not a `Mime` turned into text for
/// every answer.
fn json_bytes(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .body(body)
}

/// The id `telemetry` gave this request.
fn request_id(extensions: &Extensions) -> &str {
    extensions.get::<RequestId>().map_or("", |id| id.0.as_str())
}

fn ready_model(state: &AppState) -> Result<&Model, ApiError> {
    state
        .model()
        .map(|m| m.as_ref())
        .map_err(|reason| ApiError::NotReady(format!("no model loaded: {reason}")))
}

/// Counts what the transform noted and what was predicted.
fn record(state: &AppState, scored: &Scored) {
    state
        .metrics
        .observe_prediction(scored.probability, scored.label);
    for feature in &scored.notes.filled {
        state.metrics.count_missing(feature);
    }
    for feature in &scored.notes.unseen {
        state.metrics.count_unseen(feature);
    }
}

fn score(state: &AppState, model: &Model, patient: &Patient) -> RowPrediction {
    let scored = model.score(patient);
    record(state, &scored);
    RowPrediction {
        probability: scored.probability,
        label: scored.label,
        imputed: scored.notes.filled,
    }
}

/// Liveness: the process answers. It checks nothing else, so a missing
/// model never gets a pod restarted in a loop.
#[utoipa::path(get, path = "/livez", tag = "health",
    responses((status = 200, description = "The process answers", body = Health)))]
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "alive",
        reason: None,
    })
}

/// Readiness: the model is loaded, verified and warmed up, and the server
/// is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready for traffic", body = Health),
    (status = 503, description = "Not ready, with the reason", body = Health)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.not_ready_reason() {
        None => HttpResponse::Ok().json(Health {
            status: "ready",
            reason: None,
        }),
        Some(reason) => HttpResponse::ServiceUnavailable().json(Health {
            status: "not_ready",
            reason: Some(reason),
        }),
    }
}

/// The model's versions, input schema, threshold and training scores.
#[utoipa::path(get, path = "/v1/model", tag = "model", responses(
    (status = 200, description = "The loaded model", body = ModelInfo),
    (status = 503, description = "No model loaded", body = ErrorBody)))]
pub async fn model_info(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let model = ready_model(&state)?;
    let artifact = &model.artifact;
    let to_value = |v: Result<Value, serde_json::Error>| {
        v.map_err(|e| ApiError::Internal(format!("failed to serialise the model info: {e}")))
    };
    Ok(HttpResponse::Ok().json(ModelInfo {
        model_version: model.sha256.clone(),
        format_version: artifact.format_version,
        feature_logic_version: artifact.feature_logic_version,
        threshold: artifact.threshold,
        input_schema: artifact
            .input_schema
            .iter()
            .map(InputFieldDoc::from)
            .collect(),
        hospitals: model.schema.hospitals().map(<[String]>::to_vec),
        code: to_value(serde_json::to_value(&artifact.code))?,
        data: to_value(serde_json::to_value(&artifact.data))?,
        training: to_value(serde_json::to_value(&artifact.training))?,
    }))
}

/// Scores one patient. Every input is required; send null for a value that
/// was not measured, and the pipeline fills it with what it learned in
/// training (the answer lists which).
#[utoipa::path(post, path = "/v1/predict", tag = "predict",
    request_body(content = PatientDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "The prediction", body = PredictResponse),
        (status = 400, description = "Not JSON, cut short, or nested too deep", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "Does not fit the input schema", body = ErrorBody),
        (status = 503, description = "No model loaded", body = ErrorBody)))]
pub async fn predict(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<Box<SentPatient>>,
) -> Result<HttpResponse, ApiError> {
    let model = ready_model(&state)?;

    let mut problems: Vec<Problem> = Vec::new();
    let patient = model
        .schema
        .check_patient(&body, Place::Body, &mut problems);
    let Some(patient) = patient else {
        return Err(ApiError::Invalid(problems));
    };

    let row = score(&state, model, &patient);
    let extensions = req.extensions();
    Ok(json_bytes(
        model.answers.single(request_id(&extensions), &row),
    ))
}

/// Scores up to the configured number of rows. A batch with any bad row is
/// rejected whole, listing every problem of every row (see D-029).
#[utoipa::path(post, path = "/v1/predict/batch", tag = "predict",
    request_body(content = BatchRequestDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "One prediction per row", body = BatchResponse),
        (status = 400, description = "Not JSON, cut short, or nested too deep", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "A row or the batch does not fit", body = ErrorBody),
        (status = 503, description = "No model loaded", body = ErrorBody)))]
pub async fn predict_batch(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<SentBatch>,
) -> Result<HttpResponse, ApiError> {
    let model = ready_model(&state)?;

    let patients = input::check_batch(&model.schema, &body, state.limits.max_batch_rows)
        .map_err(ApiError::Invalid)?;

    let predictions: Vec<RowPrediction> = patients
        .iter()
        .map(|patient| score(&state, model, patient))
        .collect();
    let extensions = req.extensions();
    Ok(json_bytes(
        model.answers.batch(request_id(&extensions), &predictions),
    ))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "Prometheus text format", body = String,
     content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let text = state
        .metrics
        .render()
        .map_err(|e| ApiError::Internal(format!("failed to render the metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// The OpenAPI document, with the request schemas of the loaded model.
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    let schema = state.model().ok().map(|m| &m.schema);
    let doc = crate::openapi::document(schema, state.limits.max_batch_rows);
    HttpResponse::Ok().json(doc)
}

/// A page that renders the OpenAPI document. It is written for this server
/// and embedded in the binary: the usual Swagger UI crate downloads its
/// assets while building and the Redoc/RapiDoc/Scalar crates load them from
/// a CDN at run time, and neither is possible where this lab runs.
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType::html())
        .body(include_str!("../assets/docs.html"))
}
