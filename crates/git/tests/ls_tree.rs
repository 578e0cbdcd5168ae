//! `ls_tree`: tree ids computed from the file list equal git's own, and the
//! walk takes directories whole or descends as the matcher says.

use davit_git::Repo;
use davit_pathmatch::{Base, Include, Multi, PathMatcher, True};
use davit_testkit::fixtures::{git, rev_parse, write};

fn fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    write(dir, "a.txt", "hello\n");
    write(dir, "foo.txt", "ft\n");
    write(dir, "foo/f1", "1\n");
    write(dir, "sub/x.txt", "x\n");
    write(dir, "sub/deep/z.txt", "z\n");
    write(dir, "run.sh", "echo\n");
    std::os::unix::fs::symlink("a.txt", dir.join("link")).expect("symlink");
    git(dir, &["add", "-A"]);
    git(dir, &["update-index", "--chmod=+x", "run.sh"]);
    git(dir, &["commit", "-qm", "init"]);
    tmp
}

#[test]
fn tree_ids_are_gits() {
    let tmp = fixture();
    let repo = Repo::discover(tmp.path()).expect("open");
    let root = repo.ls_tree("", &True);
    let root = root.entries;
    assert_eq!(root.len(), 1);
    assert_eq!(root[0].path, "");
    assert_eq!(root[0].oid, rev_parse(tmp.path(), "HEAD^{tree}"));
    let sub = repo.ls_tree("sub", &True);
    assert_eq!(sub.entries[0].oid, rev_parse(tmp.path(), "HEAD:sub"));
    let deep = repo.ls_tree("sub/deep", &True);
    assert_eq!(deep.entries[0].oid, rev_parse(tmp.path(), "HEAD:sub/deep"));
    assert!(repo.ls_tree("missing", &True).is_empty());
}

#[test]
fn the_walk_descends_only_where_the_matcher_says() {
    let tmp = fixture();
    let repo = Repo::discover(tmp.path()).expect("open");
    // `COPY foo foo.txt`: two entries, sorted byte-wise (not git's order).
    let m: Box<dyn PathMatcher> = Box::new(Include::new(&["foo", "foo.txt"]));
    let got = repo.ls_tree("", m.as_ref());
    let paths: Vec<&str> = got.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["foo", "foo.txt"]);
    assert_eq!(got.entries[0].oid, rev_parse(tmp.path(), "HEAD:foo"));
    // `COPY sub sub/x.txt` descends into sub.
    let m = Include::new(&["sub", "sub/x.txt"]);
    let paths: Vec<String> = repo
        .ls_tree("", &m)
        .entries
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(paths, ["sub/deep", "sub/x.txt"]);
    // Below a base directory.
    let m = Multi::new(vec![
        Box::new(Base::new("sub", Box::new(True))),
        Box::new(Base::new("sub", Box::new(Include::new(&["x.txt"])))),
    ]);
    let paths: Vec<String> = repo
        .ls_tree("sub", &m)
        .entries
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(paths, ["sub/x.txt"]);
}

#[test]
fn the_dev_snapshot_gets_the_ids_its_commit_would_have() {
    let tmp = fixture();
    let dir = tmp.path();
    write(dir, "sub/new.txt", "new\n");
    let repo = Repo::discover(dir)
        .expect("open")
        .into_dev_snapshot(&|_| false);
    let id = repo.ls_tree("sub", &True).entries[0].oid.clone();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "dev"]);
    assert_eq!(id, rev_parse(dir, "HEAD:sub"));
}
