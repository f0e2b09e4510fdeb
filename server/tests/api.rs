//! Every endpoint of the real app, started in this process on port 0 with
//! an artifact built by the tests.

mod common;

use common::{patient, shared, Answer};
use heartlab::artifact::Artifact;
use serde_json::{json, Value};

#[test]
fn liveness_answers_alive() {
    let answer = shared().get("/livez");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["status"], "alive");
}

#[test]
fn readiness_is_ready_once_the_model_is_loaded() {
    let answer = shared().get("/readyz");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "ready");
}

#[test]
fn model_metadata_shows_versions_schema_threshold_and_scores() {
    let answer = shared().get("/v1/model");
    assert_eq!(answer.status, 200);
    let body = answer.json();

    let built = common::artifact::build();
    assert_eq!(body["threshold"], built.threshold);
    assert_eq!(body["feature_logic_version"], built.feature_logic_version);
    assert_eq!(body["model_version"].as_str().map(str::len), Some(64));
    assert_eq!(body["input_schema"].as_array().map(Vec::len), Some(13));
    assert_eq!(body["training"]["train_rows"], 400);
}

#[test]
fn one_prediction_answers_probability_label_versions_and_request_id() {
    let answer = shared().post_json("/v1/predict", &patient());
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();

    let p = body["probability"].as_f64().expect("a probability");
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(body["label"], p >= 0.4);
    assert_eq!(body["imputed"], json!(["chol"]));
    assert_eq!(body["feature_logic_version"], 1);
    assert_eq!(body["model_version"].as_str().map(str::len), Some(64));
    assert!(!body["request_id"].as_str().unwrap_or_default().is_empty());
}

/// The served probability is the library's, bit for bit: for many patients
/// (every input varied, some missing), the JSON answer parses back to the
/// same f64 as `Artifact::predict` on the loaded file.
#[test]
fn served_predictions_equal_the_library_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::artifact::write(dir.path());
    let artifact = Artifact::load(&path).unwrap();
    let server = common::start_in_process(common::config(&path));
    let names = heartlab::example::FEATURES;

    let rows = common::artifact::training_rows(300);
    let mut batch = Vec::new();
    for row in &rows {
        let body: serde_json::Map<String, Value> = names
            .iter()
            .zip(row.features)
            .map(|(name, value)| (name.to_string(), json!(value)))
            .collect();
        let (expected, label) = artifact.predict("unspecified", &row.features);

        let answer = server.post_json("/v1/predict", &Value::Object(body.clone()));
        assert_eq!(answer.status, 200, "{}", answer.body);
        let served: f64 = answer.json()["probability"].as_f64().unwrap();
        assert_eq!(served.to_bits(), expected.to_bits(), "row {}", row.line);
        assert_eq!(answer.json()["label"], label);
        batch.push((Value::Object(body), expected));
    }

    let rows: Vec<Value> = batch.iter().take(50).map(|(b, _)| b.clone()).collect();
    let answer = server.post_json("/v1/predict/batch", &json!({ "rows": rows }));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let served = answer.json()["predictions"].as_array().unwrap().clone();
    assert_eq!(served.len(), 50);
    for (prediction, (_, expected)) in served.iter().zip(&batch) {
        let p = prediction["probability"].as_f64().unwrap();
        assert_eq!(p.to_bits(), expected.to_bits());
    }
}

#[test]
fn a_batch_answers_one_prediction_per_row_in_order() {
    let mut other = patient();
    other["age"] = json!(35);
    other["cp"] = json!(1);
    let single = |p: &Value| shared().post_json("/v1/predict", p).json()["probability"].clone();

    let answer = shared().post_json("/v1/predict/batch", &json!({ "rows": [patient(), other] }));

    assert_eq!(answer.status, 200, "{}", answer.body);
    let predictions = answer.json()["predictions"].clone();
    assert_eq!(predictions[0]["probability"], single(&patient()));
    assert_eq!(predictions[1]["probability"], single(&other));
    assert_ne!(predictions[0]["probability"], predictions[1]["probability"]);
}

#[test]
fn metrics_are_prometheus_text() {
    let answer = shared().get("/metrics");
    assert_eq!(answer.status, 200);
    assert!(answer.content_type.starts_with("text/plain"));
    assert!(answer
        .body
        .contains("# TYPE heartlab_http_requests_total counter"));
    assert!(answer.body.contains("heartlab_model_info{"));
}

#[test]
fn the_docs_page_is_served_without_outside_assets() {
    let answer = shared().get("/docs");
    assert_eq!(answer.status, 200);
    assert!(answer.content_type.starts_with("text/html"));
    assert!(answer.body.contains("/openapi.json"));
    for outside in ["http://", "https://", "//cdn"] {
        assert!(!answer.body.contains(outside), "the page loads {outside}");
    }
}

