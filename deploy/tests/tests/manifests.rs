//! The kustomize overlays: they render, every object validates against the
//! Kubernetes schemas offline, and the rendered objects keep the rules a
//! reviewer would check by hand (docs/decisions.md D-035 to D-039).

use std::collections::BTreeMap;
use std::process::Command;

use heartlab_deploy_tests::manifests::{
    container_settings, kubernetes_validate, labels, named, of_kind, render, selects, DEPLOYED,
    OVERLAYS,
};
use heartlab_deploy_tests::{root, run_ok};
use serde_json::Value;

/// The Kubernetes version the schemas are taken from: one that current kind
/// releases run, and the oldest the manifests are written for.
const KUBERNETES_VERSION: &str = "1.32.0";

/// Every Deployment of every deployed overlay, with the objects around it.
fn deployments() -> Vec<(String, Vec<Value>, String)> {
    let mut all = Vec::new();
    for overlay in DEPLOYED {
        let objects = render(overlay);
        for d in of_kind(&objects, "Deployment") {
            let name = d["metadata"]["name"].as_str().unwrap().to_owned();
            all.push((overlay.to_owned(), objects.clone(), name));
        }
    }
    assert!(all.len() >= 3, "kind has one Deployment and canary two");
    all
}

#[test]
fn every_overlay_renders_and_every_object_validates_against_the_schemas_offline() {
    let validate = kubernetes_validate();
    let dir = tempfile::tempdir().unwrap();
    for overlay in OVERLAYS {
        let objects = render(overlay);
        let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
        for kind in [
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Service",
            "Deployment",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler",
        ] {
            assert!(
                kinds.contains(&kind),
                "{overlay} renders no {kind}: {kinds:?}"
            );
        }

        // One file per object, so a failure names the object.
        let mut files = Vec::new();
        for (i, object) in objects.iter().enumerate() {
            let path = dir
                .path()
                .join(format!("{}-{i}.json", overlay.replace('/', "-")));
            std::fs::write(&path, serde_json::to_vec_pretty(object).unwrap()).unwrap();
            files.push(path);
        }
        let out = run_ok(
            Command::new(&validate)
                .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
                .args(&files),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.matches(" passed for resource ").count(),
            objects.len(),
            "{overlay}: every object must pass strict validation:\n{text}"
        );
    }
}

#[test]
fn a_broken_object_is_refused_by_the_validator() {
    // The validation above can fail: a Deployment with a misspelt field is
    // refused in strict mode.
    let validate = kubernetes_validate();
    let mut deployment = named(&render("overlays/kind"), "Deployment", "heartlab-server").clone();
    deployment["spec"]["replica"] = 2.into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, serde_json::to_vec(&deployment).unwrap()).unwrap();
    let out = Command::new(validate)
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a misspelt field passed validation");
}

#[test]
fn no_image_is_untagged_or_latest_and_none_is_pulled() {
    for overlay in OVERLAYS {
        for object in render(overlay) {
            let spec = &object["spec"]["template"]["spec"];
            for c in spec["containers"].as_array().into_iter().flatten() {
                let image = c["image"].as_str().unwrap();
                let tag = image.rsplit_once(':').map(|(_, t)| t);
                assert!(
                    tag.is_some_and(|t| t != "latest" && !t.contains('/')),
                    "{overlay}: image {image} must name a version"
                );
                assert_eq!(c["imagePullPolicy"], "IfNotPresent", "{overlay}: {image}");
            }
        }
    }
}

#[test]
fn every_container_has_cpu_and_memory_requests_within_its_limits() {
    fn quantity(value: &Value) -> f64 {
        let text = value
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string());
        for (suffix, factor) in [("Mi", 1_048_576.0), ("Gi", 1_073_741_824.0), ("m", 0.001)] {
            if let Some(n) = text.strip_suffix(suffix) {
                return n.parse::<f64>().unwrap() * factor;
            }
        }
        text.parse().unwrap()
    }
    for (overlay, objects, name) in deployments() {
        let pod = &named(&objects, "Deployment", &name)["spec"]["template"]["spec"];
        let resources = &pod["containers"][0]["resources"];
        for what in ["cpu", "memory"] {
            let request = &resources["requests"][what];
            let limit = &resources["limits"][what];
            assert!(!request.is_null(), "{overlay}/{name}: no {what} request");
            assert!(!limit.is_null(), "{overlay}/{name}: no {what} limit");
            assert!(
                quantity(request) <= quantity(limit),
                "{overlay}/{name}: {what} request {request} above its limit {limit}"
            );
        }
    }
}

