//! Registry access for davit: where credentials come from (docker config,
//! credential helpers), basic and bearer authentication that re-authenticates
//! with the scope a 401 challenge asks for, manifests (HEAD, GET, PUT,
//! DELETE), small blobs (HEAD, GET, monolithic upload), tag listing that
//! follows `Link` pagination, retries that honour `Retry-After`, and image
//! copies that stream layers in chunks. The wire types are oci-client's.

pub mod challenge;
pub mod client;
pub mod credentials;
pub mod error;

pub use client::{http_client, Descriptor, RegistryClient, RegistryOptions};
pub use credentials::{Credential, CredentialSource, Credentials};
pub use error::RegistryError;

/// The wire format: oci-client's manifest and descriptor types (OCI and
/// Docker schema 2 share their shape).
pub use oci_client::manifest::{OciDescriptor, OciImageIndex, OciImageManifest, OciManifest};

/// Parses a manifest as served by a registry.
pub fn parse_manifest(body: &[u8]) -> Result<OciManifest, String> {
    serde_json::from_slice(body).map_err(|e| format!("not an image manifest or index: {e}"))
}

/// Media types davit reads and writes.
pub mod media {
    use oci_client::manifest as m;
    pub const OCI_MANIFEST: &str = m::OCI_IMAGE_MEDIA_TYPE;
    pub const OCI_INDEX: &str = m::OCI_IMAGE_INDEX_MEDIA_TYPE;
    pub const DOCKER_MANIFEST: &str = m::IMAGE_MANIFEST_MEDIA_TYPE;
    pub const DOCKER_LIST: &str = m::IMAGE_MANIFEST_LIST_MEDIA_TYPE;
    pub const DOCKER_CONFIG: &str = m::IMAGE_DOCKER_CONFIG_MEDIA_TYPE;
    pub const DOCKER_LAYER_GZIP: &str = m::IMAGE_DOCKER_LAYER_GZIP_MEDIA_TYPE;
    /// Everything a manifest request accepts.
    pub const ACCEPT_ALL: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
}
