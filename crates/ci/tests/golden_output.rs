//! Golden files for every native CI format, each for a successful build, a
//! partly failed build and a config error. `DAVIT_REGEN_GOLDEN=1`
//! rewrites them. The job summary is also rendered to HTML with a
//! Markdown library and checked for its table.

use std::path::PathBuf;

use davit_ci::output::{
    github_errors, github_outputs, github_summary, gitlab_annotations, gitlab_dotenv,
    gitlab_section_end, gitlab_section_start, ImageRow, Outcome, Problem,
};

fn image(name: &str, rebuilt: bool, is_final: bool) -> ImageRow {
    let tag = format!("{}-1700000000000", "a".repeat(56));
    ImageRow {
        name: name.into(),
        repo: "registry.example.com/group/app".into(),
        tag: tag.clone(),
        digest: format!("sha256:{}", "b".repeat(64)),
        reference: format!("registry.example.com/group/app:{tag}"),
        rebuilt,
        is_final,
        size: 7_340_032,
        seconds: 2.5,
    }
}

fn cases() -> Vec<(&'static str, Outcome)> {
    let report = "{\n\t\"Images\": {}\n}".to_string();
    vec![
        (
            "success",
            Outcome {
                command: "build".into(),
                images: vec![image("backend", true, true), image("base", false, false)],
                problems: vec![],
                report_json: Some(report.clone()),
                seconds: 4.2,
            },
        ),
        (
            "partial",
            Outcome {
                command: "build".into(),
                images: vec![image("base", true, false)],
                problems: vec![Problem {
                    message: "image \"app\": unknown instruction: RUNN".into(),
                    file: Some("app/Dockerfile".into()),
                    line: Some(3),
                    col: None,
                }],
                report_json: Some(report),
                seconds: 3.0,
            },
        ),
        (
            "config-error",
            Outcome {
                command: "build".into(),
                images: vec![],
                problems: vec![Problem {
                    message: "unknown key `dockerfil` (key `dockerfil`)\nhint: did you mean `dockerfile`?".into(),
                    file: Some("sub/werf.yaml".into()),
                    line: Some(5),
                    col: Some(1),
                }],
                report_json: None,
                seconds: 0.1,
            },
        ),
    ]
}

fn render(outcome: &Outcome) -> Vec<(&'static str, String)> {
    let (dotenv, note) = gitlab_dotenv(outcome);
    vec![
        ("github-output.txt", github_outputs(outcome)),
        ("github-summary.md", github_summary(outcome)),
        (
            "github-annotations.txt",
            github_errors(&outcome.problems).join("\n") + "\n",
        ),
        (
            "gitlab-sections.txt",
            format!(
                "{}\n{}\n",
                gitlab_section_start("build", "Building images", 1700000000, false),
                gitlab_section_end("build", 1700000005)
            ),
        ),
        (
            "gitlab.env",
            dotenv + &note.map(|n| format!("# note: {n}\n")).unwrap_or_default(),
        ),
        (
            "gitlab-annotations.json",
            gitlab_annotations(outcome, &|r| {
                format!("https://{}", davit_ci::output::repository_of(r))
            }) + "\n",
        ),
    ]
}

#[test]
fn every_format_matches_its_golden_file() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let regen = std::env::var_os("DAVIT_REGEN_GOLDEN").is_some();
    let mut stale = Vec::new();
    for (case, outcome) in cases() {
        for (format, text) in render(&outcome) {
            let path = dir.join(format!("{case}.{format}"));
            if regen {
                std::fs::write(&path, &text).expect("write golden");
            }
            let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
                panic!(
                    "{} is missing: run with DAVIT_REGEN_GOLDEN=1",
                    path.display()
                )
            });
            if want != text {
                stale.push(format!(
                    "{}:\n--- golden\n{want}\n--- now\n{text}",
                    path.display()
                ));
            }
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

#[test]
fn the_summary_renders_to_an_html_table_with_a_row_per_image() {
    for (case, outcome) in cases() {
        let md = github_summary(&outcome);
        let mut options = pulldown_cmark::Options::empty();
        options.insert(pulldown_cmark::Options::ENABLE_TABLES);
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(&md, options));
        if outcome.images.is_empty() {
            assert!(!html.contains("<table>"), "{case}: {html}");
        } else {
            assert!(html.contains("<table>"), "{case}: {html}");
            for header in ["Image", "Tag", "Digest", "Result", "Size", "Time"] {
                assert!(
                    html.contains(&format!(">{header}</th>")),
                    "{case}: {header}: {html}"
                );
            }
            assert_eq!(
                html.matches("<tr>").count(),
                outcome.images.len() + 1,
                "{case}: {html}"
            );
        }
        if !outcome.problems.is_empty() {
            let errors_at = html.find("<li>").expect("errors listed");
            let table_at = html.find("<table>").unwrap_or(usize::MAX);
            assert!(errors_at < table_at, "errors come first: {html}");
        }
    }
}

#[test]
fn limits_truncate_with_a_note_instead_of_failing() {
    let many: Vec<ImageRow> = (0..40)
        .map(|i| image(&format!("image-{i}"), true, true))
        .collect();
    let outcome = Outcome {
        command: "build".into(),
        images: many,
        problems: (0..15)
            .map(|i| Problem {
                message: format!("problem {i}"),
                file: None,
                line: None,
                col: None,
            })
            .collect(),
        report_json: None,
        seconds: 1.0,
    };
    let errors = github_errors(&outcome.problems);
    assert_eq!(errors.len(), 10);
    assert!(errors[9].contains("6 more errors"), "{}", errors[9]);
    let (dotenv, note) = gitlab_dotenv(&outcome);
    assert!(dotenv.lines().count() <= 20 && dotenv.len() < 5 * 1024);
    assert!(note.expect("a note").contains("leaves out"));
    let huge: Vec<ImageRow> = (0..20_000)
        .map(|i| image(&format!("image-{i}"), true, true))
        .collect();
    let summary = github_summary(&Outcome {
        images: huge,
        ..outcome
    });
    assert!(summary.len() <= 1024 * 1024);
    assert!(summary.contains("more images are left out"));
}
