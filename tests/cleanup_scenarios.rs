//! werf's cleanup e2e scenarios (spec §8.2, `cleanup_test.go`) against the
//! real registry and real git repositories with a bare `origin`: branches
//! pushed and deleted, commits dated hours back, custom tags. Each asserts
//! the exact stages and `meta-*` records left.

mod build_common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use build_common::*;
use davit_testkit::fixtures::{git, testenv as env, write};

/// One image that copies `f.txt`; the Kubernetes policy off, and the
/// built-within-N-hours one off unless `keep_recent`.
struct Scene {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    host: String,
    path: String,
    repo: String,
    now: i64,
}

impl Scene {
    fn new(policies: &str, keep_recent: bool) -> Scene {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        std::fs::create_dir_all(&dir).unwrap();
        let origin = tmp.path().join("origin.git");
        git(
            tmp.path(),
            &["init", "-q", "--bare", origin.to_str().unwrap()],
        );
        git(&dir, &["init", "-q", "-b", "main"]);
        git(
            &dir,
            &[
                "remote",
                "add",
                "origin",
                &format!("file://{}", origin.display()),
            ],
        );
        let project = unique("sc");
        let recent = if keep_recent {
            ""
        } else {
            "  disableBuiltWithinLastNHoursPolicy: true\n"
        };
        write(
            &dir,
            "werf.yaml",
            &format!(
                "project: {project}\nconfigVersion: 1\ncleanup:\n  disableKubernetesBasedPolicy: true\n{recent}{policies}---\nimage: image\ndockerfile: Dockerfile\n"
            ),
        );
        write(
            &dir,
            "Dockerfile",
            &format!("FROM {}\nCOPY f.txt /f.txt\n", env("DAVIT_TEST_BASE_IMAGE")),
        );
        write(&dir, ".gitignore", ".werf-build-report.json\n");
        let host = env("DAVIT_TEST_REGISTRY_ANON");
        let path = format!("davit-test/{project}");
        let repo = format!("{host}/{path}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        Scene {
            _tmp: tmp,
            dir,
            host,
            path,
            repo,
            now,
        }
    }

    /// A commit of `content`, dated `hours_ago`.
    fn commit(&self, content: &str, hours_ago: i64) {
        write(&self.dir, "f.txt", &format!("{content}\n"));
        let date = format!("@{} +0000", self.now - hours_ago * 3600);
        let st = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "add", "-A"])
            .current_dir(&self.dir)
            .status()
            .unwrap();
        assert!(st.success());
        let st = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                content,
            ])
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .current_dir(&self.dir)
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Builds HEAD; the stage tag of `image`.
    fn build(&self, extra: &[&str]) -> String {
        let mut args = vec!["build", "--repo", &self.repo, "--save-build-report"];
        args.extend(extra);
        ok(&davit(&self.dir, &args, &[]));
        report(&self.dir, ".werf-build-report.json")["Images"]["image"]["DockerTag"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn git(&self, args: &[&str]) {
        git(&self.dir, args);
    }

    fn cleanup(&self) -> String {
        ok(&davit(
            &self.dir,
            &["cleanup", "--repo", &self.repo, "--without-kube"],
            &[],
        ))
    }

    fn tags(&self) -> BTreeSet<String> {
        registry_tags(&self.host, &self.path).into_iter().collect()
    }

    fn stages(&self) -> BTreeSet<String> {
        let t: Vec<String> = self.tags().into_iter().collect();
        stage_tags(&t).into_iter().cloned().collect()
    }

    fn metas(&self) -> usize {
        let t: Vec<String> = self.tags().into_iter().collect();
        meta_records(&t).len()
    }
}

fn set(items: &[&String]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const TEST_BRANCH_ALL: &str =
    "  keepPolicies:\n  - references: {branch: test}\n    imagesPerReference: {last: -1}\n";

#[test]
fn policy_1_a_pushed_matching_branch_keeps_its_stage_until_the_branch_is_deleted() {
    let s = Scene::new(TEST_BRANCH_ALL, false);
    s.commit("one", 0);
    s.git(&["checkout", "-q", "-b", "test"]);
    let stage = s.build(&[]);
    s.git(&["push", "-q", "origin", "test"]);
    assert_eq!(s.metas(), 1);
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (1, set(&[&stage])));
    s.git(&["push", "-q", "origin", "--delete", "test"]);
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (0, BTreeSet::new()));
}

