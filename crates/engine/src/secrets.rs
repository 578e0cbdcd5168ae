//! Build secrets as the engine receives them: the ID a
//! `RUN --mount=type=secret` asks for and where the value is read from.
//! Secrets never enter digests, labels or logs.

use std::path::PathBuf;

/// Where the value of a secret is read from during the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable of this process.
    Env(String),
    /// A file on this machine.
    File(PathBuf),
    /// A literal from werf.yaml (`value:`).
    Value(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSecret {
    pub id: String,
    pub source: SecretSource,
}
