//! `.dockerignore` as the Docker CLI and BuildKit read it
//! (moby/patternmatcher v0.6.0 semantics: `ignorefile.ReadAll`, then
//! `MatchesOrParentMatches`, where a later `!pattern` re-includes).
//! Checked against the Go library by `tests/dockerignore.rs`.

use davit_gotmpl::funcs::paths::clean;
use regex::Regex;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DockerignoreError {
    #[error("illegal exclusion pattern: \"!\"")]
    LoneExclamation,
    #[error("syntax error in pattern {0:?}: malformed character class or trailing backslash")]
    BadPattern(String),
}

/// Lines of a `.dockerignore` file, normalised as `ignorefile.ReadAll` does:
/// comments dropped, whitespace trimmed, paths cleaned and made relative.
pub fn read_patterns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut p = String::new();
        if !pattern.is_empty() {
            p = clean(pattern);
            if p.len() > 1 && p.starts_with('/') {
                p.remove(0);
            }
        }
        out.push(if invert { format!("!{p}") } else { p });
    }
    out
}

#[derive(Debug, Clone)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regexp(Regex),
}

#[derive(Debug, Clone)]
struct Pattern {
    cleaned: String,
    exclusion: bool,
    kind: Kind,
}

/// A compiled list of patterns.
#[derive(Debug, Default, Clone)]
pub struct Dockerignore {
    patterns: Vec<Pattern>,
}

impl Dockerignore {
    /// Parses a `.dockerignore` text.
    pub fn parse(text: &str) -> Result<Dockerignore, DockerignoreError> {
        Self::new(&read_patterns(text))
    }

    /// Compiles already-read patterns (`patternmatcher.New`).
    pub fn new(patterns: &[String]) -> Result<Dockerignore, DockerignoreError> {
        let mut out = Dockerignore::default();
        for p in patterns {
            out.push(p)?;
        }
        Ok(out)
    }

    /// Adds one pattern after the others (`!x` re-includes `x`).
    pub fn push(&mut self, pattern: &str) -> Result<(), DockerignoreError> {
        let p = pattern.trim();
        if p.is_empty() {
            return Ok(());
        }
        let mut p = clean(p);
        let exclusion = p.starts_with('!');
        if exclusion {
            if p.len() == 1 {
                return Err(DockerignoreError::LoneExclamation);
            }
            p.remove(0);
        }
        validate(&p).map_err(|()| DockerignoreError::BadPattern(p.clone()))?;
        let kind = compile(&p).map_err(|()| DockerignoreError::BadPattern(p.clone()))?;
        self.patterns.push(Pattern {
            cleaned: p,
            exclusion,
            kind,
        });
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// moby patternmatcher's deprecated `Matches`, which werf's digest
    /// uses: a pattern that misses `path` is tried once more on the first
    /// N segments of its parent directory, N being the pattern's own
    /// segment count (not on every ancestor, as [`Self::excludes`] does).
    pub fn ignores_as_werf(&self, path: &str) -> bool {
        let parent = match path.rfind('/') {
            Some(i) => &path[..i],
            None => ".",
        };
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for pat in &self.patterns {
            if pat.exclusion != matched {
                continue;
            }
            let mut hit = pat.matches(path);
            let dirs = pat.cleaned.split('/').count();
            if !hit && parent != "." && dirs <= parent_dirs.len() {
                hit = pat.matches(&parent_dirs[..dirs].join("/"));
            }
            if hit {
                matched = !pat.exclusion;
            }
        }
        matched
    }

    /// The pattern texts without their `!`, in file order.
    pub fn pattern_texts(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|p| p.cleaned.as_str())
    }

    /// True when `path` (context-relative, `/`-separated, clean) is
    /// excluded from the build context, directly or through a parent.
    pub fn excludes(&self, path: &str) -> bool {
        let parent = match path.rfind('/') {
            Some(i) => &path[..i],
            None => ".",
        };
        let mut matched = false;
        for pat in &self.patterns {
            // An inclusion cannot change an already-matched path, an
            // exclusion cannot change an unmatched one.
            if pat.exclusion != matched {
                continue;
            }
            let mut hit = pat.matches(path);
            if !hit && parent != "." {
                // Each ancestor directory, shortest first.
                hit = parent
                    .match_indices('/')
                    .map(|(i, _)| i)
                    .chain([parent.len()])
                    .any(|end| pat.matches(&parent[..end]));
            }
            if hit {
                matched = !pat.exclusion;
            }
        }
        matched
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.cleaned,
            Kind::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            Kind::Suffix => {
                let suffix = &self.cleaned[2..];
                path.ends_with(suffix) || (suffix.starts_with('/') && path == &suffix[1..])
            }
            Kind::Regexp(re) => re.is_match(path),
        }
    }
}

fn should_escape(c: char) -> bool {
    ".+()|{}$".contains(c)
}

/// Translates a pattern into patternmatcher's match kind and regexp.
fn compile(pattern: &str) -> Result<Kind, ()> {
    #[derive(PartialEq)]
    enum K {
        Exact,
        Prefix,
        Suffix,
        Regexp,
    }
    let mut re = String::from("^");
    let mut kind = K::Exact;
    let mut chars = pattern.chars().peekable();
    let mut i = 0;
    while let Some(c) = chars.next() {
        if c == '*' {
            if chars.peek() == Some(&'*') {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    if kind == K::Exact {
                        kind = K::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = K::Regexp;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = K::Regexp;
                }
                if i == 0 {
                    kind = K::Suffix;
                }
            } else {
                re.push_str("[^/]*");
                kind = K::Regexp;
            }
        } else if c == '?' {
            re.push_str("[^/]");
            kind = K::Regexp;
        } else if should_escape(c) {
            re.push('\\');
            re.push(c);
        } else if c == '\\' {
            match chars.next() {
                Some(n) => {
                    re.push('\\');
                    re.push(n);
                    kind = K::Regexp;
                }
                None => re.push_str("\\\\"),
            }
        } else if c == '[' || c == ']' {
            re.push(c);
            kind = K::Regexp;
        } else {
            re.push(c);
        }
        i += 1;
    }
    Ok(match kind {
        K::Exact => Kind::Exact,
        K::Prefix => Kind::Prefix,
        K::Suffix => Kind::Suffix,
        K::Regexp => {
            re.push('$');
            Kind::Regexp(Regex::new(&re).map_err(|_| ())?)
        }
    })
}

/// The syntax check `filepath.Match(pattern, ".")` performs: character
/// classes must be closed and non-empty, ranges complete, and a backslash
/// must escape something.
fn validate(pattern: &str) -> Result<(), ()> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    // One escaped-or-plain class character (Go's getEsc).
    let get_esc = |i: &mut usize| -> Result<(), ()> {
        match chars.get(*i) {
            None | Some('-') | Some(']') => return Err(()),
            Some('\\') => {
                *i += 1;
                if *i >= chars.len() {
                    return Err(());
                }
            }
            _ => {}
        }
        *i += 1;
        if *i >= chars.len() {
            return Err(());
        }
        Ok(())
    };
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                i += 2;
                if i > chars.len() {
                    return Err(());
                }
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut ranges = 0;
                loop {
                    if chars.get(i) == Some(&']') && ranges > 0 {
                        i += 1;
                        break;
                    }
                    get_esc(&mut i)?;
                    if chars.get(i) == Some(&'-') {
                        i += 1;
                        get_esc(&mut i)?;
                    }
                    ranges += 1;
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}