#[test]
fn the_security_context_is_restricted() {
    for (overlay, objects, name) in deployments() {
        let pod = &named(&objects, "Deployment", &name)["spec"]["template"]["spec"];
        let at = format!("{overlay}/{name}");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{at}");
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{at}"
        );
        assert_eq!(pod["automountServiceAccountToken"], false, "{at}");
        for c in pod["containers"].as_array().unwrap() {
            let sc = &c["securityContext"];
            assert_eq!(sc["runAsNonRoot"], true, "{at}");
            assert!(
                sc["runAsUser"].as_u64().unwrap() >= 10000,
                "{at}: runAsUser below 10000"
            );
            assert!(
                sc["runAsGroup"].as_u64().unwrap() >= 10000,
                "{at}: runAsGroup below 10000"
            );
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{at}");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{at}");
            assert_eq!(sc["privileged"], false, "{at}");
            assert_eq!(
                sc["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{at}"
            );
            assert!(
                sc["capabilities"]["add"].is_null(),
                "{at}: adds capabilities"
            );
            assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{at}");
        }
    }
    // Admission enforces the same, so a loosened pod is refused in-cluster.
    let ns = named(&render("overlays/kind"), "Namespace", "heartlab").clone();
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
}

/// The GET routes the server documents, from its OpenAPI document as the
/// server crate builds it (the same document it serves at /openapi.json).
fn served_get_routes() -> Vec<String> {
    let doc = heartlab_server::openapi::document(None, 1);
    let doc = serde_json::to_value(&doc).unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    let routes: Vec<String> = paths
        .iter()
        .filter(|(_, item)| item["get"].is_object())
        .map(|(path, _)| path.clone())
        .collect();
    assert!(
        routes.len() >= 3,
        "too few GET routes documented: {routes:?}"
    );
    routes
}

#[test]
fn probes_use_the_port_the_server_listens_on_and_the_rollout_keeps_every_pod() {
    for (overlay, objects, name) in deployments() {
        let at = format!("{overlay}/{name}");
        let settings = container_settings(&objects, &name);
        let listen: u16 = settings.env["HEARTLAB_SERVER_PORT"].parse().unwrap();
        assert_eq!(
            settings.port, listen,
            "{at}: the http port is not the server's port"
        );
        for probe in [&settings.startup, &settings.readiness, &settings.liveness] {
            assert_eq!(probe.port, listen, "{at}: {probe:?} probes another port");
        }
        // Each probe's path is a GET route of the server's own OpenAPI
        // document (tests/image.rs checks the one the image serves, too).
        let routes = served_get_routes();
        for probe in [&settings.startup, &settings.readiness, &settings.liveness] {
            assert!(
                routes.contains(&probe.path),
                "{at}: {} is not served",
                probe.path
            );
        }
        assert_eq!(
            settings.readiness.path, "/readyz",
            "{at}: readiness must be the model's"
        );
        assert_ne!(
            settings.liveness.path, "/readyz",
            "{at}: liveness must not restart an unready pod"
        );

        let deployment = named(&objects, "Deployment", &name);
        let strategy = &deployment["spec"]["strategy"];
        assert_eq!(strategy["type"], "RollingUpdate", "{at}");
        assert_eq!(strategy["rollingUpdate"]["maxUnavailable"], 0, "{at}");
        assert!(
            strategy["rollingUpdate"]["maxSurge"].as_u64().unwrap() >= 1,
            "{at}"
        );

        // The kubelet's SIGKILL must come after the drain and the server's
        // own shutdown timeout, or in-flight requests are cut.
        let drain: f64 = settings.env["HEARTLAB_SERVER_DRAIN_SECONDS"]
            .parse()
            .unwrap();
        let shutdown: f64 = settings.env["HEARTLAB_SERVER_SHUTDOWN_TIMEOUT_SECONDS"]
            .parse()
            .unwrap();
        assert!(
            settings.termination_grace.as_secs_f64() > drain + shutdown,
            "{at}: grace {:?} does not cover drain {drain}s + shutdown {shutdown}s",
            settings.termination_grace
        );
        // Readiness turns false at once on SIGTERM; the drain must outlast
        // the endpoint removal, which a readiness failure alone would only
        // trigger after failureThreshold periods.
        let readiness = &settings.readiness;
        let noticed = readiness.period.as_secs_f64() * f64::from(readiness.failure_threshold);
        assert!(
            drain > noticed,
            "{at}: drain {drain}s shorter than {noticed}s"
        );

        let template = &deployment["spec"]["template"]["metadata"];
        let annotations = &template["annotations"];
        assert_eq!(annotations["prometheus.io/scrape"], "true", "{at}");
        assert_eq!(annotations["prometheus.io/path"], "/metrics", "{at}");
        assert_eq!(
            annotations["prometheus.io/port"],
            listen.to_string(),
            "{at}"
        );
    }
}

