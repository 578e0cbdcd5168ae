//! Helm's `toToml` (BurntSushi/toml encoder) for maps of plain values.

use crate::value::Value;

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        crate::gofmt::quote(k)
    }
}

fn scalar(v: &Value) -> Option<String> {
    Some(match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Float(f) => {
            let s = crate::gofmt::format_float(*f, 'f', -1);
            if s.contains('.') || s.contains("Inf") || s.contains("NaN") {
                s
            } else {
                format!("{s}.0")
            }
        }
        Value::String(s) => crate::gofmt::quote(s),
        Value::List(items, _) => {
            let parts: Option<Vec<String>> = items.iter().map(scalar).collect();
            format!("[{}]", parts?.join(", "))
        }
        _ => return None,
    })
}

fn write_table(out: &mut String, path: &[String], v: &Value, indent: usize) {
    let Value::Map(m, _) = v else { return };
    let m = m.borrow();
    let pad = "  ".repeat(indent);
    for (k, val) in m.iter() {
        if matches!(val, Value::Map(..)) || val.is_nil_or_invalid() {
            continue;
        }
        if let Some(s) = scalar(val) {
            out.push_str(&format!("{pad}{} = {s}\n", key(k)));
        }
    }
    for (k, val) in m.iter() {
        if let Value::Map(..) = val {
            let mut p = path.to_vec();
            p.push(key(k));
            out.push_str(&format!("\n{pad}[{}]\n", p.join(".")));
            write_table(out, &p, val, indent + 1);
        }
    }
}

pub fn to_toml(v: &Value) -> String {
    match v {
        Value::Map(..) => {
            let mut out = String::new();
            write_table(&mut out, &[], v, 0);
            out
        }
        other => scalar(other).unwrap_or_default(),
    }
}
