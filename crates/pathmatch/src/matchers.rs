//! The matchers: `True`, `Include`, `Exclude`, `Base` and `Multi`, with
//! werf's `IsPathMatched` (`matched`) and `ShouldGoThrough` (`through`).

use crate::glob::Doublestar;
use crate::path::fmt;

/// What a matcher says about a path.
pub trait PathMatcher: Send + Sync {
    /// The path is taken (a directory: as a whole, unless gone through).
    fn matched(&self, path: &str) -> bool;
    /// The path is a directory to descend into: part of it may be taken.
    fn through(&self, path: &str) -> bool;
}

/// `ds(g, p)`: doublestar's `PathMatch`. The empty name is matched only by
/// patterns made of `*`s alone (or empty); a pattern that does not compile
/// matches nothing.
fn ds(glob: &Option<Doublestar>, pattern: &str, path: &str) -> bool {
    if path.is_empty() {
        return pattern.chars().all(|c| c == '*');
    }
    glob.as_ref().is_some_and(|g| g.is_match(path))
}

/// A compiled glob: `ds` candidates and the segments `advance` walks.
#[derive(Debug)]
struct Glob {
    text: String,
    whole: Option<Doublestar>,
    trimmed: String,
    trimmed_glob: Option<Doublestar>,
    /// `trim(g)/**/*`, or `**/*` when `trim(g)` is empty.
    below: String,
    below_glob: Option<Doublestar>,
    segments: Vec<Segment>,
}

#[derive(Debug)]
struct Segment {
    text: String,
    glob: Option<Doublestar>,
    double_star: bool,
}

fn compile(pattern: &str) -> Option<Doublestar> {
    if pattern.is_empty() {
        return None;
    }
    Doublestar::new(pattern).ok()
}

/// werf's `trim`: segments (leading `/` dropped), minus trailing segments
/// made only of `*`.
fn trim(glob: &str) -> String {
    let cleaned = crate::path::clean(glob);
    let mut segments: Vec<&str> = cleaned
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    while segments.last().is_some_and(|s| s.chars().all(|c| c == '*')) {
        segments.pop();
    }
    segments.join("/")
}

impl Glob {
    fn new(text: &str) -> Glob {
        let trimmed = trim(text);
        let below = if trimmed.is_empty() {
            "**/*".to_string()
        } else {
            format!("{trimmed}/**/*")
        };
        let segments = text
            .split('/')
            .map(|s| Segment {
                text: s.to_string(),
                glob: compile(s),
                double_star: s.contains("**"),
            })
            .collect();
        Glob {
            whole: compile(text),
            trimmed_glob: compile(&trimmed),
            below_glob: compile(&below),
            text: text.to_string(),
            trimmed,
            below,
            segments,
        }
    }

    /// Include's three-candidate rule: `g`, `trim(g)`, `trim(g)/**/*`.
    fn matches(&self, path: &str) -> bool {
        ds(&self.whole, &self.text, path)
            || ds(&self.trimmed_glob, &self.trimmed, path)
            || ds(&self.below_glob, &self.below, path)
    }

    /// Whether the rest of the glob from segment `pos` is universal
    /// (`trim(rest) == ""`).
    fn universal_from(&self, pos: usize) -> bool {
        self.segments[pos..]
            .iter()
            .all(|s| s.text.chars().all(|c| c == '*') || s.text == ".")
    }
}

/// Where a glob stands after some segments of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Dead,
    /// In progress: the next segment to match.
    At(usize),
    Matched,
}

/// werf's `matchGlob` for one path segment.
fn advance(glob: &Glob, pos: usize, segment: &str) -> Progress {
    let Some(first) = glob.segments.get(pos) else {
        return Progress::Dead;
    };
    if !ds(&first.glob, &first.text, segment) {
        Progress::Dead
    } else if first.double_star {
        Progress::At(pos)
    } else if pos + 1 < glob.segments.len() {
        Progress::At(pos + 1)
    } else {
        Progress::Matched
    }
}

