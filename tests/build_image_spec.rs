//! `imageSpec` end to end: the stage is made by rewriting the image config
//! in the registry (or the local daemon), never by a build, and it is
//! reused like any stage. Real git, dockerd and registries; fails (never
//! skips) without them.

mod build_common;

use std::process::Command;

use build_common::*;
use davit_testkit::fixtures::{git, write};
use serde_json::{json, Value};

/// The two-image project, with werf's meta-level imageSpec (final images
/// only) and an image-level one on `app`.
fn project_with_image_spec(app_user: &str) -> Project {
    let p = project();
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    let meta = "configVersion: 1\nbuild:\n  imageSpec:\n    author: \"Team <team@example.com>\"\n    clearHistory: true\n    config:\n      keepEssentialWerfLabels: true\n      removeLabels:\n      - /.*/\n";
    let app_spec = format!(
        "imageSpec:\n  config:\n    entrypoint: [\"sh\", \"/hello.sh\"]\n    user: \"{app_user}\"\n    workingDir: /srv\n    expose: [8080]\n    env:\n      PATH: \"$PATH:/app/bin\"\n    labels:\n      org.example.project: \"%project%\"\n"
    );
    let yaml = yaml.replacen("configVersion: 1\n", meta, 1) + &app_spec;
    write(&p.dir, "werf.yaml", &yaml);
    git(&p.dir, &["commit", "-qam", "imageSpec"]);
    p
}

fn stage_names(report: &Value, image: &str) -> Vec<String> {
    report["Images"][image]["Stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["Name"].as_str().expect("name").to_string())
        .collect()
}

fn stage<'a>(report: &'a Value, image: &str, index: usize) -> &'a Value {
    &report["Images"][image]["Stages"][index]
}

#[test]
fn image_spec_rewrites_the_config_in_the_registry_and_is_reused() {
    let p = project_with_image_spec("1000");
    let (host, path, repo) = anon_repo(&p);

    let (log, first) = build(&p, &repo, "first.json");
    assert!(
        log.contains("COPY hello.sh"),
        "the builder's lines are shown: {log}"
    );
    // Only the final image takes the meta imageSpec; base has none.
    assert_eq!(stage_names(&first, "base"), ["dockerfile"], "{log}");
    assert_eq!(stage_names(&first, "app"), ["dockerfile", "imageSpec"]);
    assert!(rebuilt(&first, "app"));
    let app = &first["Images"]["app"];
    let spec_stage = stage(&first, "app", 1);
    assert_eq!(app["DockerTag"], spec_stage["DockerTag"]);
    assert_eq!(app["DockerImageID"], spec_stage["DockerImageID"]);
    let dockerfile_tag = stage(&first, "app", 0)["DockerTag"].as_str().expect("tag");
    let spec_tag = spec_stage["DockerTag"].as_str().expect("tag");

    // The rewritten config, on the same layers.
    let cfg = image_config(&host, &path, spec_tag);
    assert_eq!(cfg["author"], "Team <team@example.com>");
    assert_eq!(cfg["history"], json!([]));
    let c = &cfg["config"];
    assert_eq!(c["Entrypoint"], json!(["sh", "/hello.sh"]));
    assert_eq!(c.get("Cmd"), None, "entrypoint without cmd clears cmd");
    assert_eq!(c["User"], "1000");
    assert_eq!(c["WorkingDir"], "/srv");
    assert_eq!(c["ExposedPorts"], json!({"8080/tcp": {}}));
    let env_path = c["Env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(Value::as_str)
        .find(|e| e.starts_with("PATH="))
        .expect("PATH");
    assert!(
        env_path.ends_with(":/app/bin") && env_path.len() > 14,
        "{env_path}"
    );
    let labels = c["Labels"].as_object().expect("labels");
    assert_eq!(labels["org.example.project"], p.project.as_str());
    assert_eq!(labels["werf"], p.project.as_str());
    assert_eq!(labels["werf.io/parent-stage-id"], dockerfile_tag);
    assert!(labels.contains_key("werf-stage-content-digest"));
    assert!(
        !labels.contains_key("werf-version"),
        "removeLabels /.*/ removes all but the essential labels: {labels:?}"
    );
    let layers = |tag: &str| manifest(&host, &path, tag)["layers"].clone();
    assert_eq!(layers(spec_tag), layers(dockerfile_tag));
    assert_no_broken_tags(&host, &path);

    // The image runs with the new entrypoint and user.
    assert_eq!(run_image(&first, "app", &[]), "hello\nbase\n");
    let name = app["DockerImageName"].as_str().expect("name");
    let run = Command::new("docker")
        .args(["run", "--rm", "--entrypoint", "id", name, "-u"])
        .output()
        .expect("docker run id");
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "1000");

    // Second run: both stages reused.
    let (log, second) = build(&p, &repo, "second.json");
    assert!(!rebuilt(&second, "app"), "{log}");
    assert_eq!(stage(&second, "app", 1)["DockerTag"], spec_tag);

    // A changed imageSpec makes a new imageSpec stage only: the
    // Dockerfile stage is reused, nothing is built.
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    write(
        &p.dir,
        "werf.yaml",
        &yaml.replace("user: \"1000\"", "user: \"2000\""),
    );
    git(&p.dir, &["commit", "-qam", "another user"]);
    let (log, third) = build(&p, &repo, "third.json");
    assert!(rebuilt(&third, "app"), "{log}");
    assert_eq!(stage(&third, "app", 0)["DockerTag"], dockerfile_tag);
    assert_eq!(stage(&third, "app", 0)["Rebuilt"], false);
    assert_eq!(stage(&third, "app", 1)["Rebuilt"], true);
    assert_ne!(stage(&third, "app", 1)["DockerTag"], spec_tag);
    assert!(
        !log.contains("COPY hello.sh"),
        "no docker build may run: {log}"
    );
}

#[test]
fn image_spec_in_local_storage_goes_through_save_and_load() {
    let p = project_with_image_spec("1000");
    let run = |name: &str| {
        let out = davit(
            &p.dir,
            &["build", "--save-build-report", "--build-report-path", name],
            &[("WERF_REPO", "")],
        );
        let log = ok(&out);
        (log, report(&p.dir, name))
    };
    let (log, first) = run("first.json");
    assert_eq!(
        stage_names(&first, "app"),
        ["dockerfile", "imageSpec"],
        "{log}"
    );
    let name = first["Images"]["app"]["DockerImageName"]
        .as_str()
        .expect("name");
    assert!(name.starts_with(&format!("{}:", p.project)), "{name}");
    let inspect = Command::new("docker")
        .args(["image", "inspect", name])
        .output()
        .expect("docker inspect");
    let inspect: Value = serde_json::from_slice(&inspect.stdout).expect("inspect json");
    let c = &inspect[0]["Config"];
    assert_eq!(c["Entrypoint"], json!(["sh", "/hello.sh"]));
    assert_eq!(c["User"], "1000");
    assert_eq!(inspect[0]["Author"], "Team <team@example.com>");
    assert_eq!(
        inspect[0]["Id"], first["Images"]["app"]["DockerImageID"],
        "the report names the loaded image"
    );

    let (log, second) = run("second.json");
    assert!(!rebuilt(&second, "app"), "{log}");
    assert_eq!(
        second["Images"]["app"]["DockerImageName"],
        first["Images"]["app"]["DockerImageName"]
    );
}
