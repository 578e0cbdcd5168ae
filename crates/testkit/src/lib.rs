//! Test infrastructure for davit's integration tests. Not shipped.
//!
//! `davit-token-server` implements the Docker registry token protocol for
//! the bearer-auth registry that `scripts/testenv` starts. `oracle` runs
//! the Go oracle in `tests/oracle/dockerfile` or reads its golden files.
//! `recording_proxy` stands in front of a test registry and records what
//! davit asked it for.

pub mod fixtures;
pub mod oracle;
pub mod recording_proxy;
