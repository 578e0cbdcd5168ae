//! `davit converge` and `dismiss` against a real control plane
//! (kube-apiserver, controller-manager, scheduler, etcd; kwok as the
//! kubelet), with the real Helm 4 reading and rolling back what davit
//! wrote. Each test has its own project, release and namespace.

mod build_common;
mod kube_common;

use std::process::Command;
use std::time::{Duration, Instant};

use build_common::unique;
use davit_testkit::fixtures::{git, testenv as env, write};
use kube_common::{commit, davit, get, helm, helm_release, ok, rv, text};
use serde_json::Value;

/// A chart with a CRD and a custom resource, a ConfigMap, a Service, a
/// Deployment and a pre-install Job hook; the namespace is the project's.
fn project(name: &str) -> tempfile::TempDir {
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
        ".helm/crds/widget.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.davit.test\nspec:\n  group: davit.test\n  names: {kind: Widget, plural: widgets, singular: widget}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n",
    );
    write(dir, ".helm/values.yaml", "replicas: 2\ntag: \"1\"\n");
    write(
        dir,
        ".helm/templates/app.yaml",
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  annotations: {werf.io/weight: "-1"}
data:
  tag: {{ .Values.tag | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: example.invalid/web:{{ .Values.tag }}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: davit.test/v1
kind: Widget
metadata:
  name: w1
spec: {size: 3}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: late
  annotations: {werf.io/weight: "5"}
data: {}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-5"
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: example.invalid/m:1}]
"#,
    );
    commit(dir, "init");
    tmp
}

