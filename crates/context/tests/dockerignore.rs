//! `.dockerignore` matching against moby/patternmatcher v0.6.0 (the oracle
//! in tests/oracle/dockerfile, mode `dockerignore`).

use davit_context::dockerignore::{read_patterns, Dockerignore};
use serde::{Deserialize, Serialize};

use davit_testkit::oracle;

fn crate_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Serialize, Deserialize)]
struct Case {
    name: String,
    dockerignore: String,
    paths: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
struct Outcome {
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    excluded: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    err: Option<String>,
}

fn davit(c: &Case) -> Outcome {
    let patterns = read_patterns(&c.dockerignore);
    match Dockerignore::new(&patterns) {
        Ok(m) => Outcome {
            excluded: c.paths.iter().filter(|p| m.excludes(p)).cloned().collect(),
            patterns,
            err: None,
        },
        Err(e) => Outcome {
            patterns,
            excluded: Vec::new(),
            err: Some(e.to_string()),
        },
    }
}

#[test]
fn dockerignore_matches_patternmatcher() {
    let cases: Vec<Case> = serde_json::from_str(
        &std::fs::read_to_string(crate_dir().join("tests/dockerignore_cases.json")).expect("cases"),
    )
    .expect("parse cases");
    let expected: Vec<Outcome> =
        oracle::expected(&crate_dir(), "dockerignore", &cases, "dockerignore.json");
    let mut failures = Vec::new();
    for (c, want) in cases.iter().zip(&expected) {
        let got = davit(c);
        let same = got.patterns == want.patterns
            && match (&want.err, &got.err) {
                (None, None) => got.excluded == want.excluded,
                (Some(_), Some(_)) => true,
                _ => false,
            };
        if !same {
            failures.push(format!("{}:\n  want {want:?}\n  got  {got:?}", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from patternmatcher:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
