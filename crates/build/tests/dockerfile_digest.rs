//! The `dockerfile` stage digest against moby/buildkit v0.13.1's parser and
//! shell lexer (the oracle in tests/oracle/dockerfile). With Go on the
//! machine the oracle runs live and must agree with the golden file; without
//! Go the golden file is the reference. Regenerate it with
//! `DAVIT_REGEN_GOLDEN=1 cargo test -p davit-build --test dockerfile_digest`.

use std::collections::BTreeMap;
use std::path::PathBuf;

mod common;

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
    common::crate_dir()
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

#[test]
fn dockerfile_digest_matches_buildkit() {
    let cases: Vec<Case> = serde_json::from_str(
        &std::fs::read_to_string(dir().join("tests/dockerfile_cases.json")).expect("cases"),
    )
    .expect("parse cases");
    let expected: Vec<Outcome> = common::expected("dockerfile", &cases, "dockerfile.json");
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
