//! The image and its containers, through the `docker` command.
//!
//! Not testcontainers: version 0.28 speaks Docker API 1.53 (bollard 0.21)
//! and never negotiates down, and this machine's engine (20.10) answers
//! every such call with "client version 1.53 is too new. Maximum supported
//! API version is 1.41" (docs/decisions.md D-040). The docker CLI
//! negotiates, so it works with any engine a reader has.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::manifests::ContainerSettings;
use crate::{require_program, root, run_ok};

/// Fails the test unless a Docker engine answers.
pub fn require_docker() {
    let docker = require_program(
        "docker",
        "these tests build and run the server image; install Docker Engine",
    );
    let info = Command::new(docker)
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .expect("docker runs");
    assert!(
        info.status.success(),
        "the Docker engine does not answer, and this test needs it: {}",
        String::from_utf8_lossy(&info.stderr)
    );
}

/// Builds `image` (name:tag) from deploy/Dockerfile with the given artifact,
/// through deploy/build-image.sh, the script `make image` runs. Returns the
/// image's size in bytes.
pub fn build_image(image: &str, artifact: &Path) -> u64 {
    require_docker();
    let (name, tag) = image.rsplit_once(':').expect("an image with a tag");
    run_ok(
        Command::new(root().join("deploy/build-image.sh"))
            .arg(tag)
            .arg(artifact)
            .env("HEARTLAB_IMAGE_NAME", name),
    );
    inspect(image, "{{.Size}}").parse().expect("a size")
}

/// One field of `docker image inspect`.
pub fn inspect(image: &str, format: &str) -> String {
    let out = run_ok(Command::new("docker").args(["image", "inspect", "--format", format, image]));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A running container, removed when dropped.
pub struct Container {
    pub id: String,
    /// The host port (on 127.0.0.1) published for the container's port.
    pub host_port: u16,
}

/// A file to bind-mount read-only over a path inside the container.
pub struct Mount<'a> {
    pub source: &'a Path,
    pub target: &'a str,
}

impl Container {
    /// Starts the image with the Deployment's settings: its user and group,
    /// read-only root, dropped capabilities, no privilege escalation, its
    /// environment, command and arguments, and its port published on the
    /// loopback address only.
    pub fn start(settings: &ContainerSettings, mounts: &[Mount]) -> Container {
        require_docker();
        let mut cmd = Command::new("docker");
        cmd.args(["run", "--detach"]);
        cmd.arg("--user").arg(format!(
            "{}:{}",
            settings.run_as_user, settings.run_as_group
        ));
        if settings.read_only_root {
            cmd.arg("--read-only");
        }
        if settings.drop_all_capabilities {
            cmd.args(["--cap-drop", "ALL"]);
        }
        if settings.no_privilege_escalation {
            cmd.args(["--security-opt", "no-new-privileges"]);
        }
        for (k, v) in &settings.env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        cmd.arg("--publish")
            .arg(format!("127.0.0.1::{}", settings.port));
        for m in mounts {
            cmd.arg("--mount").arg(format!(
                "type=bind,source={},target={},readonly",
                m.source.display(),
                m.target
            ));
        }
        if let Some((entry, rest)) = settings.command.split_first() {
            cmd.arg("--entrypoint").arg(entry);
            cmd.arg(&settings.image).args(rest);
        } else {
            cmd.arg(&settings.image);
        }
        cmd.args(&settings.args);
        let id = String::from_utf8_lossy(&run_ok(&mut cmd).stdout)
            .trim()
            .to_owned();

        let port =
            run_ok(Command::new("docker").args(["port", &id, &format!("{}/tcp", settings.port)]));
        let port = String::from_utf8_lossy(&port.stdout);
        let host_port = port
            .lines()
            .find_map(|l| l.strip_prefix("127.0.0.1:"))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no published port in `docker port`: {port}"));
        Container { id, host_port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.host_port)
    }

    /// Sends a signal, as the kubelet does when the pod is deleted.
    pub fn signal(&self, signal: &str) {
        run_ok(Command::new("docker").args(["kill", "--signal", signal, &self.id]));
    }

    /// Whether it runs, and its exit code once it stopped.
    pub fn state(&self) -> (bool, i64) {
        let out = run_ok(Command::new("docker").args([
            "inspect",
            "--format",
            "{{.State.Running}} {{.State.ExitCode}}",
            &self.id,
        ]));
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        let running = parts.next() == Some("true");
        let code = parts.next().and_then(|c| c.parse().ok()).unwrap_or(-1);
        (running, code)
    }

    /// Waits for the container to stop; its exit code and how long it took,
    /// or None if it still ran after `limit`.
    pub fn wait_exit(&self, limit: Duration) -> Option<(i64, Duration)> {
        let start = Instant::now();
        while start.elapsed() < limit {
            let (running, code) = self.state();
            if !running {
                return Some((code, start.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn logs(&self) -> String {
        let out = Command::new("docker")
            .args(["logs", &self.id])
            .output()
            .expect("docker logs runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The host pid of the container's server process.
    fn pid(&self) -> String {
        let out = run_ok(Command::new("docker").args([
            "inspect",
            "--format",
            "{{.State.Pid}}",
            &self.id,
        ]));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// CPU time the server process has used (user + system), from
    /// /proc/PID/stat, in clock ticks of 1/100 s.
    pub fn cpu_seconds(&self) -> f64 {
        let pid = self.pid();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // Fields after the command name, which is in parentheses.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks as f64 / 100.0
    }

    /// The server process's resident memory now and at its peak (VmRSS and
    /// VmHWM, KiB), read from /proc on the host: what the kernel charges to
    /// the container, binary pages included.
    pub fn resident_kib(&self) -> (u64, u64) {
        let pid = self.pid();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("/proc/{pid}/status of the container's server: {e}"));
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// The container's memory, from the engine's statistics.
    pub fn memory_usage(&self) -> String {
        let out = run_ok(Command::new("docker").args([
            "stats",
            "--no-stream",
            "--format",
            "{{.MemUsage}}",
            &self.id,
        ]));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "--force", &self.id])
            .output();
    }
}
