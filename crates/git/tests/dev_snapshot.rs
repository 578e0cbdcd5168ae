//! `--dev`: the work tree replaces HEAD, with a real git repository.

use davit_git::{EntryKind, Repo, WorktreeState};
use davit_testkit::fixtures::{git, write};

#[test]
fn the_work_tree_replaces_head_except_dev_ignored_paths() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    write(dir, "a.txt", "committed\n");
    write(dir, "keep.txt", "committed\n");
    write(dir, "gone.txt", "committed\n");
    write(dir, ".gitignore", "ignored.log\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "init"]);
    write(dir, "a.txt", "changed\n");
    write(dir, "keep.txt", "changed but dev-ignored\n");
    write(dir, "new.sh", "echo new\n");
    write(dir, "ignored.log", "never\n");
    std::fs::remove_file(dir.join("gone.txt")).expect("rm");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut perm = std::fs::metadata(dir.join("new.sh"))
            .expect("stat")
            .permissions();
        perm.set_mode(0o755);
        std::fs::set_permissions(dir.join("new.sh"), perm).expect("chmod");
        std::os::unix::fs::symlink("a.txt", dir.join("link")).expect("symlink");
    }

    let head = Repo::discover(dir).expect("repo");
    let head_hash = head.head().hash.clone();
    assert_eq!(
        head.read("a.txt").expect("read").as_deref(),
        Some(&b"committed\n"[..])
    );

    let dev = head.into_dev_snapshot(&|p| p == "keep.txt");
    assert_eq!(dev.head().hash, head_hash, "HEAD itself is unchanged");
    assert_eq!(
        dev.read("a.txt").expect("read").as_deref(),
        Some(&b"changed\n"[..])
    );
    assert_eq!(
        dev.read("keep.txt").expect("read").as_deref(),
        Some(&b"committed\n"[..])
    );
    assert_eq!(
        dev.read("new.sh").expect("read").as_deref(),
        Some(&b"echo new\n"[..])
    );
    assert_eq!(
        dev.read("gone.txt").expect("read"),
        None,
        "deleted files are gone"
    );
    assert_eq!(
        dev.read("ignored.log").expect("read"),
        None,
        "gitignored files stay out"
    );
    #[cfg(unix)]
    {
        assert_eq!(dev.kind("new.sh"), Some(EntryKind::Executable));
        assert_eq!(dev.kind("link"), Some(EntryKind::Symlink));
        assert_eq!(
            dev.read_blob("link").expect("blob").as_deref(),
            Some(&b"a.txt"[..])
        );
        assert_eq!(
            dev.read("link").expect("read").as_deref(),
            Some(&b"changed\n"[..])
        );
    }
    // The snapshot is the work tree, so nothing counts as uncommitted.
    assert_eq!(dev.worktree_state("a.txt"), WorktreeState::Unchanged);
    assert_eq!(dev.worktree_state("new.sh"), WorktreeState::Unchanged);
    // Blob IDs are git's, so digests match a commit of the same content.
    let oid = dev.oid("a.txt").expect("oid");
    git(dir, &["add", "a.txt"]);
    let out = std::process::Command::new("git")
        .args(["rev-parse", ":a.txt"])
        .current_dir(dir)
        .output()
        .expect("rev-parse");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), oid);
}
