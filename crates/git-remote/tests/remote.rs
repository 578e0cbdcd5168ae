//! Remote repositories: a bare clone in the cache over `file://`, fetched
//! again after the remote moves, and the commit each kind of reference
//! names.

use davit_git::remote::RemoteRev;
use davit_git::Repo;
use davit_git_remote::update;
use davit_testkit::fixtures::{git, rev_parse, write};

#[test]
fn a_remote_is_cloned_fetched_and_opened_at_any_reference() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    let origin = tmp.path().join("origin.git");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q", "-b", "main"]);
    write(&work, "lib/a.txt", "v1\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "c1"]);
    git(&work, &["tag", "v1"]);
    let c1 = rev_parse(&work, "HEAD");
    git(tmp.path(), &["clone", "-q", "--bare", "work", "origin.git"]);
    let url = format!("file://{}", origin.display());
    let cache = tmp.path().join("cache");

    let clone = update(&cache, &url, None).expect("clone");
    let head = Repo::open_remote(&clone, &url, &RemoteRev::Head).expect("HEAD");
    assert_eq!(head.head().hash, c1);
    assert_eq!(
        head.read_blob("lib/a.txt").expect("read"),
        Some(b"v1\n".to_vec())
    );

    // The remote moves on: a fetch sees the new branch tip; the tag and
    // the first commit stay where they were.
    write(&work, "lib/a.txt", "v2\n");
    git(&work, &["commit", "-qam", "c2"]);
    let c2 = rev_parse(&work, "HEAD");
    git(
        &work,
        &["push", "-q", origin.to_str().expect("utf-8"), "main"],
    );
    let clone = update(&cache, &url, None).expect("fetch");
    let main = Repo::open_remote(&clone, &url, &RemoteRev::Branch("main".into())).expect("main");
    assert_eq!(main.head().hash, c2);
    let tag = Repo::open_remote(&clone, &url, &RemoteRev::Tag("v1".into())).expect("tag");
    assert_eq!(tag.head().hash, c1);
    let commit = Repo::open_remote(&clone, &url, &RemoteRev::Commit(c1.clone())).expect("commit");
    assert_eq!(
        commit.read_blob("lib/a.txt").expect("read"),
        Some(b"v1\n".to_vec())
    );

    let missing = Repo::open_remote(&clone, &url, &RemoteRev::Branch("nope".into()))
        .err()
        .expect("no such branch");
    assert!(
        missing
            .to_string()
            .contains("refs/heads/nope does not exist"),
        "{missing}"
    );
    let gone = "0123456789abcdef0123456789abcdef01234567";
    let err = Repo::open_remote(&clone, &url, &RemoteRev::Commit(gone.into()))
        .err()
        .expect("no such commit");
    assert!(
        err.to_string()
            .contains("Ensure it has not been squashed or rebased"),
        "{err}"
    );
}
