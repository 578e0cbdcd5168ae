//! A Go `text/template` engine with the sprig, werf and Helm function sets,
//! written to render werf.yaml files and Helm charts byte for byte as Go does.
//!
//! ```
//! use davit_gotmpl::{Template, Value, funcs};
//! let t = Template::new(funcs::werf_funcs(funcs::WerfOptions::default()));
//! t.parse("main", "{{ .name | upper }}: {{ 1e6 }}").unwrap();
//! let data = Value::from_json(&serde_json::json!({"name": "app"}));
//! assert_eq!(t.execute("main", &data).unwrap(), "APP: 1e+06");
//! ```

mod builtins;
mod exec;
mod func;
pub mod funcs;
#[doc(hidden)]
pub mod fuzzing;
pub mod gofmt;
pub mod parse;
mod value;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

pub use func::{CallContext, Func, FuncImpl, FuncMap, Param};
pub use parse::ast::Tree;
pub use value::{FuncValue, ListType, Map, MapType, Object, Value};

/// Go's `missingkey` option: what a missing map key evaluates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `<no value>` (Go's default; werf).
    #[default]
    Default,
    /// The zero value of the map's element type (Helm).
    Zero,
    /// An execution error.
    Error,
}

/// Limits that keep hostile or broken templates from exhausting the machine.
/// Go has none of these except the template depth (100000); real templates
/// stay far below each.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Nested `template`/`include`/`tpl` calls.
    pub max_depth: usize,
    /// Bytes of output of one execution.
    pub max_output: usize,
    /// Evaluation steps (nodes visited) of one top-level execution.
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 10_000,
            max_output: 256 << 20,
            max_steps: 200_000_000,
        }
    }
}

/// A parse or execution error, worded as Go's `text/template` words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }
}

struct Shared {
    name: String,
    trees: RefCell<HashMap<String, Rc<Tree>>>,
    funcs: FuncMap,
    missing_key: MissingKey,
    limits: Limits,
    steps: std::cell::Cell<u64>,
    source_map: RefCell<Vec<SourceMapEntry>>,
    /// Action delimiters for later `parse` calls (Go's `Delims`).
    delims: RefCell<(String, String)>,
}

/// Where a run of output bytes came from.
#[derive(Debug, Clone)]
pub struct SourceMapEntry {
    pub(crate) out_offset: usize,
    pub(crate) template: String,
    pub(crate) text: Rc<str>,
    pub(crate) pos: usize,
    /// Text copied from the template (as opposed to an action's result).
    pub(crate) verbatim: bool,
}

/// Maps lines of rendered output back to template lines.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    entries: Vec<SourceMapEntry>,
}

impl SourceMap {
    /// The template name and 1-based line that produced the start of the
    /// 1-based `line` of `output`.
    pub fn locate(&self, output: &str, line: usize) -> Option<(String, usize)> {
        let offset = if line <= 1 {
            0
        } else {
            output
                .match_indices('\n')
                .nth(line - 2)
                .map(|(i, _)| i + 1)?
        };
        let idx = self
            .entries
            .partition_point(|e| e.out_offset <= offset)
            .checked_sub(1)?;
        let e = &self.entries[idx];
        let src = if e.verbatim {
            e.pos + (offset - e.out_offset)
        } else {
            e.pos
        };
        let src = src.min(e.text.len());
        let src_line = 1 + e.text.as_bytes()[..src]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        Some((e.template.clone(), src_line))
    }
}

/// A set of named templates sharing one function map, like a Go
/// `*template.Template` and its associated templates. Cloning is cheap and
/// shares the set.
#[derive(Clone)]
pub struct Template {
    shared: Rc<Shared>,
}

impl Template {
    /// A set named `main` with Go's default options.
    pub fn new(funcs: FuncMap) -> Template {
        Template::with_options("main", funcs, MissingKey::Default, Limits::default())
    }

    /// `name` is the set's own name (Go's `template.New(name)`), which Go
    /// quotes in "no template associated with" errors.
    pub fn with_options(
        name: &str,
        funcs: FuncMap,
        missing_key: MissingKey,
        limits: Limits,
    ) -> Template {
        Template {
            shared: Rc::new(Shared {
                name: name.to_string(),
                trees: RefCell::new(HashMap::new()),
                funcs,
                missing_key,
                limits,
                steps: std::cell::Cell::new(0),
                source_map: RefCell::new(Vec::new()),
                delims: RefCell::new((
                    parse::lex::LEFT_DELIM.to_string(),
                    parse::lex::RIGHT_DELIM.to_string(),
                )),
            }),
        }
    }

