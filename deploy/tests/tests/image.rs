//! The image, end to end, on this machine's Docker engine: built from
//! deploy/Dockerfile (nothing pulled), started with the settings of the
//! rendered Deployment, probed as the kubelet would, asked for predictions
//! that must equal the library's bit for bit, refused readiness with a
//! damaged artifact, and replaced under load without losing a request.
//!
//! Without Docker these tests fail with a message saying so: they never
//! pass without having run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use heartlab::artifact::Artifact;
use heartlab::example::Example;
use heartlab_deploy_tests::artifacts::{self, request_body};
use heartlab_deploy_tests::docker::{build_image, inspect, Container, Mount};
use heartlab_deploy_tests::kubelet::{self, agent, probe_status, probe_succeeds, Outcome};
use heartlab_deploy_tests::manifests::{container_settings, named, render, ContainerSettings};
use heartlab_deploy_tests::{record_figure, root, run_ok};
use serde_json::Value;

/// The image must stay under this (the 25 MB).
const MAX_IMAGE_BYTES: u64 = 25_000_000;

/// How long after SIGTERM the test's "Service" still sends to the old pod:
/// the time an endpoint removal takes to reach every node's kube-proxy. A
/// few hundred milliseconds on a small cluster, seconds on a busy one; the
/// drain (HEARTLAB_SERVER_DRAIN_SECONDS) must outlast it.
const ENDPOINT_PROPAGATION: Duration = Duration::from_secs(2);

/// Two model versions, each baked into the image its Deployment names.
struct Fixture {
    _dir: tempfile::TempDir,
    v1: Model,
    v2: Model,
    stable: ContainerSettings,
    canary: ContainerSettings,
    image_bytes: u64,
}

struct Model {
    path: PathBuf,
    artifact: Artifact,
    sha256: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let model = |seed: u64, name: &str| {
            let folder = dir.path().join(name);
            std::fs::create_dir(&folder).unwrap();
            let (path, artifact) = artifacts::write(&folder, seed);
            let sha256 = sha256_of(&path);
            Model {
                path,
                artifact,
                sha256,
            }
        };
        let (v1, v2) = (model(1, "v1"), model(2, "v2"));
        let objects = render("overlays/canary");
        let stable = container_settings(&objects, "heartlab-server");
        let canary = container_settings(&objects, "heartlab-server-canary");
        let image_bytes = build_image(&stable.image, &v1.path);
        build_image(&canary.image, &v2.path);
        Fixture {
            _dir: dir,
            v1,
            v2,
            stable,
            canary,
            image_bytes,
        }
    })
}

/// One test at a time: they measure memory, throughput and a rollout, which
/// another test's load on the same two cores would distort.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn sha256_of(path: &std::path::Path) -> String {
    let sidecar = std::fs::read_to_string(format!("{}.sha256", path.display())).unwrap();
    sidecar.split_whitespace().next().unwrap().to_owned()
}

/// Starts a container and waits, as the kubelet would, until it is ready.
fn start_ready(settings: &ContainerSettings, mounts: &[Mount]) -> (Container, Duration) {
    let container = Container::start(settings, mounts);
    match kubelet::start(&container, settings, Duration::from_secs(30)) {
        Outcome::Ready { ready, .. } => (container, ready),
        other => panic!("{other:?}; logs:\n{}", container.logs()),
    }
}

fn post(agent: &ureq::Agent, url: &str, body: &Value) -> Result<(u16, Value), String> {
    let mut response = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string())
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    Ok((status, value))
}

/// Patients the models never saw, some with inputs missing.
fn patients() -> Vec<Example> {
    artifacts::patients(40, 99)
}

