//! Helm charts, read and rendered as Helm 4 reads and renders them, on
//! davit's Go template engine. Nothing here knows werf: werf's service
//! values, secrets and output format live in `davit-deploy`.
//!
//! The pipeline: [`chart::load`] a chart from its files → [`user_values`]
//! from `--values` files and the `--set` family → [`prepare`] (dependencies
//! enabled/aliased/imported, values coalesced, `values.schema.json`
//! checked) → [`engine::render`] → one output per template.

pub mod chart;
pub mod deps;
pub mod engine;
pub mod helmignore;
pub mod objects;
mod schema;
pub mod strvals;
pub mod values;

pub use chart::{Chart, ChartFile, Metadata};
pub use engine::{render, Capabilities, Release, RenderError, RenderOptions, Rendered};
pub use strvals::SetKind;

use davit_gotmpl::Value;

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("{file}: {message}")]
    Yaml { file: String, message: String },
    #[error("chart {chart:?}: {message}")]
    Invalid { chart: String, message: String },
    #[error("failed parsing {flag} data {text:?}: {source}")]
    Set {
        flag: &'static str,
        text: String,
        source: strvals::StrvalsError,
    },
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{0}"
    )]
    Schema(String),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// One user input for values, in the order it was given.
#[derive(Clone, Debug)]
pub enum ValuesInput {
    /// A `--values` file: its name (for errors) and text.
    File { name: String, text: String },
    /// A `--set`-family flag value.
    Set { kind: SetKind, text: String },
}

fn flag_name(kind: SetKind) -> &'static str {
    match kind {
        SetKind::Typed => "--set",
        SetKind::String => "--set-string",
        SetKind::Json => "--set-json",
        SetKind::Literal => "--set-literal",
        SetKind::File => "--set-file",
    }
}

/// The user's values from inputs in Helm's order; `read_file` serves
/// `--set-file`.
pub fn user_values(
    inputs: &[ValuesInput],
    read_file: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Value, ChartError> {
    let mut base = values::empty();
    for input in inputs {
        match input {
            ValuesInput::File { name, text } => {
                let v = values::parse_values(text, name)?;
                base = values::merge_maps(&base, &v);
            }
            ValuesInput::Set { kind, text } => strvals::parse_into(text, &base, *kind, read_file)
                .map_err(|source| ChartError::Set {
                flag: flag_name(*kind),
                text: text.clone(),
                source,
            })?,
        }
    }
    Ok(base)
}

/// A chart ready to render: its dependency tree processed for these values
/// and the values coalesced (`.Values` of the root chart).
pub struct Prepared {
    pub chart: Chart,
    pub values: Value,
    /// Helm's warnings (non-boolean conditions, tables replaced by scalars).
    pub warnings: Vec<String>,
}

/// Processes dependencies, coalesces values and checks every chart's
/// `values.schema.json`.
pub fn prepare(mut chart: Chart, user: &Value) -> Result<Prepared, ChartError> {
    let mut warnings = Vec::new();
    deps::process(&mut chart, user, &mut warnings)?;
    let values = values::coalesce(&chart, user, &mut warnings);
    schema::validate_tree(&chart, &values)?;
    Ok(Prepared {
        chart,
        values,
        warnings,
    })
}
