//! What can stop an operation: the library errors it drives, and usage
//! errors in the options it was given.

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// Options that cannot work together (checked before any work).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] davit_config::project::ProjectError),
    #[error(transparent)]
    Git(#[from] davit_git::GitError),
    #[error(transparent)]
    Registry(#[from] davit_registry::RegistryError),
    #[error(transparent)]
    Storage(#[from] davit_storage::StorageError),
    #[error(transparent)]
    Report(#[from] davit_report::ReportError),
    #[error(transparent)]
    Engine(#[from] davit_engine::DockerError),
    #[error(transparent)]
    Build(#[from] davit_conveyor::BuildError),
    #[error(transparent)]
    DockerConfig(#[from] davit_ci::docker_config::DockerConfigError),
    #[error("starting the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}
