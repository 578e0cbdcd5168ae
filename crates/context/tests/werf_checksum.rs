//! werf's `filesChecksum` on the worked examples of
//! ../shared/spec/werf-build.md §4.6.1 H, whose values werf v2.77.1
//! printed: a directory taken whole contributes its tree id, a file its
//! blob id, entries in byte-wise path order, `.dockerignore` with
//! patternmatcher's deprecated `Matches`.

use davit_context::dockerignore::Dockerignore;
use davit_context::sources::{sources_checksum, ChecksumContext};
use davit_git::Repo;
use davit_testkit::fixtures::{git, write};

/// The spec's fixture: every file 100644, one commit.
fn fixture(dockerfile_lines: &str, dockerignore: Option<&str>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    git(d, &["init", "-q"]);
    write(d, "a.txt", "hello\n");
    write(d, "b.md", "# readme\n");
    write(d, "foo.txt", "ft\n");
    write(d, "foo/f1", "1\n");
    write(d, "sub/x.txt", "x\n");
    write(d, "sub/y.md", "y\n");
    write(d, "sub/secret.txt", "s\n");
    write(d, "sub/deep/z.txt", "z\n");
    write(
        d,
        "werf.yaml",
        "project: spec-ctx\nconfigVersion: 1\n---\nimage: app\ndockerfile: Dockerfile\n",
    );
    write(
        d,
        "Dockerfile",
        &format!("FROM 127.0.0.1:5055/davit/busybox:local\n{dockerfile_lines}"),
    );
    if let Some(text) = dockerignore {
        write(d, ".dockerignore", text);
    }
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "c1"]);
    tmp
}

fn checksum(dir: &std::path::Path, ignore: &str, sources: &[&str]) -> String {
    let repo = Repo::discover(dir).expect("open");
    let ignore = Dockerignore::parse(ignore).expect("dockerignore");
    let cx = ChecksumContext {
        repo: &repo,
        context: "",
        dockerfile: "Dockerfile",
        ignore: &ignore,
        add_files: &[],
        untracked: &[],
    };
    let sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    sources_checksum(&cx, &sources).expect("checksum").checksum
}

#[test]
fn a_single_file_is_its_blob() {
    let tmp = fixture("COPY a.txt /a.txt\n", None);
    assert_eq!(
        checksum(tmp.path(), "", &["a.txt"]),
        "caf7af16cbd6401f9450a55ec160ad71fdd17be2bd2752b60ed4454d94b435b0"
    );
}

#[test]
fn the_whole_context_is_the_root_tree() {
    let tmp = fixture("COPY . /app\n", None);
    assert_eq!(
        checksum(tmp.path(), "", &["."]),
        "ffa1ea87341a9589dfa8eefade0a036112003f24fc4b21fde91f1c0bd59fca4c"
    );
}

#[test]
fn a_directory_is_its_tree_however_it_is_spelled() {
    let tmp = fixture("COPY sub /sub\n", None);
    for spelling in [
        "sub", "sub/", "./sub", "/sub", "x/../sub", "sub/*", "sub/**",
    ] {
        assert_eq!(
            checksum(tmp.path(), "", &[spelling]),
            "3d005c126cbafffe69332043f9500e978aab637a8e8f562c9d9b7147bcc474dd",
            "{spelling}"
        );
    }
}

#[test]
fn dockerignore_patterns_force_descent_and_are_root_only() {
    let ignore = "*.md\nsub/secret.txt\n";
    let tmp = fixture("COPY . /app\n", Some(ignore));
    assert_eq!(
        checksum(tmp.path(), ignore, &["."]),
        "f1530dd0886e2034edbc2b3ebd3d8d38100edec9459b891600aee394ef76dfee"
    );
}

#[test]
fn entries_sort_byte_wise_and_prefixes_match_nothing() {
    let tmp = fixture("COPY foo foo.txt /p/\nCOPY su /q/\n", None);
    assert!(checksum(tmp.path(), "", &["foo", "foo.txt"]).starts_with("6331790f"));
    // Nothing matched: H256("").
    assert_eq!(
        checksum(tmp.path(), "", &["su"]),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
