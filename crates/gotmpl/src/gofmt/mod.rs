//! Go's `fmt` package as templates see it: `print`, `println`, `printf` and
//! the `%v` rendering of every value the engine prints.

mod float;
pub mod quote;

pub use float::{format_float, format_json_float};
pub use quote::{quote, quote_ascii, quote_rune};

use crate::value::{MapType, Value};

/// Printing flags and width/precision of one verb.
#[derive(Clone, Copy, Default, Debug)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
    /// `%+v`
    plus_v: bool,
    /// `%#v`
    sharp_v: bool,
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        print_value(&mut out, a, 'v', Spec::default(), 0);
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln`: always spaces, and a final newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_value(&mut out, a, 'v', Spec::default(), 0);
    }
    out.push('\n');
    out
}

/// `%v` of one value, as the template engine prints a pipeline result.
pub fn to_string_v(v: &Value) -> String {
    let mut out = String::new();
    print_value(&mut out, v, 'v', Spec::default(), 0);
    out
}

fn pad(out: &mut String, s: &str, spec: Spec) {
    let width = spec.width.unwrap_or(0);
    let len = s.chars().count();
    if len >= width {
        out.push_str(s);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero {
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(s);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

/// Pads a number: with the zero flag the sign goes before the zeros.
fn pad_number(out: &mut String, num: &str, spec: Spec) {
    let width = spec.width.unwrap_or(0);
    if spec.zero && !spec.minus && width > num.len() {
        let (sign, digits) = match num.as_bytes().first() {
            Some(b'-' | b'+' | b' ') => num.split_at(1),
            _ => ("", num),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', width - num.len()));
        out.push_str(digits);
        return;
    }
    let mut s = spec;
    s.zero = false;
    pad(out, num, s);
}

fn fmt_integer(out: &mut String, v: i64, verb: char, spec: Spec, type_name: &str) {
    let neg = v < 0;
    let mag = v.unsigned_abs();
    let mut digits = match verb {
        'd' | 'v' => mag.to_string(),
        'x' => format!("{mag:x}"),
        'X' => format!("{mag:X}"),
        'o' | 'O' => format!("{mag:o}"),
        'b' => format!("{mag:b}"),
        'c' => {
            let c = char::from_u32(v as u32).unwrap_or('\u{FFFD}');
            pad(out, &c.to_string(), spec);
            return;
        }
        'q' => {
            let c = char::from_u32(v as u32).unwrap_or('\u{FFFD}');
            pad(out, &quote_rune(c), spec);
            return;
        }
        'U' => {
            let s = format!("U+{:04X}", v);
            pad(out, &s, spec);
            return;
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 's' | 't' => {
            bad_verb(out, verb, type_name, &v.to_string());
            return;
        }
        _ => {
            bad_verb(out, verb, type_name, &v.to_string());
            return;
        }
    };
    let mut zero_pad = spec.zero;
    if let Some(p) = spec.prec {
        zero_pad = false;
        if p == 0 && v == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    if spec.sharp {
        match verb {
            'x' => digits.insert_str(0, "0x"),
            'X' => digits.insert_str(0, "0X"),
            'o' if !digits.starts_with('0') => digits.insert(0, '0'),
            'b' => digits.insert_str(0, "0b"),
            _ => {}
        }
    }
    if verb == 'O' {
        digits.insert_str(0, "0o");
    }
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let num = format!("{sign}{digits}");
    let mut s = spec;
    s.zero = zero_pad;
    pad_number(out, &num, s);
}

fn fmt_float(out: &mut String, x: f64, verb: char, spec: Spec) {
    if verb == 'x' || verb == 'X' {
        let mut s = float::format_hex(x, spec.prec.map(|p| p as i32).unwrap_or(-1));
        if verb == 'X' {
            s = s.to_uppercase();
        }
        if spec.plus && !s.starts_with('-') {
            s.insert(0, '+');
        }
        pad_number(out, &s, spec);
        return;
    }
    let (fmt_char, default_prec) = match verb {
        'v' => ('g', -1),
        'g' | 'G' => (verb, -1),
        'e' | 'E' | 'f' => (verb, 6),
        'F' => ('f', 6),
        _ => {
            bad_verb(out, verb, "float64", &format_float(x, 'g', -1));
            return;
        }
    };
    let prec = spec.prec.map(|p| p as i32).unwrap_or(default_prec);
    let mut num = format_float(x, fmt_char, prec);
    if spec.sharp && verb != 'v' {
        // %#g keeps trailing zeros and always has a decimal point; rare in
        // templates, approximate by forcing the point.
        if !num.contains('.') && !num.contains('e') && !num.contains("Inf") && num != "NaN" {
            num.push('.');
        }
    }
    let unsigned = num.strip_prefix('-');
    let is_special = num.contains("Inf") || num.contains("NaN");
    let with_sign = match unsigned {
        Some(_) => num.clone(),
        None if num.starts_with('+') => num.clone(),
        None if spec.plus => format!("+{num}"),
        None if spec.space => format!(" {num}"),
        None => num.clone(),
    };
    if is_special {
        let mut s = spec;
        s.zero = false;
        let text = if num == "+Inf" && !spec.plus {
            if spec.space {
                " Inf".to_string()
            } else {
                "+Inf".to_string()
            }
        } else {
            with_sign
        };
        pad(out, &text, s);
        return;
    }
    pad_number(out, &with_sign, spec);
}

fn fmt_string(out: &mut String, s: &str, verb: char, spec: Spec, type_name: &str) {
    match verb {
        'v' | 's' => {
            let text: String = match spec.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            };
            pad(out, &text, spec);
        }
        'q' => {
            let text: String = match spec.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            };
            let q = if spec.sharp
                && !text.contains('`')
                && text
                    .chars()
                    .all(|c| c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
            {
                format!("`{text}`")
            } else if spec.plus {
                quote_ascii(&text)
            } else {
                quote(&text)
            };
            pad(out, &q, spec);
        }
        'x' | 'X' => {
            let bytes = s.as_bytes();
            let bytes = match spec.prec {
                Some(p) if p < bytes.len() => &bytes[..p],
                _ => bytes,
            };
            let mut hex = String::new();
            for (i, b) in bytes.iter().enumerate() {
                if spec.space && i > 0 {
                    hex.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    hex.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    hex.push_str(&format!("{b:02x}"));
                } else {
                    hex.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &hex, spec);
        }
        _ => bad_verb(out, verb, type_name, s),
    }
}

