//! The `dockerfile` stage of a Dockerfile image: parsing with BuildKit's
//! rules and the inputs of its digest (../shared/spec/werf-build.md §4.6).

pub mod deps;
pub mod features;
pub mod labels;
pub mod parse;
pub mod shell;

pub use deps::{dockerfile_digest, DigestInput, DockerfileDigest};
