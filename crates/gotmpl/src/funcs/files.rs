//! `.Files`: reading project files from templates, through a source the
//! caller provides (the git commit, or the work tree in `--dev` mode).

use std::rc::Rc;

use super::yaml::to_yaml_json;
use crate::value::{Map, Object, Value};

/// Where `.Files` reads from. Paths are project-relative with `/`.
pub trait FileSource {
    /// File content, or why it cannot be read (missing, not committed, not
    /// allowed by giterminism…).
    fn get(&self, path: &str) -> Result<String, String>;
    /// Files matching a doublestar glob, sorted by path.
    fn glob(&self, pattern: &str) -> Result<Vec<(String, String)>, String>;
    fn exists(&self, path: &str) -> bool;
    fn is_dir(&self, path: &str) -> bool;
}

/// werf's `.Files` object.
#[derive(Clone)]
pub struct FilesObject {
    pub source: Rc<dyn FileSource>,
}

impl std::fmt::Debug for FilesObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Files")
    }
}

fn arg(args: &[Value]) -> Result<String, String> {
    match args.first() {
        Some(Value::String(s)) => Ok(s.to_string()),
        Some(other) => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
        None => Err("missing argument".into()),
    }
}

fn base(p: &str) -> String {
    p.rsplit('/').next().unwrap_or(p).to_string()
}

impl FilesObject {
    fn all(&self) -> Vec<(String, String)> {
        self.source.glob("**/*").unwrap_or_default()
    }
}

impl Object for FilesObject {
    fn type_name(&self) -> String {
        "*files.Files".into()
    }
    fn kind(&self) -> &'static str {
        "ptr"
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        Some((|| -> Result<Value, String> {
            match name {
                "Get" => {
                    let p = arg(args)?;
                    self.source.get(&p).map(Value::from).map_err(|reason| {
                        format!("{{{{ .Files.Get {} }}}}: {reason}", crate::gofmt::quote(&p))
                    })
                }
                "Glob" => {
                    let p = arg(args)?;
                    let files = self.source.glob(&p).map_err(|reason| {
                        format!(
                            "{{{{ .Files.Glob {} }}}}: {reason}",
                            crate::gofmt::quote(&p)
                        )
                    })?;
                    let m: Map = files
                        .into_iter()
                        .map(|(k, v)| (k, Value::from(v)))
                        .collect();
                    Ok(Value::map(m))
                }
                "Exists" => Ok(Value::Bool(self.source.exists(&arg(args)?))),
                "IsDir" => Ok(Value::Bool(self.source.is_dir(&arg(args)?))),
                "Lines" => {
                    let c = self.source.get(&arg(args)?).unwrap_or_default();
                    if c.is_empty() {
                        return Ok(Value::string_list(Vec::new()));
                    }
                    Ok(Value::string_list(
                        c.trim_end_matches('\n')
                            .split('\n')
                            .map(str::to_string)
                            .collect(),
                    ))
                }
                "AsConfig" | "AsSecrets" => {
                    let secrets = name == "AsSecrets";
                    let m: Map = self
                        .all()
                        .into_iter()
                        .map(|(k, v)| {
                            let v = if secrets {
                                use base64::Engine;
                                base64::engine::general_purpose::STANDARD.encode(v)
                            } else {
                                v
                            };
                            (base(&k), Value::from(v))
                        })
                        .collect();
                    Ok(Value::from(to_yaml_json(&Value::map(m))))
                }
                _ => Err(format!("no method {name}")),
            }
        })())
    }
    fn method_params(&self, name: &str) -> Option<(Vec<crate::Param>, Option<crate::Param>)> {
        match name {
            "Get" | "Glob" | "Exists" | "IsDir" | "Lines" => Some((vec![crate::Param::Str], None)),
            "AsConfig" | "AsSecrets" => Some((vec![], None)),
            _ => None,
        }
    }
    fn format(&self) -> String {
        "&{}".into()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
