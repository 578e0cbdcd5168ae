//! Helpers the integration tests share: git repositories made with the real
//! `git`, files, and the variables of `scripts/testenv`.

use std::path::{Path, PathBuf};
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

/// `git rev-parse <what>` in `dir`, trimmed; panics on failure.
pub fn rev_parse(dir: &Path, what: &str) -> String {
    let out = Command::new("git")
        .args(["rev-parse", what])
        .current_dir(dir)
        .output()
        .expect("git rev-parse");
    assert!(out.status.success(), "git rev-parse {what}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
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

/// Runs `git submodule <args>` in `dir` with local paths allowed, which
/// git refuses for submodules unless told otherwise.
pub fn git_submodule(dir: &Path, args: &[&str]) {
    let mut all = vec!["-c", "protocol.file.allow=always", "submodule"];
    all.extend_from_slice(args);
    git(dir, &all);
}

/// A repository at `dir` with `files` (path, text) in one commit on `main`.
pub fn repo_with(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    git(dir, &["init", "-q", "-b", "main"]);
    for (path, text) in files {
        write(dir, path, text);
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "init"]);
}

/// `app` with submodule `mod` (lib), which has submodule `nested` (deep),
/// checked out; returns the paths of `app` and `lib`.
pub fn submodule_fixture(tmp: &Path) -> (PathBuf, PathBuf) {
    let deep = tmp.join("deep");
    repo_with(&deep, &[("d.txt", "deep\n")]);
    let lib = tmp.join("lib");
    repo_with(&lib, &[("inner/i.txt", "i1\n"), ("top.txt", "top1\n")]);
    let deep_path = deep.display().to_string();
    git_submodule(&lib, &["add", "-q", &deep_path, "nested"]);
    git(&lib, &["commit", "-qm", "nested"]);
    let app = tmp.join("app");
    repo_with(&app, &[("main.txt", "main\n")]);
    let lib_path = lib.display().to_string();
    git_submodule(&app, &["add", "-q", &lib_path, "mod"]);
    git_submodule(&app, &["update", "-q", "--init", "--recursive"]);
    git(&app, &["commit", "-qm", "mod"]);
    (app, lib)
}
