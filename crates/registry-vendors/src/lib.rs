//! Registry vendors' own APIs, for deleting tags where the distribution
//! API does not (or deletes too much): werf's choice of implementation
//! from the repository's host (`implementation`), GitHub Packages'
//! package versions (`github`) and Docker Hub's tags (`dockerhub`). Both
//! clients page through lists, wait out rate limits, and tell a refusal
//! that no later request will get past (a token without the scope) from
//! one that concerns a single tag.

pub mod aws_credentials;
pub mod dockerhub;
pub mod ecr;
pub mod error;
pub mod github;
mod http;
pub mod implementation;

pub use error::VendorError;
pub use implementation::Implementation;
