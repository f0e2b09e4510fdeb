//! The real binary as a process: start-up with a bad artifact or bad
//! settings, the logs, and shutdown on SIGTERM.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{patient, start_binary};
use serde_json::Value;

/// Spoils an artifact file in one way.
type Damage = fn(&std::path::Path);

fn path_str(path: &std::path::Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A damaged, missing or mismatched artifact leaves the process up, alive
/// and never ready, saying why; predictions are refused with 503.
#[test]
fn a_bad_artifact_is_never_served() {
    let cases: [(&str, Damage, &str); 3] = [
        ("a changed byte", flip_a_byte, "checksum mismatch"),
        ("a missing file", remove, "failed to read"),
        ("another format", other_format, "artifact format 99"),
    ];
    for (case, damage, reason) in cases {
        let (_dir, path) = common::artifact_dir();
        damage(&path);

        let server = start_binary(&[("HEARTLAB_SERVER_ARTIFACT", path_str(&path))]);

        assert_eq!(server.server.get("/livez").status, 200, "{case}");
        for _ in 0..5 {
            let ready = server.server.get("/readyz");
            assert_eq!(ready.status, 503, "{case}");
            let said = ready.json()["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(said.contains(reason), "{case}: {said}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let predict = server.server.post_json("/v1/predict", &patient());
        assert_eq!(predict.status, 503, "{case}");
        assert_eq!(predict.json()["error"], "not_ready", "{case}");
        assert!(
            server.log_text().contains(reason),
            "{case}: the log says why"
        );
    }
}

fn flip_a_byte(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn remove(path: &std::path::Path) {
    std::fs::remove_file(path).unwrap();
}

/// Rewrites the artifact with another format version and a matching
/// checksum, so only the format check can catch it.
fn other_format(path: &std::path::Path) {
    let mut artifact = common::artifact::build();
    artifact.format_version = 99;
    artifact.write(path.parent().unwrap()).unwrap();
}

#[test]
fn bad_settings_stop_the_start_with_the_name_and_exit_code_2() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_heartlab-server"))
        .env("HEARTLAB_SERVER_MAX_BATCH_ROW", "10")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("HEARTLAB_SERVER_MAX_BATCH_ROW "),
        "{stderr}"
    );
}

/// A span filter would be read by `Targets` as a target that never matches;
/// the server refuses it at start instead of logging less than asked.
#[test]
fn a_log_filter_it_cannot_apply_stops_the_start_with_exit_code_2() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_heartlab-server"))
        .env("RUST_LOG", "info,[request]=debug")
        .env("HEARTLAB_SERVER_PORT", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A server that accepted the filter would serve until stopped.
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("RUST_LOG: \"[request]=debug\" filters by span"),
        "{stderr}"
    );
}

/// One line per request with its id, route, status and latency, and no
/// patient value anywhere in the log, accepted or rejected.
#[test]
fn logs_carry_the_request_but_no_patient_values() {
    let (_dir, path) = common::artifact_dir();
    let mut server = start_binary(&[("HEARTLAB_SERVER_ARTIFACT", path_str(&path))]);
    let mut accepted = patient();
    accepted["oldpeak"] = serde_json::json!(7.25);
    let mut rejected = patient();
    rejected["oldpeak"] = serde_json::json!(9.75);
    rejected["chol"] = serde_json::json!(6543);

    let ok = server.server.post_json("/v1/predict", &accepted);
    let bad = server.server.post_json("/v1/predict", &rejected);
    server.sigterm();
    assert_eq!(server.wait(Duration::from_secs(15)), Some(0));
    let log = server.log_text();

    assert_eq!((ok.status, bad.status), (200, 422));
    let told = without_clock_and_ids(&log);
    for value in ["7.25", "9.75", "6543"] {
        assert!(
            !told.contains(value),
            "the log holds the patient value {value}:\n{told}"
        );
    }
    let id = ok.json()["request_id"].as_str().unwrap().to_owned();
    let line: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|event| event["span"]["request_id"] == id.as_str())
        .expect("a log line for the request");
    assert_eq!(line["route"], "/v1/predict");
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].as_f64().is_some());
    assert!(
        log.contains("chol:out_of_range"),
        "rejections name the field"
    );
}

