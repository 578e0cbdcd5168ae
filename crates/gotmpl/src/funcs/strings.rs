//! sprig string functions.

use super::conv::{i, s, strslice, strval};
use super::Registry;
use crate::func::Param::*;
use crate::gofmt;
use crate::value::Value;

fn is_go_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{85}' || c == '\u{A0}'
}

/// `strings.Title`: upper-cases the first letter of each word.
pub fn title(s: &str) -> String {
    let is_sep = |c: char| -> bool {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if c.is_alphanumeric() {
            return false;
        }
        c.is_whitespace()
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_sep(prev) { to_title(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

fn to_title(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn to_lower_char(c: char) -> char {
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// goutils `Uncapitalize`: lower-cases the first letter of each
/// whitespace-separated word.
fn untitle(s: &str) -> String {
    let mut at_start = true;
    s.chars()
        .map(|c| {
            let out = if at_start { to_lower_char(c) } else { c };
            at_start = is_go_space(c);
            out
        })
        .collect()
}

/// goutils `SwapCase`.
fn swapcase(s: &str) -> String {
    let mut whitespace = true;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let mapped = if c.is_uppercase() {
            to_lower_char(c)
        } else if c.is_lowercase() {
            if whitespace {
                to_title(c)
            } else {
                c.to_uppercase().next().unwrap_or(c)
            }
        } else {
            c
        };
        whitespace = is_go_space(c);
        out.push(mapped);
    }
    out
}

fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut last_was_gap = true;
    for c in s.chars() {
        if is_go_space(c) {
            last_was_gap = true;
        } else if last_was_gap {
            out.push(c);
            last_was_gap = false;
        }
    }
    out
}

/// goutils `WrapCustom`.
pub fn wrap_custom(s: &str, wrap_length: i64, newline: &str, wrap_long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let wrap = wrap_length.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(len + 16);
    while len - offset > wrap {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (wrap + offset + 1).min(len);
        let space = b[offset..end].iter().rposition(|&c| c == b' ');
        if let Some(sp) = space {
            let at = sp + offset;
            out.extend_from_slice(&b[offset..at]);
            out.extend_from_slice(newline.as_bytes());
            offset = at + 1;
        } else if wrap_long_words {
            out.extend_from_slice(&b[offset..wrap + offset]);
            out.extend_from_slice(newline.as_bytes());
            offset += wrap;
        } else {
            let end = wrap + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(idx) => {
                    let at = idx + end;
                    out.extend_from_slice(&b[offset..at]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = at + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset.min(len)..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// goutils `AbbreviateFull`.
fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> Result<String, String> {
    let len = s.len() as i64;
    if s.is_empty() {
        return Ok(String::new());
    }
    if max_width < 4 {
        return Err("stringutils illegal argument: Minimum abbreviation width is 4".into());
    }
    if len <= max_width {
        return Ok(s.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let slice = |a: i64, b: i64| -> String {
        String::from_utf8_lossy(&s.as_bytes()[a.max(0) as usize..b.max(0) as usize]).into_owned()
    };
    if offset <= 4 {
        return Ok(slice(0, max_width - 3) + "...");
    }
    if max_width < 7 {
        return Err(
            "stringutils illegal argument: Minimum abbreviation width with offset is 7".into(),
        );
    }
    if offset + max_width - 3 < len {
        let rest = slice(offset, len);
        return Ok(format!("...{}", abbreviate_full(&rest, 0, max_width - 3)?));
    }
    Ok(format!("...{}", slice(len - (max_width - 3), len)))
}

fn byte_slice(s: &str, a: usize, b: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned()
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || is_go_space(c)
}

/// xstrings `ToCamelCase` (v1.3).
fn camelcase(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut idx = 0;
    let mut r0 = '\0';
    let mut took = false;
    while idx < chars.len() {
        r0 = chars[idx];
        idx += 1;
        took = true;
        if !is_connector(r0) {
            r0 = r0.to_uppercase().next().unwrap_or(r0);
            break;
        }
        out.push(r0);
    }
    if idx >= chars.len() {
        if took {
            out.push(r0);
        }
        return out;
    }
    while idx < chars.len() {
        let r1 = r0;
        r0 = chars[idx];
        idx += 1;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = r0.to_uppercase().next().unwrap_or(r0);
        } else {
            r0 = to_lower_char(r0);
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WordType {
    Invalid,
    Number,
    UpperCase,
    Alphabet,
    Connector,
    Punct,
    Other,
}

fn is_alphabet(c: char) -> bool {
    c.is_alphabetic()
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() && !matches!(c, '$' | '+' | '<' | '=' | '>' | '^' | '`' | '|' | '~')
        || (!c.is_ascii()
            && !c.is_alphanumeric()
            && !c.is_whitespace()
            && !c.is_control()
            && is_unicode_punct(c))
}

fn is_unicode_punct(c: char) -> bool {
    matches!(c as u32, 0x2010..=0x2027 | 0x2030..=0x205E | 0x3001..=0x3003 | 0x00A1 | 0x00A7 | 0x00AB | 0x00B6 | 0x00B7 | 0x00BB | 0x00BF)
}

/// xstrings `nextWord`: the type and length (in chars) of the next word.
fn next_word(s: &[char]) -> (WordType, usize) {
    let Some(&r) = s.first() else {
        return (WordType::Invalid, 0);
    };
    let mut n = 1;
    let wt;
    if is_connector(r) {
        wt = WordType::Connector;
        while n < s.len() && is_connector(s[n]) {
            n += 1;
        }
    } else if is_punct(r) {
        wt = WordType::Punct;
        while n < s.len() && is_punct(s[n]) {
            n += 1;
        }
    } else if r.is_uppercase() {
        wt = WordType::UpperCase;
        if n < s.len() {
            let next = s[n];
            if next.is_uppercase() {
                n += 1;
                while n < s.len() && s[n].is_uppercase() {
                    n += 1;
                }
                if n < s.len() && is_alphabet(s[n]) {
                    n -= 1;
                }
            } else if is_alphabet(next) {
                n += 1;
                while n < s.len() && is_alphabet(s[n]) && !s[n].is_uppercase() {
                    n += 1;
                }
            }
        }
    } else if is_alphabet(r) {
        wt = WordType::Alphabet;
        while n < s.len() && is_alphabet(s[n]) && !s[n].is_uppercase() {
            n += 1;
        }
    } else if r.is_numeric() {
        wt = WordType::Number;
        while n < s.len() && s[n].is_numeric() {
            n += 1;
        }
    } else {
        wt = WordType::Other;
        while n < s.len()
            && !(is_connector(s[n]) || is_alphabet(s[n]) || s[n].is_numeric() || is_punct(s[n]))
        {
            n += 1;
        }
    }
    (wt, n)
}

fn to_lower_word(out: &mut String, wt: WordType, word: &[char], connector: char) {
    if wt != WordType::UpperCase && wt != WordType::Connector {
        out.extend(word.iter());
        return;
    }
    for &c in word {
        if is_connector(c) {
            out.push(connector);
        } else if c.is_uppercase() {
            out.push(to_lower_char(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings `camelCaseToLowerCase` (`ToSnakeCase`, `ToKebabCase`).
fn delimited_case(s: &str, connector: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(s.len() + 4);
    let mut pos = 0;
    let next = |pos: &mut usize| -> (WordType, Vec<char>) {
        let (wt, n) = next_word(&chars[*pos..]);
        let w = chars[*pos..*pos + n].to_vec();
        *pos += n;
        (wt, w)
    };
    let (mut wt, mut word) = next(&mut pos);
    while pos < chars.len() {
        if wt != WordType::Connector {
            to_lower_word(&mut out, wt, &word, connector);
        }
        let prev = wt;
        let last = word.clone();
        (wt, word) = next(&mut pos);
        match prev {
            WordType::Number => {
                while wt == WordType::Alphabet || wt == WordType::Number {
                    to_lower_word(&mut out, wt, &word, connector);
                    (wt, word) = next(&mut pos);
                }
                if wt != WordType::Invalid && wt != WordType::Punct && wt != WordType::Connector {
                    out.push(connector);
                }
            }
            WordType::Connector => to_lower_word(&mut out, prev, &last, connector),
            WordType::Punct => {}
            _ => {
                if wt != WordType::Number {
                    if wt != WordType::Connector && wt != WordType::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if pos >= chars.len() {
                    continue;
                }
                let last = word.clone();
                (wt, word) = next(&mut pos);
                // A number followed by anything but lower-case letters belongs
                // to the previous word: "Bld4Floor" => "bld4_floor".
                if wt != WordType::Alphabet {
                    to_lower_word(&mut out, WordType::Number, &last, connector);
                    if wt != WordType::Connector && wt != WordType::Punct && wt != WordType::Invalid
                    {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                to_lower_word(&mut out, WordType::Number, &last, connector);
                while wt == WordType::Alphabet || wt == WordType::Number {
                    to_lower_word(&mut out, wt, &word, connector);
                    (wt, word) = next(&mut pos);
                }
                if wt != WordType::Invalid && wt != WordType::Connector && wt != WordType::Punct {
                    out.push(connector);
                }
            }
        }
    }
    to_lower_word(&mut out, wt, &word, connector);
    out
}

pub fn register(r: &mut Registry) {
    r.add("hello", &[], None, |_| Ok("Hello!".into()));
    r.add("abbrev", &[Int, Str], None, |a| {
        let w = i(&a[0]);
        let st = s(&a[1]);
        if w < 4 {
            return Ok(st.into());
        }
        Ok(abbreviate_full(st, 0, w).unwrap_or_default().into())
    });
    r.add("abbrevboth", &[Int, Int, Str], None, |a| {
        let (left, right, st) = (i(&a[0]), i(&a[1]), s(&a[2]));
        if right < 4 || (left > 0 && right < 7) {
            return Ok(st.into());
        }
        Ok(abbreviate_full(st, left, right).unwrap_or_default().into())
    });
    r.add("trunc", &[Int, Str], None, |a| {
        let (c, st) = (i(&a[0]), s(&a[1]));
        let len = st.len() as i64;
        if c < 0 && len + c > 0 {
            return Ok(byte_slice(st, (len + c) as usize, st.len()).into());
        }
        if c >= 0 && len > c {
            return Ok(byte_slice(st, 0, c as usize).into());
        }
        Ok(st.into())
    });
    r.add("trim", &[Str], None, |a| {
        Ok(s(&a[0]).trim_matches(is_go_space).into())
    });
    r.add("upper", &[Str], None, |a| {
        Ok(s(&a[0]).to_uppercase().into())
    });
    r.add("lower", &[Str], None, |a| {
        Ok(s(&a[0]).to_lowercase().into())
    });
    r.add("title", &[Str], None, |a| Ok(title(s(&a[0])).into()));
    r.add("untitle", &[Str], None, |a| Ok(untitle(s(&a[0])).into()));
    r.add("substr", &[Int, Int, Str], None, |a| {
        let (start, end, st) = (i(&a[0]), i(&a[1]), s(&a[2]));
        let len = st.len() as i64;
        let bad = || format!("runtime error: slice bounds out of range [{start}:{end}]");
        if start < 0 {
            if end < 0 || end > len {
                return Err(format!(
                    "runtime error: slice bounds out of range [:{end}] with length {len}"
                ));
            }
            return Ok(byte_slice(st, 0, end as usize).into());
        }
        if end < 0 || end > len {
            if start > len {
                return Err(format!(
                    "runtime error: slice bounds out of range [{start}:{len}]"
                ));
            }
            return Ok(byte_slice(st, start as usize, st.len()).into());
        }
        if start > end {
            return Err(bad());
        }
        Ok(byte_slice(st, start as usize, end as usize).into())
    });
    r.add("repeat", &[Int, Str], None, |a| {
        let n = i(&a[0]);
        if n < 0 {
            return Err("strings: negative Repeat count".into());
        }
        if (n as u128) * (s(&a[1]).len() as u128) > (64 << 20) {
            return Err("strings: Repeat output length overflow".into());
        }
        Ok(s(&a[1]).repeat(n as usize).into())
    });
    for name in ["trimAll", "trimall"] {
        r.add(name, &[Str, Str], None, |a| {
            let cut = s(&a[0]).to_string();
            Ok(s(&a[1]).trim_matches(|c| cut.contains(c)).into())
        });
    }
    r.add("trimSuffix", &[Str, Str], None, |a| {
        Ok(s(&a[1]).strip_suffix(s(&a[0])).unwrap_or(s(&a[1])).into())
    });
    r.add("trimPrefix", &[Str, Str], None, |a| {
        Ok(s(&a[1]).strip_prefix(s(&a[0])).unwrap_or(s(&a[1])).into())
    });
    r.add("nospace", &[Str], None, |a| {
        Ok(s(&a[0])
            .chars()
            .filter(|c| !is_go_space(*c))
            .collect::<String>()
            .into())
    });
    r.add("initials", &[Str], None, |a| Ok(initials(s(&a[0])).into()));
    r.add("swapcase", &[Str], None, |a| Ok(swapcase(s(&a[0])).into()));
    r.add("snakecase", &[Str], None, |a| {
        Ok(delimited_case(s(&a[0]), '_').into())
    });
    r.add("kebabcase", &[Str], None, |a| {
        Ok(delimited_case(s(&a[0]), '-').into())
    });
    r.add(
        "camelcase",
        &[Str],
        None,
        |a| Ok(camelcase(s(&a[0])).into()),
    );
    r.add("wrap", &[Int, Str], None, |a| {
        Ok(wrap_custom(s(&a[1]), i(&a[0]), "\n", false).into())
    });
    r.add("wrapWith", &[Int, Str, Str], None, |a| {
        Ok(wrap_custom(s(&a[2]), i(&a[0]), s(&a[1]), true).into())
    });
    r.add("contains", &[Str, Str], None, |a| {
        Ok(Value::Bool(s(&a[1]).contains(s(&a[0]))))
    });
    r.add("hasPrefix", &[Str, Str], None, |a| {
        Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0]))))
    });
    r.add("hasSuffix", &[Str, Str], None, |a| {
        Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0]))))
    });
    r.add("quote", &[], Some(Any), |a| {
        let parts: Vec<std::string::String> = a
            .iter()
            .filter(|v| !v.is_nil_or_invalid())
            .map(|v| gofmt::quote(&strval(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    r.add("squote", &[], Some(Any), |a| {
        let parts: Vec<std::string::String> = a
            .iter()
            .filter(|v| !v.is_nil_or_invalid())
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    r.add("cat", &[], Some(Any), |a| {
        let parts: Vec<std::string::String> = a
            .iter()
            .filter(|v| !v.is_nil_or_invalid())
            .map(gofmt::to_string_v)
            .collect();
        Ok(parts.join(" ").into())
    });
    r.add("indent", &[Int, Str], None, |a| {
        Ok(indent(i(&a[0]), s(&a[1]))?.into())
    });
    r.add("nindent", &[Int, Str], None, |a| {
        Ok(format!("\n{}", indent(i(&a[0]), s(&a[1]))?).into())
    });
    r.add("replace", &[Str, Str, Str], None, |a| {
        Ok(s(&a[2]).replace(s(&a[0]), s(&a[1])).into())
    });
    r.add("plural", &[Str, Str, Int], None, |a| {
        Ok(if i(&a[2]) == 1 {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    r.add("toString", &[Any], None, |a| Ok(strval(&a[0]).into()));
    r.add("join", &[Str, Any], None, |a| {
        Ok(strslice(&a[1]).join(s(&a[0])).into())
    });
    r.add("sortAlpha", &[Any], None, |a| match &a[0] {
        Value::List(..) => {
            let mut v = strslice(&a[0]);
            v.sort();
            Ok(super::conv::string_list(v))
        }
        other => Ok(super::conv::string_list(vec![strval(other)])),
    });
    r.add("split", &[Str, Str], None, |a| {
        let parts = go_split(s(&a[1]), s(&a[0]), -1);
        Ok(indexed_map(parts))
    });
    r.add("splitn", &[Str, Int, Str], None, |a| {
        let parts = go_split(s(&a[2]), s(&a[0]), i(&a[1]));
        Ok(indexed_map(parts))
    });
    r.add("splitList", &[Str, Str], None, |a| {
        Ok(super::conv::string_list(go_split(s(&a[1]), s(&a[0]), -1)))
    });
    r.add("toStrings", &[Any], None, |a| {
        Ok(super::conv::string_list(strslice(&a[0])))
    });
}

pub fn indent(spaces: i64, v: &str) -> Result<String, String> {
    if spaces < 0 {
        return Err("strings: negative Repeat count".into());
    }
    // Go would allocate whatever this asks for; davit refuses beyond 64 MiB.
    let lines = v.matches('\n').count() as u128 + 1;
    if spaces as u128 * lines + v.len() as u128 > 64 << 20 {
        return Err("strings: Repeat output length overflow".into());
    }
    let pad = " ".repeat(spaces as usize);
    Ok(format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))))
}

fn indexed_map(parts: Vec<std::string::String>) -> Value {
    let m = parts
        .into_iter()
        .enumerate()
        .map(|(k, v)| (format!("_{k}"), Value::from(v)))
        .collect();
    Value::Map(
        std::rc::Rc::new(std::cell::RefCell::new(m)),
        crate::value::MapType::StringString,
    )
}

/// Go's `strings.SplitN` (`n < 0` means all).
pub fn go_split(s: &str, sep: &str, n: i64) -> Vec<std::string::String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<std::string::String> = s.chars().map(|c| c.to_string()).collect();
        if n > 0 && (n as usize) < chars.len() {
            let mut head: Vec<std::string::String> = chars[..n as usize - 1].to_vec();
            let rest: std::string::String = s.chars().skip(n as usize - 1).collect();
            head.push(rest);
            return head;
        }
        return chars;
    }
    if n < 0 {
        return s.split(sep).map(str::to_string).collect();
    }
    s.splitn(n as usize, sep).map(str::to_string).collect()
}
