//! Helpers the integration tests share: git repositories made with the real
//! `git`, files, and the variables of `scripts/testenv`.

use std::path::Path;
use std::process::Command;

/// Runs `git` in `dir` with a fixed identity and no signing; panics on failure.
pub fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("run git");
    assert!(st.success(), "git {args:?}");
}

/// Writes `text` to `dir/rel`, creating directories.
pub fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// A variable `scripts/testenv` exports. Missing means the environment is
/// not up: the test fails with the command to fix it, it never skips.
pub fn testenv(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| {
        panic!("{k} is not set: run `eval \"$(scripts/testenv up)\"` (scripts/test does this)")
    })
}
