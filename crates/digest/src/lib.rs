//! werf's digest primitives: `H256`/`H3` over `:::`-joined arguments and
//! target platforms in containerd's normal form (the platform is a digest
//! input). Pure: every stage pipeline and the storage share it.

pub mod hash;
pub mod platform;
