//! Bridges between template values and YAML: yaml.v2 (werf) and
//! sigs.k8s.io/yaml (Helm) flavours of `toYaml` and `fromYaml`.

use std::cell::RefCell;
use std::rc::Rc;

use davit_goyaml::{load_all, marshal, resolve_plain, Node, Resolved, Yaml};

use crate::gofmt::{format_json_float, to_string_v};
use crate::value::{ListType, Map, MapType, Value};

/// Go value → yaml.v2 node, as `yaml.Marshal` sees Go values.
pub fn value_to_yaml_v2(v: &Value) -> Result<Yaml, String> {
    Ok(match v {
        Value::Invalid | Value::Nil => Yaml::Null,
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Yaml::Int(*i),
        Value::Float(f) => Yaml::Float(*f),
        Value::String(s) => Yaml::Str(s.to_string()),
        Value::Bytes(b) => Yaml::Seq(b.iter().map(|x| Node::new(Yaml::Int(*x as i64))).collect()),
        Value::List(items, _) => Yaml::Seq(
            items
                .iter()
                .map(|x| value_to_yaml_v2(x).map(Node::new))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m, _) => Yaml::Map(
            m.borrow()
                .iter()
                .map(|(k, x)| {
                    Ok((
                        Node::new(Yaml::Str(k.clone())),
                        Node::new(value_to_yaml_v2(x)?),
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        Value::Object(o) => Yaml::Str(o.format()),
        Value::Func(_) => return Err("cannot marshal type: func".into()),
    })
}

/// Go value → the node sigs.k8s.io/yaml emits after its JSON round trip:
/// numbers become ints when their JSON text is integral.
pub fn value_to_yaml_json(v: &Value) -> Result<Yaml, String> {
    Ok(match v {
        Value::Invalid | Value::Nil => Yaml::Null,
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Yaml::Int(*i),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err("json: unsupported value".into());
            }
            match resolve_plain(&format_json_float(*f)) {
                Resolved::Int(i) => Yaml::Int(i),
                Resolved::Uint(u) => Yaml::Uint(u),
                _ => Yaml::Float(*f),
            }
        }
        Value::String(s) => Yaml::Str(s.to_string()),
        Value::Bytes(b) => {
            use base64::Engine;
            Yaml::Str(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::List(items, _) => Yaml::Seq(
            items
                .iter()
                .map(|x| value_to_yaml_json(x).map(Node::new))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m, mt) => {
            if *mt == MapType::InterfaceInterface {
                return Err("json: unsupported type: map[interface {}]interface {}".into());
            }
            Yaml::Map(
                m.borrow()
                    .iter()
                    .map(|(k, x)| {
                        Ok((
                            Node::new(Yaml::Str(k.clone())),
                            Node::new(value_to_yaml_json(x)?),
                        ))
                    })
                    .collect::<Result<_, String>>()?,
            )
        }
        Value::Object(o) => match o.json() {
            Some(j) => Yaml::Str(j.trim_matches('"').to_string()),
            None => Yaml::Map(Vec::new()),
        },
        Value::Func(_) => return Err("json: unsupported type".into()),
    })
}

/// werf's `toYaml`: yaml.v2 marshal, trailing newline trimmed, "" on error.
pub fn to_yaml_v2(v: &Value) -> String {
    match value_to_yaml_v2(v) {
        Ok(y) => marshal(&y).trim_end_matches('\n').to_string(),
        Err(_) => String::new(),
    }
}

/// Helm's `toYaml` (sigs.k8s.io/yaml).
pub fn to_yaml_json(v: &Value) -> String {
    match value_to_yaml_json(v) {
        Ok(y) => marshal(&y).trim_end_matches('\n').to_string(),
        Err(_) => String::new(),
    }
}

fn key_string_v2(k: &Yaml) -> String {
    match k {
        Yaml::Str(s) => s.clone(),
        Yaml::Null => "<nil>".into(),
        other => to_string_v(&yaml_v2_to_value(other)),
    }
}

/// yaml.v2 decoding into `interface {}`: nested maps are
/// `map[interface {}]interface {}`, integers `int`.
pub fn yaml_v2_to_value(y: &Yaml) -> Value {
    match y {
        Yaml::Null => Value::Nil,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => Value::Int(*i),
        Yaml::Uint(u) => Value::Float(*u as f64),
        Yaml::Float(f) => Value::Float(*f),
        Yaml::Str(s) => Value::from(s.as_str()),
        Yaml::Seq(items) => Value::List(
            Rc::new(items.iter().map(|n| yaml_v2_to_value(&n.value)).collect()),
            ListType::Interface,
        ),
        Yaml::Map(pairs) => {
            let m: Map = pairs
                .iter()
                .map(|(k, v)| (key_string_v2(&k.value), yaml_v2_to_value(&v.value)))
                .collect();
            Value::Map(Rc::new(RefCell::new(m)), MapType::InterfaceInterface)
        }
    }
}

/// werf's `fromYaml`: a `map[string]interface {}` or yaml.v2's error.
pub fn from_yaml_v2(s: &str) -> Result<Value, String> {
    let docs = load_all(s).map_err(|e| e.go_message())?;
    let Some(doc) = docs.into_iter().next() else {
        return Ok(Value::empty_map());
    };
    match doc.value {
        Yaml::Null => Ok(Value::empty_map()),
        Yaml::Map(pairs) => {
            // Keys of the top-level map[string]interface{} are decoded as Go
            // strings: yaml.v2 keeps the text as written (`yes`, not true).
            let m: Map = pairs
                .iter()
                .map(|(k, v)| {
                    let key = match (&k.value, &k.source) {
                        (Yaml::Null, _) => String::new(),
                        (Yaml::Str(s), _) => s.clone(),
                        (_, Some(src)) => src.clone(),
                        (other, None) => key_string_v2(other),
                    };
                    (key, yaml_v2_to_value(&v.value))
                })
                .collect();
            Ok(Value::map(m))
        }
        other => {
            let what = match &other {
                Yaml::Seq(_) => "!!seq".to_string(),
                Yaml::Str(s) => format!("!!str `{}`", short(s)),
                Yaml::Int(i) => format!("!!int `{i}`"),
                Yaml::Float(f) => format!("!!float `{f}`"),
                Yaml::Bool(b) => format!("!!bool `{b}`"),
                _ => "value".into(),
            };
            Err(format!(
                "yaml: unmarshal errors:\n  line {}: cannot unmarshal {what} into map[string]interface {{}}",
                doc.line
            ))
        }
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 10 {
        let head: String = s.chars().take(7).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

/// sigs.k8s.io/yaml decoding: YAML → JSON → `interface {}` (all numbers
/// `float64`, all maps `map[string]interface {}`).
pub fn yaml_json_to_value(y: &Yaml) -> Value {
    match y {
        Yaml::Null => Value::Nil,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => Value::Float(*i as f64),
        Yaml::Uint(u) => Value::Float(*u as f64),
        Yaml::Float(f) => Value::Float(*f),
        Yaml::Str(s) => Value::from(s.as_str()),
        Yaml::Seq(items) => {
            Value::list(items.iter().map(|n| yaml_json_to_value(&n.value)).collect())
        }
        Yaml::Map(pairs) => Value::map(
            pairs
                .iter()
                .map(|(k, v)| {
                    let key = match &k.value {
                        Yaml::Str(s) => s.clone(),
                        Yaml::Float(f) => crate::gofmt::format_float(*f, 'g', -1),
                        Yaml::Null => "null".into(),
                        other => to_string_v(&yaml_v2_to_value(other)),
                    };
                    (key, yaml_json_to_value(&v.value))
                })
                .collect(),
        ),
    }
}

/// Helm's `fromYaml`: errors land in an `Error` key.
pub fn from_yaml_json(s: &str) -> Value {
    match load_all(s) {
        Ok(docs) => match docs.into_iter().next().map(|d| d.value) {
            None | Some(Yaml::Null) => Value::empty_map(),
            Some(y @ Yaml::Map(_)) => yaml_json_to_value(&y),
            Some(other) => error_map(&format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                super::json::json_kind(&yaml_json_to_value(&other))
            )),
        },
        Err(e) => error_map(&format!("error converting YAML to JSON: {}", e.go_message())),
    }
}

/// Helm's `fromYamlArray`.
pub fn from_yaml_array_json(s: &str) -> Value {
    match load_all(s) {
        Ok(docs) => match docs.into_iter().next().map(|d| d.value) {
            None | Some(Yaml::Null) => Value::list(Vec::new()),
            Some(y @ Yaml::Seq(_)) => yaml_json_to_value(&y),
            Some(other) => Value::list(vec![Value::from(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                super::json::json_kind(&yaml_json_to_value(&other))
            ))]),
        },
        Err(e) => Value::list(vec![Value::from(format!("error converting YAML to JSON: {}", e.go_message()))]),
    }
}

fn error_map(msg: &str) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), Value::from(msg));
    Value::map(m)
}
