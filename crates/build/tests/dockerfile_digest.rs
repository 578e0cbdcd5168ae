//! The `dockerfile` stage digest against moby/buildkit v0.13.1's parser and
//! shell lexer (the oracle in tests/oracle/dockerfile). With Go on the
//! machine the oracle runs live and must agree with the golden file; without
//! Go the golden file is the reference. Regenerate it with
//! `DAVIT_REGEN_GOLDEN=1 cargo test -p davit-build --test dockerfile_digest`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use davit_build::dockerfile::{dockerfile_digest, DigestInput};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone)]
struct Case {
    name: String,
    dockerfile: String,
    #[serde(default)]
    args: BTreeMap<String, String>,
    #[serde(default)]
    target: String,
    #[serde(default, rename = "cacheVersion")]
    cache_version: String,
    #[serde(default, rename = "addHost")]
    add_host: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Debug, Default)]
struct Outcome {
    #[serde(default)]
    deps: Option<Vec<String>>,
    #[serde(default, rename = "stageDeps")]
    stage_deps: String,
    #[serde(default)]
    digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    err: Option<String>,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn davit(c: &Case) -> Outcome {
    let files =
        |srcs: &[String]| -> Result<String, String> { Ok(format!("FILES[{}]", srcs.join(","))) };
    let empty = BTreeMap::new();
    let r = dockerfile_digest(&DigestInput {
        dockerfile: &c.dockerfile,
        args: &c.args,
        dependency_args: &empty,
        target: (!c.target.is_empty()).then_some(c.target.as_str()),
        cache_version: (!c.cache_version.is_empty()).then_some(c.cache_version.as_str()),
        add_host: &c.add_host,
        platform: "linux/amd64",
        files_checksum: &files,
    });
    match r {
        Ok(d) => Outcome {
            deps: Some(d.deps),
            stage_deps: d.stage_deps,
            digest: d.digest,
            err: None,
        },
        Err(e) => Outcome {
            err: Some(e.to_string()),
            ..Outcome::default()
        },
    }
}

fn oracle(cases: &[Case]) -> Option<Vec<Outcome>> {
    if std::env::var_os("DAVIT_NO_ORACLE").is_some()
        || Command::new("go").arg("version").output().is_err()
    {
        return None;
    }
    let root = dir().join("../..");
    let bin = root.join("target/dockerfile-oracle");
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(root.join("tests/oracle/dockerfile"))
        .status()
        .ok()?;
    assert!(st.success(), "building the dockerfile oracle failed");
    let mut child = Command::new(&bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()?
        .write_all(&serde_json::to_vec(cases).ok()?)
        .ok()?;
    let out = child.wait_with_output().ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

#[test]
fn dockerfile_digest_matches_buildkit() {
    let cases: Vec<Case> = serde_json::from_str(
        &std::fs::read_to_string(dir().join("tests/dockerfile_cases.json")).expect("cases"),
    )
    .expect("parse cases");
    let golden_path = dir().join("tests/golden/dockerfile.json");
    let live = oracle(&cases);
    let expected: Vec<Outcome> = match &live {
        Some(l) => l.clone(),
        None => serde_json::from_str(
            &std::fs::read_to_string(&golden_path).expect("golden file (run with Go to create it)"),
        )
        .expect("parse golden"),
    };
    if std::env::var_os("DAVIT_REGEN_GOLDEN").is_some() {
        let l = live.as_ref().expect("DAVIT_REGEN_GOLDEN needs Go");
        std::fs::write(
            &golden_path,
            serde_json::to_string_pretty(l).expect("json") + "\n",
        )
        .expect("write golden");
    } else if let Some(l) = &live {
        let stored: Vec<Outcome> = std::fs::read_to_string(&golden_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        assert!(
            &stored == l,
            "tests/golden/dockerfile.json is stale: regenerate with DAVIT_REGEN_GOLDEN=1"
        );
    }
    let mut failures = Vec::new();
    for (c, want) in cases.iter().zip(expected.iter()) {
        let got = davit(c);
        let ok = match (&want.err, &got.err) {
            (None, None) => got == *want,
            (Some(_), Some(_)) => true,
            _ => false,
        };
        if !ok {
            failures.push(format!("{}:\n  want {:?}\n  got  {:?}", c.name, want, got));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from buildkit:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
