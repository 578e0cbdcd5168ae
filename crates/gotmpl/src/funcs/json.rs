//! Go's `encoding/json` as sprig and Helm use it: `toJson` (HTML-escaped),
//! `toRawJson`, `toPrettyJson`, `fromJson`.

use crate::gofmt::format_json_float;
use crate::value::{MapType, Value};

/// Encodes like `json.Marshal`; `Err` carries Go's error text.
pub fn encode(v: &Value, escape_html: bool, indent: Option<&str>) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, v, escape_html, indent, 0)?;
    Ok(out)
}

fn newline(out: &mut String, indent: Option<&str>, depth: usize) {
    if let Some(ind) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(ind);
        }
    }
}

fn write_value(out: &mut String, v: &Value, html: bool, indent: Option<&str>, depth: usize) -> Result<(), String> {
    if depth > 1000 {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    match v {
        Value::Invalid | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!(
                    "json: unsupported value: {}",
                    crate::gofmt::format_float(*f, 'g', -1)
                ));
            }
            out.push_str(&format_json_float(*f));
        }
        Value::String(s) => write_string(out, s, html),
        Value::Bytes(b) => {
            use base64::Engine;
            write_string(out, &base64::engine::general_purpose::STANDARD.encode(b), html)
        }
        Value::List(items, _) => {
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write_value(out, item, html, indent, depth + 1)?;
            }
            newline(out, indent, depth);
            out.push(']');
        }
        Value::Map(m, mt) => {
            if *mt == MapType::InterfaceInterface {
                return Err("json: unsupported type: map[interface {}]interface {}".into());
            }
            let m = m.borrow();
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write_string(out, k, html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_value(out, val, html, indent, depth + 1)?;
            }
            newline(out, indent, depth);
            out.push('}');
        }
        Value::Object(o) => match o.json() {
            Some(j) => out.push_str(&j),
            None => out.push_str("{}"),
        },
        Value::Func(_) => return Err("json: unsupported type: func(...interface {}) (interface {}, error)".into()),
    }
    Ok(())
}

pub fn write_string(out: &mut String, s: &str, html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if html => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xF] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xF] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Decodes JSON into Go's `interface {}` model (numbers are `float64`).
pub fn decode(s: &str) -> Result<Value, String> {
    let j: serde_json::Value = serde_json::from_str(s).map_err(|e| go_json_error(s, &e))?;
    Ok(Value::from_json(&j))
}

fn go_json_error(input: &str, e: &serde_json::Error) -> String {
    if input.trim().is_empty() {
        return "unexpected end of JSON input".into();
    }
    match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of JSON input".into(),
        _ => format!("invalid JSON: {e}"),
    }
}