    /// Sets the action delimiters for later [`Template::parse`] calls, as
    /// Go's `Delims`: an empty string keeps the default (`{{`, `}}`).
    pub fn delims(&self, left: &str, right: &str) {
        let pick = |d: &str, default: &str| {
            if d.is_empty() {
                default.to_string()
            } else {
                d.to_string()
            }
        };
        *self.shared.delims.borrow_mut() = (
            pick(left, parse::lex::LEFT_DELIM),
            pick(right, parse::lex::RIGHT_DELIM),
        );
    }

    /// Parses `text` as the template `name`; its `define`s join the set.
    /// As in Go, a body that is empty does not replace an existing template.
    pub fn parse(&self, name: &str, text: &str) -> Result<(), Error> {
        let has_func = |f: &str| self.shared.funcs.contains_key(f) || builtins::is_builtin(f);
        let delims = self.shared.delims.borrow().clone();
        let trees = parse::parser::parse_with_delims(
            name,
            text,
            &has_func,
            (delims.0.as_str(), delims.1.as_str()),
        )
        .map_err(|e| Error::new(e.message))?;
        let mut map = self.shared.trees.borrow_mut();
        for tree in trees {
            let replace = match map.get(&tree.name) {
                Some(old) => {
                    !parse::ast::is_empty_list(&tree.root) || parse::ast::is_empty_list(&old.root)
                }
                None => true,
            };
            if replace {
                map.insert(tree.name.clone(), Rc::new(tree));
            }
        }
        Ok(())
    }

    /// True when the set has a template of that name.
    pub fn has(&self, name: &str) -> bool {
        self.shared.trees.borrow().contains_key(name)
    }

    /// Names of all templates in the set, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.shared.trees.borrow().keys().cloned().collect();
        v.sort();
        v
    }

    /// Executes template `name` with `data` as dot (Go's `ExecuteTemplate`).
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        self.shared.steps.set(0);
        self.execute_nested(name, data, 0)
    }

    pub(crate) fn execute_nested(
        &self,
        name: &str,
        data: &Value,
        depth: usize,
    ) -> Result<String, Error> {
        let snapshot = self.shared.trees.borrow().clone();
        let Some(tree) = snapshot.get(name).cloned() else {
            return Err(Error::new(format!(
                "template: no template {} associated with template {}",
                gofmt::quote(name),
                gofmt::quote(&self.shared.name)
            )));
        };
        let mut out = String::new();
        exec::execute(self, &snapshot, &tree, data, depth, &mut out, false)?;
        Ok(out)
    }

    /// Like `execute`, and also returns where each output line came from.
    pub fn execute_mapped(&self, name: &str, data: &Value) -> Result<(String, SourceMap), Error> {
        self.shared.steps.set(0);
        self.shared.source_map.borrow_mut().clear();
        let snapshot = self.shared.trees.borrow().clone();
        let Some(tree) = snapshot.get(name).cloned() else {
            return self.execute(name, data).map(|s| (s, SourceMap::default()));
        };
        let mut out = String::new();
        exec::execute(self, &snapshot, &tree, data, 0, &mut out, true)?;
        let entries = std::mem::take(&mut *self.shared.source_map.borrow_mut());
        Ok((out, SourceMap { entries }))
    }

    pub(crate) fn record(&self, e: SourceMapEntry) {
        self.shared.source_map.borrow_mut().push(e);
    }

    pub(crate) fn func(&self, name: &str) -> Option<&Func> {
        self.shared.funcs.get(name)
    }

    pub(crate) fn missing_key(&self) -> MissingKey {
        self.shared.missing_key
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    pub(crate) fn live_tree(&self, name: &str) -> Option<Rc<Tree>> {
        self.shared.trees.borrow().get(name).cloned()
    }

    /// Counts one evaluation step; false when the budget is spent.
    pub(crate) fn step(&self) -> bool {
        let n = self.shared.steps.get() + 1;
        self.shared.steps.set(n);
        n <= self.shared.limits.max_steps
    }
}
