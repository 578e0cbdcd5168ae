//! JSON as Go's `encoding/json` writes it with `MarshalIndent(v, "", "\t")`:
//! struct fields in declaration order, map keys sorted, `<`, `>` and `&`
//! escaped, float64 in Go's notation. Tools that read werf's reports byte
//! for byte (diffs in CI, checksums) get the same bytes from davit.

use davit_gotmpl::gofmt::format_json_float;

/// Writes `v` (from `serde_json::to_value` of a struct, whose field order
/// is kept) with tab indentation and a final newline.
pub fn marshal_indent(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write(&mut out, v, 0);
    out.push('\n');
    out
}

fn indent(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push('\t');
    }
}

fn write(out: &mut String, v: &serde_json::Value, depth: usize) {
    match v {
        serde_json::Value::Null => out.push_str("null"),
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => {
            if n.is_f64() {
                out.push_str(&format_json_float(n.as_f64().unwrap_or(0.0)));
            } else {
                out.push_str(&n.to_string());
            }
        }
        serde_json::Value::String(s) => string(out, s),
        serde_json::Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write(out, item, depth + 1);
            }
            indent(out, depth);
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, val)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                string(out, k);
                out.push_str(": ");
                write(out, val, depth + 1);
            }
            indent(out, depth);
            out.push('}');
        }
    }
}

/// A string as `encoding/json` writes it, with HTML escaping (Go's default).
fn string(out: &mut String, s: &str) {
    davit_gotmpl::funcs::json::write_string(out, s, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layout() {
        let v = serde_json::json!({"b": [1, {"x": "<&>"}], "a": {}, "c": [], "d": 1.5, "e": null});
        assert_eq!(
            marshal_indent(&v),
            "{\n\t\"b\": [\n\t\t1,\n\t\t{\n\t\t\t\"x\": \"\\u003c\\u0026\\u003e\"\n\t\t}\n\t],\n\t\"a\": {},\n\t\"c\": [],\n\t\"d\": 1.5,\n\t\"e\": null\n}\n"
        );
    }
}
