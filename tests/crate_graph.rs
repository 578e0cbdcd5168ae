//! The crate graph is the architecture (ARCHITECTURE.md, "Allowed
//! dependencies"): this test reads it from `cargo metadata` and fails when
//! a crate reaches one it must never depend on, directly or through
//! another, so a later change cannot quietly add such an edge back.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// (crate, crates it must never reach, why). Normal and build dependencies
/// count; dev-dependencies (tests) do not.
const FORBIDDEN: &[(&str, &[&str], &str)] = &[
    (
        "davit-digest",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-gotmpl",
            "davit-config",
            "davit-registry",
        ],
        "digest primitives are pure: every pipeline and the storage share them",
    ),
    (
        "davit-dockerfile",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-engine",
            "davit-registry",
            "davit-storage",
            "davit-context",
            "davit-config",
            "davit-git",
        ],
        "the Dockerfile front end is pure: no async, no engine, no network, no repository",
    ),
    (
        "davit-stapel",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-engine",
            "davit-registry",
            "davit-storage",
            "davit-conveyor",
            "davit-dockerfile",
        ],
        "stapel digests are pure: the plan and the build compute them alike",
    ),
    (
        "davit-context",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-engine",
            "davit-registry",
            "davit-storage",
            "davit-conveyor",
        ],
        "the build context reads the commit; it never talks to an engine or a registry",
    ),
    (
        "davit-git",
        &["tokio", "bollard", "reqwest", "davit-git-remote"],
        "reading the repository needs no network; fetching is davit-git-remote's",
    ),
    (
        "davit-engine",
        &[
            "davit-storage",
            "davit-conveyor",
            "davit-config",
            "davit-dockerfile",
            "davit-context",
            "davit-git",
        ],
        "the engine runs what it is given; it knows nothing of werf.yaml, stages or repositories",
    ),
    (
        "davit-storage",
        &[
            "davit-conveyor",
            "davit-dockerfile",
            "davit-context",
            "davit-config",
            "davit-git",
        ],
        "storage is werf's registry layout only; cleanup reads it without the builder",
    ),
    (
        "davit-registry-vendors",
        &[
            "bollard",
            "davit-storage",
            "davit-engine",
            "davit-config",
            "davit-cleanup",
        ],
        "a vendor API client is HTTP only; the storage decides when to call it",
    ),
    (
        "davit-report",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-engine",
            "davit-registry",
            "davit-storage",
            "davit-conveyor",
        ],
        "the report is data that converge and CI output read without building",
    ),
    (
        "davit-conveyor",
        &["davit-ops"],
        "the conveyor is below the operations that commands call",
    ),
    (
        "davit-config",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-engine",
            "davit-registry",
            "davit-storage",
            "davit-conveyor",
        ],
        "configuration loading needs no engine and no network",
    ),
    (
        "davit-pathmatch",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "gix",
            "davit-git",
            "davit-config",
            "davit-gotmpl",
            "davit-registry",
        ],
        "path matchers are pure; the tree walk and stapel's git mappings use them",
    ),
    (
        "davit-deploy-params",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-config",
            "davit-engine",
            "davit-storage",
        ],
        "release and namespace names are pure",
    ),
    (
        "davit-chart",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-config",
            "davit-engine",
            "davit-storage",
            "davit-secrets",
            "davit-deploy",
        ],
        "Helm chart semantics are pure and know nothing of werf",
    ),
    (
        "davit-deploy",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-config",
            "davit-engine",
            "davit-storage",
            "davit-conveyor",
            "davit-registry",
        ],
        "werf's deploy layer is pure: chart, cluster and secrets are read in davit-ops",
    ),
    (
        "davit-release",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "kube",
            "davit-config",
            "davit-engine",
            "davit-storage",
            "davit-chart",
        ],
        "a release record is data",
    ),
    (
        "davit-kube",
        &[
            "bollard",
            "davit-engine",
            "davit-storage",
            "davit-conveyor",
            "davit-config",
            "davit-chart",
            "davit-deploy",
        ],
        "the cluster client knows Kubernetes and Helm's records, not werf's build or charts",
    ),
    (
        "davit-secrets",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-gotmpl",
            "davit-config",
            "davit-engine",
            "davit-storage",
        ],
        "secrets are pure data transforms",
    ),
    (
        "davit-ci",
        &[
            "tokio",
            "bollard",
            "reqwest",
            "davit-engine",
            "davit-storage",
            "davit-conveyor",
        ],
        "CI formats are pure text and files; registry logins go through davit-ops",
    ),
    (
        "davit-gotmpl",
        &["tokio", "bollard", "reqwest", "davit-config"],
        "the template engine is pure",
    ),
];