fn bad_verb(out: &mut String, verb: char, type_name: &str, shown: &str) {
    out.push_str(&format!("%!{verb}({type_name}={shown})"));
}

/// Go's `badVerb`: `%!verb(type=value)`, the value printed with `%v` and the
/// same flags, width and precision.
fn bad_verb_value(out: &mut String, verb: char, v: &Value, spec: Spec) {
    out.push_str(&format!("%!{verb}({}=", v.type_name()));
    print_value(out, v, 'v', spec, 1);
    out.push(')');
}

fn verb_ok(v: &Value, verb: char) -> bool {
    match v {
        Value::Bool(_) => matches!(verb, 't' | 'v'),
        Value::Int(_) | Value::Int64(_) => matches!(
            verb,
            'b' | 'c' | 'd' | 'o' | 'O' | 'q' | 'x' | 'X' | 'U' | 'v'
        ),
        Value::Float(_) => matches!(
            verb,
            'b' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'x' | 'X' | 'v'
        ),
        Value::String(_) => matches!(verb, 's' | 'q' | 'x' | 'X' | 'v'),
        Value::Object(_) => matches!(verb, 's' | 'q' | 'x' | 'X' | 'v'),
        _ => true,
    }
}

fn print_value(out: &mut String, v: &Value, verb: char, spec: Spec, depth: usize) {
    if !verb_ok(v, verb) {
        bad_verb_value(out, verb, v, spec);
        return;
    }
    match v {
        Value::Invalid => {
            if depth == 0 {
                match verb {
                    'v' => pad(out, "<invalid reflect.Value>", spec),
                    _ => out.push_str(&format!("%!{verb}(<invalid reflect.Value>)")),
                }
            } else {
                out.push_str("<invalid reflect.Value>");
            }
        }
        Value::Nil => match verb {
            _ if depth > 0 && spec.sharp_v => out.push_str("interface {}(nil)"),
            // Inside a container Go writes the nil element without padding.
            _ if depth > 0 => out.push_str("<nil>"),
            'v' => pad(out, "<nil>", spec),
            _ => out.push_str(&format!("%!{verb}(<nil>)")),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, verb, "bool", if *b { "true" } else { "false" }),
        },
        Value::Int(i) => fmt_integer(out, *i, verb, spec, "int"),
        Value::Int64(i) => fmt_integer(out, *i, verb, spec, "int64"),
        Value::Float(x) => fmt_float(out, *x, verb, spec),
        Value::String(s) if spec.sharp_v => pad(out, &quote(s), spec),
        Value::String(s) => fmt_string(out, s, verb, spec, "string"),
        Value::Bytes(b) => match verb {
            's' | 'q' | 'x' | 'X' => {
                let s = String::from_utf8_lossy(b);
                fmt_string(out, &s, verb, spec, "[]uint8")
            }
            _ => {
                out.push('[');
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    fmt_integer(out, *byte as i64, verb, spec, "uint8");
                }
                out.push(']');
            }
        },
        Value::List(items, _) => {
            if spec.sharp_v {
                out.push_str(&v.type_name());
                out.push('{');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    print_value(out, item, verb, spec, depth + 1);
                }
                out.push('}');
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_value(out, item, verb, spec, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m, mt) => {
            if spec.sharp_v {
                out.push_str(&v.type_name());
                out.push('{');
                for (i, (k, val)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&quote(k));
                    out.push(':');
                    print_value(out, val, verb, spec, depth + 1);
                }
                out.push('}');
                return;
            }
            out.push_str("map[");
            for (i, (k, val)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let key = Value::from(k.as_str());
                print_value(out, &key, verb, spec, depth + 1);
                out.push(':');
                print_value(out, val, verb, spec, depth + 1);
            }
            out.push(']');
            let _ = mt == &MapType::StringInterface;
        }
        Value::Object(o) => match verb {
            'v' | 's' => pad(out, &o.format(), spec),
            'q' => pad(out, &quote(&o.format()), spec),
            _ => bad_verb(out, verb, &o.type_name(), &o.format()),
        },
        Value::Func(_) => out.push_str("0x0"),
    }
}