#[test]
fn policy_1_a_branch_the_policy_does_not_match_keeps_nothing() {
    let s = Scene::new(TEST_BRANCH_ALL, false);
    s.commit("one", 0);
    s.git(&["checkout", "-q", "-b", "some_branch"]);
    s.build(&[]);
    s.git(&["push", "-q", "origin", "some_branch"]);
    assert_eq!(s.metas(), 1);
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (0, BTreeSet::new()));
}

/// The distribution registry can fail a manifest delete part-way (a 500
/// when another tag changes at the same moment, after the manifest went):
/// the tag stays listed without a manifest. Made here by removing the
/// manifest's revision from the registry's storage.
#[test]
fn a_tag_listed_without_its_manifest_goes_in_the_next_cleanup() {
    let s = Scene::new(TEST_BRANCH_ALL, false);
    s.commit("one", 0);
    s.git(&["checkout", "-q", "-b", "some_branch"]);
    let stage = s.build(&[]);
    s.git(&["push", "-q", "origin", "some_branch"]);
    let digest = tag_digest(&s.host, &s.path, &stage);
    let hex = digest.strip_prefix("sha256:").unwrap();
    let revision = PathBuf::from(env("DAVIT_TEST_REGISTRY_ANON_STORAGE"))
        .join("docker/registry/v2/repositories")
        .join(&s.path)
        .join("_manifests/revisions/sha256")
        .join(hex);
    std::fs::remove_dir_all(&revision).unwrap();
    assert!(s.stages().contains(&stage), "still listed");
    assert_eq!(tag_status(&s.host, &s.path, &stage), "404", "not served");
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (0, BTreeSet::new()));
}

fn tag_status(host: &str, path: &str, tag: &str) -> String {
    let o = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(["-H", ACCEPT])
        .arg(format!("http://{host}/v2/{path}/manifests/{tag}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const ACCEPT: &str = "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";

fn tag_digest(host: &str, path: &str, tag: &str) -> String {
    let o = Command::new("curl")
        .args(["-sfI", "-H", ACCEPT])
        .arg(format!("http://{host}/v2/{path}/manifests/{tag}"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&o.stdout).into_owned();
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("docker-content-digest")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no digest for {tag}: {head}"))
}

#[test]
fn policy_3_images_per_reference_in_24h() {
    let policy =
        "  keepPolicies:\n  - references: {branch: /.*/}\n    imagesPerReference: {in: 24h}\n";
    let s = Scene::new(policy, false);
    s.commit("old", 25);
    s.build(&[]);
    s.git(&["push", "-q", "origin", "main"]);
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (0, BTreeSet::new()));
    s.commit("recent", 23);
    let recent = s.build(&[]);
    s.git(&["push", "-q", "origin", "main"]);
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (1, set(&[&recent])));
}

#[test]
fn policy_4_references_limit_in_12h() {
    let policy =
        "  keepPolicies:\n  - references:\n      branch: /.*/\n      limit: {in: 12h}\n    imagesPerReference: {last: -1}\n";
    let s = Scene::new(policy, false);
    s.commit("old", 13);
    s.build(&[]);
    s.git(&["push", "-q", "origin", "main"]);
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (0, BTreeSet::new()));
    s.commit("recent", 11);
    let recent = s.build(&[]);
    s.git(&["push", "-q", "origin", "main"]);
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (1, set(&[&recent])));
}