/// The document is reviewed as a snapshot; the served one carries the
/// loaded model's accepted codes and the configured batch limit.
#[test]
fn the_openapi_document_matches_its_reviewed_snapshot() {
    let answer = shared().get("/openapi.json");
    assert_eq!(answer.status, 200);
    let doc = answer.json();

    let restecg = &doc["components"]["schemas"]["Patient"]["properties"]["restecg"]["enum"];
    assert_eq!(
        restecg,
        &json!([0, 2, null]),
        "only the codes seen in training"
    );
    let rows = &doc["components"]["schemas"]["BatchRequest"]["properties"]["rows"];
    assert_eq!(rows["maxItems"], 50);
    insta::assert_json_snapshot!("openapi", doc);
}

/// Name, path, content type, body, expected status.
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    u16,
);

fn error_case(path: &str, content_type: Option<&str>, body: &[u8]) -> (u16, Value) {
    let answer: Answer = shared().post(path, content_type, body);
    (answer.status, answer.json())
}

fn with(changes: &[(&str, Value)]) -> Vec<u8> {
    let mut body = patient();
    for (field, value) in changes {
        if value == &json!("<remove>") {
            body.as_object_mut().unwrap().remove(*field);
        } else {
            body[*field] = value.clone();
        }
    }
    body.to_string().into_bytes()
}

/// Each kind of client mistake, its status and its body, reviewed as
/// snapshots; each body must name the field (or the body) at fault.
#[test]
fn every_client_mistake_gets_a_4xx_naming_the_field() {
    let json = Some("application/json");
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let big = format!(
        "{{\"rows\": [{}]}}",
        vec![patient().to_string(); 800].join(",")
    );
    // A JSON object may repeat a key; which copy a parser keeps differs
    // between parsers, so the server refuses the request instead.
    let sent_twice = String::from_utf8(with(&[]))
        .unwrap()
        .replacen('{', r#"{"age": 40, "#, 1);
    let cases: Vec<Case> = vec![
        (
            "missing_field",
            "/v1/predict",
            json,
            with(&[("age", json!("<remove>"))]),
            422,
        ),
        (
            "unknown_field",
            "/v1/predict",
            json,
            with(&[("agee", json!(60))]),
            422,
        ),
        (
            "wrong_type",
            "/v1/predict",
            json,
            with(&[("age", json!("63"))]),
            422,
        ),
        (
            "null_is_imputed_not_an_error",
            "/v1/predict",
            json,
            with(&[("age", Value::Null)]),
            200,
        ),
        (
            "not_whole",
            "/v1/predict",
            json,
            with(&[("age", json!(63.5))]),
            422,
        ),
        (
            "out_of_range",
            "/v1/predict",
            json,
            with(&[("chol", json!(7000))]),
            422,
        ),
        (
            "not_an_allowed_code",
            "/v1/predict",
            json,
            with(&[("cp", json!(9))]),
            422,
        ),
        (
            "unseen_code",
            "/v1/predict",
            json,
            with(&[("restecg", json!(1))]),
            422,
        ),
        (
            "nan_is_not_json",
            "/v1/predict",
            json,
            br#"{"age": NaN}"#.to_vec(),
            400,
        ),
        (
            "infinity_overflows",
            "/v1/predict",
            json,
            br#"{"age": 1e999}"#.to_vec(),
            400,
        ),
        (
            "truncated",
            "/v1/predict",
            json,
            br#"{"age": 63, "sex"#.to_vec(),
            400,
        ),
        ("deeply_nested", "/v1/predict", json, deep.into_bytes(), 400),
        (
            "key_sent_twice",
            "/v1/predict",
            json,
            sent_twice.into_bytes(),
            422,
        ),
        (
            "not_an_object",
            "/v1/predict",
            json,
            b"[1, 2]".to_vec(),
            422,
        ),
        (
            "wrong_content_type",
            "/v1/predict",
            Some("text/plain"),
            with(&[]),
            415,
        ),
        ("no_content_type", "/v1/predict", None, with(&[]), 415),
        (
            "empty_batch",
            "/v1/predict/batch",
            json,
            br#"{"rows": []}"#.to_vec(),
            422,
        ),
        (
            "batch_over_row_limit",
            "/v1/predict/batch",
            json,
            rows(51),
            422,
        ),
        (
            "body_over_size_limit",
            "/v1/predict/batch",
            json,
            big.into_bytes(),
            413,
        ),
        (
            "bad_rows_in_batch",
            "/v1/predict/batch",
            json,
            bad_rows(),
            422,
        ),
        (
            "batch_without_rows",
            "/v1/predict/batch",
            json,
            br#"{"row": []}"#.to_vec(),
            422,
        ),
    ];

    for (name, path, content_type, body, status) in cases {
        let (got, answer) = error_case(path, content_type, &body);
        assert_eq!(got, status, "{name}: {answer}");
        if status == 200 {
            continue;
        }
        let problems = answer["problems"].as_array().expect("a problems list");
        assert!(!problems.is_empty(), "{name}");
        for problem in problems {
            let field = problem["field"].as_str().unwrap_or_default();
            assert!(!field.is_empty(), "{name}: a problem without a field");
        }
        insta::assert_json_snapshot!(name, answer);
    }
}

fn rows(n: usize) -> Vec<u8> {
    json!({ "rows": vec![patient(); n] })
        .to_string()
        .into_bytes()
}

/// A batch with bad rows fails whole and names every bad row (D-029).
fn bad_rows() -> Vec<u8> {
    let mut second = patient();
    second["age"] = json!(7);
    let mut fourth = patient();
    fourth["sex"] = json!("male");
    json!({ "rows": [patient(), second, patient(), fourth] })
        .to_string()
        .into_bytes()
}

#[test]
fn wrong_paths_and_methods_get_json_errors() {
    let answer = shared().get("/v1/nothing");
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["problems"][0]["field"], "path");

    let answer = shared().get("/v1/predict");
    assert_eq!(answer.status, 405);
    assert_eq!(answer.json()["problems"][0]["field"], "method");
}

