//! Submodules: a repository opened `with_submodules` holds their files at
//! the recorded commits (nested ones too), read from the checked-out
//! submodules; `ls_tree` still sees each submodule as git does, and walks
//! into it as werf does. (Cloning the ones not checked out:
//! davit-git-remote's tests.)

use davit_git::{EntryKind, GitError, Repo};
use davit_pathmatch::{Include, True};
use davit_testkit::fixtures::{git, rev_parse, submodule_fixture as fixture, write};
use sha2::{Digest, Sha256};

/// Every submodule of these tests is checked out: nothing is fetched.
fn no_fetch(url: &str) -> Result<std::path::PathBuf, GitError> {
    panic!("fetched {url}, which is checked out")
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn submodule_files_are_read_at_the_recorded_commits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (app, lib) = fixture(tmp.path());
    let plain = Repo::discover(&app).expect("open");
    assert!(plain.has_submodules());
    assert_eq!(plain.kind("mod"), Some(EntryKind::Submodule));
    assert_eq!(plain.read_blob("mod/top.txt").expect("read"), None);

    // Unwanted submodules stay as they are.
    let none = plain.with_submodules(&|_| false, &no_fetch).expect("none");
    assert_eq!(none.kind("mod"), Some(EntryKind::Submodule));
    let repo = plain
        .with_submodules(&|_| true, &no_fetch)
        .expect("submodules");
    assert_eq!(repo.kind("mod"), None);
    let files: Vec<&str> = repo.files().collect();
    assert_eq!(
        files,
        [
            ".gitmodules",
            "main.txt",
            "mod/.gitmodules",
            "mod/inner/i.txt",
            "mod/nested/d.txt",
            "mod/top.txt"
        ]
    );
    assert_eq!(
        repo.read_blob("mod/nested/d.txt").expect("read"),
        Some(b"deep\n".to_vec())
    );

    // A later submodule commit: HEAD reads the new one, the older
    // superproject commit the old one.
    let old = rev_parse(&app, "HEAD");
    write(&lib, "top.txt", "top2\n");
    git(&lib, &["commit", "-qam", "top2"]);
    git(&app.join("mod"), &["pull", "-q", "origin", "main"]);
    git(&app, &["commit", "-qam", "mod moved"]);
    let repo = Repo::discover(&app)
        .expect("open")
        .with_submodules(&|_| true, &no_fetch)
        .expect("submodules");
    assert_eq!(
        repo.read_blob("mod/top.txt").expect("read"),
        Some(b"top2\n".to_vec())
    );
    let before = repo.files_at(&old).expect("old files");
    assert_eq!(before["mod/top.txt"].oid, rev_parse(&lib, "HEAD~1:top.txt"));
    assert_eq!(
        before["mod/nested/d.txt"],
        repo.head_file("mod/nested/d.txt").expect("d.txt")
    );
    assert!(!before.contains_key("mod"));
}

#[test]
fn ls_tree_sees_submodules_as_git_and_walks_into_them_as_werf() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (app, _) = fixture(tmp.path());
    let repo = Repo::discover(&app)
        .expect("open")
        .with_submodules(&|_| true, &no_fetch)
        .expect("submodules");
    // The root tree id is git's: submodules count by their commit.
    let root = repo.ls_tree("", &True);
    assert_eq!(root.entries[0].oid, rev_parse(&app, "HEAD^{tree}"));
    // Matched whole, a submodule is its commit id.
    let whole = repo.ls_tree("", &Include::new(&["mod"]));
    assert_eq!(whole.entries.len(), 1);
    assert_eq!(whole.entries[0].oid, rev_parse(&app, "HEAD:mod"));
    assert!(whole.submodules.is_empty());
    // Gone through, it becomes a sub-result with its own checksum.
    let one = repo.ls_tree("", &Include::new(&["mod/inner/i.txt"]));
    assert!(one.entries.is_empty());
    assert_eq!(one.submodules.len(), 1);
    assert_eq!(one.submodules[0].0, "mod");
    let blob = rev_parse(&app.join("mod"), "HEAD:inner/i.txt");
    assert_eq!(one.submodules[0].1.entries[0].oid, blob);
    assert_eq!(one.checksum(), sha256_hex(&sha256_hex(&blob)));
    // A scope inside a submodule: the result is the submodule's.
    let scoped = repo.ls_tree("mod/inner", &True);
    assert_eq!(scoped.submodules[0].0, "mod");
    assert_eq!(
        scoped.submodules[0].1.entries[0].oid,
        rev_parse(&app.join("mod"), "HEAD:inner")
    );
    // A plain repository takes a submodule it would go through as nothing.
    let plain = Repo::discover(&app).expect("open");
    assert!(plain
        .ls_tree("", &Include::new(&["mod/inner/i.txt"]))
        .is_empty());
}
