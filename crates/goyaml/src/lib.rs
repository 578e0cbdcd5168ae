//! YAML as Go's `gopkg.in/yaml.v2` reads and writes it.
//!
//! werf and Helm read YAML with yaml.v2 (YAML 1.1 booleans such as `yes` and
//! `on`, `0755` as octal) and `toYaml` writes it with yaml.v2's emitter
//! (quoting rules, 80-column folding, natural key order). No Rust crate
//! reproduces those bytes, so this crate does, on top of yaml-rust2's parser.

mod emit;
mod load;
mod resolve;
mod sort;

pub use emit::marshal;
pub use load::{load_all, Error};
pub use resolve::{resolve_plain, Resolved};
pub use sort::key_less;

/// A YAML value with Go's scalar types.
#[derive(Clone, Debug, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Pairs in document order; duplicates kept as written.
    Map(Vec<(Node, Node)>),
}

/// A value and where it starts in the text (1-based line, 1-based column).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Yaml,
    pub line: usize,
    pub col: usize,
    /// The text of a plain scalar as written (`yes`, `0x10`), which yaml.v2
    /// keeps when the target is a Go string.
    pub source: Option<String>,
}

impl Node {
    pub fn new(value: Yaml) -> Node {
        Node {
            value,
            line: 0,
            col: 0,
            source: None,
        }
    }
}

impl From<Yaml> for Node {
    fn from(value: Yaml) -> Node {
        Node::new(value)
    }
}
