//! Helm's `--set` family: `a.b=c,list[0]=x,tags={a,b}` parsed into a values
//! map as Helm's `strvals` parses it (its documented behaviour, checked
//! against `helm template` in `tests/helm_differential.rs`).
//!
//! - `--set` types its values: `true`/`false` (any case) are booleans,
//!   `null` is nil, decimal integers without a leading zero are `int64`,
//!   everything else (`1.50`, `007`, `1e3`) stays a string.
//! - `--set-string` and `--set-file` keep strings; `--set-json` reads JSON
//!   (numbers are `float64`); `--set-literal` takes everything after the
//!   first `=` verbatim.
//! - `\` escapes the next character in keys and values; `a\.b` is one key.
//! - Every flag parses into the same map, so `list[1]=Y` indexes an existing
//!   list and `a.b=c` merges into an existing map.

use davit_gotmpl::{Map, MapType, Value};

/// The largest list index Helm accepts.
pub const MAX_INDEX: usize = 65536;

/// How a flag's values are typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: booleans, null and integers are inferred.
    Typed,
    /// `--set-string`.
    String,
    /// `--set-json`: each value is a JSON document.
    Json,
    /// `--set-literal`: one key, the rest of the text is the value.
    Literal,
    /// `--set-file`: values are paths, read through the callback.
    File,
}

/// A parse error, worded as Helm words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StrvalsError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, StrvalsError> {
    Err(StrvalsError(msg.into()))
}

/// Helm's `typedVal` for `--set`.
pub fn typed_value(val: &str) -> Value {
    if val.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if val.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if val.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if val == "0" {
        return Value::Int64(0);
    }
    if !val.is_empty() && !val.starts_with('0') {
        if let Ok(i) = parse_go_int(val) {
            return Value::Int64(i);
        }
    }
    Value::from(val)
}

/// `strconv.ParseInt(s, 10, 64)`: an optional sign, then decimal digits.
fn parse_go_int(s: &str) -> Result<i64, ()> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    s.trim_start_matches('+').parse::<i64>().map_err(|_| ())
}

/// Parses one flag value into `base`. `read_file` serves `--set-file`.
pub fn parse_into(
    text: &str,
    base: &Value,
    kind: SetKind,
    read_file: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<(), StrvalsError> {
    let Value::Map(map, _) = base else {
        return err("values are not a map");
    };
    if kind == SetKind::Literal {
        return parse_literal(text, &mut map.borrow_mut());
    }
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        kind,
        read_file,
    };
    let mut m = map.borrow_mut();
    while !p.done() {
        p.key(&mut m, 0)?;
    }
    Ok(())
}

fn parse_literal(text: &str, map: &mut Map) -> Result<(), StrvalsError> {
    let Some((key, value)) = text.split_once('=') else {
        return err(format!("key {:?} has no value", text));
    };
    let parts = split_key_path(key);
    set_path(map, &parts, Value::from(value))
}

/// `a\.b.c` → `["a.b", "c"]`.
fn split_key_path(key: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    parts.last_mut().expect("non-empty").push(n);
                }
            }
            '.' => parts.push(String::new()),
            _ => parts.last_mut().expect("non-empty").push(c),
        }
    }
    parts
}

fn set_path(map: &mut Map, parts: &[String], value: Value) -> Result<(), StrvalsError> {
    match parts {
        [] => err("empty key"),
        [last] => {
            map.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let sub = map_entry(map, first);
            let mut sub = sub.borrow_mut();
            set_path(&mut sub, rest, value)
        }
    }
}

