//! `is_ancestor` against histories git builds: linear, a branch, and a
//! commit dropped by a rebase.

use davit_git::Repo;
use davit_testkit::fixtures::{git, rev_parse, write};

#[test]
fn ancestry_follows_history_not_time() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "main"]);
    write(dir, "a", "1");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "c1"]);
    let c1 = rev_parse(dir, "HEAD");
    git(dir, &["checkout", "-qb", "side"]);
    write(dir, "b", "side");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "side"]);
    let side = rev_parse(dir, "HEAD");
    git(dir, &["checkout", "-q", "main"]);
    write(dir, "a", "2");
    git(dir, &["commit", "-qam", "c2"]);
    let c2 = rev_parse(dir, "HEAD");
    let repo = Repo::discover(dir).expect("open");
    assert!(repo.is_ancestor(&c1, &c2).expect("walk"));
    assert!(
        repo.is_ancestor(&c2, &c2).expect("walk"),
        "a commit is its own ancestor"
    );
    assert!(!repo.is_ancestor(&c2, &c1).expect("walk"));
    assert!(
        !repo.is_ancestor(&side, &c2).expect("walk"),
        "a sibling branch is not history"
    );
    let gone = "0123456789abcdef0123456789abcdef01234567";
    assert!(
        !repo.is_ancestor(gone, &c2).expect("walk"),
        "an unknown commit"
    );
    assert!(!repo.is_ancestor("not-hex", &c2).expect("walk"));
}
