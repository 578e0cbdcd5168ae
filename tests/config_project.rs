//! `davit config` against real git repositories built by the tests: each
//! giterminism rule, `--dev`, symlinks, projects in subdirectories, and the
//! validation errors with their exact wording.

use std::path::{Path, PathBuf};
use std::process::Command;

struct TestRepo {
    dir: tempfile::TempDir,
}

impl TestRepo {
    fn new() -> TestRepo {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = TestRepo { dir };
        r.git(&["init", "-q"]);
        r
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn git(&self, args: &[&str]) {
        let o = Command::new("git")
            .args(["-c", "user.email=t@t", "-c", "user.name=t"])
            .args(args)
            .current_dir(self.dir.path())
            .env("GIT_AUTHOR_DATE", "2024-01-02T15:04:05+03:00")
            .env("GIT_COMMITTER_DATE", "2024-01-02T15:04:05+03:00")
            .output()
            .expect("git");
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    fn write(&self, path: &str, text: &str) -> &Self {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
        self
    }

    fn commit(&self) -> &Self {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", "c", "--allow-empty"]);
        self
    }

    fn davit(&self, args: &[&str]) -> (i32, String, String) {
        self.davit_in(&self.path(), args, &[])
    }

    fn davit_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        self.davit_in(&self.path(), args, env)
    }

    fn davit_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut c = Command::new(env!("CARGO_BIN_EXE_davit"));
        c.args(args).current_dir(dir);
        for k in [
            "WERF_ENV",
            "WERF_DEV",
            "WERF_LOOSE_GITERMINISM",
            "WERF_DIR",
            "WERF_CONFIG",
        ] {
            c.env_remove(k);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().expect("run davit");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }
}

const META: &str = "project: demo\nconfigVersion: 1\n";

fn repo_with(config: &str) -> TestRepo {
    let r = TestRepo::new();
    r.write("werf.yaml", config).commit();
    r
}

#[test]
fn renders_from_the_commit_with_commit_data() {
    let r = repo_with("project: demo\nconfigVersion: 1\n---\nimage: app\nfrom: alpine\n# {{ .Commit.Date.Human }} {{ .Commit.Date.Unix }} {{ len .Commit.Hash }} env={{ .Env }}\n");
    let (code, out, err) = r.davit(&["config", "render", "--env", "prod"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("# 2024-01-02 15:04:05 +0300 +0300 1704197045 40 env=prod"),
        "{out}"
    );
}

#[test]
fn uncommitted_config_is_an_error_unless_dev_or_loose() {
    let r = repo_with(&format!("{META}---\nimage: a\nfrom: alpine\n"));
    r.write("werf.yaml", &format!("{META}---\nimage: b\nfrom: alpine\n"));
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("werf.yaml: the file \"werf.yaml\" must be committed"),
        "{err}"
    );
    assert!(
        err.contains("hint: commit it (git add werf.yaml && git commit)"),
        "{err}"
    );
    assert_eq!(r.davit(&["config", "list", "--dev"]).1, "b\n");
    assert_eq!(r.davit(&["config", "list", "--loose-giterminism"]).1, "b\n");
    assert_eq!(
        r.davit_env(&["config", "list"], &[("WERF_DEV", "true")]).1,
        "b\n"
    );
}

#[test]
fn giterminism_can_allow_the_uncommitted_config() {
    let r = TestRepo::new();
    r.write("werf.yaml", &format!("{META}---\nimage: a\nfrom: alpine\n"))
        .write(
            "werf-giterminism.yaml",
            "giterminismConfigVersion: 1\nconfig:\n  allowUncommitted: true\n",
        )
        .commit();
    r.write("werf.yaml", &format!("{META}---\nimage: c\nfrom: alpine\n"));
    let (code, out, err) = r.davit(&["config", "list"]);
    assert_eq!((code, out.as_str()), (0, "c\n"), "{err}");
}

#[test]
fn missing_config_says_how_to_fix_it() {
    let r = TestRepo::new();
    r.write("README", "x").commit();
    r.write("werf.yaml", META);
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("werf.yaml: the untracked file \"werf.yaml\" must be committed"),
        "{err}"
    );
    assert!(
        err.contains("hint: commit it (git add werf.yaml && git commit)"),
        "{err}"
    );
    std::fs::remove_file(r.path().join("werf.yaml")).expect("rm");
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("werf.yaml: the file not found in the project git repository"),
        "{err}"
    );
    assert!(
        err.contains("hint: create werf.yaml in the project directory"),
        "{err}"
    );
}

