//! deploy/deploy.sh (what `make deploy`, `undeploy`, `canary`, `promote` and
//! `rollback` run), with stand-ins for kind, kubectl, docker, curl and the
//! image build on PATH that record their calls. kind cannot run on this
//! machine (no node image can be pulled), so this is where the script's own
//! logic is tested: cluster present or absent, a failed rollout, a missing
//! tool, each command run twice.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use heartlab_deploy_tests::{require_program, root};

/// The stand-ins. Each appends its name and arguments to $STANDIN_LOG; what
/// they answer is set by STANDIN_* variables.
const STANDINS: [(&str, &str); 5] = [
    (
        "kind",
        r#"echo "kind $*" >> "$STANDIN_LOG"
if [ "$1 $2" = "get clusters" ]; then
  [ -n "${STANDIN_CLUSTERS:-}" ] && echo "$STANDIN_CLUSTERS"
fi
exit 0"#,
    ),
    (
        "kubectl",
        r#"echo "kubectl $*" >> "$STANDIN_LOG"
args=" $* "
case "$args" in
  *" kustomize "*) echo "        image: heartlab-server:0.1.0-model-1"; exit 0 ;;
  *" rollout status "*) exit "${STANDIN_ROLLOUT_RC:-0}" ;;
  *" get deployment/heartlab-server-canary "*) [ "${STANDIN_CANARY:-0}" = 1 ]; exit ;;
  *" get deployment/heartlab-server "*) [ "${STANDIN_STABLE:-1}" = 1 ]; exit ;;
  *" port-forward "*) exec sleep 30 ;;
  *" apply -f - "*) cat > "$STANDIN_LOG.applied"; exit 0 ;;