#[test]
fn selectors_labels_the_pdb_and_the_hpa_match_the_pods() {
    for overlay in DEPLOYED {
        let objects = render(overlay);
        let pods: Vec<(String, BTreeMap<String, String>)> = of_kind(&objects, "Deployment")
            .into_iter()
            .map(|d| {
                let name = d["metadata"]["name"].as_str().unwrap().to_owned();
                let pod_labels = labels(&d["spec"]["template"]["metadata"]["labels"]);
                let selector = labels(&d["spec"]["selector"]["matchLabels"]);
                assert!(
                    selects(&selector, &pod_labels),
                    "{overlay}/{name}: own pods"
                );
                (name, pod_labels)
            })
            .collect();

        // No Deployment's selector claims another's pods.
        for d in of_kind(&objects, "Deployment") {
            let selector = labels(&d["spec"]["selector"]["matchLabels"]);
            let claimed = pods.iter().filter(|(_, l)| selects(&selector, l)).count();
            assert_eq!(claimed, 1, "{overlay}: overlapping Deployment selectors");
        }

        // The Service and the PDB cover every pod, of every track.
        let service = named(&objects, "Service", "heartlab-server");
        let pdb = named(&objects, "PodDisruptionBudget", "heartlab-server");
        for (name, pod_labels) in &pods {
            assert!(
                selects(&labels(&service["spec"]["selector"]), pod_labels),
                "{name}"
            );
            let pdb_selector = labels(&pdb["spec"]["selector"]["matchLabels"]);
            assert!(
                selects(&pdb_selector, pod_labels),
                "{overlay}: PDB misses {name}"
            );
        }
        assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
        assert_eq!(pdb["spec"]["maxUnavailable"], 1, "{overlay}");

        // The HPA scales the stable Deployment, never below two pods.
        let hpa = named(&objects, "HorizontalPodAutoscaler", "heartlab-server");
        let target = hpa["spec"]["scaleTargetRef"]["name"].as_str().unwrap();
        let stable = named(&objects, "Deployment", target);
        let replicas = stable["spec"]["replicas"].as_u64().unwrap();
        assert!(replicas >= 2, "{overlay}: {replicas} replicas");
        assert_eq!(
            hpa["spec"]["minReplicas"].as_u64().unwrap(),
            replicas,
            "{overlay}"
        );
        assert!(hpa["spec"]["maxReplicas"].as_u64().unwrap() > replicas);

        // Every ConfigMap a pod reads is rendered (the generated name).
        for d in of_kind(&objects, "Deployment") {
            let c = &d["spec"]["template"]["spec"]["containers"][0];
            let name = c["envFrom"][0]["configMapRef"]["name"].as_str().unwrap();
            named(&objects, "ConfigMap", name);
        }
    }
}

#[test]
fn the_canary_runs_the_next_model_beside_the_stable_one_at_a_quarter_of_the_pods() {
    let objects = render("overlays/canary");
    let stable = named(&objects, "Deployment", "heartlab-server");
    let canary = named(&objects, "Deployment", "heartlab-server-canary");
    let image = |d: &Value| d["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    assert_ne!(
        image(stable),
        image(canary),
        "the canary must run another image"
    );
    let kind = render("overlays/kind");
    assert_eq!(
        image(stable),
        image(named(&kind, "Deployment", "heartlab-server"))
    );

    let replicas = |d: &Value| d["spec"]["replicas"].as_u64().unwrap();
    assert_eq!((replicas(stable), replicas(canary)), (3, 1));
    let spec = |d: &Value| {
        let mut c = d["spec"]["template"]["spec"]["containers"][0].clone();
        c["image"] = Value::Null;
        c["envFrom"] = Value::Null;
        c
    };
    assert_eq!(
        spec(stable),
        spec(canary),
        "the tracks differ in their image only"
    );
}

#[test]
fn the_deploy_script_builds_the_tags_the_overlays_apply() {
    let out = run_ok(Command::new(root().join("deploy/deploy.sh")).arg("images"));
    let text = String::from_utf8(out.stdout).unwrap();
    let tag = |track: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{track} ")))
            .unwrap()
            .to_owned()
    };
    let objects = render("overlays/canary");
    let image = |name: &str| {
        named(&objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        image("heartlab-server"),
        format!("heartlab-server:{}", tag("stable"))
    );
    assert_eq!(
        image("heartlab-server-canary"),
        format!("heartlab-server:{}", tag("canary"))
    );
}
