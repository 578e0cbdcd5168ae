//! Every `werf-giterminism.yaml` of the werf corpus parses. (A file without
//! `giterminismConfigVersion` is refused; tests/config_project.rs covers it.)

use std::path::{Path, PathBuf};

use davit_config::giterminism::Giterminism;

fn corpus() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("DAVIT_CORPUS") {
        return Some(PathBuf::from(p));
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/werf");
    p.is_dir().then_some(p)
}

fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            find(&p, out);
        } else if p.file_name().is_some_and(|n| n == "werf-giterminism.yaml") {
            out.push(p);
        }
    }
}

#[test]
fn corpus_giterminism_files_parse() {
    let Some(dir) = corpus() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the werf corpus is missing; set DAVIT_CORPUS"
        );
        return;
    };
    let mut files = Vec::new();
    find(&dir, &mut files);
    assert!(
        files.len() >= 60,
        "expected the corpus giterminism files, found {}",
        files.len()
    );
    let mut refused = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        if let Err(d) = Giterminism::parse("werf-giterminism.yaml", &text) {
            assert!(d.hint.is_some(), "{}: {d}", f.display());
            refused.push(f.strip_prefix(&dir).unwrap_or(f).display().to_string());
        }
    }
    assert!(refused.is_empty(), "refused: {refused:?}");
}