/// The map at `key` in `map`, replacing a non-map value with an empty map.
fn map_entry(map: &mut Map, key: &str) -> std::rc::Rc<std::cell::RefCell<Map>> {
    match map.get(key) {
        Some(Value::Map(m, _)) => m.clone(),
        _ => {
            let v = Value::empty_map();
            let Value::Map(m, _) = &v else {
                unreachable!("empty_map is a map")
            };
            let m = m.clone();
            map.insert(key.to_string(), v);
            m
        }
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    kind: SetKind,
    read_file: &'a mut dyn FnMut(&str) -> Result<String, String>,
}

/// Where a run of characters stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Char(char),
    End,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.pos >= self.chars.len()
    }

    /// Reads until one of `stops` (unescaped), returning the text and the stop.
    fn run_until(&mut self, stops: &[char]) -> (String, Stop) {
        let mut out = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if c == '\\' {
                if let Some(&n) = self.chars.get(self.pos) {
                    self.pos += 1;
                    out.push(n);
                }
                continue;
            }
            if stops.contains(&c) {
                return (out, Stop::Char(c));
            }
            out.push(c);
        }
        (out, Stop::End)
    }

    fn value_of(&mut self, raw: &str) -> Result<Value, StrvalsError> {
        Ok(match self.kind {
            SetKind::Typed => typed_value(raw),
            SetKind::String | SetKind::Literal => Value::from(raw),
            SetKind::File => {
                Value::from((self.read_file)(raw).map_err(|e| StrvalsError(format!("{raw}: {e}")))?)
            }
            SetKind::Json => unreachable!("JSON values are read by json_value"),
        })
    }

    /// One `key…=value` assignment into `map`.
    fn key(&mut self, map: &mut Map, depth: usize) -> Result<(), StrvalsError> {
        if depth > 10_000 {
            return err(
                "value name nested level is greater than maximum supported nested level of 10000",
            );
        }
        let (k, stop) = self.run_until(&['=', '[', ',', '.']);
        match stop {
            Stop::End => {
                if k.is_empty() {
                    return Ok(());
                }
                err(format!("key {k:?} has no value"))
            }
            Stop::Char(',') => {
                if k.is_empty() {
                    return Ok(());
                }
                err(format!("key {k:?} has no value (cannot end with ,)"))
            }
            Stop::Char('=') => {
                let v = self.value()?;
                map.insert(k, v);
                Ok(())
            }
            Stop::Char('.') => {
                match map.get(&k) {
                    None | Some(Value::Map(..)) => {}
                    Some(other) => {
                        return err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            go_type(other)
                        ))
                    }
                }
                let sub = map_entry(map, &k);
                let mut sub = sub.borrow_mut();
                self.key(&mut sub, depth + 1)
            }
            Stop::Char('[') => {
                let existing = match map.get(&k) {
                    Some(Value::List(items, _)) => items.as_ref().clone(),
                    _ => Vec::new(),
                };
                let list = self.list_index(existing, &k, depth)?;
                map.insert(k, Value::list(list));
                Ok(())
            }
            Stop::Char(c) => err(format!("unexpected character {c:?}")),
        }
    }

    /// After `key=`: a `{a,b}` list, a JSON document or a scalar.
    fn value(&mut self) -> Result<Value, StrvalsError> {
        if self.kind == SetKind::Json {
            return self.json_value();
        }
        if self.chars.get(self.pos) == Some(&'{') && self.kind != SetKind::File {
            self.pos += 1;
            let mut items = Vec::new();
            loop {
                let (raw, stop) = self.run_until(&[',', '}']);
                match stop {
                    Stop::Char('}') => {
                        // `{}` is a list of one empty string, as in Helm.
                        items.push(self.value_of(&raw)?);
                        // After the list: `,` or the end.
                        match self.chars.get(self.pos) {
                            None => {}
                            Some(',') => self.pos += 1,
                            Some(c) => {
                                return err(format!(
                                    "list must terminate with '}}' (unexpected {c:?})"
                                ))
                            }
                        }
                        return Ok(Value::list(items));
                    }
                    Stop::Char(_) => items.push(self.value_of(&raw)?),
                    Stop::End => return err("list must terminate with '}'"),
                }
            }
        }
        let (raw, _) = self.run_until(&[',']);
        self.value_of(&raw)
    }

    fn json_value(&mut self) -> Result<Value, StrvalsError> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<serde_json::Value>();
        let v = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => return err(format!("failed to parse json: {e}")),
            None => return err("failed to parse json: unexpected end of input"),
        };
        let used = rest[..stream.byte_offset()].chars().count();
        self.pos += used;
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
        match self.chars.get(self.pos) {
            None => {}
            Some(',') => self.pos += 1,
            Some(c) => return err(format!("unexpected character {c:?} after a JSON value")),
        }
        Ok(json_to_value(&v))
    }

    /// After `name[`: the index, then `=value`, `.key…` or `[i]…`.
    fn list_index(
        &mut self,
        mut list: Vec<Value>,
        name: &str,
        depth: usize,
    ) -> Result<Vec<Value>, StrvalsError> {
        let (idx, stop) = self.run_until(&[']']);
        if stop == Stop::End {
            return err(format!(
                "error parsing index: key {name:?} has no closing ']'"
            ));
        }
        let i: i64 = idx.trim().parse().map_err(|_| {
            StrvalsError(format!(
                "error parsing index: strconv.Atoi: parsing {idx:?}: invalid syntax"
            ))
        })?;
        if i < 0 {
            return err(format!("negative {i} index not allowed"));
        }
        let i = i as usize;
        if i > MAX_INDEX {
            return err(format!(
                "index of {i} is greater than maximum supported index of {MAX_INDEX}"
            ));
        }
        if list.len() <= i {
            list.resize(i + 1, Value::Nil);
        }
        let Some(&next) = self.chars.get(self.pos) else {
            return err(format!("key {name:?} has no value"));
        };
        self.pos += 1;
        match next {
            '=' => {
                list[i] = self.value()?;
            }
            '.' => {
                let m = match &list[i] {
                    Value::Map(m, _) => m.clone(),
                    _ => {
                        let v = Value::empty_map();
                        let Value::Map(m, _) = &v else {
                            unreachable!("empty_map is a map")
                        };
                        let m = m.clone();
                        list[i] = v;
                        m
                    }
                };
                let mut m = m.borrow_mut();
                self.key(&mut m, depth + 1)?;
            }
            '[' => {
                let inner = match &list[i] {
                    Value::List(items, _) => items.as_ref().clone(),
                    _ => Vec::new(),
                };
                list[i] = Value::list(self.list_index(inner, name, depth + 1)?);
            }
            c => {
                return err(format!(
                    "parse error: unexpected character {c:?} after index"
                ))
            }
        }
        Ok(list)
    }
}

fn go_type(v: &Value) -> String {
    match v {
        Value::Nil | Value::Invalid => "nil".into(),
        other => other.type_name(),
    }
}

/// `encoding/json` into `interface {}`: numbers are `float64`.
pub fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => Value::map(
            o.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

/// An empty `map[string]interface {}`.
pub fn new_values() -> Value {
    Value::Map(Default::default(), MapType::StringInterface)
}
