//! The Go oracle in tests/oracle/dockerfile (moby/buildkit and
//! moby/patternmatcher) and the golden files that stand in for it when Go
//! is not installed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The workspace root (testkit lives in `crates/testkit`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the oracle in `mode` over `cases`; `None` without Go or with
/// `DAVIT_NO_ORACLE` set.
fn run_oracle<C: Serialize, R: DeserializeOwned>(mode: &str, cases: &[C]) -> Option<Vec<R>> {
    if std::env::var_os("DAVIT_NO_ORACLE").is_some()
        || Command::new("go").arg("version").output().is_err()
    {
        return None;
    }
    let root = workspace_root();
    let bin = root.join("target/dockerfile-oracle");
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(root.join("tests/oracle/dockerfile"))
        .status()
        .expect("run go build");
    assert!(st.success(), "building the dockerfile oracle failed");
    let mut child = Command::new(&bin)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the oracle");
    child
        .stdin
        .take()
        .expect("oracle stdin")
        .write_all(&serde_json::to_vec(cases).expect("json"))
        .expect("write to the oracle");
    let out = child.wait_with_output().expect("oracle output");
    assert!(out.status.success(), "the oracle failed");
    Some(serde_json::from_slice(&out.stdout).expect("oracle JSON"))
}

/// The expected results: live from the oracle when Go is there (and the
/// golden file must then be current), else from the golden file.
/// `DAVIT_REGEN_GOLDEN=1` rewrites the golden file. `crate_dir` is the
/// calling test crate's directory; goldens live in its `tests/golden`.
pub fn expected<C: Serialize, R: Serialize + DeserializeOwned + PartialEq + Clone>(
    crate_dir: &Path,
    mode: &str,
    cases: &[C],
    golden: &str,
) -> Vec<R> {
    let golden_path = crate_dir.join("tests/golden").join(golden);
    let live: Option<Vec<R>> = run_oracle(mode, cases);
    if std::env::var_os("DAVIT_REGEN_GOLDEN").is_some() {
        let l = live.as_ref().expect("DAVIT_REGEN_GOLDEN needs Go");
        std::fs::write(
            &golden_path,
            serde_json::to_string_pretty(l).expect("json") + "\n",
        )
        .expect("write golden");
    }
    let stored: Option<Vec<R>> = std::fs::read_to_string(&golden_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    match live {
        Some(l) => {
            assert!(
                stored.as_ref() == Some(&l),
                "tests/golden/{golden} is stale: regenerate with DAVIT_REGEN_GOLDEN=1"
            );
            l
        }
        None => stored.expect("golden file (run once with Go to create it)"),
    }
}
