//! Prometheus metrics, named by Prometheus conventions (`_total` counters,
//! `_seconds` durations, one `_info` gauge carrying versions as labels).
//!
//! Each server owns its own registry rather than the process-wide default,
//! so tests that start several servers in one process count separately.
//! Every label takes a bounded set of values (route patterns, not paths;
//! feature names from the contract), so the series count cannot explode.

use heartlab::example::FEATURES;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// What the model info gauge shows about the loaded artifact.
pub struct ModelLabels<'a> {
    pub sha256: &'a str,
    pub format_version: u32,
    pub feature_logic_version: u32,
    pub crate_version: &'a str,
    pub git_commit: &'a str,
}

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    probability: Histogram,
    missing: IntCounterVec,
    unseen: IntCounterVec,
    problems: IntCounterVec,
    model_info: IntGaugeVec,
    ready: IntGauge,
    /// The series every scored row touches, looked up once here rather
    /// than by label on each row: `[negative, positive]`, and the missing
    /// counter of each feature in `FEATURES` order.
    by_label: [IntCounter; 2],
    missing_by_feature: Vec<IntCounter>,
}

impl Metrics {
    /// Registers every metric. The names are fixed and valid, so a failure
    /// here is a programming error caught by the first test that starts a
    /// server, never by a request.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("heartlab_http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        )?;
        // From 100 µs (a prediction) to 1 s (a full batch on a loaded machine).
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "heartlab_http_request_duration_seconds",
                "Time from request received to response ready",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["route"],
        )?;
        let probability = Histogram::with_opts(
            HistogramOpts::new(
                "heartlab_prediction_probability",
                "Predicted probability of disease, one observation per scored row",
            )
            .buckets((1..=10).map(|i| f64::from(i) / 10.0).collect()),
        )?;
        let predictions = IntCounterVec::new(
            Opts::new(
                "heartlab_predictions_total",
                "Rows scored, by label at the artifact's threshold; \
                 the positive rate is positive over all",
            ),
            &["label"],
        )?;
        let missing = IntCounterVec::new(
            Opts::new(
                "heartlab_input_missing_total",
                "Inputs sent as null and filled by the pipeline, by feature",
            ),
            &["feature"],
        )?;
        let unseen = IntCounterVec::new(
            Opts::new(
                "heartlab_input_unseen_category_total",
                "Category codes sent that the model never saw in training (and so \
                 rejected), or that the pipeline's fill value landed on, by feature",
            ),
            &["feature"],
        )?;
        let problems = IntCounterVec::new(
            Opts::new(
                "heartlab_input_problems_total",
                "Problems found in rejected requests, by kind",
            ),
            &["problem"],
        )?;
        let model_info = IntGaugeVec::new(
            Opts::new(
                "heartlab_model_info",
                "The loaded model artifact (1 when loaded); versions as labels",
            ),
            &[
                "model_sha256",
                "format_version",
                "feature_logic_version",
                "crate_version",
                "git_commit",
            ],
        )?;
        let ready = IntGauge::new("heartlab_ready", "1 when the server reports ready")?;

        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(probability.clone()))?;
        registry.register(Box::new(predictions.clone()))?;
        registry.register(Box::new(missing.clone()))?;
        registry.register(Box::new(unseen.clone()))?;
        registry.register(Box::new(problems.clone()))?;
        registry.register(Box::new(model_info.clone()))?;
        registry.register(Box::new(ready.clone()))?;

        // Series that exist from the start read as 0 rather than "no data",
        // so a rate over them works before the first event.
        let missing_by_feature = FEATURES
            .iter()
            .map(|feature| missing.with_label_values(&[feature]))
            .collect();
        for feature in FEATURES {
            unseen.with_label_values(&[feature]).reset();
        }
        let by_label =
            ["negative", "positive"].map(|label| predictions.with_label_values(&[label]));

        Ok(Metrics {
            registry,
            requests,
            latency,
            probability,
            missing,
            unseen,
            problems,
            model_info,
            ready,
            by_label,
            missing_by_feature,
        })
    }

    /// `status` as its three digits (`StatusCode::as_str`), so no number
    /// is formatted per request.
    pub fn observe_request(&self, route: &str, method: &str, status: &str, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, status])
            .inc();
        self.latency.with_label_values(&[route]).observe(seconds);
    }

    pub fn observe_prediction(&self, probability: f64, label: bool) {
        self.probability.observe(probability);
        self.by_label[usize::from(label)].inc();
    }

    pub fn count_missing(&self, feature: &str) {
        match FEATURES.iter().position(|f| *f == feature) {
            Some(index) => self.missing_by_feature[index].inc(),
            None => self.missing.with_label_values(&[feature]).inc(),
        }
    }

    pub fn count_unseen(&self, feature: &str) {
        self.unseen.with_label_values(&[feature]).inc();
    }

    pub fn count_problem(&self, problem: &str) {
        self.problems.with_label_values(&[problem]).inc();
    }

    pub fn set_model(&self, labels: &ModelLabels<'_>) {
        self.model_info
            .with_label_values(&[
                labels.sha256,
                &labels.format_version.to_string(),
                &labels.feature_logic_version.to_string(),
                labels.crate_version,
                labels.git_commit,
            ])
            .set(1);
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }
}
