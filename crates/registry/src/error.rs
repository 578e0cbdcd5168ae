//! Registry errors. They say which host, which operation, which
//! authentication was tried and where its credentials came from — never the
//! secret itself.

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{host}: {operation}: authentication failed (tried {method} with credentials from {source_desc}): {message}")]
    Unauthorized {
        host: String,
        operation: String,
        method: String,
        source_desc: String,
        message: String,
    },
    #[error("{host}: {operation}: HTTP {status}: {message}")]
    Status {
        host: String,
        operation: String,
        status: u16,
        message: String,
    },
    /// Content a manifest names is not in the registry (a stage deleted
    /// or broken while it was in use).
    #[error("{host}: {operation}: {what} is missing from the registry")]
    Missing {
        host: String,
        operation: String,
        what: String,
    },
    #[error("{host}: {operation}: {message}")]
    Transport {
        host: String,
        operation: String,
        message: String,
    },
    #[error("reading credentials: {0}")]
    Credentials(String),
}
