//! The build context of a Dockerfile image: files of the HEAD commit under
//! `context`, filtered by `.dockerignore` (../shared/spec/werf-build.md §4.6).

pub mod dockerignore;

pub use dockerignore::{Dockerignore, DockerignoreError};
pub mod add_files;
pub mod archive;
pub mod sources;
pub mod werf_matchers;

pub use archive::{build_context, ContextArchive, ContextError};
