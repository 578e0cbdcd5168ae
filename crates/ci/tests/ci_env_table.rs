//! The variables a job gets from `ci-env`, for the real variables of
//! GitHub Actions and GitLab CI runs: a push, a tag, a pull or merge
//! request and a deployment environment. Compared exactly.

use std::collections::BTreeMap;

use davit_ci::ci_env::{exported, sections};
use davit_ci::CiSystem;

fn run(system: CiSystem, vars: &[(&str, &str)], project: Option<&str>) -> BTreeMap<String, String> {
    let vars: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let env = move |k: &str| vars.get(k).cloned();
    exported(&sections(system, &env, "/tmp/dc", project), &env)
        .into_iter()
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = [
        ("DOCKER_CONFIG", "/tmp/dc"),
        ("WERF_DOCKER_CONFIG", "/tmp/dc"),
        ("WERF_LOG_COLOR_MODE", "on"),
        ("WERF_LOG_PROJECT_DIR", "1"),
        ("WERF_ENABLE_PROCESS_EXTERMINATOR", "1"),
        ("WERF_LOG_TERMINAL_WIDTH", "130"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        out.insert(k.to_string(), v.to_string());
    }
    out
}

const GITHUB: &[(&str, &str)] = &[
    ("GITHUB_ACTIONS", "true"),
    ("CI", "true"),
    ("GITHUB_REPOSITORY", "Acme/Shop"),
    ("GITHUB_SHA", "1111111111111111111111111111111111111111"),
    ("GITHUB_RUN_ID", "42"),
    ("GITHUB_ACTOR", "octocat"),
];

fn github(extra: &[(&str, &str)]) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = GITHUB.to_vec();
    for (k, val) in extra {
        v.push((
            Box::leak(k.to_string().into_boxed_str()),
            Box::leak(val.to_string().into_boxed_str()),
        ));
    }
    v
}

const GITHUB_COMMON: &[(&str, &str)] = &[
    ("WERF_REPO", "ghcr.io/acme/shop/web"),
    (
        "WERF_ADD_ANNOTATION_PROJECT_GIT",
        "project.werf.io/git=https://github.com/Acme/Shop",
    ),
    (
        "WERF_ADD_ANNOTATION_CI_COMMIT",
        "ci.werf.io/commit=1111111111111111111111111111111111111111",
    ),
    (
        "WERF_ADD_ANNOTATION_GITHUB_ACTIONS_RUN_URL",
        "github.ci.werf.io/workflow-run-url=https://github.com/Acme/Shop/actions/runs/42",
    ),
];

#[test]
fn github_push_to_a_branch() {
    let got = run(
        CiSystem::GitHub,
        &github(&[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF_TYPE", "branch"),
            ("GITHUB_REF_NAME", "main"),
        ]),
        Some("web"),
    );
    assert_eq!(got, expect(GITHUB_COMMON));
}

#[test]
fn github_tag_push_adds_the_tag_annotation() {
    let got = run(
        CiSystem::GitHub,
        &github(&[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF_TYPE", "tag"),
            ("GITHUB_REF_NAME", "v1.0.0"),
        ]),
        Some("web"),
    );
    let mut want = GITHUB_COMMON.to_vec();
    want.push(("WERF_ADD_ANNOTATION_CI_GIT_TAG", "ci.werf.io/tag=v1.0.0"));
    assert_eq!(got, expect(&want));
}

#[test]
fn github_pull_request_with_a_token_exports_it_for_cleanup_and_keeps_a_preset_repo() {
    let got = run(
        CiSystem::GitHub,
        &github(&[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_REF", "refs/pull/7/merge"),
            ("GITHUB_REF_TYPE", "branch"),
            ("GITHUB_REF_NAME", "7/merge"),
            ("GITHUB_TOKEN", "ghs_x"),
            ("WERF_REPO", "registry.example.com/shop"),
        ]),
        Some("web"),
    );
    let mut want: Vec<(&str, &str)> = GITHUB_COMMON
        .iter()
        .copied()
        .filter(|(k, _)| *k != "WERF_REPO")
        .collect();
    want.push(("WERF_REPO_GITHUB_TOKEN", "ghs_x"));
    assert_eq!(got, expect(&want));
}

