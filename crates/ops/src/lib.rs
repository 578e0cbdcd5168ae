//! The operations behind davit's commands, as cargo's `ops` are behind its
//! `exec()`s: a command maps its arguments to these types and formats what
//! they return; the work happens here.
//!
//! - [`Project`]: a werf project opened once — config from the commit (or
//!   the work tree), the repository as the build reads it, the project name.
//! - [`StorageOptions`] → [`Stores`]: the stages storage (`--repo` or the
//!   local daemon) and the final, secondary and cache repositories, with
//!   one registry client and the user's credentials.
//! - [`build`]: `davit build` over the conveyor, the report and its debug
//!   statistics.
//! - [`plan`]: `davit build --plan`, the stages each image would have and
//!   which are stored, without building.

pub mod build;
pub mod chart_deps;
pub mod ci;
pub mod ci_env;
pub mod cleanup;
pub mod converge;
mod error;
pub mod host;
pub mod plan;
pub mod project;
pub mod render;
pub mod secrets;
pub mod ssh_agent;
pub mod stores;

pub use davit_storage::WERF_COMPAT_VERSION;
pub use error::OpsError;
pub use project::Project;
pub use stores::{StorageOptions, Stores};