/// Go's `tooLarge`: widths and precisions beyond ±10⁶ are refused.
fn too_large(x: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&x)
}

/// Go's `parsenum`: digits at `start`; an absurdly long number abandons the
/// rest of the format (Go then reports `%!(NOVERB)`).
fn parsenum(chars: &[char], start: usize) -> (usize, bool, usize) {
    let mut num: i64 = 0;
    let mut isnum = false;
    let mut i = start;
    while i < chars.len() && chars[i].is_ascii_digit() {
        if too_large(num) {
            return (0, false, chars.len());
        }
        num = num * 10 + (chars[i] as i64 - '0' as i64);
        isnum = true;
        i += 1;
    }
    (num as usize, isnum, i)
}

/// `fmt.Sprintf` with Go's verbs, flags, width, precision, `*` and argument
/// indexes, and Go's notes for bad verbs and missing or extra arguments.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    let mut argn = 0usize;
    let mut reordered = false;
    let mut good_arg_num = true;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let mut spec = Spec::default();
        // Flags.
        while i < chars.len() {
            match chars[i] {
                '#' => spec.sharp = true,
                '0' => spec.zero = !spec.minus,
                '+' => spec.plus = true,
                '-' => {
                    spec.minus = true;
                    spec.zero = false;
                }
                ' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        // Argument index, width.
        let mut parse_index = |i: &mut usize, argn: &mut usize| {
            if *i < chars.len() && chars[*i] == '[' {
                reordered = true;
                let start = *i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    good_arg_num = false;
                    *i = j;
                    return;
                }
                let n: Option<usize> = chars[start..j].iter().collect::<String>().parse().ok();
                match n {
                    Some(n) if n >= 1 && n <= args.len() => {
                        *argn = n - 1;
                        good_arg_num = true;
                    }
                    _ => good_arg_num = false,
                }
                *i = j + 1;
            }
        };
        parse_index(&mut i, &mut argn);
        if i < chars.len() && chars[i] == '*' {
            i += 1;
            match args
                .get(argn)
                .and_then(Value::as_int)
                .filter(|w| !too_large(*w))
            {
                Some(w) => {
                    if w < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
            argn += 1;
        } else {
            let (num, isnum, next) = parsenum(&chars, i);
            i = next;
            if isnum {
                spec.width = Some(num);
            }
        }
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            parse_index(&mut i, &mut argn);
            if i < chars.len() && chars[i] == '*' {
                i += 1;
                match args
                    .get(argn)
                    .and_then(Value::as_int)
                    .filter(|p| !too_large(*p))
                {
                    Some(p) if p >= 0 => spec.prec = Some(p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                argn += 1;
            } else {
                let (num, _, next) = parsenum(&chars, i);
                i = next;
                spec.prec = Some(num);
            }
        }
        parse_index(&mut i, &mut argn);
        if i >= chars.len() {
            out.push_str("%!(NOVERB)");
            break;
        }
        let verb = chars[i];
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good_arg_num {
            out.push_str(&format!("%!{verb}(BADINDEX)"));
            good_arg_num = true;
            continue;
        }
        let Some(arg) = args.get(argn) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argn += 1;
        if verb == 'v' {
            if spec.sharp {
                spec.sharp = false;
                spec.sharp_v = true;
            }
            if spec.plus {
                spec.plus = false;
                spec.plus_v = true;
            }
        }
        if verb == 'T' {
            let t = if arg.is_nil_or_invalid() {
                "<nil>".to_string()
            } else {
                arg.type_name()
            };
            pad(&mut out, &t, spec);
            continue;
        }
        if let Value::Nil = arg {
            match verb {
                'T' | 'v' => pad(&mut out, "<nil>", spec),
                _ => out.push_str(&format!("%!{verb}(<nil>)")),
            }
            continue;
        }
        print_value(&mut out, arg, verb, spec, 0);
    }
    if !reordered && argn < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, a) in args[argn..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            if let Value::Nil = a {
                out.push_str("<nil>");
            } else {
                out.push_str(&a.type_name());
                out.push('=');
                print_value(&mut out, a, 'v', Spec::default(), 0);
            }
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs() {
        let s = |f: &str, a: Vec<Value>| sprintf(f, &a);
        assert_eq!(
            s(
                "%05d|%-4d|%x",
                vec![Value::Int(42), Value::Int(7), Value::Int(255)]
            ),
            "00042|7   |ff"
        );
        assert_eq!(s("%5.2f", vec![Value::Float(1.23456)]), " 1.23");
        assert_eq!(s("%q", vec![Value::from("a\"b")]), "\"a\\\"b\"");
        assert_eq!(s("%d", vec![Value::from("x")]), "%!d(string=x)");
        assert_eq!(s("%d %d", vec![Value::Int(1)]), "1 %!d(MISSING)");
        assert_eq!(
            s("%d", vec![Value::Int(1), Value::from("x")]),
            "1%!(EXTRA string=x)"
        );
        assert_eq!(
            s(
                "%v",
                vec![Value::list(vec![
                    Value::Int(1),
                    Value::from("two"),
                    Value::Float(3.5)
                ])]
            ),
            "[1 two 3.5]"
        );
    }

    #[test]
    fn sprint_spacing() {
        assert_eq!(sprint(&[Value::Int(1), Value::Int(2)]), "1 2");
        assert_eq!(sprint(&[Value::from("a"), Value::Int(2)]), "a2");
        assert_eq!(sprintln(&[Value::from("a"), Value::Int(2)]), "a 2\n");
    }
}
