//! Conversions sprig applies to `interface {}` arguments: `strval`,
//! `spf13/cast`'s `ToInt64`/`ToFloat64`, `empty`, `strslice`.

use std::rc::Rc;

use crate::gofmt;
use crate::value::{ListType, Value};

/// sprig's `strval`: strings as they are, `[]byte` as text, else `%v`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Invalid | Value::Nil => "<nil>".into(),
        other => gofmt::to_string_v(other),
    }
}

pub use crate::parse::number::parse_int_base0;

/// Go's `strconv.ParseFloat(s, 64)` (decimal forms, inf and nan).
pub fn parse_float(s: &str) -> Option<f64> {
    let t = s.to_ascii_lowercase();
    let body = t.trim_start_matches(['+', '-']);
    match body {
        "inf" | "infinity" => {
            return Some(if t.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if body.is_empty() || !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    if body.contains("0x") {
        return None;
    }
    t.parse::<f64>().ok()
}

/// `cast.ToInt64`: numbers truncated, strings parsed with base prefixes,
/// booleans as 0/1, anything else 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => {
            if f.is_nan() {
                i64::MIN
            } else {
                *f as i64
            }
        }
        Value::String(s) => parse_int_base0(s).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// `cast.ToFloat64`.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        Value::Bool(b) if *b => 1.0,
        _ => 0.0,
    }
}

/// sprig's `empty`.
pub fn empty(v: &Value) -> bool {
    match v {
        Value::Invalid | Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l, _) => l.is_empty(),
        Value::Map(m, _) => m.borrow().is_empty(),
        Value::Object(_) | Value::Func(_) => false,
    }
}

/// Elements of a slice value; `None` for anything that is not a slice.
pub fn list_items(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l, _) => Some(l.as_ref().clone()),
        Value::Bytes(b) => Some(b.iter().map(|x| Value::Int(*x as i64)).collect()),
        _ => None,
    }
}

/// sprig's `strslice`: a list as strings with nils dropped; a scalar as a
/// one-element list; nil as an empty list.
pub fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l, _) => l
            .iter()
            .filter(|x| !x.is_nil_or_invalid())
            .map(strval)
            .collect(),
        Value::Invalid | Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

pub fn string_list(items: Vec<String>) -> Value {
    Value::List(
        Rc::new(items.into_iter().map(Value::from).collect()),
        ListType::String,
    )
}

pub fn int_list(items: Vec<i64>) -> Value {
    Value::List(
        Rc::new(items.into_iter().map(Value::Int).collect()),
        ListType::Int,
    )
}

/// The string inside a `string` argument (the executor has checked the type).
pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The integer inside an `int`/`int64` argument.
pub fn i(v: &Value) -> i64 {
    v.as_int().unwrap_or(0)
}

/// Go's `reflect.DeepEqual` on template values.
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Invalid | Value::Nil, Value::Invalid | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x, tx), Value::List(y, ty)) => {
            tx == ty && x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x, tx), Value::Map(y, ty)) => {
            let (x, y) = (x.borrow(), y.borrow());
            tx == ty
                && x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.type_name() == y.type_name() && x.format() == y.format()
        }
        _ => false,
    }
}
