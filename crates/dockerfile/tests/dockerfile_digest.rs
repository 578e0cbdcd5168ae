//! The `dockerfile` stage digest against moby/buildkit v0.13.1's parser and
//! shell lexer (the oracle in tests/oracle/dockerfile). With Go on the
//! machine the oracle runs live and must agree with the golden file; without
//! Go the golden file is the reference. Regenerate it with
//! `DAVIT_REGEN_GOLDEN=1 cargo test -p davit-dockerfile --test dockerfile_digest`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use davit_testkit::oracle;

use davit_dockerfile::{dockerfile_digest, DigestInput};
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
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
    let expected: Vec<Outcome> = oracle::expected(&dir(), "dockerfile", &cases, "dockerfile.json");
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

/// Here-documents: davit parses them as BuildKit does (the same
/// instructions, lines and errors as the oracle), and — deliberately unlike
/// werf — adds their bodies to the digest, so a changed heredoc is a new
/// stage (docs/digests.md).
#[test]
fn heredocs_parse_as_buildkit_and_their_bodies_enter_the_digest() {
    use davit_dockerfile::deps::HEREDOC_MARK;
    let cases: Vec<Case> = serde_json::from_str(
        &std::fs::read_to_string(dir().join("tests/dockerfile_heredoc_cases.json")).expect("cases"),
    )
    .expect("parse cases");
    let expected: Vec<Outcome> =
        oracle::expected(&dir(), "dockerfile", &cases, "dockerfile_heredoc.json");
    let mut failures = Vec::new();
    for (c, want) in cases.iter().zip(expected.iter()) {
        let got = davit(c);
        match (&want.err, &got.err, &got.deps, &want.deps) {
            (Some(_), Some(_), _, _) => {}
            (None, None, Some(got_deps), Some(want_deps)) => {
                // davit's deps are werf's plus a marker and a body per heredoc.
                let mut werf_part = Vec::new();
                let mut it = got_deps.iter();
                while let Some(d) = it.next() {
                    if d.starts_with(HEREDOC_MARK) {
                        it.next();
                    } else {
                        werf_part.push(d.clone());
                    }
                }
                if &werf_part != want_deps {
                    failures.push(format!(
                        "{}: want {want_deps:?}\n  got {werf_part:?}",
                        c.name
                    ));
                }
            }
            _ => failures.push(format!("{}: want {want:?}\n  got {got:?}", c.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let digest = |name: &str| {
        let c = cases.iter().find(|c| c.name == name).expect("case");
        (
            davit(c).digest,
            expected[cases.iter().position(|x| x.name == name).expect("i")]
                .digest
                .clone(),
        )
    };
    let (ours_a, werf_a) = digest("run-heredoc");
    let (ours_b, werf_b) = digest("run-heredoc-changed");
    assert_eq!(
        werf_a, werf_b,
        "werf's digest ignores heredoc bodies (the oracle)"
    );
    assert_ne!(ours_a, ours_b, "davit's digest follows the body");
    // A Dockerfile without heredocs keeps werf's digest exactly.
    let (ours, werf) = digest("not-heredocs");
    assert_eq!(ours, werf);
}

/// ONBUILD, read from the spec (the oracle does not cover it): the trigger
/// is an input of its own stage, and, expanded, of stages built on it.
#[test]
fn onbuild_triggers_are_inputs() {
    let case = |dockerfile: &str| Case {
        name: "onbuild".into(),
        dockerfile: dockerfile.into(),
        args: BTreeMap::new(),
        target: String::new(),
        cache_version: String::new(),
        add_host: Vec::new(),
    };
    let single = davit(&case("FROM alpine\nENV A=1\nONBUILD RUN echo $A\n"));
    let deps = single.deps.expect("deps");
    assert_eq!(deps.last().map(String::as_str), Some("RUN echo $A"));
    let other = davit(&case("FROM alpine\nENV A=1\nONBUILD RUN echo other\n"));
    assert_ne!(single.digest, other.digest);

    let child = davit(&case(
        "FROM alpine AS base\nENV A=1\nONBUILD RUN echo $A\nFROM base\nRUN echo x\n",
    ));
    let deps = child.deps.expect("deps");
    assert_eq!(
        deps.last().map(String::as_str),
        Some("RUN echo 1"),
        "{deps:?}"
    );
}
