//! werf's deploy annotations against the real control plane: the order of
//! creation read from the API server's watch events (weights, deploy
//! dependencies that override them, external dependencies, deploy-on),
//! replicas-on-creation, resource policies, ownership between releases,
//! fail modes with the no-activity timeout, `davit plan`, an upgrade of a
//! release Helm installed, and two converges of one release at once.

mod build_common;
mod kube_common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use build_common::unique;
use davit_testkit::fixtures::{git, testenv as env, write};
use kube_common::{commit, davit, get, helm, helm_release, ok, request, text, Watch};
use serde_json::{json, Value};

fn name(prefix: &str) -> String {
    let n = unique(prefix).replace('_', "-");
    n[..n.len().min(40)].to_string()
}

fn project(name: &str, templates: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    write(
        dir,
        "werf.yaml",
        &format!("project: {name}\nconfigVersion: 1\n"),
    );
    write(
        dir,
        ".helm/Chart.yaml",
        &format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n"),
    );
    write(
        dir,
        ".helm/values.yaml",
        "tag: \"1\"\nsecret: hunter2-in-plan\n",
    );
    write(dir, ".helm/templates/app.yaml", templates);
    commit(dir, "init");
    tmp
}

fn deployment(name: &str, extra_meta: &str, replicas: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n{extra_meta}spec:\n{replicas}  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: main\n        image: example.invalid/{name}:1\n"
    )
}

/// The resourceVersion of the first event of `kind`/`name` of `type_`,
/// and of the first one that `pred` accepts.
fn event_rv(events: &[Value], type_: &str, name: &str, pred: impl Fn(&Value) -> bool) -> u64 {
    events
        .iter()
        .find(|e| {
            e["type"] == type_ && e["object"]["metadata"]["name"] == name && pred(&e["object"])
        })
        .and_then(|e| e["object"]["metadata"]["resourceVersion"].as_str())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no {type_} event of {name}: {events:?}"))
}

