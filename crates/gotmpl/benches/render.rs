//! Render benchmark: davit's engine against Go's text/template + sprig (the
//! test oracle) on the same work, written to `target/bench-templates.md`.
//!
//!     cargo bench -p davit-gotmpl --bench render
//!
//! Workloads: the largest werf config of the corpus with its `.werf`
//! templates and `.Files`, and a synthetic Helm-style chart (40 manifests
//! with helpers, `include`, `toYaml`, `range`). Each render parses and
//! executes from scratch, as werf and Helm do per command.

#[path = "../tests/differential/case.rs"]
#[allow(dead_code)]
mod case;
#[path = "../tests/differential/suites.rs"]
#[allow(dead_code)]
mod suites;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use case::{Case, NamedText};

const ITERATIONS: usize = 200;

fn helm_chart() -> Case {
    let mut templates = vec![NamedText {
        name: "_helpers.tpl".into(),
        text: r#"{{- define "chart.name" -}}{{ .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "chart.fullname" -}}{{ printf "%s-%s" .Release.Name (include "chart.name" .) | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "chart.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | quote }}
app.kubernetes.io/name: {{ include "chart.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
"#
        .into(),
    }];
    let mut entry = String::new();
    for i in 0..40 {
        let name = format!("deployment-{i}.yaml");
        templates.push(NamedText {
            name: name.clone(),
            text: format!(
                r#"{{{{- $c := index .Values.components {i} }}}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{{ include "chart.fullname" . }}}}-{{{{ $c.name }}}}
  labels:
    {{{{- include "chart.labels" . | nindent 4 }}}}
spec:
  replicas: {{{{ $c.replicas | default 1 }}}}
  template:
    spec:
      containers:
      - name: {{{{ $c.name }}}}
        image: "{{{{ $c.image.repository }}}}:{{{{ $c.image.tag | default .Chart.AppVersion }}}}"
        env:
        {{{{- range $k, $v := $c.env }}}}
        - name: {{{{ $k | upper }}}}
          value: {{{{ $v | quote }}}}
        {{{{- end }}}}
        ports:
        {{{{- range $c.ports }}}}
        - containerPort: {{{{ .port }}}}
          name: {{{{ .name | lower }}}}
        {{{{- end }}}}
        resources:
          {{{{- toYaml $c.resources | nindent 10 }}}}
        {{{{- with $c.probe }}}}
        livenessProbe:
          {{{{- toYaml . | nindent 10 }}}}
        {{{{- end }}}}
"#
            ),
        });
        entry.push_str(&format!("---\n{{{{ include \"{name}\" . }}}}\n"));
    }
    templates.push(NamedText {
        name: "main".into(),
        text: entry,
    });
    let components: Vec<serde_json::Value> = (0..40)
        .map(|i| {
            let env: serde_json::Map<String, serde_json::Value> =
                (0..10).map(|k| (format!("var_{k}"), serde_json::json!(format!("value-{i}-{k}")))).collect();
            serde_json::json!({
                "name": format!("svc{i}"),
                "replicas": (i % 3) + 1,
                "image": {"repository": format!("registry.example.com/team/svc{i}"), "tag": format!("1.{i}.0")},
                "env": env,
                "ports": [{"name": "HTTP", "port": 8080}, {"name": "Metrics", "port": 9090}],
                "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                "probe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
            })
        })
        .collect();
    Case {
        name: "helm-chart-40-deployments".into(),
        mode: "helm".into(),
        templates,
        entry: "main".into(),
        data: serde_json::json!({
            "Values": {"components": components},
            "Chart": {"Name": "bench", "Version": "1.0.0+build", "AppVersion": "2.0"},
            "Release": {"Name": "rel", "Namespace": "default", "Service": "Helm"}
        }),
        files: None,
        env: BTreeMap::new(),
        env_strict: false,
        missingkey: String::new(),
        delims: Vec::new(),
    }
}

fn largest_corpus_config() -> Option<Case> {
    suites::corpus().into_iter().max_by_key(|c| {
        c.templates.iter().map(|t| t.text.len()).sum::<usize>()
            + c.files
                .as_ref()
                .map(|f| f.values().map(String::len).sum::<usize>())
                .unwrap_or(0)
    })
}

fn time_davit(c: &Case) -> (Duration, Duration) {
    let first = case::render(c);
    assert!(first.err.is_none(), "{} failed: {:?}", c.name, first.err);
    let mut total = Duration::ZERO;
    let mut min = Duration::MAX;
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        let out = case::render(c);
        let d = start.elapsed();
        std::hint::black_box(out);
        total += d;
        min = min.min(d);
    }
    (total / ITERATIONS as u32, min)
}

fn time_go(cases: &[Case]) -> Option<Vec<serde_json::Value>> {
    Command::new("go").arg("version").output().ok()?;
    let root = suites::repo_root();
    let bin = root.join("target/gotmpl-oracle");
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(root.join("tests/oracle/gotmpl"))
        .status()
        .ok()?;
    if !st.success() {
        return None;
    }
    let mut child = Command::new(&bin)
        .args(["-bench", &ITERATIONS.to_string()])
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let input = serde_json::to_vec(cases).ok()?;
    child.stdin.take()?.write_all(&input).ok()?;
    let out = child.wait_with_output().ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing.
    let mut cases = vec![helm_chart()];
    if let Some(c) = largest_corpus_config() {
        cases.insert(0, c);
    }
    let go = time_go(&cases);
    let mut table = String::from(
        "| workload | template bytes | davit mean | davit min | Go mean | Go min | davit / Go (mean) |\n|---|---|---|---|---|---|---|\n",
    );
    for (i, c) in cases.iter().enumerate() {
        let (mean, min) = time_davit(c);
        let bytes: usize = c.templates.iter().map(|t| t.text.len()).sum();
        let (go_mean, go_min) = go
            .as_ref()
            .and_then(|g| g.get(i))
            .map(|r| {
                (
                    r["mean_us"].as_f64().unwrap_or(0.0),
                    r["min_us"].as_f64().unwrap_or(0.0),
                )
            })
            .unwrap_or((0.0, 0.0));
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let ratio = if go_mean > 0.0 {
            format!("{:.2}×", us(mean) / go_mean)
        } else {
            "n/a".into()
        };
        table.push_str(&format!(
            "| {} | {} | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {} |\n",
            c.name.trim_start_matches("corpus:"),
            bytes,
            us(mean),
            us(min),
            go_mean,
            go_min,
            ratio
        ));
    }
    println!("{table}");
    let path = suites::repo_root().join("target/bench-templates.md");
    let _ = std::fs::write(&path, &table);
    println!("written to {}", path.display());
}
