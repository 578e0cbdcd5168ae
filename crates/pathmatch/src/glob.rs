//! Glob matching with doublestar v4 semantics (`PathMatch`, what werf
//! uses): globset with `/` as a literal separator, plus doublestar's rule
//! that a trailing `/**` also matches the directory itself.

use globset::{GlobBuilder, GlobMatcher};

#[derive(Debug, Clone)]
pub struct Doublestar {
    pub pattern: String,
    matchers: Vec<GlobMatcher>,
}

fn compile(p: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(p)
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("invalid glob {p:?}: {e}"))
}

impl Doublestar {
    /// Compiles a pattern; an unclosed `[` or `{` is an error, as in werf.
    pub fn new(pattern: &str) -> Result<Doublestar, String> {
        let mut matchers = vec![compile(pattern)?];
        if let Some(dir) = pattern.strip_suffix("/**") {
            if !dir.is_empty() {
                matchers.push(compile(dir)?);
            }
        }
        Ok(Doublestar {
            pattern: pattern.to_string(),
            matchers,
        })
    }

    pub fn is_match(&self, path: &str) -> bool {
        self.matchers.iter().any(|m| m.is_match(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, path: &str) -> bool {
        Doublestar::new(p)
            .unwrap_or_else(|e| panic!("{e}"))
            .is_match(path)
    }

    /// The doublestar v4 facts from ../shared/spec/rust-stack.md §8.
    #[test]
    fn doublestar_semantics() {
        assert!(m("a/**", "a"));
        assert!(m("**/node_modules/**", "node_modules"));
        assert!(m("a/**", "a/b/c"));
        assert!(m("a**b", "axxb") && !m("a**b", "a/b"));
        assert!(m("a/**.txt", "a/x.txt") && !m("a/**.txt", "a/b/x.txt"));
        assert!(m("{a,b{c,d}}/x", "bd/x") && m("x{,y}", "x"));
        assert!(m("[^a]", "b") && m("[!a]", "b") && !m("[!a]", "a"));
        assert!(m("*", ".hidden"));
        assert!(!m("*", "a/b"));
        assert!(m("**/*.tmpl", "a.tmpl") && m("**/*.tmpl", "x/y/a.tmpl"));
        assert!(Doublestar::new("a/[").is_err());
        assert!(Doublestar::new("a/{b").is_err());
    }
}
