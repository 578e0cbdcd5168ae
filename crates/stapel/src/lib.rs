//! werf's stapel pipeline (../shared/spec/werf-build.md §1.4, §4.2–4.5):
//! the stages of a stapel image in werf's order, the inputs of each
//! stage's digest and the digest chain. Pure: it reads the commit through
//! `davit-git` and never talks to an engine or a registry; the conveyor
//! looks stages up and builds them.
//!
//! - `stage`: the stage names, their digest names and selection rules;
//! - `builder`: shell user stages and their checksums;
//! - `mapping`: git mappings, `paramshash`, overlap auto-excludes and
//!   `stageDependencies` checksums;
//! - `docker`: the legacy `docker:` directive;
//! - `pipeline`: which stages exist and the digest chain;
//! - `layer`: git mappings' files as an image layer written by davit;
//! - `patch`: `gitLatestPatch`, the change since the stored git stages;
//! - `imports`: `import:` identity, checksum, `dependencies*` inputs, layer;
//! - `support`: the stapel features davit cannot plan yet, by name.

pub mod builder;
pub mod docker;
pub mod imports;
pub mod layer;
pub mod mapping;
pub mod patch;
pub mod pipeline;
pub mod stage;
pub mod support;

pub use mapping::GitMapping;
pub use pipeline::{
    next_dependencies, stage_digest, BaseImage, Pipeline, PipelineInput, PrevStage, Stage,
};
pub use stage::StageName;

#[derive(Debug, thiserror::Error)]
pub enum StapelError {
    /// werf's message for a mapping that takes no file.
    #[error("image {image:?}: \"git.add: /{add}\" in werf.yaml matches no files. git.add requires at least one file matched by it. Fix and retry")]
    AddMatchesNothing { image: String, add: String },
    #[error("image {image:?}: {message}")]
    Config { image: String, message: String },
    #[error("image {image:?}: {feature} is not supported by davit yet")]
    Unsupported { image: String, feature: String },
    #[error("reading the commit: {0}")]
    Git(String),
    #[error("writing a layer: {0}")]
    Layer(String),
}
