//! werf.yaml as werf reads it: rendering as a Go template, splitting into
//! documents, validation against the v2 schema with errors that name file,
//! line, document and key, and a typed model of the result.

pub mod error;
pub mod giterminism;
pub use davit_pathmatch::glob;
pub mod graph;
pub mod inspect;
pub mod model;
pub mod parse;
pub mod project;
pub mod render;
pub mod schema;
pub mod split;

pub use error::{ConfigError, Diagnostic};
pub use parse::{parse, DependsOn, ImageDoc, ImageKind, WerfConfig};
