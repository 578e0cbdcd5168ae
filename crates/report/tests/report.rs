//! The build report's exact bytes (golden files written from werf's format
//! rules in ../shared/spec/werf-build.md §6), its path rules, atomic writing
//! and reading back.

use std::collections::BTreeMap;
use std::path::Path;

use davit_report::{
    build_time, env_prefix, report_path, BuildReport, Format, ImageRecord, Runtime, StageRecord,
};

fn sample() -> BuildReport {
    let stage = |name: &str, tag: &str, rebuilt: bool| StageRecord {
        name: name.into(),
        docker_image_name: format!("registry.example.com/app:{tag}"),
        docker_tag: tag.into(),
        docker_image_id: "sha256:1111111111111111111111111111111111111111111111111111111111111111"
            .into(),
        docker_image_digest:
            "sha256:2222222222222222222222222222222222222222222222222222222222222222".into(),
        created_at: 1_700_000_000_000_000_000,
        size: 2_048,
        source_type: if rebuilt { "".into() } else { "repo".into() },
        base_image_pulled: rebuilt,
        rebuilt,
        build_time: build_time(if rebuilt { 3.456 } else { 0.0 }),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
    };
    let tag = "9a61a05308b3edee15d1a801d7e876248ebab99e7f19a71da0abad0e-1700000000000";
    let image = |name: &str, fin: bool, rebuilt: bool| ImageRecord {
        werf_image_name: name.into(),
        config_type: "dockerfile".into(),
        docker_repo: "registry.example.com/app".into(),
        docker_tag: tag.into(),
        docker_image_id: "sha256:1111111111111111111111111111111111111111111111111111111111111111"
            .into(),
        docker_image_digest:
            "sha256:2222222222222222222222222222222222222222222222222222222222222222".into(),
        docker_image_name: format!("registry.example.com/app:{tag}"),
        target_platform: "linux/amd64".into(),
        rebuilt,
        is_final: fin,
        size: 2_048,
        build_time: build_time(if rebuilt { 3.456 } else { 0.004 }),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        stages: Some(vec![stage("dockerfile", tag, rebuilt)]),
    };
    let mut images = BTreeMap::new();
    images.insert("backend".to_string(), image("backend", true, true));
    images.insert(
        "base-image.v2/x".to_string(),
        image("base-image.v2/x", false, false),
    );
    BuildReport {
        runtime: Runtime {
            backend: "docker".into(),
            in_container: false,
        },
        images,
        ..BuildReport::default()
    }
}

fn golden(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn json_matches_werfs_format() {
    assert_eq!(sample().to_json(), golden("report.json"));
}

#[test]
fn env_matches_werfs_format() {
    assert_eq!(sample().to_env(), golden("report.env"));
    assert_eq!(env_prefix(""), "WERF_");
    assert_eq!(env_prefix("a-b.c/d"), "WERF_A_B_C_D_");
}

#[test]
fn report_paths() {
    assert_eq!(
        report_path(None).ok(),
        Some((".werf-build-report.json".into(), Format::Json))
    );
    assert_eq!(
        report_path(Some("out/r.env")).ok(),
        Some(("out/r.env".into(), Format::Env))
    );
    assert_eq!(
        report_path(Some("r")).ok(),
        Some(("r.json".into(), Format::Json))
    );
    let e = report_path(Some("r.yaml")).err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("invalid --build-report-path \"r.yaml\": extension must be either .json or .env or unspecified")
    );
}

#[test]
fn written_atomically_with_mode_0644_and_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = sample();
    for (file, format) in [("r.json", Format::Json), ("r.env", Format::Env)] {
        let path = dir.path().join(file);
        report.write(&path, format).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
                0o644
            );
        }
        let back = BuildReport::read(&path).expect("read back");
        assert_eq!(back.images.len(), 2);
        assert_eq!(
            back.images["backend"].docker_image_name,
            report.images["backend"].docker_image_name
        );
        assert!(back.images["backend"].is_final && !back.images["base-image.v2/x"].is_final);
        if format == Format::Json {
            assert_eq!(back, report);
        }
    }
    // Only the two reports: no temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn reading_an_incomplete_report_says_what_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.json");
    let mut report = sample();
    if let Some(img) = report.images.get_mut("backend") {
        img.docker_tag.clear();
    }
    report.write(&path, Format::Json).expect("write");
    let e = BuildReport::read(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("image \"backend\" has no DockerTag"), "{e}");
}