/// The log with the values that are digits by chance taken out: the time,
/// each latency and each request id. Any of them can hold "6543", say, and
/// none of them comes from the patient.
fn without_clock_and_ids(log: &str) -> String {
    log.lines()
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(mut event)) => {
                for field in ["timestamp", "latency_ms", "request_id"] {
                    event.remove(field);
                }
                if let Some(Value::Object(span)) = event.get_mut("span") {
                    span.remove("request_id");
                }
                Value::Object(event).to_string()
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// SIGTERM in the middle of a stream of requests. A prober plays the load
/// balancer: once readiness fails, clients stop sending. Every request sent
/// gets its full answer, requests keep being served during the drain, the
/// port is closed after it, and the process exits 0.
#[test]
fn sigterm_during_a_request_stream_loses_no_request() {
    let (_dir, path) = common::artifact_dir();
    let mut server = start_binary(&[
        ("HEARTLAB_SERVER_ARTIFACT", path_str(&path)),
        ("HEARTLAB_SERVER_DRAIN_SECONDS", "1.5"),
        ("HEARTLAB_SERVER_SHUTDOWN_TIMEOUT_SECONDS", "10"),
    ]);
    let base = server.server.clone();
    let removed = Arc::new(AtomicBool::new(false));
    let outcomes: Arc<Mutex<Vec<Result<u16, String>>>> = Arc::default();
    let body = serde_json::json!({ "rows": vec![patient(); 50] });

    let prober = {
        let (base, removed) = (base.clone(), removed.clone());
        std::thread::spawn(move || {
            while base.get("/readyz").status == 200 {
                std::thread::sleep(Duration::from_millis(100));
            }
            removed.store(true, Ordering::SeqCst);
        })
    };
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (base, removed, outcomes) = (base.clone(), removed.clone(), outcomes.clone());
            let body = body.to_string();
            std::thread::spawn(move || {
                while !removed.load(Ordering::SeqCst) {
                    let outcome = common::agent()
                        .post(format!("{}/v1/predict/batch", base.base))
                        .header("content-type", "application/json")
                        .send(body.as_bytes())
                        .map_err(|e| e.to_string())
                        .and_then(|mut r| {
                            let status = r.status().as_u16();
                            let text = r.body_mut().read_to_string().map_err(|e| e.to_string())?;
                            let parsed: Value =
                                serde_json::from_str(&text).map_err(|e| e.to_string())?;
                            match parsed["predictions"].as_array().map(Vec::len) {
                                Some(50) => Ok(status),
                                _ => Err(format!("incomplete answer: {status}")),
                            }
                        });
                    outcomes.lock().unwrap().push(outcome);
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(500));
    let sent_before = outcomes.lock().unwrap().len();
    let signalled = Instant::now();
    server.sigterm();
    prober.join().unwrap();
    let noticed = signalled.elapsed();
    for client in clients {
        client.join().unwrap();
    }
    // Still inside the drain: the load balancer's slow members still get answers.
    let late = server.server.post_json("/v1/predict", &patient());
    let ready_during_drain = server.server.get("/readyz").status;
    let base_after = server.server.clone();
    let code = server.wait(Duration::from_secs(20));

    let outcomes = outcomes.lock().unwrap();
    let failed: Vec<_> = outcomes.iter().filter(|o| *o != &Ok(200)).collect();
    assert!(failed.is_empty(), "lost or failed requests: {failed:?}");
    assert!(
        sent_before > 0 && outcomes.len() > sent_before,
        "requests on both sides"
    );
    assert!(
        noticed < Duration::from_millis(1200),
        "readiness failed after {noticed:?}"
    );
    assert_eq!(late.status, 200, "served during the drain");
    assert_eq!(ready_during_drain, 503);
    assert_eq!(code, Some(0), "exit code after SIGTERM");
    let refused = common::agent()
        .get(format!("{}/livez", base_after.base))
        .call();
    assert!(refused.is_err(), "the port is closed after shutdown");
}