#[test]
fn the_image_is_small_labelled_non_root_and_holds_only_the_server_and_the_model() {
    let _serial = serial();
    let f = fixture();
    let image = &f.stable.image;
    eprintln!("image {image}: {} bytes", f.image_bytes);
    record_figure(
        "image",
        &format!(
            "| image size | {} bytes ({:.1} MiB) | under 25 MB |",
            f.image_bytes,
            f.image_bytes as f64 / 1_048_576.0
        ),
    );
    assert!(
        f.image_bytes < MAX_IMAGE_BYTES,
        "{image} is {} bytes, over {MAX_IMAGE_BYTES}",
        f.image_bytes
    );

    assert_eq!(inspect(image, "{{.Config.User}}"), "10001:10001");
    let label = |name: &str| inspect(image, &format!("{{{{index .Config.Labels \"{name}\"}}}}"));
    let server_manifest = std::fs::read_to_string(root().join("server/Cargo.toml")).unwrap();
    let server_version = server_manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("the server crate's version");
    assert_eq!(label("org.opencontainers.image.version"), server_version);
    let commit = label("org.opencontainers.image.revision");
    assert!(
        commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "revision label {commit:?}"
    );
    assert_eq!(label("dev.heartlab.model.version"), f.v1.sha256[..12]);

    // The filesystem: the binary and the model, and nothing to run a shell
    // with (Docker itself adds only the mount points it needs).
    let created = run_ok(Command::new("docker").args(["create", image]));
    let id = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    let listing = Command::new("sh")
        .arg("-c")
        .arg(format!("docker export {id} | tar -t"))
        .output()
        .unwrap();
    let _ = Command::new("docker").args(["rm", &id]).output();
    let files: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    for expected in [
        "heartlab-server",
        "model/artifact.json",
        "model/artifact.json.sha256",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} missing: {files:?}"
        );
    }
    let unexpected: Vec<&String> = files
        .iter()
        .filter(|f| {
            !(f.starts_with("heartlab-server")
                || f.starts_with("model/")
                || f.starts_with("dev/")
                || f.starts_with("etc/")
                || f.starts_with("proc/")
                || f.starts_with("sys/")
                || *f == ".dockerenv")
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "files beyond the server and model: {unexpected:?}"
    );
    let shell = |f: &String| {
        f.starts_with("bin/") || f.starts_with("usr/") || f.ends_with("/sh") || f == "sh"
    };
    assert!(
        !files.iter().any(shell),
        "a shell or system folder: {files:?}"
    );
}