#[test]
fn converge_upgrade_rollback_and_dismiss_with_helm_reading_the_release() {
    let name = unique("cv").replace('_', "-");
    let name = &name[..name.len().min(40)];
    let p = project(name);
    let dir = p.path();
    let ns = name;

    let out = davit(dir, &["converge", "--timeout", "60"], &[]);
    let log = ok(&out);
    assert!(log.contains("ready Deployment/web"), "{log}");
    let dep = get(&format!("/apis/apps/v1/namespaces/{ns}/deployments/web")).unwrap();
    assert_eq!(dep["status"]["availableReplicas"], 2, "{dep}");
    assert!(get(&format!("/apis/davit.test/v1/namespaces/{ns}/widgets/w1")).is_some());
    let job_uid = get(&format!("/apis/batch/v1/namespaces/{ns}/jobs/migrate")).unwrap()["metadata"]
        ["uid"]
        .clone();
    // werf.io/weight: cfg (-1) before web (0) before late (5).
    let cfg = get(&format!("/api/v1/namespaces/{ns}/configmaps/cfg")).unwrap();
    let late = get(&format!("/api/v1/namespaces/{ns}/configmaps/late")).unwrap();
    assert!(rv(&cfg) < rv(&late), "weights order creation");
    assert_eq!(
        dep["metadata"]["annotations"]["meta.helm.sh/release-name"],
        *name
    );
    assert_eq!(dep["metadata"]["annotations"]["werf.io/version"], "v2.77.1");

    let rel = helm_release(ns, name);
    assert_eq!(rel["status"], "deployed", "{rel}");
    assert_eq!(rel["revision"], "1");

    // No change: a new revision, as werf writes one; the hook is recreated.
    ok(&davit(dir, &["converge", "--timeout", "60"], &[]));
    assert_eq!(helm_release(ns, name)["revision"], "2");
    let job_uid2 = get(&format!("/apis/batch/v1/namespaces/{ns}/jobs/migrate")).unwrap()
        ["metadata"]["uid"]
        .clone();
    assert_ne!(job_uid, job_uid2, "before-hook-creation replaces the hook");

    // A value change rolls the Deployment; a resource that left the chart goes.
    write(dir, ".helm/values.yaml", "replicas: 2\ntag: \"2\"\n");
    let app = std::fs::read_to_string(dir.join(".helm/templates/app.yaml")).unwrap();
    let without_late = app.replace(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  annotations: {werf.io/weight: \"5\"}\ndata: {}\n",
        "",
    );
    assert_ne!(app, without_late);
    write(dir, ".helm/templates/app.yaml", &without_late);
    commit(dir, "v2");
    let log = ok(&davit(dir, &["converge", "--timeout", "60"], &[]));
    assert!(log.contains("deleted ConfigMap/late"), "{log}");
    assert!(get(&format!("/api/v1/namespaces/{ns}/configmaps/late")).is_none());
    let dep2 = get(&format!("/apis/apps/v1/namespaces/{ns}/deployments/web")).unwrap();
    assert_eq!(
        dep2["spec"]["template"]["spec"]["containers"][0]["image"],
        "example.invalid/web:2"
    );
    assert!(dep2["metadata"]["generation"].as_i64() > dep["metadata"]["generation"].as_i64());

    // Helm rolls back what davit deployed; davit converges after it.
    let out = helm(&["rollback", name, "2", "-n", ns]);
    assert!(out.status.success(), "helm rollback: {}", text(&out));
    let dep3 = get(&format!("/apis/apps/v1/namespaces/{ns}/deployments/web")).unwrap();
    assert_eq!(
        dep3["spec"]["template"]["spec"]["containers"][0]["image"],
        "example.invalid/web:1"
    );
    ok(&davit(dir, &["converge", "--timeout", "60"], &[]));
    let manifest = helm(&["get", "manifest", name, "-n", ns]);
    assert!(String::from_utf8_lossy(&manifest.stdout).contains("example.invalid/web:2"));
    let history = helm(&["history", name, "-n", ns, "-o", "json"]);
    let history: Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(
        history.as_array().unwrap().len(),
        5,
        "pruned to werf's 5: {history}"
    );

    // Dismiss: everything, the namespace too.
    let log = ok(&davit(dir, &["dismiss", "--with-namespace"], &[]));
    assert!(log.contains("uninstalled"), "{log}");
    assert!(get(&format!("/apis/apps/v1/namespaces/{ns}/deployments/web")).is_none());
    assert!(helm_release(ns, name).is_null());
    let nsobj = get(&format!("/api/v1/namespaces/{ns}"));
    assert!(
        nsobj.is_none() || nsobj.unwrap()["status"]["phase"] == "Terminating",
        "the namespace is deleted"
    );
}

#[test]
fn a_deployment_that_never_gets_ready_fails_in_time_and_atomic_restores() {
    let name = unique("fail").replace('_', "-");
    let name = &name[..name.len().min(40)];
    let p = project(name);
    let dir = p.path();
    ok(&davit(dir, &["converge", "--timeout", "60"], &[]));

    // A nodeSelector no node has: the pods stay Pending.
    let app = std::fs::read_to_string(dir.join(".helm/templates/app.yaml")).unwrap();
    write(
        dir,
        ".helm/templates/app.yaml",
        &app.replace("    spec:\n      containers:\n      - name: web", "    spec:\n      nodeSelector: {davit.test/none: \"true\"}\n      containers:\n      - name: web"),
    );
    write(dir, ".helm/values.yaml", "replicas: 2\ntag: \"3\"\n");
    commit(dir, "unschedulable");
    let started = Instant::now();
    let out = davit(dir, &["converge", "--timeout", "20", "--atomic"], &[]);
    let elapsed = started.elapsed();
    assert!(!out.status.success());
    let log = text(&out);
    assert!(
        elapsed < Duration::from_secs(45),
        "gave up after {elapsed:?}"
    );
    assert!(log.contains("not ready within --timeout"), "{log}");
    assert!(log.contains("Pending"), "pod status: {log}");
    assert!(log.contains("FailedScheduling"), "events: {log}");
    assert!(log.contains("rolled back"), "{log}");
    let rel = helm_release(name, name);
    assert_eq!(rel["status"], "deployed", "{rel}");
    let history: Value =
        serde_json::from_slice(&helm(&["history", name, "-n", name, "-o", "json"]).stdout).unwrap();
    let h = history.as_array().unwrap();
    assert_eq!(h[h.len() - 2]["status"], "failed");
    assert!(h[h.len() - 1]["description"]
        .as_str()
        .unwrap()
        .contains("Rollback to 1"));
    let dep = get(&format!("/apis/apps/v1/namespaces/{name}/deployments/web")).unwrap();
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "example.invalid/web:1"
    );
    ok(&davit(dir, &["dismiss", "--with-namespace"], &[]));
}