/// Branches test1 (13 h old), test2 (11 h) and test3 (now), one stage each.
fn three_branches(operator: &str) -> (Scene, [String; 3]) {
    let policy = format!(
        "  keepPolicies:\n  - references:\n      branch: /.*/\n      limit: {{in: 12h, last: 1, operator: {operator}}}\n    imagesPerReference: {{last: -1}}\n"
    );
    let s = Scene::new(&policy, false);
    let mut stages = Vec::new();
    for (i, hours) in [(1, 13), (2, 11), (3, 0)] {
        s.git(&["checkout", "-q", "--orphan", &format!("test{i}")]);
        s.commit(&format!("stage{i}"), hours);
        stages.push(s.build(&[]));
        s.git(&["push", "-q", "origin", &format!("test{i}")]);
    }
    (s, stages.try_into().unwrap())
}

#[test]
fn policy_5_reference_limit_in_or_last() {
    let (s, [_, two, three]) = three_branches("Or");
    assert_eq!(s.metas(), 3);
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (2, set(&[&two, &three])));
}

#[test]
fn policy_6_reference_limit_in_and_last() {
    let (s, [_, _, three]) = three_branches("And");
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (1, set(&[&three])));
}

/// Three commits on `test`: 13 h old, 11 h old and now, one stage each.
fn three_commits(operator: &str) -> (Scene, [String; 3]) {
    let policy = format!(
        "  keepPolicies:\n  - references: {{branch: test}}\n    imagesPerReference: {{in: 12h, last: 1, operator: {operator}}}\n"
    );
    let s = Scene::new(&policy, false);
    s.git(&["checkout", "-q", "-b", "test"]);
    let mut stages = Vec::new();
    for (i, hours) in [(1, 13), (2, 11), (3, 0)] {
        s.commit(&format!("stage{i}"), hours);
        stages.push(s.build(&[]));
    }
    s.git(&["push", "-q", "origin", "test"]);
    (s, stages.try_into().unwrap())
}

#[test]
fn policy_7_images_per_reference_in_or_last() {
    let (s, [_, two, three]) = three_commits("Or");
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (2, set(&[&two, &three])));
}

#[test]
fn policy_8_images_per_reference_in_and_last() {
    let (s, [_, _, three]) = three_commits("And");
    s.cleanup();
    assert_eq!((s.metas(), s.stages()), (1, set(&[&three])));
}

#[test]
fn default_one_stage_built_on_three_commits_of_a_branch_keeps_the_head_record() {
    let s = Scene::new("", false);
    let mut stage = String::new();
    for i in 0..3 {
        // The same content, but three commits (their dates differ).
        s.commit("same", 3 - i);
        stage = s.build(&[]);
    }
    s.git(&["push", "-q", "origin", "main"]);
    assert_eq!(s.metas(), 3);
    s.cleanup();
    let head = head_commit(&s.dir);
    let t: Vec<String> = s.tags().into_iter().collect();
    let metas = meta_records(&t);
    assert_eq!(metas.len(), 1, "{metas:?}");
    assert!(metas[0].contains(&head), "{metas:?} (head {head})");
    assert_eq!(s.stages(), set(&[&stage]));
}

#[test]
fn default_one_stage_on_three_pushed_branches_keeps_three_records() {
    let s = Scene::new("", false);
    s.commit("base", 0);
    for i in 0..3 {
        s.git(&["checkout", "-q", "-b", &format!("b{i}"), "main"]);
        // The same content, but three commits (their dates differ).
        s.commit("same", i);
        s.build(&[]);
        s.git(&["push", "-q", "origin", &format!("b{i}")]);
    }
    assert_eq!(s.metas(), 3);
    s.cleanup();
    assert_eq!(s.metas(), 3);
}

