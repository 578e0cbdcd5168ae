//! Which Dockerfile features need BuildKit: the classic builder rejects
//! them, so an image that uses one is built with BuildKit.

use super::parse::Instruction;

/// The first thing in `dockerfile` (parsed into `instructions`) that only
/// BuildKit builds, as `"RUN --mount (line 4)"`; `None` when the classic
/// builder can build it.
pub fn needs_buildkit(dockerfile: &str, instructions: &[Instruction]) -> Option<String> {
    if let Some(line) = dockerfile
        .lines()
        .take_while(|l| l.trim_start().starts_with('#'))
        .find(|l| {
            let d = l.trim_start().trim_start_matches('#').trim_start();
            d.to_ascii_lowercase().starts_with("syntax")
        })
    {
        return Some(format!("the `{}` parser directive", line.trim()));
    }
    instructions.iter().find_map(buildkit_feature)
}

fn buildkit_feature(i: &Instruction) -> Option<String> {
    if !i.heredocs.is_empty() {
        return Some(format!(
            "a {} here-document (line {})",
            i.keyword.to_uppercase(),
            i.line
        ));
    }
    buildkit_flag(i)
}

fn buildkit_flag(i: &Instruction) -> Option<String> {
    let only_buildkit: &[&str] = match i.keyword.as_str() {
        "run" => &["mount", "network", "security"],
        "copy" => &["link", "parents", "exclude"],
        "add" => &["link", "checksum", "keep-git-dir", "exclude"],
        _ => &[],
    };
    for flag in &i.flags {
        let name = flag
            .trim_start_matches("--")
            .split('=')
            .next()
            .unwrap_or_default();
        if only_buildkit.contains(&name) {
            return Some(format!(
                "{} --{name} (line {})",
                i.keyword.to_uppercase(),
                i.line
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::parse::parse;

    /// A Dockerfile that does not parse is left to the digest's error.
    fn needs_buildkit(dockerfile: &str) -> Option<String> {
        let instructions = parse(dockerfile).map(|(i, _)| i).unwrap_or_default();
        super::needs_buildkit(dockerfile, &instructions)
    }

    #[test]
    fn buildkit_only_features_are_found() {
        assert_eq!(needs_buildkit("FROM a\nRUN echo hi\nCOPY x /x\n"), None);
        assert_eq!(
            needs_buildkit("FROM a\nRUN --mount=type=cache,target=/c go build\n").as_deref(),
            Some("RUN --mount (line 2)")
        );
        assert_eq!(
            needs_buildkit("FROM a\nCOPY --link x /x\n").as_deref(),
            Some("COPY --link (line 2)")
        );
        assert_eq!(
            needs_buildkit("# syntax=docker/dockerfile:1\nFROM a\n").as_deref(),
            Some("the `# syntax=docker/dockerfile:1` parser directive")
        );
        assert_eq!(needs_buildkit("FROM a\nCOPY --chown=1 x /x\n"), None);
        assert_eq!(
            needs_buildkit("FROM a\nRUN <<EOF\necho hi\nEOF\n").as_deref(),
            Some("a RUN here-document (line 2)")
        );
        // A here-string or a shift is not a here-document.
        assert_eq!(
            needs_buildkit("FROM a\nRUN cat <<< x; echo $((1 << 2))\n"),
            None
        );
    }
}
