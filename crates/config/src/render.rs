//! Rendering werf.yaml as werf does: `.werf/**/*.tmpl` as named templates,
//! the config as the body of `werfConfig`, werf's function set and root data
//! (`.Env`, `.Commit`, `.Files`).

use std::rc::Rc;

use davit_gotmpl::funcs::date::{GoTime, GO_STRING_LAYOUT};
use davit_gotmpl::funcs::{werf_funcs, FileSource, FilesObject, WerfOptions};
use davit_gotmpl::{Limits, Map, MissingKey, Template, Value};

/// The commit werf exposes as `.Commit`.
#[derive(Debug, Clone, Default)]
pub struct CommitInfo {
    pub hash: String,
    /// Author time in Unix seconds and its UTC offset in seconds.
    pub unix: i64,
    pub offset_secs: i32,
}

impl CommitInfo {
    /// Go's `time.Time.String()` in the commit's fixed zone, as werf shows it:
    /// `2024-01-02 15:04:05 +0300 +0300` (a zone without a name prints its
    /// offset twice).
    pub fn human(&self) -> String {
        GoTime {
            unix: self.unix,
            nanos: 0,
            offset: self.offset_secs,
            zone: String::new(),
        }
        .format(GO_STRING_LAYOUT)
    }
}

/// Everything a render needs.
pub struct RenderInput {
    /// The config file name as users know it (`werf.yaml`).
    pub config_name: String,
    pub config_text: String,
    /// `(name relative to the templates dir, text)`, e.g. `artifact/a.tmpl`.
    pub templates: Vec<(String, String)>,
    /// `--env`.
    pub env_name: String,
    pub commit: CommitInfo,
    pub files: Rc<dyn FileSource>,
    pub werf: WerfOptions,
}

/// Renders the config; template errors carry Go's wording and position.
/// The source map tells which template line produced each rendered line.
pub fn render(
    input: RenderInput,
) -> Result<(String, davit_gotmpl::SourceMap), davit_gotmpl::Error> {
    let t = Template::with_options(
        "werfConfig",
        werf_funcs(input.werf),
        MissingKey::Default,
        Limits::default(),
    );
    for (name, text) in &input.templates {
        t.parse(name, text)?;
    }
    t.parse("werfConfig", &input.config_text)?;
    let mut date = Map::new();
    date.insert("Human".into(), Value::from(input.commit.human()));
    date.insert("Unix".into(), Value::from(input.commit.unix.to_string()));
    let mut commit = Map::new();
    commit.insert("Hash".into(), Value::from(input.commit.hash.as_str()));
    commit.insert("Date".into(), Value::map(date));
    let mut root = Map::new();
    root.insert("Env".into(), Value::from(input.env_name.as_str()));
    root.insert("Commit".into(), Value::map(commit));
    root.insert(
        "Files".into(),
        Value::Object(Rc::new(FilesObject {
            source: input.files,
        })),
    );
    t.execute_mapped("werfConfig", &Value::map(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_human_matches_go() {
        let c = CommitInfo {
            hash: "x".into(),
            unix: 1704197045,
            offset_secs: 3 * 3600,
        };
        assert_eq!(c.human(), "2024-01-02 15:04:05 +0300 +0300");
    }
}