/// Crates that belong to the CLI edge only (libraries use thiserror).
const CLI_ONLY: &[&str] = &["clap", "anyhow", "indicatif"];

struct Graph {
    /// package name → names of its normal and build dependencies.
    deps: BTreeMap<String, BTreeSet<String>>,
    members: BTreeSet<String>,
}

fn graph() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let name_of: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    let members = meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .map(|id| name_of[id.as_str().expect("member id")].to_string())
        .collect();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().expect("resolve nodes") {
        let from = name_of[node["id"].as_str().expect("node id")].to_string();
        let entry = deps.entry(from).or_default();
        for dep in node["deps"].as_array().expect("deps") {
            let not_dev = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].as_str() != Some("dev"));
            if not_dev {
                entry.insert(name_of[dep["pkg"].as_str().expect("dep pkg")].to_string());
            }
        }
    }
    Graph { deps, members }
}

impl Graph {
    /// Every crate `from` reaches, with the path to it.
    fn reach(&self, from: &str) -> BTreeMap<String, Vec<String>> {
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut stack = vec![(from.to_string(), vec![from.to_string()])];
        while let Some((name, path)) = stack.pop() {
            for dep in self.deps.get(&name).into_iter().flatten() {
                if !seen.contains_key(dep) {
                    let mut p = path.clone();
                    p.push(dep.clone());
                    seen.insert(dep.clone(), p.clone());
                    stack.push((dep.clone(), p));
                }
            }
        }
        seen
    }
}

#[test]
fn no_crate_reaches_a_forbidden_one() {
    let g = graph();
    let mut violations = Vec::new();
    for (krate, forbidden, why) in FORBIDDEN {
        assert!(
            g.members.contains(*krate),
            "{krate} is not a workspace member"
        );
        let reach = g.reach(krate);
        for f in *forbidden {
            if let Some(path) = reach.get(*f) {
                violations.push(format!(
                    "{krate} reaches {f} ({}): {why}",
                    path.join(" -> ")
                ));
            }
        }
    }
    // Third-party crates may use anyhow inside; our libraries may not.
    for krate in g.members.iter().filter(|m| *m != "davit") {
        for f in CLI_ONLY.iter().filter(|f| g.deps[krate].contains(**f)) {
            violations.push(format!(
                "{krate} depends on {f}: argument parsing, anyhow and terminal output belong to the CLI"
            ));
        }
    }
    assert!(
        violations.is_empty(),
        "forbidden edges:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_cli_reaches_the_builder_only_through_the_operations() {
    let g = graph();
    let direct = &g.deps["davit"];
    for inner in [
        "davit-conveyor",
        "davit-engine",
        "davit-storage",
        "davit-context",
        "davit-dockerfile",
    ] {
        assert!(
            !direct.contains(inner),
            "the davit binary depends on {inner} directly: commands call davit-ops"
        );
    }
}

#[test]
fn every_workspace_crate_is_on_the_architecture_map() {
    let g = graph();
    let map = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/ARCHITECTURE.md"))
        .expect("read ARCHITECTURE.md");
    let missing: Vec<&String> = g
        .members
        .iter()
        .filter(|m| *m != "davit")
        .filter(|m| !map.contains(&format!("`{m}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name {missing:?}"
    );
}
