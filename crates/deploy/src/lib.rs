//! werf's deploy layer over `davit-chart`: the service values werf
//! injects, the extra annotations and labels, and the manifests in werf's
//! own output form. Pure: reading the chart, secrets, the build and the
//! cluster happens in `davit-ops`.

pub mod annotations;
pub mod manifests;
pub mod plan;
pub mod policy;
pub mod service_values;

pub use manifests::{ManifestOptions, Resource};
pub use service_values::{service_values, ImageReference, ServiceImage, ServiceValuesInput};

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{source_file}: {message}\n  in:\n{document}")]
    Manifest {
        source_file: String,
        message: String,
        document: String,
    },
    #[error("{source_file}: {resource}: annotation {key}: {value:?} is not valid\n  hint: {hint}")]
    Annotation {
        source_file: String,
        resource: String,
        key: String,
        value: String,
        hint: String,
    },
    #[error("the {stage} stage has a dependency cycle: {}\n  hint: a werf.io/deploy-dependency-* annotation names a resource that waits, directly or not, for this one", resources.join(" → "))]
    Cycle {
        stage: String,
        resources: Vec<String>,
    },
    #[error("bad {what} {text:?}: {reason}")]
    BadPair {
        what: &'static str,
        text: String,
        reason: &'static str,
    },
}

/// Renders the manifests of a prepared chart as `werf render` prints them,
/// `show_only` (template paths, with or without the chart name) applied.
pub fn werf_render_output(
    rendered: &[(String, String)],
    crd_files: &[(String, String)],
    options: &ManifestOptions<'_>,
) -> Result<Vec<Resource>, DeployError> {
    let mut resources = manifests::parse_resources(rendered, crd_files, options)?;
    manifests::sort(&mut resources);
    Ok(resources)
}
