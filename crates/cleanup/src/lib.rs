//! werf's registry cleanup (spec §3) as pure decisions. The caller reads
//! the registry's tags, the git history and the cluster; this crate
//! decides, from werf's keep policies and protections, which stages are
//! kept (and why) and which tags are deleted, and writes the cleanup report.
//! Nothing here performs I/O, so a dry run and a real run decide alike and
//! a model check can run the whole policy thousands of times.

pub mod history;
pub mod plan;
pub mod policy;
pub mod refs;
pub mod report;

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    /// A `cleanup:` setting werf would refuse; `key` is the path inside
    /// the policy (empty: the policy itself).
    #[error("{}: {message}\n  hint: {hint}", policy_path(*index, key))]
    Policy {
        index: usize,
        key: String,
        message: String,
        hint: &'static str,
    },
}

impl CleanupError {
    /// The meta-section key the error is about (`cleanup.keepPolicies[0].in`).
    pub fn key_path(&self) -> String {
        match self {
            CleanupError::Policy { index, key, .. } => policy_path(*index, key),
        }
    }
}

fn policy_path(index: usize, key: &str) -> String {
    if key.is_empty() {
        format!("cleanup.keepPolicies[{index}]")
    } else {
        format!("cleanup.keepPolicies[{index}].{key}")
    }
}
