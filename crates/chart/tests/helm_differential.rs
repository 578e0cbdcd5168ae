//! davit's chart engine against the real Helm 4 (`helm template`, built by
//! `scripts/testenv` from the Go module proxy): Helm's own test charts from
//! its module source, and the charts in `tests/helm/*.txt` (subcharts with
//! aliases, conditions, tags, import-values and globals, library charts,
//! CRDs, `tpl`, `required`/`fail`, werf-style charts). Both sides get the
//! same inputs, werf's stub service values among them; every template's
//! documents must be byte-identical, and a chart Helm refuses must fail in
//! davit too (with Helm's message for `required` and `fail`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use davit_chart::chart::{crd_files, load, load_archive};
use davit_chart::engine::split_manifests;
use davit_chart::{Capabilities, ChartFile, Release, RenderOptions, SetKind, ValuesInput};
use davit_testkit::fixtures::testenv;

const NAMESPACE: &str = "ns-diff";
const RELEASE: &str = "rel";
const KUBE: &str = "1.20.0";

/// werf's stub service values, as `davit render` injects them without --repo.
const WERF_STUB_VALUES: &str = include_str!("helm/werf-stub-values.yaml");

type Docs = BTreeMap<String, Vec<String>>;

struct Case {
    name: String,
    chart: PathBuf,
    args: Vec<(String, String)>,
    /// Keeps an unpacked chart alive.
    _dir: Option<tempfile::TempDir>,
}

/// What a side produced: documents per template, or an error message.
type Outcome = Result<Docs, String>;

fn helm(case: &Case, stub_values: &Path) -> Outcome {
    let mut cmd = Command::new(testenv("DAVIT_TEST_HELM"));
    cmd.args(["template", RELEASE])
        .arg(&case.chart)
        .args([
            "--namespace",
            NAMESPACE,
            "--kube-version",
            KUBE,
            "--include-crds",
        ])
        .arg("--values")
        .arg(stub_values)
        .current_dir(case.chart.parent().unwrap_or(Path::new(".")))
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("davit-helm-diff-cache"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("davit-helm-diff-config"),
        );
    for (flag, value) in &case.args {
        cmd.arg(flag).arg(value);
    }
    let out = cmd.output().expect("running helm");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err
            .lines()
            .find(|l| l.starts_with("Error: "))
            .unwrap_or(&err)
            .trim_start_matches("Error: ")
            .to_string();
        return Err(first);
    }
    let mut docs = Docs::new();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut source: Option<String> = None;
    let mut body = String::new();
    let mut flush = |source: &Option<String>, body: &mut String| {
        if let Some(s) = source {
            let doc = body.trim().to_string();
            if !doc.is_empty() {
                docs.entry(s.clone()).or_default().push(doc);
            }
        }
        body.clear();
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i] == "---"
            && lines
                .get(i + 1)
                .is_some_and(|l| l.starts_with("# Source: "))
        {
            flush(&source, &mut body);
            source = Some(lines[i + 1]["# Source: ".len()..].to_string());
            i += 2;
            continue;
        }
        body.push_str(lines[i]);
        body.push('\n');
        i += 1;
    }
    flush(&source, &mut body);
    for v in docs.values_mut() {
        v.sort();
    }
    Ok(docs)
}

