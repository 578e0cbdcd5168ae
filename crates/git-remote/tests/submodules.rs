//! Submodules that are not checked out: cloned from their `.gitmodules`
//! URL into the cache (for a local or a remote superproject), or named in
//! an error when they cannot be.

use davit_git::remote::RemoteRev;
use davit_git::Repo;
use davit_git_remote::{update, Fetched};
use davit_testkit::fixtures::{git, submodule_fixture as fixture};

#[test]
fn submodules_not_checked_out_are_cloned_from_their_url_or_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (app, lib) = fixture(tmp.path());
    // A fresh clone without `submodule update`: nothing checked out.
    git(tmp.path(), &["clone", "-q", "app", "fresh"]);
    let fresh = tmp.path().join("fresh");
    let cache = tmp.path().join("cache");
    let repo = Repo::discover(&fresh)
        .expect("open")
        .with_submodules(
            &|_| true,
            &Fetched::default().submodule_fetcher(&cache, None, None),
        )
        .expect("cloned from the .gitmodules url");
    assert_eq!(
        repo.read_blob("mod/nested/d.txt").expect("read"),
        Some(b"deep\n".to_vec())
    );
    assert!(cache.exists());

    // A remote superproject: its submodules come from their URLs too.
    let url = format!("file://{}", app.display());
    let clone = update(&cache, &url, None).expect("clone");
    let remote = Repo::open_remote(&clone, &url, &RemoteRev::Head)
        .expect("open")
        .with_submodules(
            &|_| true,
            &Fetched::default().submodule_fetcher(&cache, None, None),
        )
        .expect("submodules");
    assert_eq!(
        remote.read_blob("mod/inner/i.txt").expect("read"),
        Some(b"i1\n".to_vec())
    );

    // Unreachable: the error names the submodule and what to do.
    std::fs::remove_dir_all(&lib).expect("rm lib");
    std::fs::remove_dir_all(&cache).expect("rm cache");
    let err = Repo::discover(&fresh)
        .expect("open")
        .with_submodules(
            &|_| true,
            &Fetched::default().submodule_fetcher(&cache, None, None),
        )
        .err()
        .expect("an error")
        .to_string();
    assert!(err.contains("submodule mod (commit "), "{err}");
}
