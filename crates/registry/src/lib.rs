//! Registry access for davit: where credentials come from (docker config,
//! credential helpers), basic and bearer authentication that re-authenticates
//! with the scope a 401 challenge asks for, manifests (HEAD, GET, PUT,
//! DELETE), small blobs (HEAD, GET, monolithic upload), tag listing that
//! follows `Link` pagination, and retries that honour `Retry-After`. Layer
//! transfer goes through the Docker daemon today.

pub mod challenge;
pub mod client;
pub mod credentials;
pub mod error;

pub use client::{Descriptor, RegistryClient, RegistryOptions};
pub use credentials::{Credential, CredentialSource, Credentials};
pub use error::RegistryError;

/// Media types davit reads and writes.
pub mod media {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Everything a manifest request accepts.
    pub const ACCEPT_ALL: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
}
