//! The metrics move with the traffic. This file starts its own server, so
//! no other test's requests change the counts it compares.

mod common;

use common::{metric, patient};
use serde_json::json;

#[test]
fn predictions_missing_inputs_unseen_codes_and_requests_are_counted() {
    let (_dir, path) = common::artifact_dir();
    let server = common::start_in_process(common::config(&path));
    let before = server.get("/metrics").body;

    let scored = server.post_json("/v1/predict", &patient());
    let mut unseen = patient();
    unseen["restecg"] = json!(1);
    let rejected = server.post_json("/v1/predict", &unseen);
    let batch = server.post_json(
        "/v1/predict/batch",
        &json!({ "rows": [patient(), patient()] }),
    );
    let after = server.get("/metrics").body;

    assert_eq!(
        (scored.status, rejected.status, batch.status),
        (200, 422, 200)
    );
    let grew = |series: &str| metric(&after, series) - metric(&before, series);
    let label = if scored.json()["label"] == true {
        "positive"
    } else {
        "negative"
    };
    assert_eq!(
        grew(&format!("heartlab_predictions_total{{label=\"{label}\"}}")),
        3.0
    );
    assert_eq!(grew("heartlab_prediction_probability_count"), 3.0);
    assert_eq!(
        grew("heartlab_input_missing_total{feature=\"chol\"}"),
        3.0,
        "chol is null in each scored row"
    );
    assert_eq!(grew("heartlab_input_missing_total{feature=\"age\"}"), 0.0);
    assert_eq!(
        grew("heartlab_input_unseen_category_total{feature=\"restecg\"}"),
        1.0
    );
    assert_eq!(
        metric(
            &after,
            "heartlab_http_requests_total{method=\"POST\",route=\"/v1/predict\",status=\"422\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &after,
            "heartlab_http_request_duration_seconds_count{route=\"/v1/predict/batch\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &after,
            "heartlab_input_problems_total{problem=\"unseen_code\"}"
        ),
        1.0
    );
    assert_eq!(metric(&after, "heartlab_ready"), 1.0);
}

#[test]
fn the_model_info_gauge_carries_the_versions() {
    let (_dir, path) = common::artifact_dir();
    let server = common::start_in_process(common::config(&path));
    let sha = server.get("/v1/model").json()["model_version"]
        .as_str()
        .unwrap()
        .to_owned();

    let text = server.get("/metrics").body;

    let series = format!(
        "heartlab_model_info{{crate_version=\"test\",feature_logic_version=\"1\",\
         format_version=\"1\",git_commit=\"unknown\",model_sha256=\"{sha}\"}}"
    );
    assert_eq!(metric(&text, &series), 1.0);
}
