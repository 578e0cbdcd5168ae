//! `--add-custom-tag` end to end: final images get extra registry tags on
//! the same manifest, with werf's `custom-tag-meta-*` records; bad
//! templates fail before anything is built. Real git, dockerd and
//! registries; fails (never skips) without them.

mod build_common;

use build_common::*;
use davit_testkit::fixtures::{git, write};

#[test]
fn final_images_get_custom_tags_and_records() {
    let p = project();
    let (host, path, repo) = anon_repo(&p);
    let out = davit(
        &p.dir,
        &[
            "build",
            "--repo",
            &repo,
            "--add-custom-tag",
            "latest",
            "--add-custom-tag",
            "%image%-%image_content_based_tag%",
            "--save-build-report",
        ],
        &[("WERF_ADD_CUSTOM_TAG_1", "env-%image_slug%")],
    );
    let log = ok(&out);
    let r = report(&p.dir, ".werf-build-report.json");
    let app = &r["Images"]["app"];
    let stage_tag = app["DockerTag"].as_str().expect("tag");
    let digest = app["DockerImageDigest"].as_str().expect("digest");
    let tags = registry_tags(&host, &path);
    let expected = [
        "latest".to_string(),
        format!("app-{stage_tag}"),
        format!("env-{}", davit_slug::default_slug("app")),
    ];
    for tag in &expected {
        assert!(tags.contains(tag), "{tag} missing: {tags:?}\n{log}");
        let m = manifest(&host, &path, tag);
        let stage = manifest(&host, &path, stage_tag);
        assert_eq!(m, stage, "{tag} is the stage's manifest");
        assert!(
            log.contains(&format!("└ app: tagged {repo}:{tag}")),
            "{log}"
        );
        let record = format!("custom-tag-meta-{}", davit_slug::limited_slug(tag, 48));
        assert!(tags.contains(&record), "{record} missing: {tags:?}");
        assert_eq!(
            config_label(&host, &path, &record, "stage-id").as_deref(),
            Some(stage_tag)
        );
        assert_eq!(
            config_label(&host, &path, &record, "tag").as_deref(),
            Some(tag.as_str())
        );
    }
    assert!(digest.starts_with("sha256:"));
    // base is not final: no custom tag names it.
    assert!(!tags.iter().any(|t| t.starts_with("base-")), "{tags:?}");
    assert_no_broken_tags(&host, &path);
}

#[test]
fn bad_custom_tags_fail_before_any_build() {
    let p = project();
    let (_, _, repo) = anon_repo(&p);
    // Two final images would get the same tag.
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    write(
        &p.dir,
        "werf.yaml",
        &yaml.replace("final: false", "final: true"),
    );
    git(&p.dir, &["commit", "-qam", "two final images"]);
    let err = failing(
        &p.dir,
        &["build", "--repo", &repo, "--add-custom-tag", "latest"],
        &[],
    );
    assert!(
        err.contains("invalid custom tag \"latest\"") && err.contains("%image%-<tag>"),
        "{err}"
    );
    assert!(
        !err.contains("stage dockerfile"),
        "nothing may start: {err}"
    );
    // Not a docker tag.
    let out = davit(
        &p.dir,
        &["build", "--repo", &repo, "--add-custom-tag", "%image%/x"],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a valid docker tag"), "{err}");
    // Custom tags are registry tags.
    let out = davit(
        &p.dir,
        &["build", "--add-custom-tag", "latest"],
        &[("WERF_REPO", "")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--add-custom-tag needs --repo"), "{err}");
}