fn read_tree(root: &Path) -> Vec<ChartFile> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<ChartFile>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.is_file() {
                out.push(ChartFile {
                    name: p
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                    data: std::fs::read(&p).unwrap(),
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

fn davit(case: &Case) -> Outcome {
    let chart = if case.chart.is_dir() {
        load(read_tree(&case.chart), &case.name, None)
    } else {
        load_archive(&std::fs::read(&case.chart).unwrap(), &case.name, None)
    }
    .map_err(|e| e.to_string())?;
    let base = case.chart.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut inputs = vec![ValuesInput::File {
        name: "werf-stub-values.yaml".into(),
        text: WERF_STUB_VALUES.into(),
    }];
    for (flag, value) in &case.args {
        inputs.push(match flag.as_str() {
            "--values" | "-f" => ValuesInput::File {
                name: value.clone(),
                text: std::fs::read_to_string(base.join(value)).unwrap(),
            },
            "--set" => set(SetKind::Typed, value),
            "--set-string" => set(SetKind::String, value),
            "--set-file" => set(SetKind::File, value),
            "--set-json" => set(SetKind::Json, value),
            "--set-literal" => set(SetKind::Literal, value),
            other => panic!("{}: unknown flag {other}", case.name),
        });
    }
    let mut read = |p: &str| std::fs::read_to_string(base.join(p)).map_err(|e| e.to_string());
    let user = davit_chart::user_values(&inputs, &mut read).map_err(|e| e.to_string())?;
    let prepared = davit_chart::prepare(chart, &user).map_err(|e| e.to_string())?;
    let opts = RenderOptions {
        release: Release {
            name: RELEASE.into(),
            namespace: NAMESPACE.into(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
        },
        capabilities: Capabilities::new(KUBE, &[]),
        extra_funcs: None,
    };
    let rendered =
        davit_chart::render(&prepared.chart, &prepared.values, &opts).map_err(|e| e.to_string())?;
    davit_chart::engine::check_manifests(&rendered).map_err(|e| e.to_string())?;
    let mut docs = Docs::new();
    for (name, text) in rendered
        .manifests
        .iter()
        .cloned()
        .chain(crd_files(&prepared.chart))
    {
        let mut d = split_manifests(&text);
        if d.is_empty() {
            continue;
        }
        d.sort();
        docs.insert(name, d);
    }
    Ok(docs)
}

fn set(kind: SetKind, text: &str) -> ValuesInput {
    ValuesInput::Set {
        kind,
        text: text.to_string(),
    }
}

/// `tests/helm/<case>.txt`: `args: --flag value` lines, then `-- path --`
/// sections with the chart's files.
fn own_case(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("chart");
    let mut args = Vec::new();
    let mut current: Option<(String, String)> = None;
    let mut files = Vec::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if let Some(name) = trimmed
            .strip_prefix("-- ")
            .and_then(|l| l.strip_suffix(" --"))
        {
            files.extend(current.take());
            current = Some((name.to_string(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        } else if let Some(a) = trimmed.strip_prefix("args: ") {
            let (flag, value) = a.split_once(' ').unwrap_or((a, ""));
            args.push((flag.to_string(), value.to_string()));
        }
    }
    files.extend(current.take());
    for (name, body) in files {
        // Files beside the chart (`../x.yaml`) hold --values/--set-file inputs.
        let target = chart.join(&name);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, body).unwrap();
    }
    Case {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        chart,
        args,
        _dir: Some(dir),
    }
}

fn helm_cases() -> Vec<Case> {
    let src = PathBuf::from(testenv("DAVIT_TEST_HELM_SRC"));
    let mut out = Vec::new();
    for dir in ["pkg/cmd/testdata/testcharts", "pkg/chart/v2/util/testdata"] {
        let root = src.join(dir);
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&root)
            .unwrap_or_else(|e| panic!("{}: {e} (Helm's module source)", root.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let is_chart = p.join("Chart.yaml").is_file() || name.ends_with(".tgz");
            if is_chart {
                out.push(Case {
                    name: format!("helm:{name}"),
                    chart: p,
                    args: Vec::new(),
                    _dir: None,
                });
            }
        }
    }
    out
}

fn compare(case: &Case, stub: &Path) -> Result<&'static str, String> {
    let expected = helm(case, stub);
    let got = davit(case);
    match (expected, got) {
        (Ok(e), Ok(g)) if e == g => Ok("same manifests"),
        (Ok(e), Ok(g)) => {
            let mut msg = String::new();
            for k in e
                .keys()
                .chain(g.keys())
                .collect::<std::collections::BTreeSet<_>>()
            {
                if e.get(k) != g.get(k) {
                    msg.push_str(&format!(
                        "  {k}:\n    helm:  {:?}\n    davit: {:?}\n",
                        e.get(k),
                        g.get(k)
                    ));
                }
            }
            Err(msg)
        }
        (Err(e), Err(g)) => {
            if e.starts_with("execution error at") && e != g {
                Err(format!("  helm error:  {e}\n  davit error: {g}"))
            } else {
                Ok("both refuse")
            }
        }
        (Ok(_), Err(g)) => Err(format!("  helm renders; davit fails: {g}")),
        (Err(e), Ok(_)) => Err(format!("  helm fails ({e}); davit renders")),
    }
}

#[test]
fn charts_render_as_helm_renders_them() {
    let stub_dir = tempfile::tempdir().unwrap();
    let stub = stub_dir.path().join("werf-stub-values.yaml");
    std::fs::write(&stub, WERF_STUB_VALUES).unwrap();
    let own_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm");
    let mut own: Vec<PathBuf> = std::fs::read_dir(&own_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    own.sort();
    let cases: Vec<Case> = helm_cases()
        .into_iter()
        .chain(own.iter().map(|p| own_case(p)))
        .collect();
    let (mut same, mut refused, mut failures) = (0, 0, Vec::new());
    for case in &cases {
        match compare(case, &stub) {
            Ok("same manifests") => same += 1,
            Ok(_) => refused += 1,
            Err(diff) => failures.push(format!("{}:\n{diff}", case.name)),
        }
    }
    eprintln!(
        "{} charts: {same} render the same manifests, {refused} refused by both, {} differ",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 40, "only {} charts", cases.len());
    assert!(same >= 40, "only {same} charts rendered by both");
}
