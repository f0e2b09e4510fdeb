//! Helpers shared by the server's integration tests: a test artifact, the
//! real app started in-process on port 0, the real binary started as a
//! child process, and a small HTTP client.
#![allow(dead_code)]

pub mod artifact;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use heartlab_server::{Application, Config};
use serde_json::{json, Value};

/// An HTTP answer: status and body text.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub content_type: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

/// A client that returns every status as an answer, never as an error.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = result.unwrap_or_else(|e| panic!("request failed: {e}"));
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Answer {
        status: response.status().as_u16(),
        body: response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default(),
        content_type,
    }
}

/// A running server's base address.
#[derive(Debug, Clone)]
pub struct Server {
    pub base: String,
}

impl Server {
    pub fn get(&self, path: &str) -> Answer {
        answer(agent().get(format!("{}{path}", self.base)).call())
    }

    pub fn post(&self, path: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
        let mut request = agent().post(format!("{}{path}", self.base));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        answer(request.send(body))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.post(path, Some("application/json"), body.to_string().as_bytes())
    }
}

/// A patient that fits the test artifact, with chol unknown.
pub fn patient() -> Value {
    json!({
        "age": 63, "sex": 1, "cp": 4, "trestbps": 145, "chol": null, "fbs": 1,
        "restecg": 2, "thalach": 150, "exang": 0, "oldpeak": 2.3, "slope": 3,
        "ca": 0, "thal": 6
    })
}

/// Settings for a test server: loopback, a free port, short drain.
pub fn config(artifact: &Path) -> Config {
    Config {
        host: "127.0.0.1".to_owned(),
        port: 0,
        artifact: artifact.to_owned(),
        workers: Some(2),
        drain_seconds: 0.0,
        max_batch_rows: 50,
        max_body_bytes: 64 * 1024,
        ..Config::default()
    }
}

/// Starts the real app in this process on a background thread and returns
/// its address. The thread ends with the test process.
pub fn start_in_process(config: Config) -> Server {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(&config).expect("the server should start");
            sender
                .send(app.address())
                .expect("the test should wait for the address");
            app.run_until(std::future::pending()).await
        })
    });
    let address: SocketAddr = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("the server should report its address");
    Server {
        base: format!("http://{address}"),
    }
}

/// One in-process server with the test artifact, shared by a test binary.
pub fn shared() -> &'static Server {
    static SERVER: OnceLock<(tempfile::TempDir, Server)> = OnceLock::new();
    let (_, server) = SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = artifact::write(dir.path());
        let server = start_in_process(config(&path));
        (dir, server)
    });
    server
}

/// The real binary, run as a child process.
pub struct Binary {
    pub child: Child,
    pub server: Server,
    pub log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Starts the binary with these settings (besides loopback and port 0) and
/// waits for the line that says where it listens.
pub fn start_binary(env: &[(&str, &str)]) -> Binary {
    let mut command = Command::new(env!("CARGO_BIN_EXE_heartlab-server"));
    for (var, _) in std::env::vars().filter(|(v, _)| v.starts_with("HEARTLAB_SERVER_")) {
        command.env_remove(var);
    }
    command
        .env("HEARTLAB_SERVER_HOST", "127.0.0.1")
        .env("HEARTLAB_SERVER_PORT", "0")
        .env("HEARTLAB_SERVER_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("the server binary should start");

    let stdout = child.stdout.take().expect("stdout is piped");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (sender, receiver) = mpsc::channel();
    let lines = log.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(event) = serde_json::from_str::<Value>(&line) {
                if event["message"] == "listening" {
                    let _ = sender.send(event["address"].as_str().unwrap_or("").to_owned());
                }
            }
            lines.lock().expect("log lock").push(line);
        }
    });
    let address = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("the server should log the address it listens on");
    Binary {
        child,
        server: Server {
            base: format!("http://{address}"),
        },
        log,
        reader: Some(reader),
    }
}

impl Binary {
    pub fn sigterm(&self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a pid this test started and a valid signal.
        let result = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(result, 0, "SIGTERM should be delivered");
    }

    /// Waits for the process to exit (and its log to be read to the end)
    /// and returns its exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        // A failed test must not leave a server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes the test artifact into a new temporary folder.
pub fn artifact_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = artifact::write(dir.path());
    (dir, path)
}

/// The value of one metric line, `name{labels}`, in Prometheus text.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in the metrics"))
}
