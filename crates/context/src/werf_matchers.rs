//! The matchers werf builds for a Dockerfile image's context
//! (../shared/spec/werf-build.md §4.6.1 B, C, E): the `.dockerignore`
//! matcher with werf's walk rule, and the combined matcher whose `ls-tree`
//! gives the `filesChecksum` of a COPY/ADD.

use davit_pathmatch::{fmt, Base, GlobEnd, Include, Multi, PathMatcher, SegmentGlobs, True};

use crate::dockerignore::Dockerignore;

/// `.dockerignore` as werf's digest reads it: `matched` is "not ignored"
/// by patternmatcher's deprecated `Matches`; `through` follows the pattern
/// texts (exclusion flags ignored), the last decisive pattern winning.
pub struct DockerignoreMatcher {
    ignore: Dockerignore,
    globs: SegmentGlobs,
}

impl DockerignoreMatcher {
    /// Patterns are context-relative. When they ignore the Dockerfile
    /// itself (context-relative `dockerfile`), werf appends `!<dockerfile>`.
    pub fn new(ignore: &Dockerignore, dockerfile: &str) -> DockerignoreMatcher {
        let mut ignore = ignore.clone();
        if !ignore.is_empty() && ignore.ignores_as_werf(&fmt(dockerfile)) {
            // A path that cleans to itself cannot fail to compile.
            let _ = ignore.push(&format!("!{dockerfile}"));
        }
        let texts: Vec<&str> = ignore.pattern_texts().collect();
        let globs = SegmentGlobs::new(&texts);
        DockerignoreMatcher { ignore, globs }
    }
}

impl PathMatcher for DockerignoreMatcher {
    fn matched(&self, path: &str) -> bool {
        !self.ignore.ignores_as_werf(&fmt(path))
    }

    fn through(&self, path: &str) -> bool {
        if self.globs.is_empty() {
            return false;
        }
        let p = fmt(path);
        if p.is_empty() {
            return true;
        }
        self.globs
            .ends(&p)
            .into_iter()
            .fold(false, |through, end| match end {
                GlobEnd::Matched => false,
                GlobEnd::InProgress => true,
                GlobEnd::Dead => through,
            })
    }
}

/// werf's `NormalizeCopyAddSourcesForPathMatcher`: `path.Clean`, `/` → `.`,
/// one leading `/` removed.
pub fn normalize_sources(sources: &[String]) -> Vec<String> {
    sources
        .iter()
        .map(|s| {
            let c = davit_pathmatch::clean(s);
            if c == "/" {
                ".".to_string()
            } else {
                c.strip_prefix('/').map(str::to_string).unwrap_or(c)
            }
        })
        .collect()
}

/// `Base(ctx, Include(globs))`, or `Base(ctx, True)` with no globs.
pub fn sources_matcher(context: &str, globs: &[String]) -> Box<dyn PathMatcher> {
    if globs.is_empty() {
        Box::new(Base::new(context, Box::new(True)))
    } else {
        Box::new(Base::new(context, Box::new(Include::new(globs))))
    }
}

/// `M = Multi(Base(ctx, True), Multi(D, W))`, the first part left out when
/// the context is the repository root: what a COPY/ADD of `sources` takes
/// from the commit.
pub fn copy_matcher(
    context: &str,
    ignore: &Dockerignore,
    dockerfile: &str,
    sources: &[String],
) -> Multi {
    let dockerignore: Box<dyn PathMatcher> = if ignore.is_empty() {
        Box::new(Base::new(context, Box::new(True)))
    } else {
        Box::new(Base::new(
            context,
            Box::new(DockerignoreMatcher::new(ignore, dockerfile)),
        ))
    };
    let inner = Multi::new(vec![
        dockerignore,
        sources_matcher(context, &normalize_sources(sources)),
    ]);
    if fmt(context).is_empty() {
        inner
    } else {
        Multi::new(vec![
            Box::new(Base::new(context, Box::new(True))),
            Box::new(inner),
        ])
    }
}
