//! Go's predefined template functions: `and or not len index slice print
//! printf println call html js urlquery eq ne lt le gt ge`.

use std::rc::Rc;

use crate::func::{Func, Param};
use crate::gofmt;
use crate::value::{ListType, MapType, Value};

const NAMES: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "call", "html",
    "js", "urlquery", "eq", "ne", "lt", "le", "gt", "ge",
];

pub fn is_builtin(name: &str) -> bool {
    NAMES.contains(&name)
}

use Param::*;

pub fn builtin(name: &str) -> Option<Func> {
    Some(match name {
        // and/or are evaluated lazily by the executor; these only carry the signature.
        "and" | "or" => Func::simple(&[Reflect], Some(Reflect), |a| {
            Ok(a.into_iter().next().unwrap_or(Value::Invalid))
        }),
        "not" => Func::simple(&[Reflect], None, |a| Ok(Value::Bool(!a[0].truth()))),
        "len" => Func::simple(&[Reflect], None, |a| length(&a[0]).map(Value::Int)),
        "index" => Func::simple(&[Reflect], Some(Reflect), |a| index(&a[0], &a[1..])),
        "slice" => Func::simple(&[Reflect], Some(Reflect), |a| slice(&a[0], &a[1..])),
        "print" => Func::simple(&[], Some(Any), |a| Ok(Value::from(gofmt::sprint(&a)))),
        "println" => Func::simple(&[], Some(Any), |a| Ok(Value::from(gofmt::sprintln(&a)))),
        "printf" => Func::simple(&[Str], Some(Any), |a| {
            let f = a[0].as_str().unwrap_or("").to_string();
            Ok(Value::from(gofmt::sprintf(&f, &a[1..])))
        }),
        "call" => Func::simple(&[Reflect], Some(Reflect), |a| match &a[0] {
            Value::Func(f) => f(&a[1..]),
            Value::Invalid | Value::Nil => Err("call of nil".into()),
            other => Err(format!("non-function of type {}", other.type_name())),
        }),
        "html" => Func::simple(&[], Some(Any), |a| {
            Ok(Value::from(html_escape(&eval_args(&a))))
        }),
        "js" => Func::simple(&[], Some(Any), |a| {
            Ok(Value::from(js_escape(&eval_args(&a))))
        }),
        "urlquery" => Func::simple(&[], Some(Any), |a| {
            Ok(Value::from(query_escape(&eval_args(&a))))
        }),
        "eq" => Func::simple(&[Reflect], Some(Reflect), |a| {
            eq(&a[0], &a[1..]).map(Value::Bool)
        }),
        "ne" => Func::simple(&[Reflect, Reflect], None, |a| {
            eq(&a[0], &a[1..2]).map(|b| Value::Bool(!b))
        }),
        "lt" => Func::simple(&[Reflect, Reflect], None, |a| {
            lt(&a[0], &a[1]).map(Value::Bool)
        }),
        "le" => Func::simple(&[Reflect, Reflect], None, |a| {
            le(&a[0], &a[1]).map(Value::Bool)
        }),
        "gt" => Func::simple(&[Reflect, Reflect], None, |a| {
            le(&a[0], &a[1]).map(|b| Value::Bool(!b))
        }),
        "ge" => Func::simple(&[Reflect, Reflect], None, |a| {
            lt(&a[0], &a[1]).map(|b| Value::Bool(!b))
        }),
        _ => return None,
    })
}