const GITLAB: &[(&str, &str)] = &[
    ("GITLAB_CI", "true"),
    ("CI", "true"),
    ("CI_SERVER_VERSION", "17.5.1"),
    ("CI_PROJECT_URL", "https://gitlab.example.com/grp/app"),
    ("CI_COMMIT_SHA", "2222222222222222222222222222222222222222"),
    (
        "CI_PIPELINE_URL",
        "https://gitlab.example.com/grp/app/-/pipelines/5",
    ),
    ("CI_JOB_URL", "https://gitlab.example.com/grp/app/-/jobs/6"),
    ("CI_REGISTRY", "registry.example.com"),
    ("CI_REGISTRY_IMAGE", "registry.example.com/grp/app"),
];

const GITLAB_COMMON: &[(&str, &str)] = &[
    ("WERF_REPO", "registry.example.com/grp/app"),
    ("WERF_REPO_CONTAINER_REGISTRY", "gitlab"),
    (
        "WERF_ADD_ANNOTATION_PROJECT_GIT",
        "project.werf.io/git=https://gitlab.example.com/grp/app",
    ),
    (
        "WERF_ADD_ANNOTATION_CI_COMMIT",
        "ci.werf.io/commit=2222222222222222222222222222222222222222",
    ),
    (
        "WERF_ADD_ANNOTATION_GITLAB_CI_PIPELINE_URL",
        "gitlab.ci.werf.io/pipeline-url=https://gitlab.example.com/grp/app/-/pipelines/5",
    ),
    (
        "WERF_ADD_ANNOTATION_GITLAB_CI_JOB_URL",
        "gitlab.ci.werf.io/job-url=https://gitlab.example.com/grp/app/-/jobs/6",
    ),
];

fn gitlab(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    GITLAB.iter().chain(extra).copied().collect()
}

#[test]
fn gitlab_branch_pipeline() {
    let got = run(
        CiSystem::GitLab,
        &gitlab(&[("CI_COMMIT_REF_NAME", "main")]),
        None,
    );
    assert_eq!(got, expect(GITLAB_COMMON));
}

#[test]
fn gitlab_tag_pipeline() {
    let got = run(
        CiSystem::GitLab,
        &gitlab(&[
            ("CI_COMMIT_REF_NAME", "v2.0.0"),
            ("CI_COMMIT_TAG", "v2.0.0"),
        ]),
        None,
    );
    let mut want = GITLAB_COMMON.to_vec();
    want.push(("WERF_ADD_ANNOTATION_CI_GIT_TAG", "ci.werf.io/tag=v2.0.0"));
    assert_eq!(got, expect(&want));
}

#[test]
fn gitlab_merge_request_pipeline_with_an_environment() {
    let got = run(
        CiSystem::GitLab,
        &gitlab(&[
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("CI_MERGE_REQUEST_IID", "12"),
            ("CI_ENVIRONMENT_NAME", "review/mr-12"),
            ("CI_ENVIRONMENT_SLUG", "review-mr-12-a1b2c3"),
        ]),
        None,
    );
    let mut want = GITLAB_COMMON.to_vec();
    want.push(("WERF_ENV", "review-mr-12-a1b2c3"));
    assert_eq!(got, expect(&want));
}

#[test]
fn gitlab_12_1_runners_get_no_colours() {
    let got = run(CiSystem::GitLab, &gitlab(&[]), None);
    assert_eq!(got["WERF_LOG_COLOR_MODE"], "on");
    let vars: Vec<(&str, &str)> = GITLAB
        .iter()
        .copied()
        .filter(|(k, _)| *k != "CI_SERVER_VERSION")
        .chain([("CI_SERVER_VERSION", "12.1.9-ee")])
        .collect();
    assert_eq!(
        run(CiSystem::GitLab, &vars, None)["WERF_LOG_COLOR_MODE"],
        "off"
    );
}