#[test]
fn default_a_stage_of_an_unpushed_commit_goes_with_its_custom_tag() {
    let s = Scene::new("", false);
    s.commit("a", 0);
    let a = s.build(&["--add-custom-tag", "tag1"]);
    s.git(&["push", "-q", "origin", "main"]);
    s.commit("b", 0); // not pushed
    let b = s.build(&["--add-custom-tag", "tag2"]);
    assert_ne!(a, b);
    let custom_meta = |s: &Scene| {
        s.tags()
            .iter()
            .filter(|t| t.starts_with("custom-tag-meta-"))
            .count()
    };
    assert_eq!(custom_meta(&s), 2);
    s.cleanup();
    let tags = s.tags();
    assert_eq!(s.stages(), set(&[&a]));
    assert!(tags.contains("tag1") && !tags.contains("tag2"), "{tags:?}");
    assert_eq!(custom_meta(&s), 1);
}

#[test]
fn default_stages_built_within_two_hours_stay() {
    let s = Scene::new("", true);
    s.commit("a", 0);
    let a = s.build(&[]);
    s.commit("b", 0); // never pushed: no policy keeps a or b
    let b = s.build(&[]);
    s.cleanup();
    assert_eq!(s.stages(), set(&[&a, &b]));
}

#[test]
fn a_malformed_policy_fails_before_any_work() {
    let s = Scene::new(
        "  keepPolicies:\n  - references: {branch: /.*/}\n    imagesPerReference: {in: 5d}\n",
        false,
    );
    s.commit("a", 0);
    // No origin and no registry at this address: the policy is checked first.
    let err = failing(
        &s.dir,
        &[
            "cleanup",
            "--repo",
            "127.0.0.1:9/none/none",
            "--without-kube",
        ],
        &[],
    );
    assert!(
        err.contains("werf.yaml:8:30: cleanup.keepPolicies[0].imagesPerReference.in")
            && err.contains("\"5d\"")
            && err.contains("hint:"),
        "{err}"
    );
    assert!(!err.contains("Syncing"), "{err}");
}

/// werf's `gitWorktree`: a shallow clone is unshallowed by the fetch of
/// origin's branches and tags (the default), and refused when that fetch
/// is off and `forceShallowClone` is not set.
#[test]
fn a_shallow_clone_is_unshallowed_or_refused_as_git_worktree_says() {
    let s = Scene::new("", false);
    s.commit("one", 3);
    s.build(&[]);
    s.commit("two", 2);
    s.build(&[]);
    s.git(&["push", "-q", "origin", "main"]);
    let origin = format!("file://{}", s._tmp.path().join("origin.git").display());
    let shallow_clone = |name: &str| {
        let dir = s._tmp.path().join(name);
        git(
            s._tmp.path(),
            &[
                "clone",
                "-q",
                "--depth",
                "1",
                "-b",
                "main",
                &origin,
                dir.to_str().unwrap(),
            ],
        );
        assert_eq!(is_shallow(&dir), "true");
        dir
    };
    let before = s.tags();

    let refused = shallow_clone("refused");
    let yaml = std::fs::read_to_string(refused.join("werf.yaml")).unwrap();
    write(
        &refused,
        "werf.yaml",
        &yaml.replacen(
            "configVersion: 1\n",
            "configVersion: 1\ngitWorktree:\n  allowFetchOriginBranchesAndTags: false\n",
            1,
        ),
    );
    git(&refused, &["commit", "-qam", "no fetch"]);
    let err = failing(
        &refused,
        &["cleanup", "--repo", &s.repo, "--without-kube"],
        &[],
    );
    assert!(
        err.contains("git shallow clone is not allowed") && err.contains("fetch-depth: 0"),
        "{err}"
    );
    assert_eq!(s.tags(), before, "a refused run deletes nothing");

    let fetched = shallow_clone("fetched");
    ok(&davit(
        &fetched,
        &["cleanup", "--repo", &s.repo, "--without-kube"],
        &[],
    ));
    assert_eq!(is_shallow(&fetched), "false", "the clone was unshallowed");
}

fn is_shallow(dir: &std::path::Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "--is-shallow-repository"])
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
