//! The build context comes from the HEAD commit of a real git repository,
//! filtered by `.dockerignore`.

use davit_context::{build_context, ContextError};
use davit_git::Repo;
use davit_testkit::fixtures::{git, write};

/// A project with an `app/` context, a `.dockerignore`, an executable, a
/// symlink and a file that is only in the work tree.
fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    git(d, &["init", "-q"]);
    write(d, "werf.yaml", "project: p\nconfigVersion: 1\n");
    write(d, "app/Dockerfile", "FROM busybox\nCOPY . /app\n");
    write(
        d,
        "app/.dockerignore",
        "**/*.log\nsecret/\n!secret/public.txt\nDockerfile\n",
    );
    write(d, "app/src/main.sh", "echo hi\n");
    write(d, "app/src/debug.log", "noise\n");
    write(d, "app/secret/key", "k\n");
    write(d, "app/secret/public.txt", "p\n");
    write(d, "other/x.txt", "outside the context\n");
    std::os::unix::fs::symlink("src/main.sh", d.join("app/run")).expect("symlink");
    let mut perm = std::fs::metadata(d.join("app/src/main.sh"))
        .expect("meta")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(d.join("app/src/main.sh"), perm).expect("chmod");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "init"]);
    write(d, "app/untracked.txt", "not committed\n");
    write(d, "app/src/main.sh", "echo changed on disk\n");
    tmp
}

fn entries(tar_bytes: &[u8]) -> Vec<(String, u32, String)> {
    let mut ar = tar::Archive::new(tar_bytes);
    let mut out = Vec::new();
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let path = e.path().expect("path").to_string_lossy().into_owned();
        let mode = e.header().mode().expect("mode");
        let body = if e.header().entry_type().is_symlink() {
            format!(
                "-> {}",
                e.link_name().expect("link").expect("target").display()
            )
        } else {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut e, &mut s).expect("read");
            s
        };
        out.push((path, mode, body));
    }
    out
}

#[test]
fn context_is_the_commit_filtered_by_dockerignore() {
    let tmp = project();
    let repo = Repo::discover(tmp.path()).expect("repo");
    let ctx = build_context(&repo, "app", "Dockerfile").expect("context");
    assert_eq!(ctx.dockerignore.as_deref(), Some("app/.dockerignore"));
    assert_eq!(
        ctx.paths,
        [
            ".dockerignore",
            "Dockerfile",
            "run",
            "secret/public.txt",
            "src/main.sh"
        ]
    );
    let got = entries(&ctx.tar);
    let main = got.iter().find(|e| e.0 == "src/main.sh").expect("main.sh");
    assert_eq!(main.1, 0o755, "executable bit from the commit");
    assert_eq!(main.2, "echo hi\n", "content from the commit, not the disk");
    let run = got.iter().find(|e| e.0 == "run").expect("symlink");
    assert_eq!(run.2, "-> src/main.sh");
    // The Dockerfile is sent although .dockerignore names it.
    assert!(got.iter().any(|e| e.0 == "Dockerfile"));
}

#[test]
fn per_dockerfile_dockerignore_wins() {
    let tmp = project();
    let d = tmp.path();
    write(d, "app/Dockerfile.dockerignore", "src\n");
    git(d, &["add", "app/Dockerfile.dockerignore"]);
    git(d, &["commit", "-qm", "per-dockerfile ignore"]);
    let repo = Repo::discover(d).expect("repo");
    let ctx = build_context(&repo, "app", "Dockerfile").expect("context");
    assert_eq!(
        ctx.dockerignore.as_deref(),
        Some("app/Dockerfile.dockerignore")
    );
    assert!(ctx.paths.iter().all(|p| !p.starts_with("src/")));
    assert!(ctx.paths.iter().any(|p| p == "secret/key"));
}

#[test]
fn root_context_and_clear_errors() {
    let tmp = project();
    let repo = Repo::discover(tmp.path()).expect("repo");
    let ctx = build_context(&repo, ".", "app/Dockerfile").expect("root context");
    assert!(ctx.paths.iter().any(|p| p == "other/x.txt"));
    assert!(ctx.paths.iter().any(|p| p == "app/src/debug.log"));

    let err = build_context(&repo, "nope", "Dockerfile").expect_err("missing context");
    assert!(matches!(err, ContextError::MissingContext(_)), "{err}");
    assert!(err.to_string().contains("context: \"nope\""), "{err}");

    let err = build_context(&repo, "app", "Missing.Dockerfile").expect_err("missing dockerfile");
    assert!(err.to_string().starts_with("dockerfile: "), "{err}");

    // Untracked files are never part of the context.
    let ctx = build_context(&repo, "app", "Dockerfile").expect("context");
    assert!(!ctx.paths.iter().any(|p| p == "untracked.txt"));
}

#[test]
fn bad_dockerignore_names_the_file() {
    let tmp = project();
    let d = tmp.path();
    write(d, "app/.dockerignore", "[a-\n");
    git(d, &["commit", "-qam", "bad ignore"]);
    let repo = Repo::discover(d).expect("repo");
    let err = build_context(&repo, "app", "Dockerfile").expect_err("bad pattern");
    let msg = err.to_string();
    assert!(msg.starts_with("app/.dockerignore: "), "{msg}");
    assert!(msg.contains("[a-"), "{msg}");
}
