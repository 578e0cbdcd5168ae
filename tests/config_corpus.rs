//! Every config of the werf corpus (`../shared/corpus/werf`, or
//! `DAVIT_CORPUS`) is committed into a real git repository and read with
//! `davit config render`, `list` and `graph`. Valid configs must succeed;
//! configs the manifest flags as invalid, or whose snapshot is incomplete,
//! must fail with a positioned message, never a crash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("DAVIT_CORPUS") {
        return Some(PathBuf::from(p));
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/werf");
    p.is_dir().then_some(p)
}

struct Row {
    repo_dir: String,
    path: String,
    kinds: String,
    notes: String,
}

fn manifest(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let role = *cols.get(7)?;
            if !matches!(role, "primary" | "secondary-config" | "alt-config") {
                return None;
            }
            Some(Row {
                repo_dir: cols[0].replace('/', "__"),
                path: cols[2].to_string(),
                kinds: cols.get(5).unwrap_or(&"").to_string(),
                notes: cols.get(9).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

fn project_dir_in_corpus(corpus: &Path, row: &Row) -> PathBuf {
    let base = corpus.join(&row.repo_dir);
    match row.path.rsplit_once('/') {
        Some((d, _)) => base.join(d),
        None => base,
    }
}

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2024-01-02T15:04:05+03:00")
        .env("GIT_COMMITTER_DATE", "2024-01-02T15:04:05+03:00")
        .output()
        .expect("run git (the tests need git to build repositories)");
    assert!(
        st.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("read corpus dir").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
            let mut perm = std::fs::metadata(&dest).expect("stat").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&dest, perm).expect("chmod");
        }
    }
}

/// Names of environment variables the repository's templates read with
/// `env "NAME"`: the corpus configs expect their CI to set them.
fn env_names(repo: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(repo).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            if e.file_name() != ".git" {
                env_names(&p, out);
            }
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for part in text.split("env \"").skip(1) {
            if let Some(name) = part.split('"').next() {
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.push(name.to_string());
                }
            }
        }
    }
}

fn davit(args: &[&str], dir: &Path, env: &[String]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_davit"));
    cmd.args(args).current_dir(dir).env_remove("WERF_ENV");
    // Values that also pass as project names and YAML scalars.
    for name in env {
        cmd.env(name, "ci-value");
    }
    cmd.output().expect("run davit")
}

/// Configs werf itself rejects although the manifest does not flag them.
/// Each is explained in docs/compatibility.md.
const KNOWN_INVALID: &[(&str, &str)] = &[
    (
        "enclaveid__enclaveid/werf.yaml",
        "docker.ENV.ENTRYPOINT is a list; werf's ENV is map[string]string",
    ),
    (
        "Ranger-X__skynet-telegram/werf.yaml",
        "uses $.Images, which werf's root data does not have",
    ),
];

/// The file a "not found in the project git repository" error names.
fn missing_file(err: &str) -> Option<String> {
    let (_, rest) = err.split_once("the file \"")?;
    let (name, tail) = rest.split_once('"')?;
    tail.starts_with(" not found in the project git repository")
        .then(|| name.trim_start_matches('/').to_string())
}

/// How the stapel configs of the corpus planned.
#[derive(Default)]
struct PlanTally {
    planned: usize,
    unsupported: usize,
    /// Unsupported features by how many images name them.
    features: BTreeMap<String, usize>,
    no_sources: usize,
    unreachable: usize,
    refused: usize,
    failures: Vec<String>,
}

enum PlanOutcome {
    Planned,
    /// Every image that failed names what davit does not support.
    Unsupported(Vec<String>),
    /// A git mapping takes files the snapshot does not have.
    NoSources,
    /// It reads a registry this machine cannot reach (offline here).
    Unreachable,
    /// davit refuses it with a clear message (an image reference with a
    /// URL scheme, which werf refuses too; basicAuth over plain http).
    Refused,
    Failed(String),
}

