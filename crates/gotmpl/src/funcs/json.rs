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

fn write_value(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<&str>,
    depth: usize,
) -> Result<(), String> {
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
            write_string(
                out,
                &base64::engine::general_purpose::STANDARD.encode(b),
                html,
            )
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
        Value::Func(_) => {
            return Err(
                "json: unsupported type: func(...interface {}) (interface {}, error)".into(),
            )
        }
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
/// Invalid input gets `encoding/json`'s error text.
pub fn decode(s: &str) -> Result<Value, String> {
    check_syntax(s)?;
    let j: serde_json::Value = serde_json::from_str(s).map_err(|e| format!("invalid JSON: {e}"))?;
    Ok(Value::from_json(&j))
}

/// The JSON kind Go names in "cannot unmarshal X into Go value" errors.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(..) => "object",
        Value::List(..) => "array",
        Value::String(_) => "string",
        Value::Float(_) | Value::Int(_) | Value::Int64(_) => "number",
        Value::Bool(_) => "bool",
        _ => "null",
    }
}

fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c if (c as u32) < 0x20 => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

/// A scanner with `encoding/json`'s syntax error messages.
fn check_syntax(s: &str) -> Result<(), String> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], ' ' | '\t' | '\n' | '\r') {
            *i += 1;
        }
    };
    let eof = || "unexpected end of JSON input".to_string();
    let bad = |c: char, ctx: &str| format!("invalid character {} {ctx}", quote_char(c));
    fn value(b: &[char], i: &mut usize, depth: usize) -> Result<(), String> {
        let eof = || "unexpected end of JSON input".to_string();
        let bad = |c: char, ctx: &str| format!("invalid character {} {ctx}", quote_char(c));
        let ws = |i: &mut usize| {
            while *i < b.len() && matches!(b[*i], ' ' | '\t' | '\n' | '\r') {
                *i += 1;
            }
        };
        if depth > 10000 {
            return Err("exceeded max depth".into());
        }
        ws(i);
        let Some(&c) = b.get(*i) else {
            return Err(eof());
        };
        match c {
            '{' => {
                *i += 1;
                ws(i);
                if b.get(*i) == Some(&'}') {
                    *i += 1;
                    return Ok(());
                }
                loop {
                    ws(i);
                    match b.get(*i) {
                        None => return Err(eof()),
                        Some('"') => string(b, i)?,
                        Some(&c) => {
                            return Err(bad(c, "looking for beginning of object key string"))
                        }
                    }
                    ws(i);
                    match b.get(*i) {
                        None => return Err(eof()),
                        Some(':') => *i += 1,
                        Some(&c) => return Err(bad(c, "after object key")),
                    }
                    value(b, i, depth + 1)?;
                    ws(i);
                    match b.get(*i) {
                        None => return Err(eof()),
                        Some(',') => *i += 1,
                        Some('}') => {
                            *i += 1;
                            return Ok(());
                        }
                        Some(&c) => return Err(bad(c, "after object key:value pair")),
                    }
                }
            }
            '[' => {
                *i += 1;
                ws(i);
                if b.get(*i) == Some(&']') {
                    *i += 1;
                    return Ok(());
                }
                loop {
                    value(b, i, depth + 1)?;
                    ws(i);
                    match b.get(*i) {
                        None => return Err(eof()),
                        Some(',') => *i += 1,
                        Some(']') => {
                            *i += 1;
                            return Ok(());
                        }
                        Some(&c) => return Err(bad(c, "after array element")),
                    }
                }
            }
            '"' => string(b, i),
            't' | 'f' | 'n' => {
                let word = match c {
                    't' => "true",
                    'f' => "false",
                    _ => "null",
                };
                for (k, w) in word.chars().enumerate() {
                    match b.get(*i + k) {
                        None => return Err(eof()),
                        Some(&x) if x != w => {
                            return Err(bad(
                                x,
                                &format!("in literal {word} (expecting {})", quote_char(w)),
                            ));
                        }
                        _ => {}
                    }
                }
                *i += word.len();
                Ok(())
            }
            '-' | '0'..='9' => {
                if c == '-' {
                    *i += 1;
                    match b.get(*i) {
                        None => return Err(eof()),
                        Some(d) if d.is_ascii_digit() => {}
                        Some(&x) => return Err(bad(x, "in numeric literal")),
                    }
                }
                if b.get(*i) == Some(&'0') {
                    *i += 1;
                } else {
                    while b.get(*i).is_some_and(char::is_ascii_digit) {
                        *i += 1;
                    }
                }
                if b.get(*i) == Some(&'.') {
                    *i += 1;
                    match b.get(*i) {
                        None => return Err(eof()),
                        Some(d) if d.is_ascii_digit() => {}
                        Some(&x) => return Err(bad(x, "after decimal point in numeric literal")),
                    }
                    while b.get(*i).is_some_and(char::is_ascii_digit) {
                        *i += 1;
                    }
                }
                if matches!(b.get(*i), Some('e' | 'E')) {
                    *i += 1;
                    if matches!(b.get(*i), Some('+' | '-')) {
                        *i += 1;
                    }
                    match b.get(*i) {
                        None => return Err(eof()),
                        Some(d) if d.is_ascii_digit() => {}
                        Some(&x) => return Err(bad(x, "in exponent of numeric literal")),
                    }
                    while b.get(*i).is_some_and(char::is_ascii_digit) {
                        *i += 1;
                    }
                }
                Ok(())
            }
            c => Err(bad(c, "looking for beginning of value")),
        }
    }
    fn string(b: &[char], i: &mut usize) -> Result<(), String> {
        *i += 1;
        loop {
            match b.get(*i) {
                None => return Err("unexpected end of JSON input".into()),
                Some('"') => {
                    *i += 1;
                    return Ok(());
                }
                Some('\\') => {
                    *i += 1;
                    match b.get(*i) {
                        None => return Err("unexpected end of JSON input".into()),
                        Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => *i += 1,
                        Some('u') => {
                            *i += 1;
                            for _ in 0..4 {
                                match b.get(*i) {
                                    None => return Err("unexpected end of JSON input".into()),
                                    Some(h) if h.is_ascii_hexdigit() => *i += 1,
                                    Some(&x) => {
                                        return Err(format!(
                                        "invalid character {} in \\u hexadecimal character escape",
                                        quote_char(x)
                                    ))
                                    }
                                }
                            }
                        }
                        Some(&x) => {
                            return Err(format!(
                                "invalid character {} in string escape code",
                                quote_char(x)
                            ))
                        }
                    }
                }
                Some(&c) if (c as u32) < 0x20 => {
                    return Err(format!(
                        "invalid character {} in string literal",
                        quote_char(c)
                    ))
                }
                Some(_) => *i += 1,
            }
        }
    }
    let _ = (&eof, &bad);
    value(&b, &mut i, 0)?;
    ws(&mut i);
    if let Some(&c) = b.get(i) {
        return Err(bad(c, "after top-level value"));
    }
    Ok(())
}