#[test]
fn dependencies_weights_deploy_on_and_policies_order_and_shape_the_deploy() {
    let ns = name("order");
    let ns = ns.as_str();
    let templates = [
        // Weight -10, but its dependency on db (weight 10) comes first.
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: needs-db\n  annotations:\n    werf.io/weight: \"-10\"\n    werf.io/deploy-dependency-db: state=ready,kind=Deployment,name=db\ndata: {}\n".to_string(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\ndata: {}\n".to_string(),
        deployment("db", "  annotations:\n    werf.io/weight: \"10\"\n", "  replicas: 1\n"),
        deployment("scaled", "  annotations:\n    werf.io/replicas-on-creation: \"3\"\n", ""),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: early\n  annotations:\n    werf.io/deploy-on: pre-install\ndata: {}\n".to_string(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: waits-outside\n  annotations:\n    outside.external-dependency.werf.io/resource: configmap/outside\ndata: {}\n".to_string(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations:\n    werf.io/resource-policy: keep\ndata: {}\n".to_string(),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: {{ .Values.secret }}\n".to_string(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tagged\ndata:\n  tag: {{ .Values.tag | quote }}\n".to_string(),
    ]
    .join("---\n");
    let p = project(ns, &templates);
    let dir = p.path();

    // Nothing deployed: the plan creates everything, exit status 2.
    let out = davit(dir, &["plan", "--exit-code"], &[]);
    let plan = text(&out);
    assert_eq!(out.status.code(), Some(2), "{plan}");
    assert!(plan.contains("create    ConfigMap/needs-db"), "{plan}");
    assert!(
        !plan.contains("hunter2-in-plan"),
        "a secret value in the plan:\n{plan}"
    );
    assert!(plan.contains("<sensitive, sha256"), "{plan}");

    let cms = Watch::start(&format!("/api/v1/namespaces/{ns}/configmaps"));
    let deps = Watch::start(&format!("/apis/apps/v1/namespaces/{ns}/deployments"));
    let child = Command::new(env!("CARGO_BIN_EXE_davit"))
        .args([
            "converge",
            "--timeout",
            "90",
            "--status-progress-period",
            "1",
        ])
        .arg("--kube-config")
        .arg(env("DAVIT_TEST_KUBECONFIG"))
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The external dependency appears a little later.
    std::thread::sleep(Duration::from_secs(3));
    let created = request(
        "POST",
        &format!("/api/v1/namespaces/{ns}/configmaps"),
        "application/json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "outside"}}),
    );
    assert_eq!(created["metadata"]["name"], "outside", "{created}");
    let out = child.wait_with_output().unwrap();
    let log = ok(&out);
    assert!(
        log.contains("external ConfigMap/outside"),
        "the wait is shown: {log}"
    );

    let cm = cms.events();
    let dp = deps.events();
    let all: Vec<Value> = cm.iter().chain(&dp).cloned().collect();
    let added = |n: &str| event_rv(&all, "ADDED", n, |_| true);
    // deploy-on: pre-install comes before the main stage.
    assert!(added("early") < added("base"));
    // Weight 0 before weight 10.
    assert!(added("base") < added("db"));
    // The dependency: after db is ready, despite its weight of -10.
    let db_ready = event_rv(&all, "MODIFIED", "db", |o| {
        o["status"]["availableReplicas"] == 1
    });
    assert!(
        db_ready < added("needs-db"),
        "needs-db waited for db to be ready"
    );
    // The external dependency: after it exists.
    assert!(added("outside") < added("waits-outside"));

    // replicas-on-creation: 3 at creation, then what is there is kept.
    let scaled = get(&format!("/apis/apps/v1/namespaces/{ns}/deployments/scaled")).unwrap();
    assert_eq!(scaled["spec"]["replicas"], 3);
    let scaled_up = request(
        "PATCH",
        &format!("/apis/apps/v1/namespaces/{ns}/deployments/scaled"),
        "application/merge-patch+json",
        &json!({"spec": {"replicas": 2}}),
    );
    assert_eq!(scaled_up["spec"]["replicas"], 2, "{scaled_up}");

    // A value change: the plan shows it, with the old and new values.
    write(
        dir,
        ".helm/values.yaml",
        "tag: \"2\"\nsecret: hunter2-changed\n",
    );
    let without_kept = templates.replace(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations:\n    werf.io/resource-policy: keep\ndata: {}\n---\n",
        "",
    );
    assert_ne!(without_kept, templates);
    write(dir, ".helm/templates/app.yaml", &without_kept);
    commit(dir, "v2");
    let out = davit(dir, &["plan", "--exit-code"], &[]);
    let plan = text(&out);
    assert_eq!(out.status.code(), Some(2), "{plan}");
    assert!(plan.contains("update    ConfigMap/tagged"), "{plan}");
    assert!(
        plan.contains("-  tag: \"1\"") && plan.contains("+  tag: \"2\""),
        "{plan}"
    );
    assert!(plan.contains("update    Secret/creds"), "{plan}");
    assert!(
        !plan.contains("hunter2"),
        "a secret value in the plan:\n{plan}"
    );
    assert!(
        !plan.contains("ConfigMap/base"),
        "unchanged resources are not listed: {plan}"
    );
    assert!(
        !plan.contains("kept"),
        "kept resources are not deleted: {plan}"
    );

    ok(&davit(dir, &["converge", "--timeout", "60"], &[]));
    let scaled = get(&format!("/apis/apps/v1/namespaces/{ns}/deployments/scaled")).unwrap();
    assert_eq!(
        scaled["spec"]["replicas"], 2,
        "replicas-on-creation only on creation"
    );
    assert!(
        get(&format!("/api/v1/namespaces/{ns}/configmaps/kept")).is_some(),
        "werf.io/resource-policy: keep"
    );
    let out = davit(dir, &["plan", "--exit-code"], &[]);
    let plan = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no change after converge: {plan}"
    );

    // Another release cannot take over a resource of this one.
    let other = project(
        &format!("{ns}-b"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\ndata: {}\n",
    );
    let out = davit(other.path(), &["converge", "--namespace", ns], &[]);
    assert!(!out.status.success());
    let log = text(&out);
    assert!(log.contains(&format!("belongs to release {ns}")), "{log}");
    assert!(log.contains("hint"), "{log}");

    ok(&davit(dir, &["dismiss", "--with-namespace"], &[]));
}

#[test]
fn fail_modes_and_the_no_activity_timeout() {
    let ns = name("failmode");
    let ns = ns.as_str();
    // Never schedulable: nothing about it changes.
    let stuck = |extra: &str| {
        deployment(
            "stuck",
            &format!("  annotations:\n    werf.io/no-activity-timeout: 3s\n{extra}"),
            "  replicas: 1\n",
        )
        .replace(
            "    spec:\n      containers:",
            "    spec:\n      nodeSelector: {davit.test/none: \"true\"}\n      containers:",
        )
    };
    let p = project(
        ns,
        &format!(
            "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  annotations:\n    werf.io/weight: \"1\"\ndata: {{}}\n",
            stuck("    werf.io/fail-mode: IgnoreAndContinueDeployProcess\n")
        ),
    );
    let dir = p.path();
    let log = ok(&davit(dir, &["converge", "--timeout", "60"], &[]));
    assert!(log.contains("no activity for 3s"), "{log}");
    assert!(log.contains("IgnoreAndContinueDeployProcess"), "{log}");
    assert!(get(&format!("/api/v1/namespaces/{ns}/configmaps/after")).is_some());

    // The default fail mode: the same wait fails the deploy, well before --timeout.
    write(dir, ".helm/templates/app.yaml", &stuck(""));
    commit(dir, "fail");
    let started = std::time::Instant::now();
    let out = davit(dir, &["converge", "--timeout", "60"], &[]);
    assert!(!out.status.success());
    let log = text(&out);
    assert!(log.contains("no activity for 3s"), "{log}");
    assert!(started.elapsed() < Duration::from_secs(40), "{log}");
    assert!(log.contains("recorded as failed"), "{log}");
    ok(&davit(dir, &["dismiss", "--with-namespace"], &[]));
}

/// A plain Helm chart at `.helm`, installed by Helm itself.
#[test]
fn davit_upgrades_a_release_helm_installed() {
    let ns = name("fromhelm");
    let ns = ns.as_str();
    let p = project(
        ns,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  tag: {{ .Values.tag | quote }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only-in-v1\ndata: {}\n",
    );
    let dir = p.path();
    let out = helm(&[
        "install",
        ns,
        dir.join(".helm").to_str().unwrap(),
        "-n",
        ns,
        "--create-namespace",
        "--wait",
    ]);
    assert!(out.status.success(), "helm install: {}", text(&out));
    write(dir, ".helm/values.yaml", "tag: \"2\"\n");
    write(
        dir,
        ".helm/templates/app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  tag: {{ .Values.tag | quote }}\n",
    );
    commit(dir, "v2");
    // As a GitHub Actions step: log groups, step outputs, job summary.
    let outputs = dir.join("github-output");
    let summary = dir.join("github-summary");
    let out = davit(
        dir,
        &["converge", "--timeout", "60", "--save-deploy-report"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    let log = ok(&out);
    assert!(log.contains("revision 2 (upgrade)"), "{log}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("::group::upgrade") && stdout.contains("::endgroup::"),
        "{stdout}"
    );
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    assert!(
        outputs.contains(&format!(
            "release={ns}\nnamespace={ns}\nrevision=2\nstatus=deployed"
        )),
        "{outputs}"
    );
    assert!(std::fs::read_to_string(&summary)
        .unwrap()
        .contains("davit converge: deployed"));
    assert!(log.contains("deleted ConfigMap/only-in-v1"), "{log}");
    let cfg = get(&format!("/api/v1/namespaces/{ns}/configmaps/cfg")).unwrap();
    assert_eq!(cfg["data"]["tag"], "2");
    let rel = helm_release(ns, ns);
    assert_eq!(rel["revision"], "2", "{rel}");
    assert_eq!(rel["status"], "deployed", "{rel}");
    let history: Value =
        serde_json::from_slice(&helm(&["history", ns, "-n", ns, "-o", "json"]).stdout).unwrap();
    assert_eq!(history[0]["status"], "superseded", "{history}");
    // And Helm upgrades it again after davit.
    let out = helm(&[
        "upgrade",
        ns,
        dir.join(".helm").to_str().unwrap(),
        "-n",
        ns,
        "--set",
        "tag=3",
    ]);
    assert!(
        out.status.success(),
        "helm upgrade after davit: {}",
        text(&out)
    );
    let cfg = get(&format!("/api/v1/namespaces/{ns}/configmaps/cfg")).unwrap();
    assert_eq!(cfg["data"]["tag"], "3");
    // The deploy report names the release for dismiss.
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".werf-deploy-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["Release"], ns, "{report}");
    ok(&davit(
        dir,
        &["dismiss", "--use-deploy-report", "--with-namespace"],
        &[],
    ));
    assert!(helm_release(ns, ns).is_null());
}

#[test]
fn two_converges_of_one_release_at_once_take_turns() {
    let ns = name("twice");
    let ns = ns.as_str();
    let p = project(
        ns,
        &format!(
            "{}---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: m, image: example.invalid/m:1}}]\n",
            deployment("web", "", "  replicas: 2\n")
        ),
    );
    let dir: &Path = p.path();
    // The namespace first, so both start on the lock, not on its creation.
    let created = request(
        "POST",
        "/api/v1/namespaces",
        "application/json",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    );
    assert_eq!(created["metadata"]["name"], ns, "{created}");
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_davit"))
            .args(["converge", "--timeout", "90"])
            .arg("--kube-config")
            .arg(env("DAVIT_TEST_KUBECONFIG"))
            .current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let (la, lb) = (ok(&a), ok(&b));
    assert!(
        la.contains("waiting for the release lock") || lb.contains("waiting for the release lock"),
        "one waited for the other:\n--- a\n{la}\n--- b\n{lb}"
    );
    let history: Value =
        serde_json::from_slice(&helm(&["history", ns, "-n", ns, "-o", "json"]).stdout).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["superseded", "deployed"], "{history}");
    // Each log names its own revision; they are 1 and 2, not one twice.
    let revs: Vec<bool> = [&la, &lb]
        .iter()
        .map(|l| l.contains("revision 1 (install)"))
        .collect();
    assert!(
        revs[0] != revs[1],
        "one installed, the other upgraded:\n{la}\n{lb}"
    );
    ok(&davit(dir, &["dismiss", "--with-namespace"], &[]));
}

#[test]
fn pod_failures_count_against_failures_allowed_per_replica() {
    let ns = name("podfail");
    let ns = ns.as_str();
    // kwok's chaos stage fails the container of every pod with this label.
    let failing = |annotations: &str| {
        // Available only after 5 s of readiness: the failure comes first.
        deployment("crashy", annotations, "  replicas: 2\n  minReadySeconds: 5\n").replace(
            "      labels: {app: crashy}\n",
            "      labels: {app: crashy, pod-container-running-failed.stage.kwok.x-k8s.io: \"true\"}\n",
        )
    };
    let p = project(
        ns,
        &failing("  annotations:\n    werf.io/failures-allowed-per-replica: \"0\"\n"),
    );
    let dir = p.path();
    let started = std::time::Instant::now();
    let out = davit(dir, &["converge", "--timeout", "60"], &[]);
    assert!(!out.status.success());
    let log = text(&out);
    assert!(log.contains("exited with 1"), "{log}");
    assert!(log.contains("0 allowed"), "{log}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "failed at once: {log}"
    );

    // The default, one failure per replica: the first failure of each
    // replica is tolerated, the ReplicaSet's next pods fail too, and then
    // the deploy fails.
    write(dir, ".helm/templates/app.yaml", &failing(""));
    commit(dir, "default");
    let out = davit(dir, &["converge", "--timeout", "60"], &[]);
    assert!(!out.status.success());
    let log = text(&out);
    assert!(
        log.contains("2 allowed: werf.io/failures-allowed-per-replica is 1 per replica"),
        "{log}"
    );
    ok(&davit(dir, &["dismiss", "--with-namespace"], &[]));
}