impl PlanTally {
    fn record(&mut self, name: &str, outcome: PlanOutcome) {
        match outcome {
            PlanOutcome::Planned => self.planned += 1,
            PlanOutcome::Unsupported(features) => {
                self.unsupported += 1;
                for f in features {
                    *self.features.entry(f).or_default() += 1;
                }
            }
            PlanOutcome::NoSources => self.no_sources += 1,
            PlanOutcome::Unreachable => self.unreachable += 1,
            PlanOutcome::Refused => self.refused += 1,
            PlanOutcome::Failed(e) => self.failures.push(format!("{name}: plan: {e}")),
        }
    }
}

/// The `add` path of werf's "git.add: /X in werf.yaml matches no files".
fn unmatched_add(text: &str) -> Option<String> {
    let (_, rest) = text.split_once("\"git.add: /")?;
    let (add, _) = rest.split_once('"')?;
    Some(add.to_string())
}

/// `davit build --plan` of a stapel config against the test registry. The
/// corpus holds configs, not sources: a git mapping whose `add` has no
/// file gets a placeholder file committed there, and the plan runs again.
fn plan_stapel(repo: &Path, project_dir: &Path, base: &[String], env: &[String]) -> PlanOutcome {
    let registry = davit_testkit::fixtures::testenv("DAVIT_TEST_REGISTRY_ANON");
    let target = format!("{registry}/davit-corpus/plan");
    for _ in 0..8 {
        let mut args = vec!["build", "--plan", "--repo", &target];
        args.extend(base.iter().map(String::as_str));
        let out = davit(&args, project_dir, env);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if out.status.success() {
            return PlanOutcome::Planned;
        }
        if !stderr.contains("cannot be planned") {
            return PlanOutcome::Failed(stderr);
        }
        if let Some(add) = unmatched_add(&stdout) {
            let placeholder = repo.join(&add).join("davit-corpus-placeholder");
            if placeholder.exists() {
                // Its include paths take other files than a placeholder.
                return PlanOutcome::NoSources;
            }
            if std::fs::create_dir_all(repo.join(&add)).is_err()
                || std::fs::write(&placeholder, "placeholder\n").is_err()
            {
                // `add` names a file of the snapshot's missing sources.
                return PlanOutcome::NoSources;
            }
            git(
                repo,
                &["-c", "user.email=t@t", "-c", "user.name=t", "add", "-A"],
            );
            git(
                repo,
                &[
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "user.name=t",
                    "commit",
                    "-qm",
                    "placeholder",
                ],
            );
            continue;
        }
        let errors: Vec<&str> = stdout
            .lines()
            .filter(|l| l.contains("): error: "))
            .collect();
        let unsupported = |l: &str| l.contains("which davit does not support yet");
        let refused = |l: &str| {
            l.contains("not an image reference")
                || l.contains(
                    "refuses to send basicAuth (or a password in the URL) over plain http",
                )
        };
        let unreachable = |l: &str| l.contains("dns error");
        if errors
            .iter()
            .all(|l| unsupported(l) || refused(l) || unreachable(l))
        {
            if errors.iter().any(|l| unsupported(l)) {
                let features = errors
                    .iter()
                    .filter(|l| unsupported(l))
                    .filter_map(|l| l.split("uses ").nth(1))
                    .map(|f| {
                        f.trim_end_matches(", which davit does not support yet")
                            .to_string()
                    })
                    .collect();
                return PlanOutcome::Unsupported(features);
            }
            if errors.iter().any(|l| refused(l)) {
                return PlanOutcome::Refused;
            }
            return PlanOutcome::Unreachable;
        }
        return PlanOutcome::Failed(format!("{stdout}{stderr}"));
    }
    PlanOutcome::NoSources
}