#[test]
fn the_deployment_starts_passes_its_probes_and_predicts_as_the_library_bit_for_bit() {
    let _serial = serial();
    let f = fixture();
    let (container, ready) = start_ready(&f.stable, &[]);
    eprintln!("ready {ready:?} after docker run");
    record_figure(
        "startup",
        &format!("| ready after `docker run` | {} ms | |", ready.as_millis()),
    );
    assert!(probe_succeeds(&container, &f.stable.liveness));
    assert_eq!(probe_status(&container, &f.stable.readiness), Some(200));

    // The probes' paths are ones the image itself documents as GET routes.
    let openapi = agent(Duration::from_secs(5))
        .get(container.url("/openapi.json"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let openapi: Value = serde_json::from_str(&openapi).unwrap();
    for probe in [&f.stable.startup, &f.stable.readiness, &f.stable.liveness] {
        assert!(
            openapi["paths"][&probe.path]["get"].is_object(),
            "{} is not a GET route of the served OpenAPI document",
            probe.path
        );
    }

    let client = agent(Duration::from_secs(5));
    let patients = patients();
    for patient in &patients {
        let (status, answer) = post(
            &client,
            &container.url("/v1/predict"),
            &request_body(patient),
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", container.logs()));
        assert_eq!(status, 200, "{answer}");
        let (probability, label) = f.v1.artifact.predict(&patient.hospital, &patient.features);
        let served = answer["probability"].as_f64().unwrap();
        assert_eq!(
            served.to_bits(),
            probability.to_bits(),
            "{patient:?}: {answer}"
        );
        assert_eq!(answer["label"], label, "{patient:?}");
        assert_eq!(answer["model_version"], f.v1.sha256.as_str());
    }

    // The batch endpoint gives the same numbers, in order.
    let rows: Vec<Value> = patients.iter().map(request_body).collect();
    let (status, answer) = post(
        &client,
        &container.url("/v1/predict/batch"),
        &serde_json::json!({ "rows": rows }),
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    for (patient, served) in patients
        .iter()
        .zip(answer["predictions"].as_array().unwrap())
    {
        let (probability, _) = f.v1.artifact.predict(&patient.hospital, &patient.features);
        assert_eq!(
            served["probability"].as_f64().unwrap().to_bits(),
            probability.to_bits()
        );
    }

    // Metrics are where the scrape annotations point.
    let metrics = client
        .get(container.url("/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(metrics.contains("# TYPE"), "{metrics}");
}

/// Sends `body` to `url` from four clients for `seconds`; the number of
/// requests answered 200.
fn load(url: &str, body: &Value, seconds: u64) -> usize {
    let stop = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (url, body) = (url.to_owned(), body.clone());
            std::thread::spawn(move || {
                let client = agent(Duration::from_secs(5));
                let mut answered = 0;
                while Instant::now() < stop {
                    let (status, answer) = post(&client, &url, &body).unwrap();
                    assert_eq!(status, 200, "{answer}");
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    workers.into_iter().map(|w| w.join().unwrap()).sum()
}

/// Memory and CPU of one container started with the Deployment's settings:
/// the figures its resources are derived from (D-038). Single patients
/// give the CPU cost of a request; batches of the largest size allowed give
/// the memory peak, which must stay well below the Deployment's request.
#[test]
fn memory_and_cpu_under_load_fit_the_deployment_resources() {
    let _serial = serial();
    let f = fixture();
    let (container, _) = start_ready(&f.stable, &[]);
    let (idle_kib, _) = container.resident_kib();

    let patient = request_body(&patients()[0]);
    let (cpu_before, started) = (container.cpu_seconds(), Instant::now());
    let singles = load(&container.url("/v1/predict"), &patient, 4);
    let (cpu, wall) = (
        container.cpu_seconds() - cpu_before,
        started.elapsed().as_secs_f64(),
    );
    let (_, peak_singles_kib) = container.resident_kib();

    let max_rows: usize = f.stable.env["HEARTLAB_SERVER_MAX_BATCH_ROWS"]
        .parse()
        .unwrap();
    let rows: Vec<Value> = artifacts::patients(max_rows, 7)
        .iter()
        .map(request_body)
        .collect();
    let batch = serde_json::json!({ "rows": rows });
    let batch_bytes = batch.to_string().len();
    let (batch_cpu_before, batch_started) = (container.cpu_seconds(), Instant::now());
    let batches = load(&container.url("/v1/predict/batch"), &batch, 4);
    let batch_cpu = container.cpu_seconds() - batch_cpu_before;
    let batch_wall = batch_started.elapsed().as_secs_f64();
    let (_, peak_kib) = container.resident_kib();

    eprintln!(
        "measured: idle {idle_kib} KiB resident; single patients: {singles} requests in \
         {wall:.1} s = {:.0}/s using {:.2} cores, {:.0} us of CPU each, peak {peak_singles_kib} \
         KiB; batches of {max_rows} rows ({batch_bytes} bytes): {batches} in {batch_wall:.1} s \
         = {:.0} rows/s using {:.2} cores, peak {peak_kib} KiB",
        singles as f64 / wall,
        cpu / wall,
        cpu / singles as f64 * 1e6,
        (batches * max_rows) as f64 / batch_wall,
        batch_cpu / batch_wall,
    );
    let mib = |kib: u64| kib as f64 / 1024.0;
    record_figure(
        "resources",
        &[
            format!(
                "| resident memory, idle with the model loaded | {:.1} MiB | |",
                mib(idle_kib)
            ),
            format!(
                "| peak resident memory, {:.0} single predictions a second | {:.1} MiB | |",
                singles as f64 / wall,
                mib(peak_singles_kib)
            ),
            format!(
                "| peak resident memory, four concurrent batches of {max_rows} rows \
                 ({batch_bytes} bytes each) | {:.1} MiB | |",
                mib(peak_kib)
            ),
            format!(
                "| CPU per single prediction | {:.0} µs | |",
                cpu / singles as f64 * 1e6
            ),
            format!(
                "| CPU per row in a batch of {max_rows} | {:.1} µs | |",
                batch_cpu / (batches * max_rows) as f64 * 1e6
            ),
        ]
        .join("\n"),
    );

    let objects = render("overlays/kind");
    let request = named(&objects, "Deployment", "heartlab-server")["spec"]["template"]["spec"]
        ["containers"][0]["resources"]["requests"]["memory"]
        .as_str()
        .unwrap()
        .strip_suffix("Mi")
        .expect("a memory request in Mi")
        .parse::<u64>()
        .unwrap();
    assert!(
        peak_kib * 2 < request * 1024,
        "the peak of {peak_kib} KiB leaves less than half the request of {request} MiB free"
    );
}

#[test]
fn an_artifact_that_fails_verification_keeps_the_pod_alive_but_never_ready() {
    let _serial = serial();
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let damaged = artifacts::corrupted_copy(&f.v1.path, dir.path());
    let sidecar = dir.path().join("artifact.json.sha256");
    let artifact_in_image = &f.stable.env["HEARTLAB_SERVER_ARTIFACT"];
    let sidecar_in_image = format!("{artifact_in_image}.sha256");
    let container = Container::start(
        &f.stable,
        &[
            Mount {
                source: &damaged,
                target: artifact_in_image,
            },
            Mount {
                source: &sidecar,
                target: &sidecar_in_image,
            },
        ],
    );

    // Watch ten readiness periods: the good image is ready within one.
    let window = f.stable.readiness.period * 10;
    let outcome = kubelet::start(&container, &f.stable, window);
    assert!(
        matches!(outcome, Outcome::NotReady { .. }),
        "a damaged artifact must leave the pod unready, got {outcome:?}\n{}",
        container.logs()
    );
    // Alive, so the kubelet does not restart it into a crash loop: the
    // rollout stalls with the reason visible, and the old pods keep serving.
    assert!(probe_succeeds(&container, &f.stable.liveness));
    let mut readyz = agent(Duration::from_secs(2))
        .get(container.url(&f.stable.readiness.path))
        .call()
        .unwrap();
    assert_eq!(readyz.status().as_u16(), 503);
    let reason = readyz.body_mut().read_to_string().unwrap();
    assert!(
        reason.contains("checksum"),
        "the reason names the checksum: {reason}"
    );

    let (status, _) = post(
        &agent(Duration::from_secs(2)),
        &container.url("/v1/predict"),
        &request_body(&patients()[0]),
    )
    .unwrap();
    assert_eq!(status, 503, "an unready server must not predict");
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    sent: usize,
    failed: Vec<String>,
    v1: usize,
    v2: usize,
    v1_after_sigterm: usize,
}

/// One step of the rolling update under a steady stream of requests: v2
/// (`new`) is started and waited for, v1 (`old`) gets SIGTERM and leaves
/// the endpoints after the propagation delay; the kubelet waits at most the
/// grace period. Returns what the clients saw and how v1 went.
fn replace_under_load(old: &ContainerSettings, new: &ContainerSettings) -> Replacement {
    let f = fixture();
    let (v1, _) = start_ready(old, &[]);
    let patients = Arc::new(patients());
    let expected = |model: &Model| -> Vec<u64> {
        patients
            .iter()
            .map(|p| model.artifact.predict(&p.hospital, &p.features).0.to_bits())
            .collect()
    };
    let (expected_v1, expected_v2) = (expected(&f.v1), expected(&f.v2));

    // The test plays the Service: each request goes to the next endpoint
    // in the list, as kube-proxy spreads connections over ready pods.
    let endpoints = Arc::new(Mutex::new(vec![v1.host_port]));
    let sigterm_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (endpoints, tally, stop, next) =
                (endpoints.clone(), tally.clone(), stop.clone(), next.clone());
            let (patients, sigterm_at) = (patients.clone(), sigterm_at.clone());
            let (expected_v1, expected_v2) = (expected_v1.clone(), expected_v2.clone());
            let (sha_v1, sha_v2) = (f.v1.sha256.clone(), f.v2.sha256.clone());
            std::thread::spawn(move || {
                let client = agent(Duration::from_secs(5));
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let port = {
                        let e = endpoints.lock().unwrap();
                        e[n % e.len()]
                    };
                    let i = n % patients.len();
                    let url = format!("http://127.0.0.1:{port}/v1/predict");
                    let result = post(&client, &url, &request_body(&patients[i]));
                    let mut t = tally.lock().unwrap();
                    t.sent += 1;
                    match result {
                        Ok((200, answer)) => {
                            let bits = answer["probability"].as_f64().map(f64::to_bits);
                            let version = answer["model_version"].as_str().unwrap_or_default();
                            if version == sha_v1 && bits == Some(expected_v1[i]) {
                                t.v1 += 1;
                                if sigterm_at.lock().unwrap().is_some() {
                                    t.v1_after_sigterm += 1;
                                }
                            } else if version == sha_v2 && bits == Some(expected_v2[i]) {
                                t.v2 += 1;
                            } else {
                                t.failed.push(format!("wrong answer from {port}: {answer}"));
                            }
                        }
                        Ok((status, answer)) => {
                            t.failed.push(format!("{status} from {port}: {answer}"))
                        }
                        Err(e) => t.failed.push(format!("{port}: {e}")),
                    }
                    drop(t);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();

    // Steady state on v1, then the rolling update's steps for one pod:
    // maxSurge 1 starts v2; maxUnavailable 0 waits for it to be ready.
    std::thread::sleep(Duration::from_secs(2));
    let (v2, v2_ready) = start_ready(new, &[]);
    endpoints.lock().unwrap().push(v2.host_port);
    std::thread::sleep(Duration::from_secs(1));

    // The old pod is deleted: SIGTERM at once, and the endpoint removal
    // reaches the proxies a little later.
    v1.signal("TERM");
    let terminated = Instant::now();
    *sigterm_at.lock().unwrap() = Some(terminated);
    std::thread::sleep(Duration::from_millis(300));
    let readiness_while_draining = probe_status(&v1, &old.readiness);
    std::thread::sleep(ENDPOINT_PROPAGATION.saturating_sub(terminated.elapsed()));
    endpoints.lock().unwrap().retain(|p| *p != v1.host_port);

    // The kubelet waits at most the grace period before SIGKILL.
    let exit = v1
        .wait_exit(
            f.stable
                .termination_grace
                .saturating_sub(terminated.elapsed()),
        )
        .map(|(code, _)| (code, terminated.elapsed()));
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }

    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let drain = &old.env["HEARTLAB_SERVER_DRAIN_SECONDS"];
    let exited = match exit {
        Some((code, took)) => format!("code {code}, {:.1} s after SIGTERM", took.as_secs_f64()),
        None => "still running at the end of the grace period".to_owned(),
    };
    record_figure(
        &format!("rollout-drain-{drain}"),
        &format!(
            "| {drain} s | {} | **{}** | {} | {exited} |",
            tally.sent,
            tally.failed.len(),
            tally.v1_after_sigterm
        ),
    );
    eprintln!(
        "rollout (drain {}s): {} requests sent, {} failed; v1 answered {} ({} after SIGTERM), \
         v2 {}; v2 ready {v2_ready:?} after start; v1 exited (code, after SIGTERM) {exit:?}",
        old.env["HEARTLAB_SERVER_DRAIN_SECONDS"],
        tally.sent,
        tally.failed.len(),
        tally.v1,
        tally.v1_after_sigterm,
        tally.v2
    );
    Replacement {
        tally,
        readiness_while_draining,
        exit,
        logs: v1.logs(),
    }
}

struct Replacement {
    tally: Tally,
    readiness_while_draining: Option<u16>,
    /// v1's exit code and the time from SIGTERM, if it stopped in the grace.
    exit: Option<(i64, Duration)>,
    logs: String,
}

#[test]
fn replacing_v1_with_v2_under_steady_load_loses_no_request() {
    let _serial = serial();
    let f = fixture();
    let run = replace_under_load(&f.stable, &f.canary);
    let t = &run.tally;
    assert!(
        t.failed.is_empty(),
        "{} of {} failed: {:#?}",
        t.failed.len(),
        t.sent,
        t.failed
    );
    assert!(
        t.sent >= 300,
        "too few requests to mean anything: {}",
        t.sent
    );
    assert!(
        t.v1_after_sigterm > 0,
        "no request reached v1 while it drained"
    );
    assert!(t.v2 > 0, "v2 never answered");
    assert_eq!(
        run.readiness_while_draining,
        Some(503),
        "readiness while draining"
    );
    let (code, took) = run
        .exit
        .expect("v1 still ran after the grace period: SIGKILL");
    assert_eq!(code, 0, "v1's exit code after SIGTERM\n{}", run.logs);
    assert!(took < f.stable.termination_grace);
}

/// The control: the same replacement with the drain set to 0 loses the
/// requests sent to v1 before its endpoint removal propagated. This is what
/// the test above would catch if the drain were removed or shortened.
#[test]
fn without_the_drain_the_same_replacement_loses_requests() {
    let _serial = serial();
    let f = fixture();
    let mut old = f.stable.clone();
    old.env
        .insert("HEARTLAB_SERVER_DRAIN_SECONDS".into(), "0".into());
    let run = replace_under_load(&old, &f.canary);
    assert!(
        !run.tally.failed.is_empty(),
        "no request failed without the drain, so the zero above proves nothing"
    );
}
