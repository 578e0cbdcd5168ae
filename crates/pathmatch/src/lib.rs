//! werf's path matchers (`pkg/path_matcher`), which decide what a COPY, a
//! `.dockerignore` or a git mapping takes from a commit and which
//! directories a tree walk must descend (../shared/spec/werf-build.md
//! §4.6.1 C). Paths are `/`-separated and relative to the git work tree.
//!
//! Every matcher answers two questions about a path: `matched` (take it
//! whole) and `through` (descend into it, because only part of it may be
//! taken). A directory that is matched and not gone through contributes its
//! git tree id as one entry; that is why werf's checksums of `COPY dir` and
//! `COPY dir/x` differ in shape, and why davit must answer exactly as werf.

pub mod glob;
mod matchers;
mod path;

pub use glob::Doublestar;
pub use matchers::{Base, Exclude, GlobEnd, Include, Multi, PathMatcher, SegmentGlobs, True};
pub use path::{clean, fmt};