#[test]
fn untracked_templates_need_permission() {
    let r = repo_with(&format!("{META}---\n{{{{ include \"img\" . }}}}\n"));
    r.write(
        ".werf/img.tmpl",
        "{{ define \"img\" }}image: t\nfrom: alpine{{ end }}",
    );
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the untracked file \".werf/img.tmpl\" must be committed"),
        "{err}"
    );
    r.write("werf-giterminism.yaml", "giterminismConfigVersion: 1\nconfig:\n  allowUncommittedTemplates: [\".werf/**/*.tmpl\"]\n").commit();
    // Now committed: a later local change is allowed by the glob.
    r.write(
        ".werf/img.tmpl",
        "{{ define \"img\" }}image: changed\nfrom: alpine{{ end }}",
    );
    assert_eq!(r.davit(&["config", "list"]).1, "changed\n");
}

#[test]
fn env_needs_giterminism_permission() {
    let r = repo_with(&format!(
        "{META}---\nimage: {{{{ env \"NAME\" }}}}\nfrom: alpine\n"
    ));
    let (code, _, err) = r.davit_env(&["config", "list"], &[("NAME", "svc")]);
    assert_eq!(code, 1);
    assert!(
        err.contains("env name \"NAME\" not allowed by giterminism"),
        "{err}"
    );
    assert!(err.contains("allowEnvVariables"), "{err}");
    assert!(
        err.starts_with("error: werf.yaml: template: werfConfig:4:"),
        "{err}"
    );
    r.write("werf-giterminism.yaml", "giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowEnvVariables: [/NA.E/]\n").commit();
    assert_eq!(
        r.davit_env(&["config", "list"], &[("NAME", "svc")]).1,
        "svc\n"
    );
    // Unset without a default is an error in giterministic mode, "" in loose mode.
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the environment variable \"NAME\" must be set or default must be provided"),
        "{err}"
    );
}

#[test]
fn files_get_reads_the_commit_and_checks_changes() {
    let r = TestRepo::new();
    r.write(
        "werf.yaml",
        &format!("{META}---\nimage: {{{{ .Files.Get \"name.txt\" | trim }}}}\nfrom: alpine\n"),
    )
    .write("name.txt", "committed\n")
    .commit();
    assert_eq!(r.davit(&["config", "list"]).1, "committed\n");
    r.write("name.txt", "local\n");
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the file \"name.txt\" must be committed"),
        "{err}"
    );
    assert!(err.contains("allowUncommittedFiles"), "{err}");
    assert_eq!(r.davit(&["config", "list", "--dev"]).1, "local\n");
    r.write("werf-giterminism.yaml", "giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowUncommittedFiles: [name.txt]\n");
    r.git(&["add", "werf-giterminism.yaml"]);
    r.git(&["commit", "-q", "-m", "g"]);
    assert_eq!(r.davit(&["config", "list"]).1, "local\n");
}

#[test]
fn dev_mode_sees_untracked_but_not_ignored_files() {
    let r = TestRepo::new();
    r.write(
        "werf.yaml",
        &format!("{META}---\nimage: app\nfrom: alpine\n# {{{{ range $p, $_ := .Files.Glob \"data/*\" }}}}{{{{ $p }}}} {{{{ end }}}}\n"),
    )
    .write(".gitignore", "data/ignored.txt\n")
    .write("data/tracked.txt", "t")
    .commit();
    r.write("data/ignored.txt", "i");
    let (_, out, _) = r.davit(&["config", "render"]);
    assert!(out.contains("# data/tracked.txt \n"), "{out}");
    // An untracked file matching the glob must be committed (or allowed).
    r.write("data/untracked.txt", "u");
    let (code, _, err) = r.davit(&["config", "render"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the untracked file \"data/untracked.txt\" must be committed"),
        "{err}"
    );
    let (_, out, err) = r.davit(&["config", "render", "--dev"]);
    assert!(
        out.contains("# data/tracked.txt data/untracked.txt \n"),
        "{out}{err}"
    );
}

#[test]
fn symlinks_are_followed_inside_the_repository() {
    let r = TestRepo::new();
    r.write(
        "werf.yaml",
        &format!("{META}---\nimage: {{{{ .Files.Get \"link.txt\" | trim }}}}\nfrom: alpine\n"),
    )
    .write("real/name.txt", "via-link\n");
    std::os::unix::fs::symlink("real/name.txt", r.path().join("link.txt")).expect("symlink");
    r.commit();
    assert_eq!(r.davit(&["config", "list"]).1, "via-link\n");
}

