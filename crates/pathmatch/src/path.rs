//! Path normal forms werf's matchers use.

/// Go's `path.Clean`: the shortest equivalent slash path.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|s| *s != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// werf's `formatPath`: `""` for `""`, `"."` and `"/"`, else [`clean`].
pub fn fmt(p: &str) -> String {
    match p {
        "" | "." | "/" => String::new(),
        p => clean(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_is_gos() {
        for (input, want) in [
            ("", "."),
            ("a/b/../c", "a/c"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a/", "a"),
            ("./a//b/.", "a/b"),
            ("/", "/"),
            ("x/..", "."),
        ] {
            assert_eq!(clean(input), want, "{input}");
        }
        assert_eq!(fmt("."), "");
        assert_eq!(fmt("sub/"), "sub");
    }
}
