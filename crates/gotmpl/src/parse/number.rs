//! Go literal syntax: numbers (`strconv.ParseInt(s, 0, 64)` and friends) and
//! string unquoting (`strconv.Unquote`).

use super::ast::Number;

fn strip_underscores(digits: &str, base_prefixed: bool) -> Option<String> {
    if !digits.contains('_') {
        return Some(digits.to_string());
    }
    // Go allows underscores only between digits or after a base prefix.
    if !base_prefixed && digits.starts_with('_') {
        return None;
    }
    if digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    Some(digits.replace('_', ""))
}

/// `strconv.ParseUint(s, 0, 64)`, with sign handled by the caller.
fn parse_uint_base0(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r, true)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r, true)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    let digits = strip_underscores(digits, prefixed)?;
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok()
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub fn parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint_base0(body)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some(-(u as i128) as i64)
        } else {
            None
        }
    } else if u <= i64::MAX as u64 {
        Some(u as i64)
    } else {
        None
    }
}

/// `strconv.ParseFloat(s, 64)` for the decimal forms the lexer produces.
fn parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("0x") {
        return parse_hex_float(&lower);
    }
    let cleaned = if lower.contains('_') {
        strip_underscores(&lower, false)?
    } else {
        lower
    };
    if cleaned.ends_with('.') && cleaned.len() > 1 {
        return cleaned[..cleaned.len() - 1].parse().ok();
    }
    cleaned.parse().ok()
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let body = body.strip_prefix("0x")?.replace('_', "");
    let (mant, exp) = match body.split_once('p') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().ok()?),
        None => (body.clone(), 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant.as_str(), ""));
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

/// Parses a number literal as Go's `parse.newNumber` does.
pub fn parse_number(text: &str, is_char: bool) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        float: None,
        is_uint: false,
        is_char,
    };
    if is_char {
        let inner = &text[1..];
        let (c, tail) = unquote_char(inner, '\'')?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        n.int = Some(c as i64);
        n.float = Some(c as u32 as f64);
        n.is_uint = true;
        return Ok(n);
    }
    if text.ends_with('i') {
        return Err(format!("complex constants are not supported: {text}"));
    }
    let u = parse_uint_base0(text);
    if let Some(i) = parse_int_base0(text) {
        n.int = Some(i);
        n.float = Some(i as f64);
        n.is_uint = i >= 0;
    } else if let Some(u) = u {
        n.is_uint = true;
        n.float = Some(u as f64);
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", crate::gofmt::quote(text)));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && (-9.223372036854776e18..9.223372036854776e18).contains(&f) {
            n.int = Some(f as i64);
        }
        if f >= 0.0 && f.fract() == 0.0 && f < 1.8446744073709552e19 {
            n.is_uint = true;
        }
    }
    if n.int.is_none() && !n.is_uint && n.float.is_none() {
        return Err(format!(
            "illegal number syntax: {}",
            crate::gofmt::quote(text)
        ));
    }
    Ok(n)
}

/// One character of a Go quoted literal; returns it and the rest.
fn unquote_char(s: &str, quote: char) -> Result<(char, &str), String> {
    let syntax = || "invalid syntax".to_string();
    let mut chars = s.chars();
    let c = chars.next().ok_or_else(syntax)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(syntax());
    }
    if c != '\\' {
        return Ok((c, chars.as_str()));
    }
    let e = chars.next().ok_or_else(syntax)?;
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return Err(syntax());
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((c, rest));
    }
    // Takes `n` ASCII digits of `radix` from the front of `rest`.
    let digits = |n: usize, radix: u32, rest: &str| -> Result<(u32, usize), String> {
        let head: String = rest.chars().take(n).collect();
        if head.chars().count() < n || !head.chars().all(|c| c.is_digit(radix)) {
            return Err(syntax());
        }
        u32::from_str_radix(&head, radix)
            .map(|v| (v, n))
            .map_err(|_| syntax())
    };
    match e {
        'x' => {
            let (v, n) = digits(2, 16, rest)?;
            // \xHH is a byte; in a template string it only makes sense as ASCII/Latin-1.
            Ok((char::from_u32(v).ok_or_else(syntax)?, &rest[n..]))
        }
        'u' => {
            let (v, n) = digits(4, 16, rest)?;
            Ok((char::from_u32(v).ok_or_else(syntax)?, &rest[n..]))
        }
        'U' => {
            let (v, n) = digits(8, 16, rest)?;
            Ok((char::from_u32(v).ok_or_else(syntax)?, &rest[n..]))
        }
        '0'..='7' => {
            let (low, n) = digits(2, 8, rest)?;
            let v = (e as u32 - '0' as u32) * 64 + low;
            if v > 255 {
                return Err(syntax());
            }
            Ok((char::from_u32(v).ok_or_else(syntax)?, &rest[n..]))
        }
        _ => Err(syntax()),
    }
}

/// `strconv.Unquote` for "…" and `…` literals.
pub fn unquote(s: &str) -> Result<String, String> {
    let syntax = || "invalid syntax".to_string();
    if s.len() < 2 {
        return Err(syntax());
    }
    let q = s.as_bytes()[0];
    if q != s.as_bytes()[s.len() - 1] {
        return Err(syntax());
    }
    let inner = &s[1..s.len() - 1];
    match q {
        b'`' => {
            if inner.contains('`') {
                return Err(syntax());
            }
            Ok(inner.replace('\r', ""))
        }
        b'"' => {
            let mut out = String::with_capacity(inner.len());
            let mut rest = inner;
            while !rest.is_empty() {
                if rest.starts_with('\n') {
                    return Err(syntax());
                }
                let (c, r) = unquote_char(rest, '"')?;
                out.push(c);
                rest = r;
            }
            Ok(out)
        }
        _ => Err(syntax()),
    }
}