#[test]
fn a_request_id_sent_by_the_caller_is_kept() {
    let answer = common::agent()
        .post(format!("{}/v1/predict", shared().base))
        .header("content-type", "application/json")
        .header("x-request-id", "gateway-abc-123")
        .send(patient().to_string().as_bytes())
        .unwrap();
    assert_eq!(answer.headers()["x-request-id"], "gateway-abc-123");
}

#[test]
fn an_answer_lists_at_most_a_hundred_problems_and_says_how_many() {
    let mut body = patient();
    for i in 0..500 {
        body[format!("junk{i}")] = json!(i);
    }

    let answer = shared().post_json("/v1/predict", &body);

    assert_eq!(answer.status, 422);
    let answer = answer.json();
    assert_eq!(answer["problems"].as_array().map(Vec::len), Some(100));
    assert_eq!(
        answer["message"],
        "500 problems with the input; the first 100 are listed"
    );
}

/// Sends `body` to `path` in chunked transfer encoding, one chunk per
/// piece with a pause between them, so the server reads them one by one.
/// Returns the status and the JSON body of the answer.
fn post_in_pieces(path: &str, pieces: &[&[u8]]) -> (u16, Value) {
    use std::io::{Read, Write};

    let address = shared().base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).expect("connect to the server");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("a read timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("send the head");
    for piece in pieces {
        let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
        chunk.extend_from_slice(piece);
        chunk.extend_from_slice(b"\r\n");
        // The server may answer (413) before every piece is sent.
        if stream
            .write_all(&chunk)
            .and_then(|()| stream.flush())
            .is_err()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = stream.write_all(b"0\r\n\r\n");

    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    let (_, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no body in {answer:?}"));
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, body)
}

/// The body reader parses a body that came whole where it lies and
/// gathers one that comes in pieces: both must give the same answer.
#[test]
fn a_body_sent_in_pieces_is_read_as_a_whole() {
    let body = patient().to_string().into_bytes();
    let whole = shared().post("/v1/predict", Some("application/json"), &body);
    assert_eq!(whole.status, 200, "{}", whole.body);

    let third = body.len() / 3;
    let (status, pieces) = post_in_pieces(
        "/v1/predict",
        &[&body[..third], &body[third..2 * third], &body[2 * third..]],
    );
    assert_eq!(status, 200, "{pieces}");
    assert_eq!(pieces["probability"], whole.json()["probability"]);
    assert_eq!(pieces["imputed"], whole.json()["imputed"]);
}

/// Without a Content-Length the limit can only be checked while reading:
/// the body is refused as soon as it passes the limit.
#[test]
fn a_chunked_body_over_the_limit_is_refused_while_it_is_read() {
    let limit = common::config(std::path::Path::new("unused")).max_body_bytes;
    let row = format!("{},", patient());
    let piece = row.repeat(limit / row.len() / 4 + 1).into_bytes();
    let mut pieces: Vec<&[u8]> = vec![b"{\"rows\": ["];
    pieces.extend(std::iter::repeat_n(piece.as_slice(), 5));

    let (status, body) = post_in_pieces("/v1/predict/batch", &pieces);
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["problems"][0]["field"], "body");
    assert_eq!(body["problems"][0]["problem"], "too_large");
}