#[test]
fn projects_in_subdirectories() {
    let r = TestRepo::new();
    r.write("svc-a/werf.yaml", "project: svc-a\nconfigVersion: 1\n---\nimage: a\nfrom: alpine\n")
        .write("svc-b/werf.yaml", "project: svc-b\nconfigVersion: 1\n---\nimage: b\nfrom: alpine\n# {{ .Files.Get \"own.txt\" }}\n")
        .write("svc-b/own.txt", "mine")
        .commit();
    assert_eq!(r.davit(&["config", "list", "--dir", "svc-a"]).1, "a\n");
    let (_, out, err) = r.davit_in(&r.path().join("svc-b"), &["config", "render"], &[]);
    assert!(out.ends_with("# mine\n"), "{out}{err}");
}

fn error_of(config: &str) -> String {
    let r = repo_with(config);
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1, "expected an error for:\n{config}");
    err
}

#[test]
fn validation_errors_name_file_line_document_and_key() {
    let e = error_of(&format!("{META}---\nimage: app\nfromImg: alpine\n"));
    assert_eq!(
        e,
        "error: werf.yaml:5:1: unknown key `fromImg` in a stapel image section (document 2, key `fromImg`)\n  hint: did you mean `fromImage`?\n"
    );
    let e = error_of(&format!(
        "{META}---\nimage: app\nfrom: alpine\nshell:\n  install: [1, [2]]\n"
    ));
    assert!(e.contains("werf.yaml:7:16: expected a string, got a list in a stapel image section (document 2, key `shell.install[1]`)"), "{e}");
    let e = error_of(&format!(
        "{META}---\nimage: app\nfrom: alpine\nfinal: maybe\n"
    ));
    assert!(
        e.contains("werf.yaml:6:8: expected a boolean (true or false), got a string"),
        "{e}"
    );
}

#[test]
fn meta_section_errors() {
    assert!(error_of("image: a\nfrom: alpine\n")
        .contains("meta config section (`configVersion` and `project`) not found"));
    assert!(error_of("configVersion: 1\n").contains("'project' field cannot be empty!"));
    assert!(error_of("project: demo\nconfigVersion: 2\n")
        .contains("'configVersion: 1' field required!"));
    assert!(error_of("project: Bad_Name\nconfigVersion: 1\n")
        .contains("bad project name \"Bad_Name\" specified in config"));
    assert!(error_of(&format!("{META}---\n{META}"))
        .contains("duplicate meta config section definition"));
    assert!(error_of(&format!("{META}---\nfoo: 1\n"))
        .contains("cannot recognize type of config section"));
}

#[test]
fn cross_document_errors() {
    let e = error_of(&format!(
        "{META}---\nimage: a\nfrom: alpine\n---\nimage: a\nfrom: alpine\n"
    ));
    assert!(e.contains("werf.yaml:7:1: conflict between images names: `a` is defined twice (first in document 2)"), "{e}");
    let e = error_of(&format!("{META}---\nimage: a\nfromImage: nope\n"));
    assert!(e.contains("image \"nope\" not found!"), "{e}");
    let e = error_of(&format!("{META}---\nimage: a\nfrom: alpine\ndependencies:\n- image: bb\n---\nimage: b\nfrom: alpine\n"));
    assert!(
        e.contains("image \"bb\" not found!") && e.contains("did you mean `b`?"),
        "{e}"
    );
    let e = error_of(&format!(
        "{META}---\nimage: a\nfromImage: b\n---\nimage: b\nfromImage: a\n"
    ));
    assert!(e.contains("infinite loop detected: a -> b -> a"), "{e}");
    let e = error_of(&format!("{META}---\nimage: a\nfromImage: a\n"));
    assert!(e.contains("image cannot reference itself!"), "{e}");
}

#[test]
fn directive_conflicts() {
    let e = error_of(&format!(
        "{META}---\nimage: a\nfrom: alpine\nshell: {{}}\nansible: {{}}\n"
    ));
    assert!(
        e.contains("can not use shell and ansible builders at the same time!"),
        "{e}"
    );
    let e = error_of(&format!(
        "{META}---\nimage: a\ndockerfile: /abs/Dockerfile\n"
    ));
    assert!(
        e.contains("`dockerfile: PATH` required and should be relative to context!"),
        "{e}"
    );
    let e = error_of(&format!(
        "{META}---\nimage: a\nfrom: alpine\ngit:\n- add: /\n  to: /app\n  branch: main\n"
    ));
    assert!(
        e.contains(
            "specify `branch: BRANCH`, `tag: TAG` and `commit: COMMIT` only for remote git!"
        ),
        "{e}"
    );
    let e = error_of(&format!("{META}---\nimage: a\nfrom: alpine\nmount:\n- to: /x\n  from: tmp_dir\n- to: /x\n  from: build_dir\n"));
    assert!(e.contains("conflict between mounts!"), "{e}");
}

