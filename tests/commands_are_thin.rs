//! Commands map arguments to `davit-ops` calls and format the result
//! (ARCHITECTURE.md): no function in `src/commands/` grows past 80 lines,
//! and the project setup (`Project::open`) is not rebuilt in a command.

use std::path::Path;

const MAX_LINES: usize = 80;

/// (file, function, lines) of every function; rustfmt puts a function's
/// closing brace at the indentation of its `fn` line.
fn functions(file: &Path) -> Vec<(String, String, usize)> {
    let text = std::fs::read_to_string(file).expect("read a command file");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let is_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "async fn ",
            "pub async fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p));
        if !is_fn || trimmed.ends_with(';') {
            continue;
        }
        let close = format!("{}}}", " ".repeat(indent));
        let end = lines[i..]
            .iter()
            .position(|l| *l == close)
            .map(|n| i + n)
            .unwrap_or(lines.len() - 1);
        let name = trimmed
            .split("fn ")
            .nth(1)
            .and_then(|s| s.split(['(', '<']).next())
            .unwrap_or("?")
            .to_string();
        out.push((file.display().to_string(), name, end - i + 1));
    }
    out
}

fn command_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read src/commands")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

#[test]
fn no_command_function_is_over_80_lines() {
    let files = command_files();
    assert!(files.len() >= 3, "src/commands has the command files");
    let all: Vec<_> = files.iter().flat_map(|f| functions(f)).collect();
    assert!(
        all.iter().any(|(_, name, _)| name == "run"),
        "found the commands' run functions"
    );
    let long: Vec<String> = all
        .iter()
        .filter(|(_, _, n)| *n > MAX_LINES)
        .map(|(f, name, n)| format!("{f}: fn {name} has {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "move the logic into a library crate (davit-ops):\n{}",
        long.join("\n")
    );
}

#[test]
fn commands_do_not_rebuild_the_project_setup() {
    for file in command_files() {
        let text = std::fs::read_to_string(&file).expect("read a command file");
        for setup in [
            "Repo::discover",
            "into_dev_snapshot",
            "RegistryClient::new",
            "RepoStorage::new",
            "LocalStorage::new",
            "DockerEngine::connect",
        ] {
            assert!(
                !text.contains(setup),
                "{}: calls {setup}; open projects and stores through davit_ops",
                file.display()
            );
        }
    }
}
