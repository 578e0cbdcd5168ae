//! Loading YAML text into `Node` trees with yaml.v2's rules: plain scalars
//! resolved as YAML 1.1, quoted ones kept as strings, `!!tags` honoured,
//! anchors and aliases expanded, `<<` merge keys applied.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::resolve::{resolve_plain, Resolved};
use crate::{Node, Yaml};

/// A YAML syntax error with its position (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {col}: {message}")]
pub struct Error {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Error {
    /// The error as yaml.v2 words it: `yaml: line N: problem`. libyaml
    /// reports the problem without its "while parsing …" context, and for
    /// parser errors a line number one less than the marker's.
    pub fn go_message(&self) -> String {
        let problem = match self.message.split_once(", ") {
            Some((ctx, p)) if ctx.starts_with("while ") => p,
            _ => self.message.as_str(),
        };
        let line = if self.line > 1 {
            self.line - 1
        } else {
            self.line
        };
        format!("yaml: line {line}: {problem}")
    }

    /// For a person reading `text`: inside a flow collection that never
    /// closes, the opening bracket is where the mistake is (the line werf
    /// names), not where the scanner gave up. Other errors are unchanged.
    pub fn at_unclosed_flow(self, text: &str) -> Error {
        let Some((line, col, bracket)) = unclosed_flow_before(text, self.line, self.col) else {
            return self;
        };
        let what = if bracket == '[' {
            "flow sequence"
        } else {
            "flow mapping"
        };
        Error {
            line,
            col,
            message: format!(
                "the {what} `{bracket}` opened here is not closed ({} {})",
                self.message,
                match self.line - line {
                    0 => "later on this line".to_string(),
                    1 => "on the next line".to_string(),
                    n => format!("{n} lines below"),
                }
            ),
        }
    }
}

enum Frame {
    Seq(Vec<Node>, usize, usize, usize),
    /// Pairs so far, pending key, anchor id, position.
    Map(Vec<(Node, Node)>, Option<Node>, usize, usize, usize),
}

struct Loader {
    docs: Vec<Node>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    error: Option<Error>,
    /// Counts nodes produced through aliases, to stop "billion laughs".
    expanded: usize,
}

const MAX_EXPANDED_NODES: usize = 10_000_000;

fn count_nodes(n: &Node) -> usize {
    match &n.value {
        Yaml::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Yaml::Map(pairs) => {
            1 + pairs
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

fn tagged_scalar(
    value: String,
    style: TScalarStyle,
    tag: Option<Tag>,
    line: usize,
    col: usize,
) -> Result<Yaml, Error> {
    let err = |m: String| Error {
        line,
        col,
        message: m,
    };
    if let Some(tag) = tag {
        let full = format!("{}{}", tag.handle, tag.suffix);
        let short = match full.as_str() {
            "tag:yaml.org,2002:str" | "!!str" => "str",
            "tag:yaml.org,2002:int" | "!!int" => "int",
            "tag:yaml.org,2002:float" | "!!float" => "float",
            "tag:yaml.org,2002:bool" | "!!bool" => "bool",
            "tag:yaml.org,2002:null" | "!!null" => "null",
            "tag:yaml.org,2002:binary" | "!!binary" => "binary",
            _ => "",
        };
        if tag.handle == "!!" || tag.handle.starts_with("tag:yaml.org") {
            return match short {
                "str" => Ok(Yaml::Str(value)),
                "binary" => Ok(Yaml::Str(value)),
                "null" => Ok(Yaml::Null),
                "" => Err(err(format!("cannot decode !!{} `{value}`", tag.suffix))),
                kind => match (kind, resolve_plain(&value)) {
                    ("int", Resolved::Int(i)) => Ok(Yaml::Int(i)),
                    ("int", Resolved::Uint(u)) => Ok(Yaml::Uint(u)),
                    ("float", Resolved::Float(f)) => Ok(Yaml::Float(f)),
                    ("float", Resolved::Int(i)) => Ok(Yaml::Float(i as f64)),
                    ("bool", Resolved::Bool(b)) => Ok(Yaml::Bool(b)),
                    _ => Err(err(format!(
                        "cannot decode !!{kind} `{value}` as a !!{kind}"
                    ))),
                },
            };
        }
        // Local tags such as `!foo`: yaml.v2 keeps the text.
        return Ok(Yaml::Str(value));
    }
    if style != TScalarStyle::Plain {
        return Ok(Yaml::Str(value));
    }
    Ok(match resolve_plain(&value) {
        Resolved::Null => Yaml::Null,
        Resolved::Bool(b) => Yaml::Bool(b),
        Resolved::Int(i) => Yaml::Int(i),
        Resolved::Uint(u) => Yaml::Uint(u),
        Resolved::Float(f) => Yaml::Float(f),
        Resolved::Timestamp | Resolved::Str => Yaml::Str(value),
    })
}

fn is_merge_key(n: &Node) -> bool {
    matches!(&n.value, Yaml::Str(s) if s == "<<")
}

/// Applies yaml.v2 merge semantics: merged pairs are inserted where the `<<`
/// stands; later explicit keys win, and so do earlier maps of a merge list.
fn apply_merges(
    pairs: Vec<(Node, Node)>,
    line: usize,
    col: usize,
) -> Result<Vec<(Node, Node)>, Error> {
    if !pairs.iter().any(|(k, _)| is_merge_key(k)) {
        return Ok(pairs);
    }
    let mut out: Vec<(Node, Node)> = Vec::new();
    let set = |out: &mut Vec<(Node, Node)>, k: Node, v: Node| {
        if let Some(slot) = out.iter_mut().find(|(ek, _)| ek.value == k.value) {
            slot.1 = v;
        } else {
            out.push((k, v));
        }
    };
    for (k, v) in pairs {
        if !is_merge_key(&k) {
            set(&mut out, k, v);
            continue;
        }
        let bad = || Error {
            line,
            col,
            message: "map merge requires map or sequence of maps as the value".into(),
        };
        match v.value {
            Yaml::Map(m) => {
                for (mk, mv) in m {
                    set(&mut out, mk, mv);
                }
            }
            Yaml::Seq(items) => {
                for item in items.into_iter().rev() {
                    match item.value {
                        Yaml::Map(m) => {
                            for (mk, mv) in m {
                                set(&mut out, mk, mv);
                            }
                        }
                        _ => return Err(bad()),
                    }
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

impl Loader {
    fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn insert(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(items, ..)) => items.push(node),
            Some(Frame::Map(pairs, pending, ..)) => match pending.take() {
                None => *pending = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Loader {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let (line, col) = (mark.line(), mark.col() + 1);
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                let source = (style == TScalarStyle::Plain).then(|| value.clone());
                match tagged_scalar(value, style, tag, line, col) {
                    Ok(y) => self.insert(
                        Node {
                            value: y,
                            line,
                            col,
                            source,
                        },
                        anchor,
                    ),
                    Err(e) => self.fail(e),
                }
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(Vec::new(), anchor, line, col))
            }
            Event::MappingStart(anchor, _) => {
                self.stack
                    .push(Frame::Map(Vec::new(), None, anchor, line, col))
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, anchor, l, c)) = self.stack.pop() {
                    self.insert(
                        Node {
                            value: Yaml::Seq(items),
                            line: l,
                            col: c,
                            source: None,
                        },
                        anchor,
                    );
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(pairs, _, anchor, l, c)) = self.stack.pop() {
                    match apply_merges(pairs, l, c) {
                        Ok(pairs) => self.insert(
                            Node {
                                value: Yaml::Map(pairs),
                                line: l,
                                col: c,
                                source: None,
                            },
                            anchor,
                        ),
                        Err(e) => self.fail(e),
                    }
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(n) => {
                    self.expanded += count_nodes(&n);
                    if self.expanded > MAX_EXPANDED_NODES {
                        self.fail(Error {
                            line,
                            col,
                            message: "document expands to too many nodes through aliases".into(),
                        });
                        return;
                    }
                    self.insert(n, 0)
                }
                None => self.fail(Error {
                    line,
                    col,
                    message: "unknown anchor referenced".into(),
                }),
            },
            Event::DocumentStart => {}
            Event::DocumentEnd => {}
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

/// Loads every document of a YAML stream. An empty document is `Null`.
pub fn load_all(text: &str) -> Result<Vec<Node>, Error> {
    let mut loader = Loader {
        docs: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        error: None,
        expanded: 0,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut loader, true) {
        let m = e.marker();
        return Err(Error {
            line: m.line(),
            col: m.col() + 1,
            message: e.info().to_string(),
        });
    }
    if let Some(e) = loader.error {
        return Err(e);
    }
    Ok(loader.docs)
}

/// The innermost `[` or `{` that opens a flow collection before `line`,
/// `col` (1-based) and is still open there, skipping quoted text and
/// comments. A bracket counts only where a node can start: at a line's
/// first non-blank character, after `: `, `- `, `,`, or inside another
/// flow collection.
fn unclosed_flow_before(text: &str, line: usize, col: usize) -> Option<(usize, usize, char)> {
    let mut open: Vec<(usize, usize, char)> = Vec::new();
    for (i, row) in text.split('\n').enumerate() {
        let row_no = i + 1;
        if row_no > line {
            break;
        }
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        let mut node_start = true;
        let chars: Vec<char> = row.chars().collect();
        let mut c = 0;
        while c < chars.len() {
            if row_no == line && c + 1 >= col {
                break;
            }
            let ch = chars[c];
            match quote {
                Some('\'') if ch == '\'' => {
                    if chars.get(c + 1) == Some(&'\'') {
                        c += 1;
                    } else {
                        quote = None;
                    }
                }
                Some('"') if ch == '\\' => c += 1,
                Some('"') if ch == '"' => quote = None,
                Some(_) => {}
                None => match ch {
                    '#' if prev == ' ' || prev == '\t' => break,
                    '\'' | '"' if node_start || !open.is_empty() => quote = Some(ch),
                    '[' | '{' if node_start || !open.is_empty() => {
                        open.push((row_no, c + 1, ch));
                    }
                    ']' | '}' if !open.is_empty() => {
                        open.pop();
                    }
                    _ => {}
                },
            }
            node_start = quote.is_none()
                && (ch == ','
                    || ch == '['
                    || ch == '{'
                    || ((ch == ' ' || ch == '\t') && (node_start || prev == ':' || prev == '-')));
            prev = ch;
            c += 1;
        }
    }
    open.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unclosed_flow_collection_is_reported_where_it_opens() {
        let text = "a: 1\nargs:\n  A: [1, 2\n  B: 3\n";
        let e = load_all(text).expect_err("unclosed").at_unclosed_flow(text);
        assert_eq!((e.line, e.col), (3, 6), "{e}");
        assert!(
            e.message
                .contains("flow sequence `[` opened here is not closed"),
            "{e}"
        );
        let t = "x: {a: 1\ny: 2\n";
        let e = load_all(t).expect_err("unclosed map").at_unclosed_flow(t);
        assert_eq!(e.line, 1, "{e}");
        // Brackets inside quotes, comments and plain scalars are not openers.
        let t = "a: 'x[' # [\nb: c[d\nc: [1\n";
        let e = load_all(t).expect_err("unclosed").at_unclosed_flow(t);
        assert_eq!((e.line, e.col), (3, 4), "{e}");
        // Errors outside flow collections keep their own position.
        let t = "a: 1\n b: 2\n";
        let e = load_all(t).expect_err("bad indent").at_unclosed_flow(t);
        assert!(!e.message.contains("opened here"), "{e}");
    }

    #[test]
    fn merges_and_scalars() {
        let docs =
            load_all("base: &b {a: 1, b: yes}\nx:\n  <<: *b\n  b: '2'\n").unwrap_or_default();
        let Yaml::Map(top) = &docs[0].value else {
            panic!("not a map")
        };
        let Yaml::Map(x) = &top[1].1.value else {
            panic!("not a map")
        };
        assert_eq!(x[0].1.value, Yaml::Int(1));
        assert_eq!(x[1].1.value, Yaml::Str("2".into()));
        assert_eq!(top[1].0.line, 2);
    }

    #[test]
    fn syntax_error_has_position() {
        let e = load_all("a: b: c\n").err();
        assert!(e.is_some_and(|e| e.line == 1));
    }
}