#[test]
fn yaml_and_template_errors_have_positions() {
    let e = error_of(&format!("{META}---\nimage: a\nfrom: [alpine\n"));
    assert!(e.starts_with("error: werf.yaml:"), "{e}");
    assert!(
        e.contains("invalid YAML") && e.contains("document 2"),
        "{e}"
    );
    let e = error_of(&format!(
        "{META}---\nimage: a\nfrom: {{{{ fail \"no base image\" }}}}\n"
    ));
    assert!(
        e.contains("error: werf.yaml: template: werfConfig:5:9: executing \"werfConfig\" at <fail \"no base image\">: error calling fail: no base image"),
        "{e}"
    );
}

#[test]
fn render_prints_images_and_the_graph() {
    let r = repo_with(&format!(
        "{META}---\nimage: base\nfrom: alpine\nfinal: false\n---\nimage: app\nfromImage: base\nimport:\n- image: base\n  add: /x\n  to: /x\n  after: install\n---\nimage: web\ndockerfile: Dockerfile\ndependencies:\n- image: app\n"
    ));
    assert_eq!(r.davit(&["config", "list"]).1, "base\napp\nweb\n");
    assert_eq!(
        r.davit(&["config", "list", "--final-images-only"]).1,
        "app\nweb\n"
    );
    assert_eq!(r.davit(&["config", "render", "app"]).1, "image: app\nfromImage: base\nimport:\n- image: base\n  add: /x\n  to: /x\n  after: install\n");
    let (_, json, _) = r.davit(&["config", "graph", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("graph json");
    assert_eq!(v[1]["dependsOn"]["from"], "base");
    assert_eq!(v[2]["dependsOn"]["dependencies"][0], "app");
    let (code, _, err) = r.davit(&["config", "render", "nope"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("image \"nope\" not found in werf.yaml; images: base, app, web"),
        "{err}"
    );
}

/// Each directive that needs giterminism permission is rejected with the key
/// to add, and accepted once that key is there.
#[test]
fn directives_that_need_permission() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "image: a\nfrom: alpine\nfromLatest: true\n",
            "fromLatest directive not allowed by giterminism",
            "config:\n  stapel:\n    allowFromLatest: true\n",
        ),
        (
            "image: a\nfrom: alpine\ngit:\n- url: https://example.com/x.git\n  branch: main\n  add: /\n  to: /src\n",
            "git branch directive not allowed by giterminism",
            "config:\n  stapel:\n    git:\n      allowBranch: true\n",
        ),
        (
            "image: a\nfrom: alpine\nmount:\n- from: build_dir\n  to: /cache\n",
            "\"mount { from: build_dir, ... }\" not allowed by giterminism",
            "config:\n  stapel:\n    mount:\n      allowBuildDir: true\n",
        ),
        (
            "image: a\nfrom: alpine\nmount:\n- fromPath: ~/go-pkg\n  to: /go\n",
            "\"mount { fromPath: ~/go-pkg, ... }\" not allowed by giterminism",
            "config:\n  stapel:\n    mount:\n      allowFromPaths: [\"~/go-pkg\"]\n",
        ),
        (
            "image: a\ndockerfile: Dockerfile\ncontext: app\ncontextAddFiles: [gen.txt]\n",
            "contextAddFile \"app/gen.txt\" not allowed by giterminism",
            "config:\n  dockerfile:\n    allowContextAddFiles: [app/gen.txt]\n",
        ),
        (
            "image: a\ndockerfile: Dockerfile\nsecrets:\n- env: TOKEN\n",
            "secret \"TOKEN\" not allowed by giterminism",
            "config:\n  secrets:\n    allowEnvVariables: [TOKEN]\n",
        ),
        (
            "image: a\nfrom: alpine\nsecrets:\n- id: k\n  value: v\n",
            "secret \"k\" not allowed by giterminism",
            "config:\n  secrets:\n    allowValueIds: [k]\n",
        ),
    ];
    for (image, message, allow) in cases {
        let r = repo_with(&format!("{META}---\n{image}"));
        let (code, _, err) = r.davit(&["config", "list"]);
        assert_eq!(code, 1, "{image}");
        assert!(err.contains(message), "{image}: {err}");
        assert!(err.contains("hint: to allow it, add `config."), "{err}");
        assert_eq!(
            r.davit(&["config", "list", "--loose-giterminism"]).0,
            0,
            "{image}"
        );
        r.write(
            "werf-giterminism.yaml",
            &format!("giterminismConfigVersion: 1\n{allow}"),
        )
        .commit();
        let (code, out, err) = r.davit(&["config", "list"]);
        assert_eq!((code, out.as_str()), (0, "a\n"), "{image}: {err}");
    }
}

