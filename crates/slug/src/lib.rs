//! werf's naming rules (../shared/spec/werf-build.md §8.1): the short
//! murmur3 hash it appends, `slugify`, `slug`, `LimitedSlug` and
//! `DockerTag`. Used for custom tags and their records, and later for Helm
//! release and namespace names.
//!
//! Deviation: werf transliterates many Latin and Cyrillic letters in
//! `slugify`; the table is not in the spec, so davit drops every non-ASCII
//! character, as werf does with characters its table lacks. ASCII input
//! gives werf's result.

/// murmur3-32 (seed 0) of `s`, lowercase hex without zero padding.
pub fn murmur(s: &str) -> String {
    let hash = murmur3::murmur3_32(&mut s.as_bytes(), 0).unwrap_or_default();
    format!("{hash:x}")
}

/// Lowercase ASCII letters and digits; separators become `-`; runs of `-`
/// collapse; no `-` at either end; anything else is dropped.
pub fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let mapped = match c {
            'a'..='z' | '0'..='9' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            '&' | '(' | ')' | '{' | '}' | '[' | ']' | '-' | '_' | ',' | '.' | ';' | ':' | '='
            | '+' | '<' | '>' | '~' | '/' | ' ' => Some('-'),
            _ => None,
        };
        match mapped {
            Some('-') if out.is_empty() || out.ends_with('-') => {}
            Some(m) => out.push(m),
            None => {}
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// `slugify(s)` cut to fit `max` with `-<murmur(s)>` appended (werf's
/// `slug`). As in werf, a cut that ends in `-` keeps it (`…--<hash>`).
pub fn slug(s: &str, max: usize) -> String {
    let hash = murmur(s);
    let slugified = slugify(s);
    if slugified.is_empty() {
        return hash;
    }
    let keep = max.saturating_sub(hash.len() + 1);
    let cut: String = slugified.chars().take(keep).collect();
    format!("{cut}-{hash}")
}

/// werf's `LimitedSlug`: `s` itself when it already is a slug of at most
/// `max` bytes (or is one with a single `--` inside, werf's legacy
/// exception), otherwise [`slug`].
pub fn limited_slug(s: &str, max: usize) -> String {
    if s.len() <= max {
        if slugify(s) == s {
            return s.to_string();
        }
        if s.matches("--").count() == 1 {
            let single = s.replacen("--", "-", 1);
            if slugify(&single) == single {
                return s.to_string();
            }
        }
    }
    slug(s, max)
}

/// werf's default `Slug`: [`limited_slug`] with 42 bytes.
pub fn default_slug(s: &str) -> String {
    limited_slug(s, 42)
}

/// A Docker tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn is_docker_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// werf's `DockerTag`: `s` when it is a valid tag, else `slug(s, 128)`.
pub fn docker_tag(s: &str) -> String {
    if is_docker_tag(s) {
        s.to_string()
    } else {
        slug(s, 128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn werfs_own_vectors() {
        // From werf's pkg/slug tests, as the spec reproduces them.
        assert_eq!(murmur("A"), "54dcf7ce");
        assert_eq!(default_slug("A"), "a-54dcf7ce");
        let long = "x".repeat(43);
        assert_eq!(default_slug(&long), format!("{}-27e2f02f", "x".repeat(33)));
    }

    #[test]
    fn slugify_rules() {
        assert_eq!(
            slugify("--Feature/JIRA-12_x.y  z--"),
            "feature-jira-12-x-y-z"
        );
        assert_eq!(slugify("ünïcode!"), "ncode");
        assert_eq!(slugify("___"), "");
        assert_eq!(slug("___", 42), murmur("___"));
    }

    #[test]
    fn limited_slug_keeps_slugs_and_the_legacy_double_dash() {
        assert_eq!(limited_slug("backend", 42), "backend");
        assert_eq!(limited_slug("back--end", 42), "back--end");
        assert_eq!(limited_slug("a--b--c", 42), slug("a--b--c", 42));
        assert_eq!(limited_slug("Backend", 42), slug("Backend", 42));
        assert!(limited_slug(&"a".repeat(50), 48).len() <= 48);
    }

    #[test]
    fn docker_tags() {
        assert_eq!(docker_tag("v1.2.3"), "v1.2.3");
        assert_eq!(docker_tag("feature/x"), slug("feature/x", 128));
        assert!(!is_docker_tag(".x") && !is_docker_tag("") && is_docker_tag("_x"));
        assert!(!is_docker_tag(&"a".repeat(129)));
    }
}