esac
exit 0"#,
    ),
    ("docker", r#"echo "docker $*" >> "$STANDIN_LOG""#),
    (
        "curl",
        r#"echo "curl $*" >> "$STANDIN_LOG"
echo '{"probability":0.25,"disease":false}'"#,
    ),
    ("build-image", r#"echo "build-image $*" >> "$STANDIN_LOG""#),
];

/// The programs the script itself uses, linked from this machine, so PATH
/// can hold exactly these and the stand-ins.
const TOOLS: [&str; 9] = [
    "bash", "sed", "grep", "cat", "rm", "mktemp", "sleep", "seq", "env",
];

struct Stage {
    dir: tempfile::TempDir,
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
    calls: Vec<String>,
}

impl Run {
    fn called(&self, prefix: &str) -> bool {
        self.calls.iter().any(|c| c.starts_with(prefix))
    }

    /// The position of the first call starting with `prefix`.
    fn at(&self, prefix: &str) -> usize {
        self.calls
            .iter()
            .position(|c| c.starts_with(prefix))
            .unwrap_or_else(|| panic!("no call `{prefix}…` among {:#?}", self.calls))
    }
}

impl Stage {
    /// A PATH with every stand-in except those named in `missing`.
    fn new(missing: &[&str]) -> Stage {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for (name, body) in STANDINS {
            if missing.contains(&name) {
                continue;
            }
            let path = bin.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for tool in TOOLS {
            let real = require_program(tool, "a standard tool of every Linux machine");
            std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
        }
        Stage { dir }
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    fn run(&self, command: &str, env: &[(&str, &str)]) -> Run {
        let _ = std::fs::remove_file(self.log());
        let out = Command::new("/bin/bash")
            .arg(root().join("deploy/deploy.sh"))
            .arg(command)
            .env_clear()
            .env("PATH", self.bin())
            .env("HOME", self.dir.path())
            .env("STANDIN_LOG", self.log())
            .env("HEARTLAB_BUILD_IMAGE", self.bin().join("build-image"))
            .env("HEARTLAB_ARTIFACT", "/models/v1/artifact.json")
            .env("HEARTLAB_CANARY_ARTIFACT", "/models/v2/artifact.json")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let calls = std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            calls,
        }
    }
}

fn path_in_repo(path: &str) -> String {
    root().join(path).display().to_string()
}

#[test]
fn deploy_creates_the_missing_cluster_then_builds_loads_applies_waits_and_predicts() {
    let stage = Stage::new(&[]);
    let run = stage.run("deploy", &[]);
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);

    let create = run.at(&format!(
        "kind create cluster --name heartlab --config {}",
        path_in_repo("deploy/kind/cluster.yaml")
    ));
    let build = run.at("build-image 0.1.0-model-1 /models/v1/artifact.json");
    let load = run.at("kind load docker-image heartlab-server:0.1.0-model-1 --name heartlab");
    let apply = run.at(&format!(
        "kubectl --context kind-heartlab --namespace heartlab apply -k {}",
        path_in_repo("deploy/k8s/overlays/kind")
    ));
    let wait = run.at(
        "kubectl --context kind-heartlab --namespace heartlab rollout status \
         deployment/heartlab-server",
    );
    let forward = run.at(
        "kubectl --context kind-heartlab --namespace heartlab port-forward \
         service/heartlab-server 18080:80",
    );
    let predict = run.at("curl ");
    assert!(create < build && build < load && load < apply && apply < wait);
    assert!(wait < forward && forward < predict);
    assert!(run.calls[predict].contains("http://127.0.0.1:18080/v1/predict"));
    assert!(run.calls[predict].contains(&path_in_repo("deploy/example-patient.json")));
    assert!(
        run.stdout
            .contains(r#"{"probability":0.25,"disease":false}"#),
        "{}",
        run.stdout
    );
}

#[test]
fn deploy_run_again_finds_the_cluster_and_does_not_create_another() {
    let stage = Stage::new(&[]);
    let run = stage.run("deploy", &[("STANDIN_CLUSTERS", "other\nheartlab")]);
    assert!(run.ok, "{}", run.stderr);
    assert!(!run.called("kind create"), "{:#?}", run.calls);
    assert!(run.stdout.contains("kind cluster 'heartlab' exists"));
    assert!(run.called("kind load docker-image heartlab-server:0.1.0-model-1"));
    assert!(run.called("curl "));
}

#[test]
fn a_failed_rollout_stops_with_the_reason_and_makes_no_prediction() {
    let stage = Stage::new(&[]);
    let run = stage.run(
        "deploy",
        &[
            ("STANDIN_CLUSTERS", "heartlab"),
            ("STANDIN_ROLLOUT_RC", "1"),
        ],
    );
    assert!(!run.ok);
    assert!(
        run.stderr.contains("did not become ready"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("previous pods are still serving"),
        "{}",
        run.stderr
    );
    assert!(run.called("kubectl --context kind-heartlab --namespace heartlab get pods"));
    assert!(!run.called("curl"), "{:#?}", run.calls);
    assert!(!run.called("kubectl --context kind-heartlab --namespace heartlab port-forward"));
}

#[test]
fn a_missing_tool_stops_every_command_before_anything_runs() {
    for (tool, commands) in [
        ("docker", &["deploy", "canary"][..]),
        (
            "kind",
            &["deploy", "undeploy", "canary", "promote", "rollback"][..],
        ),
        (
            "kubectl",
            &["deploy", "undeploy", "canary", "promote", "rollback"][..],
        ),
    ] {
        let stage = Stage::new(&[tool]);
        for command in commands {
            let run = stage.run(command, &[("STANDIN_CLUSTERS", "heartlab")]);
            assert!(!run.ok, "{command} ran without {tool}");
            assert!(
                run.stderr
                    .contains(&format!("{tool} is not installed: https://")),
                "{command} without {tool}: {}",
                run.stderr
            );
            assert!(
                run.calls.is_empty(),
                "{command} without {tool} ran {:#?}",
                run.calls
            );
        }
    }
}

#[test]
fn undeploy_removes_both_tracks_and_is_safe_without_a_cluster() {
    let stage = Stage::new(&[]);
    let run = stage.run("undeploy", &[("STANDIN_CLUSTERS", "heartlab")]);
    assert!(run.ok, "{}", run.stderr);
    assert!(run.called(&format!(
        "kubectl --context kind-heartlab --namespace heartlab delete -k {} --ignore-not-found",
        path_in_repo("deploy/k8s/overlays/canary")
    )));

    for _ in 0..2 {
        let run = stage.run("undeploy", &[]);
        assert!(run.ok, "{}", run.stderr);
        assert!(run.stdout.contains("nothing to remove"));
        assert!(!run.called("kubectl"), "{:#?}", run.calls);
    }
}

#[test]
fn canary_needs_the_stable_track_then_runs_the_next_model_beside_it() {
    let stage = Stage::new(&[]);
    let run = stage.run(
        "canary",
        &[("STANDIN_CLUSTERS", "heartlab"), ("STANDIN_STABLE", "0")],
    );
    assert!(!run.ok);
    assert!(
        run.stderr.contains("run 'make deploy' first"),
        "{}",
        run.stderr
    );
    assert!(!run.called("build-image"));

    let run = stage.run("canary", &[]);
    assert!(!run.ok, "a canary without a cluster");
    assert!(
        run.stderr.contains("no kind cluster 'heartlab'"),
        "{}",
        run.stderr
    );

    let run = stage.run("canary", &[("STANDIN_CLUSTERS", "heartlab")]);
    assert!(run.ok, "{}", run.stderr);
    let build = run.at("build-image 0.1.0-model-2 /models/v2/artifact.json");
    let load = run.at("kind load docker-image heartlab-server:0.1.0-model-2 --name heartlab");
    let apply = run.at(&format!(
        "kubectl --context kind-heartlab --namespace heartlab apply -k {}",
        path_in_repo("deploy/k8s/overlays/canary")
    ));
    let wait = run.at(
        "kubectl --context kind-heartlab --namespace heartlab rollout status \
         deployment/heartlab-server-canary",
    );
    assert!(build < load && load < apply && apply < wait);
    assert!(run.stdout.contains("1 of every 4 requests"));
}

#[test]
fn promote_gives_the_stable_track_the_canary_image_and_is_a_no_op_without_a_canary() {
    let stage = Stage::new(&[]);
    let cluster = ("STANDIN_CLUSTERS", "heartlab");
    let run = stage.run("promote", &[cluster, ("STANDIN_CANARY", "1")]);
    assert!(run.ok, "{}", run.stderr);
    let applied = std::fs::read_to_string(format!("{}.applied", stage.log().display())).unwrap();
    assert!(
        applied.contains("image: heartlab-server:0.1.0-model-2"),
        "{applied}"
    );
    assert!(!applied.contains("model-1"), "{applied}");
    let apply = run.at("kubectl --context kind-heartlab --namespace heartlab apply -f -");
    let wait = run.at(
        "kubectl --context kind-heartlab --namespace heartlab rollout status \
         deployment/heartlab-server",
    );
    let delete = run.at(
        "kubectl --context kind-heartlab --namespace heartlab delete deployment,configmap \
         -l heartlab.dev/track=canary --ignore-not-found",
    );
    assert!(apply < wait && wait < delete, "{:#?}", run.calls);
    assert!(run
        .stdout
        .contains("Write 0.1.0-model-2 into deploy/k8s/workload/deployment.yaml"));

    // Run again, once the canary is gone: nothing to do, nothing changed.
    let run = stage.run("promote", &[cluster]);
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stdout.contains("nothing to promote"));
    assert!(!run.called("kubectl --context kind-heartlab --namespace heartlab apply"));
}

#[test]
fn rollback_removes_only_the_canary_and_can_run_twice() {
    let stage = Stage::new(&[]);
    for _ in 0..2 {
        let run = stage.run("rollback", &[("STANDIN_CLUSTERS", "heartlab")]);
        assert!(run.ok, "{}", run.stderr);
        let delete = run.at(
            "kubectl --context kind-heartlab --namespace heartlab delete deployment,configmap \
             -l heartlab.dev/track=canary --ignore-not-found",
        );
        let apply = run.at(&format!(
            "kubectl --context kind-heartlab --namespace heartlab apply -k {}",
            path_in_repo("deploy/k8s/overlays/kind")
        ));
        assert!(delete < apply);
        assert!(!run.called("build-image") && !run.called("kind load"));
    }
}

#[test]
fn the_scripts_pass_shellcheck() {
    let shellcheck = require_program(
        "shellcheck",
        "install it (`apt-get install shellcheck`; .ci/run does)",
    );
    let scripts: Vec<PathBuf> = ["deploy/deploy.sh", "deploy/build-image.sh"]
        .iter()
        .map(|s| root().join(s))
        .collect();
    let out = Command::new(shellcheck).args(&scripts).output().unwrap();
    assert!(
        out.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(scripts.iter().all(|s| Path::new(s).is_file()));
}
