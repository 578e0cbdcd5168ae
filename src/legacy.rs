//! werf v1.1 command lines that werf v1.2 changed (the v1.1→v1.2 migration
//! guide): instead of clap's bare "unrecognized", say what replaced them.

use std::ffi::OsString;

/// The v1.1 subcommands and what replaced them.
fn command(name: &str) -> Option<&'static str> {
    Some(match name {
        "build-and-publish" | "publish" => {
            "`build-and-publish` and `publish` are werf v1.1 commands: werf v1.2 builds and publishes in one step\n  hint: use `davit build --repo REGISTRY/PROJECT`"
        }
        "deploy" => {
            "`deploy` is a werf v1.1 command: werf v1.2 renamed it `converge` (build, then deploy)\n  hint: davit does not deploy yet; keep `werf converge` for the deploy step and use `davit build` to build"
        }
        "stages" | "images" => {
            "`stages` and `images` command groups are werf v1.1: werf v1.2 keeps stages and images in one repository\n  hint: use `davit build --repo REGISTRY/PROJECT`"
        }
        _ => return None,
    })
}

/// The v1.1 flags and what replaced them.
fn flag(name: &str) -> Option<&'static str> {
    Some(match name {
        "--stages-storage" | "--images-repo" | "--images-repo-mode" => {
            "is werf v1.1: werf v1.2 keeps stages and images in one repository\n  hint: use --repo REGISTRY/PROJECT (WERF_REPO)"
        }
        "--tag-git-branch" | "--tag-git-tag" | "--tag-git-commit" | "--tag-custom"
        | "--tag-by-stages-signature" => {
            "is a werf v1.1 tag strategy: werf v1.2 tags images by content (the stage digest) only\n  hint: drop it; for an extra name per image use --add-custom-tag (e.g. --add-custom-tag '%image%-latest')"
        }
        _ => return None,
    })
}

/// The error for a v1.1 command line, if `args` (without the program name)
/// is one.
pub fn check(args: &[OsString]) -> Option<String> {
    let args: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    if let Some(first) = args.iter().find(|a| !a.starts_with('-')) {
        if let Some(message) = command(first) {
            return Some(message.to_string());
        }
    }
    for arg in &args {
        if *arg == "--" {
            break;
        }
        let name = arg.split('=').next().unwrap_or(arg);
        if let Some(message) = flag(name) {
            return Some(format!("`{name}` {message}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn v11_command_lines_name_their_replacement() {
        let e = check(&args(&["build-and-publish"])).expect("legacy");
        assert!(e.contains("davit build --repo"), "{e}");
        let e = check(&args(&["deploy", "--env", "x"])).expect("legacy");
        assert!(e.contains("converge"), "{e}");
        let e = check(&args(&["build", "--stages-storage=:local"])).expect("legacy");
        assert!(
            e.starts_with("`--stages-storage` is werf v1.1") && e.contains("--repo"),
            "{e}"
        );
        let e = check(&args(&["build", "--images-repo", "r"])).expect("legacy");
        assert!(e.contains("--repo"), "{e}");
        let e = check(&args(&["build", "--tag-git-branch", "main"])).expect("legacy");
        assert!(
            e.contains("by content") && e.contains("--add-custom-tag"),
            "{e}"
        );
        assert_eq!(check(&args(&["build", "--repo", "r", "app"])), None);
        assert_eq!(check(&args(&["build", "--", "--tag-custom"])), None);
    }
}