/// Runs every glob over the segments of `path` while some is in progress.
/// Returns the globs still in progress and those fully matched at the last
/// segment processed.
fn walk<'g>(globs: &'g [Glob], path: &str) -> (Vec<(&'g Glob, usize)>, usize) {
    let mut in_progress: Vec<(&Glob, usize)> = globs.iter().map(|g| (g, 0)).collect();
    let mut matched_last = 0;
    for segment in path.split('/') {
        if in_progress.is_empty() {
            break;
        }
        let mut next = Vec::new();
        matched_last = 0;
        for (glob, pos) in in_progress {
            match advance(glob, pos, segment) {
                Progress::At(p) => next.push((glob, p)),
                Progress::Matched => matched_last += 1,
                Progress::Dead => {}
            }
        }
        in_progress = next;
    }
    (in_progress, matched_last)
}

fn universal(globs: &[(&Glob, usize)]) -> bool {
    globs.iter().any(|(g, pos)| g.universal_from(*pos))
}

/// Where one glob ends after the segments of a path (werf's `matchGlob`
/// applied segment by segment until the glob is dead or fully matched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobEnd {
    Dead,
    InProgress,
    Matched,
}

/// Globs compiled for [`SegmentGlobs::ends`], in the order given.
#[derive(Debug)]
pub struct SegmentGlobs {
    globs: Vec<Glob>,
}

impl SegmentGlobs {
    pub fn new<S: AsRef<str>>(globs: &[S]) -> SegmentGlobs {
        SegmentGlobs {
            globs: globs.iter().map(|g| Glob::new(g.as_ref())).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    /// Each glob's end over the segments of `path`.
    pub fn ends(&self, path: &str) -> Vec<GlobEnd> {
        self.globs
            .iter()
            .map(|glob| {
                let mut state = Progress::At(0);
                for segment in path.split('/') {
                    let Progress::At(pos) = state else { break };
                    state = advance(glob, pos, segment);
                }
                match state {
                    Progress::Dead => GlobEnd::Dead,
                    Progress::At(_) => GlobEnd::InProgress,
                    Progress::Matched => GlobEnd::Matched,
                }
            })
            .collect()
    }
}

/// Takes everything; never asks to descend.
#[derive(Debug, Default, Clone, Copy)]
pub struct True;

impl PathMatcher for True {
    fn matched(&self, _: &str) -> bool {
        true
    }
    fn through(&self, _: &str) -> bool {
        false
    }
}

/// Paths that match one of the globs (werf's include matcher).
#[derive(Debug)]
pub struct Include {
    globs: Vec<Glob>,
}

impl Include {
    /// `globs` are formatted as werf does (`.` and `/` become `""`).
    pub fn new<S: AsRef<str>>(globs: &[S]) -> Include {
        Include {
            globs: globs.iter().map(|g| Glob::new(&fmt(g.as_ref()))).collect(),
        }
    }

    fn universal(&self) -> bool {
        self.globs.iter().any(|g| g.trimmed.is_empty())
    }
}

impl PathMatcher for Include {
    fn matched(&self, path: &str) -> bool {
        let p = fmt(path);
        self.globs.iter().any(|g| g.matches(&p))
    }

    fn through(&self, path: &str) -> bool {
        if self.globs.is_empty() || self.universal() {
            return false;
        }
        let p = fmt(path);
        if p.is_empty() {
            return true;
        }
        let (in_progress, _) = walk(&self.globs, &p);
        !in_progress.is_empty() && !universal(&in_progress)
    }
}

/// Paths that match none of the globs (werf's exclude matcher).
#[derive(Debug)]
pub struct Exclude {
    include: Include,
}

impl Exclude {
    pub fn new<S: AsRef<str>>(globs: &[S]) -> Exclude {
        Exclude {
            include: Include::new(globs),
        }
    }
}

impl PathMatcher for Exclude {
    fn matched(&self, path: &str) -> bool {
        !self.include.matched(path)
    }

    fn through(&self, path: &str) -> bool {
        let globs = &self.include.globs;
        if globs.is_empty() || self.include.universal() {
            return false;
        }
        let p = fmt(path);
        if p.is_empty() {
            return true;
        }
        let (in_progress, matched_last) = walk(globs, &p);
        matched_last == 0 && !in_progress.is_empty() && !universal(&in_progress)
    }
}

/// `inner` applied below the directory `base` (werf's base matcher).
pub struct Base {
    base: String,
    inner: Box<dyn PathMatcher>,
}

impl Base {
    pub fn new(base: &str, inner: Box<dyn PathMatcher>) -> Base {
        Base {
            base: fmt(base),
            inner,
        }
    }

    /// `path` relative to the base: `Some("")` for the base itself, `None`
    /// outside it.
    fn relative<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.base.is_empty() {
            return Some(path);
        }
        if path == self.base {
            return Some("");
        }
        path.strip_prefix(self.base.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
    }

    fn is_above_base(&self, path: &str) -> bool {
        !self.base.is_empty()
            && (path.is_empty()
                || self
                    .base
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('/')))
    }
}

impl PathMatcher for Base {
    fn matched(&self, path: &str) -> bool {
        let p = fmt(path);
        self.relative(&p).is_some_and(|rel| self.inner.matched(rel))
    }

