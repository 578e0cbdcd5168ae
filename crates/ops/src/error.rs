//! What can stop an operation: the library errors it drives, and usage
//! errors in the options it was given. Large errors are boxed so that
//! `Result`s stay small.

use davit_config::project::ProjectError;
use davit_conveyor::BuildError;
use davit_registry::RegistryError;
use davit_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// Options that cannot work together (checked before any work).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(Box<ProjectError>),
    #[error(transparent)]
    Git(#[from] davit_git::GitError),
    #[error(transparent)]
    Registry(Box<RegistryError>),
    #[error(transparent)]
    Storage(Box<StorageError>),
    #[error(transparent)]
    Report(#[from] davit_report::ReportError),
    #[error(transparent)]
    Engine(Box<davit_engine::DockerError>),
    #[error(transparent)]
    Build(Box<BuildError>),
    #[error(transparent)]
    DockerConfig(#[from] davit_ci::docker_config::DockerConfigError),
    #[error(transparent)]
    Render(Box<crate::render::RenderError>),
    #[error(transparent)]
    Kube(Box<davit_kube::KubeError>),
    /// A deploy that failed: what failed, with pod states and events.
    #[error("{0}")]
    Deploy(String),
    /// A cleanup that cannot go on: git, the cluster, the registry's refusal.
    #[error("{0}")]
    Cleanup(String),
    /// The deploy annotations of the chart (spec §5.7) do not make a plan.
    #[error("{0}")]
    DeployPlan(#[source] davit_deploy::DeployError),
    #[error("starting the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl From<ProjectError> for OpsError {
    fn from(e: ProjectError) -> Self {
        OpsError::Config(Box::new(e))
    }
}

impl From<RegistryError> for OpsError {
    fn from(e: RegistryError) -> Self {
        OpsError::Registry(Box::new(e))
    }
}

impl From<StorageError> for OpsError {
    fn from(e: StorageError) -> Self {
        OpsError::Storage(Box::new(e))
    }
}

impl From<davit_engine::DockerError> for OpsError {
    fn from(e: davit_engine::DockerError) -> Self {
        OpsError::Engine(Box::new(e))
    }
}

impl From<BuildError> for OpsError {
    fn from(e: BuildError) -> Self {
        OpsError::Build(Box::new(e))
    }
}
