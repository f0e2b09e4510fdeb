//! The rendered manifests, and a container's settings read out of them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::{require_program, root, run_ok};

/// Every kustomization a reader can build, relative to `deploy/k8s`.
pub const OVERLAYS: [&str; 3] = ["base", "overlays/kind", "overlays/canary"];

/// The overlays that are deployed (the base alone is never applied).
pub const DEPLOYED: [&str; 2] = ["overlays/kind", "overlays/canary"];

/// Renders one kustomization with `kubectl kustomize` into its objects.
pub fn render(overlay: &str) -> Vec<Value> {
    let kubectl = require_program(
        "kubectl",
        "install it (`apt-get install kubernetes-client` on Debian; .ci/run does)",
    );
    let dir = root().join("deploy/k8s").join(overlay);
    let output = run_ok(Command::new(kubectl).arg("kustomize").arg(&dir));
    let text = String::from_utf8(output.stdout).expect("kustomize writes UTF-8");
    parse_yaml_stream(&text)
}

/// Parses a stream of YAML documents into JSON values, skipping empty ones.
pub fn parse_yaml_stream(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| {
            use serde::Deserialize;
            Value::deserialize(doc).expect("kustomize writes valid YAML")
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// The kubernetes-validate program in the lab's venv (`make setup` installs
/// it from lab/requirements-deploy.txt), or on PATH.
pub fn kubernetes_validate() -> PathBuf {
    let cache = std::env::var_os("HEARTLAB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/heartlab")));
    let venv = std::env::var_os("VENV")
        .map(PathBuf::from)
        .or_else(|| cache.map(|c| c.join("venv")));
    if let Some(program) = venv.map(|v| v.join("bin/kubernetes-validate")) {
        if program.is_file() {
            return program;
        }
    }
    require_program(
        "kubernetes-validate",
        "run `make setup`, which installs lab/requirements-deploy.txt into the lab's venv",
    )
}

/// Every object of a kind.
pub fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The one object of a kind and name; fails the test when it is missing.
pub fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} named {name} in the rendered objects"))
}

/// A label map as pairs.
pub fn labels(map: &Value) -> BTreeMap<String, String> {
    map.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether every pair of a selector is among the labels.
pub fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// An HTTP probe, as the kubelet reads it (defaults from the API reference).
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub path: String,
    pub port: u16,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl Probe {
    fn read(probe: &Value, ports: &BTreeMap<String, u16>, which: &str) -> Probe {
        let get = &probe["httpGet"];
        assert!(
            get.is_object(),
            "the {which} probe is not an httpGet probe: {probe}"
        );
        let port = match &get["port"] {
            Value::String(name) => *ports
                .get(name)
                .unwrap_or_else(|| panic!("the {which} probe names port {name}, not declared")),
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap(),
            other => panic!("the {which} probe's port is {other}"),
        };
        let seconds = |field: &str, default: u64| {
            Duration::from_secs(probe[field].as_u64().unwrap_or(default))
        };
        let count = |field: &str, default: u64| {
            u32::try_from(probe[field].as_u64().unwrap_or(default)).expect("a small count")
        };
        Probe {
            path: get["path"].as_str().unwrap_or("/").to_owned(),
            port,
            initial_delay: seconds("initialDelaySeconds", 0),
            period: seconds("periodSeconds", 10),
            timeout: seconds("timeoutSeconds", 1),
            success_threshold: count("successThreshold", 1),
            failure_threshold: count("failureThreshold", 3),
        }
    }
}

/// What `docker run` needs to start a container as the kubelet would start
/// the Deployment's: everything is read from the rendered objects.
#[derive(Debug, Clone)]
pub struct ContainerSettings {
    pub image: String,
    /// The container's command, if it overrides the image's entrypoint.
    pub command: Vec<String>,
    pub args: Vec<String>,
    /// `env` and every `envFrom` ConfigMap, resolved.
    pub env: BTreeMap<String, String>,
    /// The port named `http`, where the Service sends traffic.
    pub port: u16,
    pub run_as_user: u64,
    pub run_as_group: u64,
    pub read_only_root: bool,
    pub drop_all_capabilities: bool,
    pub no_privilege_escalation: bool,
    pub startup: Probe,
    pub readiness: Probe,
    pub liveness: Probe,
    pub termination_grace: Duration,
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The settings of a Deployment's one container (pod-level security
/// settings apply where the container sets none, as in Kubernetes).
pub fn container_settings(objects: &[Value], deployment: &str) -> ContainerSettings {
    let pod = &named(objects, "Deployment", deployment)["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "{deployment}: one container expected");
    let c = &containers[0];

    let ports: BTreeMap<String, u16> = c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = u16::try_from(p["containerPort"].as_u64()?).ok()?;
            Some((p["name"].as_str()?.to_owned(), port))
        })
        .collect();
    let port = *ports.get("http").expect("a container port named http");

    let mut env = BTreeMap::new();
    for from in c["envFrom"].as_array().into_iter().flatten() {
        let name = from["configMapRef"]["name"]
            .as_str()
            .expect("envFrom a ConfigMap");
        let data = &named(objects, "ConfigMap", name)["data"];
        for (k, v) in data.as_object().expect("ConfigMap data") {
            env.insert(k.clone(), v.as_str().unwrap_or_default().to_owned());
        }
    }
    for var in c["env"].as_array().into_iter().flatten() {
        let value = var["value"].as_str().expect("plain env values only");
        env.insert(var["name"].as_str().unwrap().to_owned(), value.to_owned());
    }

    let security = |field: &str| {
        let own = &c["securityContext"][field];
        if own.is_null() {
            pod["securityContext"][field].clone()
        } else {
            own.clone()
        }
    };
    let drop = strings(&c["securityContext"]["capabilities"]["drop"]);

    ContainerSettings {
        image: c["image"].as_str().expect("an image").to_owned(),
        command: strings(&c["command"]),
        args: strings(&c["args"]),
        env,
        port,
        run_as_user: security("runAsUser").as_u64().expect("runAsUser set"),
        run_as_group: security("runAsGroup").as_u64().expect("runAsGroup set"),
        read_only_root: c["securityContext"]["readOnlyRootFilesystem"] == true,
        drop_all_capabilities: drop.iter().any(|d| d == "ALL"),
        no_privilege_escalation: c["securityContext"]["allowPrivilegeEscalation"] == false,
        startup: Probe::read(&c["startupProbe"], &ports, "startup"),
        readiness: Probe::read(&c["readinessProbe"], &ports, "readiness"),
        liveness: Probe::read(&c["livenessProbe"], &ports, "liveness"),
        termination_grace: Duration::from_secs(
            pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30),
        ),
    }
}