fn length(v: &Value) -> Result<i64, String> {
    match v {
        Value::String(s) => Ok(s.len() as i64),
        Value::Bytes(b) => Ok(b.len() as i64),
        Value::List(l, _) => Ok(l.len() as i64),
        Value::Map(m, _) => Ok(m.borrow().len() as i64),
        Value::Object(o) if o.entries().is_some() => {
            Ok(o.entries().map(|e| e.len()).unwrap_or(0) as i64)
        }
        Value::Nil => Err("len of nil pointer".into()),
        Value::Invalid => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        other => Err(format!("len of type {}", other.type_name())),
    }
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Invalid | Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ))
        }
    };
    if x < 0 || x as usize > cap {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let mut item = match item {
        Value::Invalid | Value::Nil => return Err("index of untyped nil".into()),
        other => other.clone(),
    };
    for idx in indexes {
        let next = match &item {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::List(l, _) => {
                let x = index_arg(idx, l.len())?;
                match l.get(x) {
                    Some(v) => v.clone(),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::Bytes(b) => {
                let x = index_arg(idx, b.len())?;
                match b.get(x) {
                    Some(v) => Value::Int(*v as i64),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(v) => Value::Int(*v as i64),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Object(o) if o.entries().is_some() => {
                let key = gofmt::to_string_v(idx);
                o.entries()
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v)
                    .unwrap_or(Value::Invalid)
            }
            Value::Map(m, mt) => {
                let key = match idx {
                    Value::String(s) => s.to_string(),
                    Value::Invalid | Value::Nil if *mt == MapType::InterfaceInterface => {
                        "<nil>".into()
                    }
                    Value::Invalid | Value::Nil => {
                        return Err("value is nil; should be of type string".into());
                    }
                    other if *mt == MapType::InterfaceInterface => gofmt::to_string_v(other),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ))
                    }
                };
                match m.borrow().get(&key) {
                    Some(v) => v.clone(),
                    None => {
                        if *mt == MapType::StringString {
                            Value::from("")
                        } else {
                            Value::Nil
                        }
                    }
                }
            }
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
        item = next;
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let len = match item {
        Value::Invalid | Value::Nil => return Err("slice of untyped nil".into()),
        Value::String(s) => s.len(),
        Value::List(l, _) => l.len(),
        Value::Bytes(b) => b.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let is_string = matches!(item, Value::String(_));
    if is_string && indexes.len() == 3 {
        return Err("cannot 3-index slice a string".into());
    }
    let cap = len;
    let mut idx = [0usize, len, cap];
    for (i, v) in indexes.iter().enumerate() {
        idx[i] = index_arg(v, cap)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(s) => match s.get(idx[0]..idx[1]) {
            Some(sub) => Value::from(sub),
            None => {
                Value::from(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
            }
        },
        Value::List(l, t) => Value::List(Rc::new(l[idx[0]..idx[1]].to_vec()), *t),
        Value::Bytes(b) => Value::Bytes(Rc::from(&b[idx[0]..idx[1]])),
        _ => Value::Invalid,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum BasicKind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> BasicKind {
    match v {
        Value::Bool(_) => BasicKind::Bool,
        Value::Int(_) | Value::Int64(_) => BasicKind::Int,
        Value::Float(_) => BasicKind::Float,
        Value::String(_) => BasicKind::String,
        _ => BasicKind::Invalid,
    }
}

/// Go 1.26: "incompatible types for comparison: int and string".
fn bad_comparison(a: &Value, b: &Value) -> String {
    format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    )
}
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

fn is_valid(v: &Value) -> bool {
    !matches!(v, Value::Invalid | Value::Nil)
}

fn eq(a1: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a1);
    for a in rest {
        let k2 = basic_kind(a);
        let truth = if k1 != k2 {
            if is_valid(a1) && is_valid(a) {
                return Err(bad_comparison(a1, a));
            }
            false
        } else {
            match (a1, a) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                (x, y) if k1 == BasicKind::Int => x.as_int() == y.as_int(),
                (x, y) => {
                    if !is_valid(x) || !is_valid(y) {
                        !is_valid(x) && !is_valid(y)
                    } else {
                        match (x, y) {
                            (Value::Map(..), _)
                            | (Value::List(..), _)
                            | (Value::Bytes(_), _)
                            | (Value::Func(_), _) => {
                                return Err(format!(
                                    "non-comparable type {}: {}",
                                    gofmt::to_string_v(x),
                                    x.type_name()
                                ));
                            }
                            (Value::Object(p), Value::Object(q)) => Rc::ptr_eq(p, q),
                            _ => false,
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a1: &Value, a2: &Value) -> Result<bool, String> {
    let k1 = basic_kind(a1);
    if k1 == BasicKind::Invalid {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    let k2 = basic_kind(a2);
    if k2 == BasicKind::Invalid {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    if k1 != k2 {
        return Err(bad_comparison(a1, a2));
    }
    Ok(match (a1, a2) {
        (Value::Bool(_), _) => return Err(BAD_COMPARISON_TYPE.into()),
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        (x, y) => x.as_int() < y.as_int(),
    })
}

fn le(a1: &Value, a2: &Value) -> Result<bool, String> {
    if lt(a1, a2)? {
        return Ok(true);
    }
    eq(a1, std::slice::from_ref(a2))
}

/// Go's `evalArgs`: one string argument as is, otherwise `fmt.Sprint` with
/// missing values shown as `<no value>`.
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil | Value::Invalid => Value::from("<no value>"),
            other => other.clone(),
        })
        .collect();
    // Sprint treats the replaced values as strings for spacing; Go treats them
    // as strings too (printableValue returns the string "<no value>").
    gofmt::sprint(&printable)
}

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x80 => out.push(c),
            c if !c.is_control() && !c.is_whitespace() => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[allow(dead_code)]
fn _types(_: ListType) {}
