//! Test infrastructure for davit's integration tests. Not shipped.
//!
//! `davit-token-server` implements the Docker registry token protocol for
//! the bearer-auth registry that `scripts/testenv` starts.

pub mod fixtures;
