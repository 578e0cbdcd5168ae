//! Multi-platform images: each platform's stages, then werf's manifest
//! list tagged `<digest>` naming them, reused on the next run and copied
//! whole to the final repository. `FROM scratch` images need no emulator
//! for a foreign architecture. Real git, dockerd and registries; fails
//! (never skips) without them.

mod build_common;

use std::process::Command;

use build_common::*;
use davit_testkit::fixtures::{git, write};

fn multi_platform_project() -> Project {
    let p = project();
    make_multi_platform(&p);
    p
}

#[test]
fn a_multi_platform_image_is_a_manifest_list_of_its_platform_stages() {
    let p = multi_platform_project();
    let (host, path, repo) = anon_repo(&p);
    let by_platform = [("WERF_ENABLE_REPORT_BY_PLATFORM", "1")];
    let (log, first) = build_env(&p, &repo, "first.json", &by_platform);
    let app = &first["Images"]["app"];
    assert_eq!(app["ConfigType"], "", "{log}");
    assert_eq!(app["TargetPlatform"], "");
    assert_eq!(app["Rebuilt"], true);
    let index_tag = app["DockerTag"].as_str().expect("tag");
    assert_eq!(
        index_tag.len(),
        56,
        "a digest without timestamp: {index_tag}"
    );
    let names: Vec<&str> = app["Stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter_map(|s| s["Name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["dockerfile (linux/amd64)", "dockerfile (linux/arm64)"]
    );

    // The list names each platform's stage manifest.
    let list = manifest(&host, &path, index_tag);
    assert_eq!(
        list["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    let entries = list["manifests"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    for platform in ["linux/amd64", "linux/arm64"] {
        let own = &first["ImagesByPlatform"]["app"][platform];
        assert_eq!(own["TargetPlatform"], platform);
        let arch = platform.rsplit('/').next().expect("arch");
        let entry = entries
            .iter()
            .find(|e| e["platform"]["architecture"] == arch)
            .unwrap_or_else(|| panic!("no {platform} entry: {list}"));
        assert_eq!(entry["platform"]["os"], "linux");
        assert_eq!(entry["digest"], own["DockerImageDigest"]);
        let config = image_config(&host, &path, own["DockerTag"].as_str().expect("tag"));
        assert_eq!(config["architecture"], arch);
    }
    assert_eq!(app["DockerImageDigest"], app["DockerImageID"]);
    assert_no_broken_tags(&host, &path);
    // The daemon takes the list and picks its own platform.
    let pull = Command::new("docker")
        .args(["pull", "-q", app["DockerImageName"].as_str().expect("name")])
        .output()
        .expect("docker pull");
    assert!(
        pull.status.success(),
        "{}",
        String::from_utf8_lossy(&pull.stderr)
    );
    // Without the variable, no per-platform section, as in werf.
    let (_, quiet) = build(&p, &repo, "quiet.json");
    assert_eq!(quiet["ImagesByPlatform"], serde_json::json!({}));

    // Everything is reused next time, the list too; a custom tag names
    // the list.
    let (log, second) = build_with(
        &p,
        &repo,
        "second.json",
        &["--add-custom-tag", "%image%-latest"],
        &[],
    );
    assert_eq!(second["Images"]["app"]["Rebuilt"], false, "{log}");
    assert_eq!(second["Images"]["app"]["DockerTag"], index_tag);
    assert_eq!(manifest(&host, &path, "app-latest"), list);

    // --final-repo gets the list with its platform manifests and blobs.
    let final_path = format!("{path}-final");
    let final_repo = format!("{host}/{final_path}");
    let (_, fin) = build_with(&p, &repo, "final.json", &["--final-repo", &final_repo], &[]);
    assert_eq!(
        fin["Images"]["app"]["DockerImageName"],
        format!("{host}/{final_path}:{index_tag}").as_str()
    );
    assert_eq!(
        registry_tags(&host, &final_path),
        vec![index_tag.to_string()]
    );
    assert_no_broken_tags(&host, &final_path);
}

#[test]
fn several_platforms_need_a_registry() {
    let p = multi_platform_project();
    let err = failing(&p.dir, &["build", "app"], &[("WERF_REPO", "")]);
    assert!(
        err.contains("image \"app\"")
            && err.contains("needs a registry --repo")
            && err.contains("--platform"),
        "{err}"
    );
}

/// An image built on a multi-platform dependency gets, for each platform,
/// that platform's stage of the dependency (werf's per-platform
/// dependency arguments), not the list.
#[test]
fn each_platform_of_a_dependent_image_builds_on_the_same_platform_of_its_dependency() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    let project = format!(
        "mp-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos()
    );
    write(
        dir,
        "werf.yaml",
        &format!(
            "project: {project}\nconfigVersion: 1\nbuild:\n  platform: [linux/amd64, linux/arm64]\n---\nimage: base\ndockerfile: Dockerfile\ncontext: base\nfinal: false\n---\nimage: app\ndockerfile: Dockerfile\ncontext: app\ndependencies:\n- image: base\n  imports:\n  - type: ImageName\n    targetBuildArg: BASE_IMAGE\n"
        ),
    );
    write(
        dir,
        "base/Dockerfile",
        "FROM scratch\nCOPY base.txt /base.txt\n",
    );
    write(dir, "base/base.txt", "base\n");
    write(
        dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY app.txt /app.txt\n",
    );
    write(dir, "app/app.txt", "app\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "init"]);
    let host = davit_testkit::fixtures::testenv("DAVIT_TEST_REGISTRY_ANON");
    let path = format!("davit-test/{project}");
    let out = davit(
        dir,
        &[
            "build",
            "--repo",
            &format!("{host}/{path}"),
            "--save-build-report",
        ],
        &[("WERF_ENABLE_REPORT_BY_PLATFORM", "1")],
    );
    let log = ok(&out);
    let r = report(dir, ".werf-build-report.json");
    for (platform, arch) in [("linux/amd64", "amd64"), ("linux/arm64", "arm64")] {
        let base = &r["ImagesByPlatform"]["base"][platform];
        let app = &r["ImagesByPlatform"]["app"][platform];
        let app_tag = app["DockerTag"].as_str().expect("app tag");
        let config = image_config(&host, &path, app_tag);
        assert_eq!(config["architecture"], arch, "{log}");
        let base_tag = base["DockerTag"].as_str().expect("base tag");
        let labels = config["config"]["Labels"].as_object().expect("labels");
        assert!(
            labels
                .iter()
                .any(|(k, v)| k.starts_with("werf-dependency-stage-id-") && v == base_tag),
            "app for {platform} was built on base's {platform} stage {base_tag}: {labels:?}"
        );
    }
    assert_no_broken_tags(&host, &path);
}