    fn through(&self, path: &str) -> bool {
        let p = fmt(path);
        if self.is_above_base(&p) {
            return true;
        }
        self.relative(&p).is_some_and(|rel| self.inner.through(rel))
    }
}

/// All of several matchers (werf's multi matcher).
pub struct Multi {
    matchers: Vec<Box<dyn PathMatcher>>,
}

impl Multi {
    pub fn new(matchers: Vec<Box<dyn PathMatcher>>) -> Multi {
        Multi { matchers }
    }
}

impl PathMatcher for Multi {
    fn matched(&self, path: &str) -> bool {
        self.matchers.iter().all(|m| m.matched(path))
    }

    fn through(&self, path: &str) -> bool {
        self.matchers.iter().any(|m| m.through(path))
            && self
                .matchers
                .iter()
                .all(|m| m.through(path) || m.matched(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_drops_trailing_star_segments() {
        for (g, want) in [
            ("a/*", "a"),
            ("a/**", "a"),
            ("a/**/*", "a"),
            ("*", ""),
            ("**", ""),
            ("**/*", ""),
            ("/x", "x"),
        ] {
            assert_eq!(trim(g), want, "{g}");
        }
    }

    #[test]
    fn the_empty_name_is_matched_only_by_stars() {
        assert!(ds(&compile("*"), "*", ""));
        assert!(!ds(&compile("**/*"), "**/*", ""));
    }

    #[test]
    fn include_takes_directories_whole_unless_a_glob_reaches_inside() {
        let m = Include::new(&["sub"]);
        assert!(m.matched("sub") && m.matched("sub/deep/z.txt") && !m.matched("subway.txt"));
        assert!(m.through("") && !m.through("sub"));
        // Overlapping globs force descent into `sub`.
        let m = Include::new(&["sub", "sub/x.txt"]);
        assert!(m.through("sub"));
        // A universal source takes everything whole.
        let m = Include::new(&[".", "sub/x.txt"]);
        assert!(!m.through("") && m.matched(""));
        // A leading `**` keeps every directory in progress.
        let m = Include::new(&["**/*.txt"]);
        assert!(m.through("d.txt") && m.matched("d.txt/f"));
        // Prefixes do not match.
        assert!(!Include::new(&["su"]).matched("sub"));
    }

    #[test]
    fn base_descends_to_its_directory() {
        let m = Base::new("app", Box::new(Include::new(&["src"])));
        assert!(m.through("") && !m.through("other"));
        assert!(m.matched("app/src") && !m.matched("src") && !m.matched("application/src"));
        assert!(m.through("app"));
    }

    #[test]
    fn exclude_stops_at_fully_matched_globs() {
        let m = Exclude::new(&["gen/config.txt"]);
        assert!(!m.matched("gen/config.txt") && m.matched("gen/other.txt"));
        assert!(m.through("gen") && !m.through("src"));
    }

    #[test]
    fn multi_goes_through_only_where_every_part_allows() {
        let m = Multi::new(vec![Box::new(True), Box::new(Include::new(&["sub/x.txt"]))]);
        assert!(m.through("sub") && !m.matched("sub") && m.matched("sub/x.txt"));
    }
}
