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
    /// A `cleanup:` setting werf would refuse.
    #[error("werf.yaml: cleanup.keepPolicies[{index}]: {message}\n  hint: {hint}")]
    Policy {
        index: usize,
        message: String,
        hint: &'static str,
    },
}