#[test]
fn corpus_configs_render_list_and_graph() {
    let Some(dir) = corpus_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the werf corpus is missing beside the repository; set DAVIT_CORPUS"
        );
        eprintln!("note: werf corpus not found; set DAVIT_CORPUS to run this test");
        return;
    };
    let work = std::env::temp_dir().join(format!("davit-corpus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let rows = manifest(&dir);
    let mut repos: BTreeMap<String, PathBuf> = BTreeMap::new();
    let (mut ok, mut expected_fail, mut incomplete, mut failures) = (0, 0, 0, Vec::new());
    let mut plans = PlanTally::default();
    for row in &rows {
        let repo = repos.entry(row.repo_dir.clone()).or_insert_with(|| {
            let r = work.join(&row.repo_dir);
            std::fs::create_dir_all(&r).expect("mkdir repo");
            copy_tree(&dir.join(&row.repo_dir), &r);
            git(&r, &["init", "-q"]);
            git(
                &r,
                &["-c", "user.email=t@t", "-c", "user.name=t", "add", "-A"],
            );
            git(
                &r,
                &[
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "user.name=t",
                    "commit",
                    "-q",
                    "-m",
                    "corpus",
                ],
            );
            r
        });
        let (project_dir, config) = match row.path.rsplit_once('/') {
            Some((d, f)) => (repo.join(d), f.to_string()),
            None => (repo.clone(), row.path.clone()),
        };
        let mut base: Vec<String> = vec!["--loose-giterminism".into()];
        if config != "werf.yaml" && config != "werf.yml" {
            base.push("--config".into());
            base.push(config.clone());
        }
        let mut env = Vec::new();
        env_names(repo, &mut env);
        let name = format!("{}/{}", row.repo_dir, row.path);
        let expect_error = row.notes.starts_with("INVALID")
            || row.notes.contains("not present")
            || row.notes.contains("not fetched")
            || row.notes.contains("cookiecutter")
            || KNOWN_INVALID.iter().any(|(n, _)| *n == name);
        let mut outputs = Vec::new();
        for cmd in [
            ["config", "render"],
            ["config", "list"],
            ["config", "graph"],
        ] {
            let args: Vec<&str> = cmd
                .iter()
                .copied()
                .chain(base.iter().map(String::as_str))
                .collect();
            outputs.push(davit(&args, &project_dir, &env));
        }
        for o in &outputs {
            let code = o.status.code().unwrap_or(-1);
            assert!(
                code == 0 || code == 1,
                "{name}: davit crashed (exit {code}): {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let all_ok = outputs.iter().all(|o| o.status.success());
        if expect_error {
            let err = String::from_utf8_lossy(&outputs[0].stderr);
            if all_ok {
                failures.push(format!(
                    "{name}: flagged invalid ({}) but accepted",
                    row.notes
                ));
            } else if !err.contains(&format!("{config}:")) && !err.contains("template: ") {
                failures.push(format!("{name}: error does not name the file: {err}"));
            } else {
                expected_fail += 1;
            }
        } else if all_ok {
            let list = String::from_utf8_lossy(&outputs[1].stdout);
            let graph = String::from_utf8_lossy(&outputs[2].stdout);
            assert_eq!(
                list.lines().count(),
                graph.lines().filter(|l| l.starts_with("- image:")).count(),
                "{name}: list and graph disagree"
            );
            ok += 1;
            if row.kinds.contains("stapel") {
                plans.record(&name, plan_stapel(repo, &project_dir, &base, &env));
            }
        } else {
            let err = String::from_utf8_lossy(&outputs[0].stderr).to_string();
            // A data file the snapshot did not fetch: fine only if it is
            // really absent from the corpus folder.
            match missing_file(&err) {
                Some(f) if !project_dir_in_corpus(&dir, row).join(&f).exists() => incomplete += 1,
                _ => failures.push(format!("{name}: {}", err.trim())),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    eprintln!(
        "corpus plans: {} stapel configs planned; {} name the unsupported features they use; {} need sources missing from the snapshot; {} read registries unreachable offline; {} refused with a clear error",
        plans.planned, plans.unsupported, plans.no_sources, plans.unreachable, plans.refused
    );
    for (feature, images) in &plans.features {
        eprintln!("  unsupported: {feature} ({images} images)");
    }
    failures.extend(plans.failures);
    eprintln!(
        "corpus: {ok} valid configs read; {expected_fail} invalid ones rejected; {incomplete} need data files missing from the snapshot; {} failures",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} corpus configs failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
