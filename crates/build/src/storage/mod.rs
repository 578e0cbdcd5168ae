//! Where stages live: a registry repository addressed by stage digest
//! (../shared/spec/werf-build.md §5). Local storage, secondary, cache and
//! final repositories build on the same pieces.

pub mod lock;
pub mod repo;
pub mod stage_id;

pub use repo::{Published, RepoStorage, StageDescription, StorageError};
pub use stage_id::StageId;