#[test]
fn a_held_release_lock_makes_converge_wait_and_secrets_stay_out_of_logs() {
    let name = unique("lock").replace('_', "-");
    let name = &name[..name.len().min(40)];
    let p = project(name);
    let dir = p.path();
    // Secret values, encrypted with the CLI.
    let key = "92f12f50b78d2910d0c23cb354252970";
    write(dir, "plain.yaml", "password: hunter2-plaintext\n");
    let enc = Command::new(env!("CARGO_BIN_EXE_davit"))
        .args([
            "helm",
            "secret",
            "values",
            "encrypt",
            "plain.yaml",
            "-o",
            ".helm/secret-values.yaml",
        ])
        .env("WERF_SECRET_KEY", key)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(enc.status.success());
    std::fs::remove_file(dir.join("plain.yaml")).unwrap();
    write(
        dir,
        ".helm/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: {{ .Values.password }}\n",
    );
    commit(dir, "secret");
    ok(&davit(dir, &["converge"], &[("WERF_SECRET_KEY", key)]));

    // Hold werf's lock (`release/<name>` on werf-synchronization) as another
    // deploy would, for 4 seconds, in werf's lease format.
    let key_name = lockgate_key(&format!("release/{name}"));
    let expire = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 4;
    let lease = serde_json::json!({"uuid": "other-deploy", "lockName": format!("release/{name}"),
        "ExpireAtTimestamp": expire, "SharedHoldersCount": 1, "IsShared": false, "QueueMembers": {}});
    let patch = serde_json::json!({"metadata": {"annotations": {key_name: lease.to_string()}}});
    let out = Command::new("curl")
        .args([
            "-sk",
            "-X",
            "PATCH",
            "-H",
            "Content-Type: application/merge-patch+json",
            "-H",
        ])
        .arg(format!(
            "Authorization: Bearer {}",
            env("DAVIT_TEST_KUBE_TOKEN")
        ))
        .arg("--data")
        .arg(patch.to_string())
        .arg(format!(
            "{}/api/v1/namespaces/{name}/configmaps/werf-synchronization",
            env("DAVIT_TEST_KUBE_API")
        ))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("werf-synchronization"));
    let started = Instant::now();
    let out = davit(dir, &["converge"], &[("WERF_SECRET_KEY", key)]);
    let log = ok(&out);
    assert!(log.contains("waiting for the release lock"), "{log}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "converge waited for the lease to expire"
    );
    assert!(
        !log.contains("hunter2-plaintext"),
        "a secret value reached the log:\n{log}"
    );
    let secret = get(&format!("/api/v1/namespaces/{name}/secrets/s")).unwrap();
    assert_eq!(secret["data"]["password"], "aHVudGVyMi1wbGFpbnRleHQ=");
    ok(&davit(dir, &["dismiss", "--with-namespace"], &[]));
}

/// lockgate's annotation key: `lockgate.io/<hex(sha3-224(name))>`, computed
/// by the Python standard library so the test checks davit's hashing.
fn lockgate_key(name: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha3_224(sys.argv[1].encode()).hexdigest())",
            name,
        ])
        .output()
        .expect("python3");
    format!(
        "lockgate.io/{}",
        String::from_utf8_lossy(&out.stdout).trim()
    )
}