#[test]
fn giterminism_file_errors() {
    let r = TestRepo::new();
    r.write("werf.yaml", &format!("{META}---\nimage: a\nfrom: alpine\n"))
        .write(
            "werf-giterminism.yaml",
            "config:\n  allowUncommitted: true\n",
        )
        .commit();
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(err.contains("werf-giterminism.yaml:1:1: the giterminism config validation failed: giterminismConfigVersion must be 1"), "{err}");
    r.write(
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\nconfig:\n  stapel:\n    allowFromLatest: sure\n",
    )
    .commit();
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(err.contains("`allowFromLatest` must be a boolean"), "{err}");
    // Uncommitted changes to the giterminism file itself are refused.
    r.write("werf-giterminism.yaml", "giterminismConfigVersion: 1\n");
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("werf-giterminism.yaml: the file must be committed"),
        "{err}"
    );
}

/// An error in text that came from a template file names that file and line.
#[test]
fn errors_point_back_to_the_template_line() {
    let r = TestRepo::new();
    r.write(
        "werf.yaml",
        "project: demo\nconfigVersion: 1\n{{- range $i := until 2 }}\n---\nimage: img{{ $i }}\nfrom: alpine\n{{- end }}\n---\n{{ template \"bad.tmpl\" . }}\n",
    )
    .write(".werf/x.tmpl", "{{ define \"bad.tmpl\" }}image: z\nfrom: alpine\n\nshel: x{{ end }}")
    .commit();
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: werf.yaml:13:1: unknown key `shel` in a stapel image section (document 4, key `shel`, rendered from x.tmpl:4)\n  hint: did you mean `shell`?\n"
    );
    // A line produced by a loop points at the loop body in werf.yaml.
    r.write(
        "werf.yaml",
        "project: demo\nconfigVersion: 1\n{{- range $i := until 2 }}\n---\nimage: img{{ $i }}\nfromm: alpine\n{{- end }}\n",
    )
    .commit();
    let (_, _, err) = r.davit(&["config", "list"]);
    assert!(
        err.contains("werf.yaml:5:1: unknown key `fromm`")
            && err.contains("werf.yaml:8:1: unknown key `fromm`"),
        "{err}"
    );
    assert_eq!(
        err.matches("rendered from werf.yaml:6)").count(),
        2,
        "{err}"
    );
}

#[test]
fn a_repository_without_commits_names_the_config_to_commit() {
    let r = TestRepo::new();
    r.write("werf.yaml", META);
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(err.contains("werf.yaml: never committed"), "{err}");
    assert!(err.contains("git add werf.yaml && git commit"), "{err}");
}

#[test]
fn an_unclosed_bracket_is_reported_on_its_own_line() {
    let r = TestRepo::new();
    r.write(
        "werf.yaml",
        &format!("{META}---\nimage: app\ndockerfile: Dockerfile\nargs:\n  A: [1, 2\n  B: 3\n"),
    )
    .commit();
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    let open_line = META.lines().count() + 5;
    assert!(
        err.contains(&format!("werf.yaml:{open_line}:6: invalid YAML: the flow sequence `[` opened here is not closed")),
        "{err}"
    );
}

#[test]
fn werf_v11_forms_name_their_replacement() {
    let r = repo_with(&format!(
        "{META}---\nimage: app\nfrom: alpine\nfromImageArtifact: x\n"
    ));
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(err.contains("werf v1.2 renamed it `fromArtifact`"), "{err}");
    let r = TestRepo::new();
    r.write(
        ".werf/templates/x.tmpl",
        "{{ define \"x\" }}from: alpine{{ end }}",
    )
    .write(
        "werf.yaml",
        &format!("{META}---\nimage: app\n{{{{ include \".werf/templates/x.tmpl\" . }}}}\n"),
    )
    .commit();
    let (code, _, err) = r.davit(&["config", "list"]);
    assert_eq!(code, 1);
    assert!(err.contains("use include \"templates/x.tmpl\""), "{err}");
    let (code, _, err) = r.davit(&["build", "--stages-storage", ":local"]);
    assert_eq!(code, 2);
    assert!(err.contains("--repo"), "{err}");
}
