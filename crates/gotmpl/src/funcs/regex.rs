//! sprig regex functions (Go RE2 syntax, which the regex crate shares).

use super::conv::{i, s, string_list};
use super::Registry;
use crate::func::Param::*;
use crate::value::Value;

fn compile(re: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(re)
        .map_err(|e| format!("error parsing regexp: {}", first_line(&e.to_string())))
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or(s).trim().to_string()
}

/// Panicking variant used by the non-`must` functions: Go's `MustCompile`.
fn must_compile(re: &str) -> Result<regex::Regex, String> {
    compile(re).map_err(|e| format!("regexp: Compile({}): {e}", crate::gofmt::quote(re)))
}

fn find_all(re: &regex::Regex, text: &str, n: i64) -> Vec<String> {
    let it = re.find_iter(text).map(|m| m.as_str().to_string());
    if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    }
}

/// Go's `Regexp.Split`.
fn split(re: &regex::Regex, text: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && text.is_empty() {
        return vec![String::new()];
    }
    let matches: Vec<(usize, usize)> = re.find_iter(text).map(|m| (m.start(), m.end())).collect();
    let mut out = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (ms, me) in matches {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = ms;
        if me != 0 {
            out.push(text[beg..end].to_string());
        }
        beg = me;
    }
    if end != text.len() {
        out.push(text[beg..].to_string());
    }
    out
}

pub fn register(r: &mut Registry) {
    r.add("regexMatch", &[Str, Str], None, |a| {
        Ok(Value::Bool(
            compile(s(&a[0]))
                .map(|re| re.is_match(s(&a[1])))
                .unwrap_or(false),
        ))
    });
    r.add("mustRegexMatch", &[Str, Str], None, |a| {
        Ok(Value::Bool(compile(s(&a[0]))?.is_match(s(&a[1]))))
    });
    r.add("regexFindAll", &[Str, Str, Int], None, |a| {
        Ok(string_list(find_all(
            &must_compile(s(&a[0]))?,
            s(&a[1]),
            i(&a[2]),
        )))
    });
    r.add("mustRegexFindAll", &[Str, Str, Int], None, |a| {
        Ok(string_list(find_all(
            &compile(s(&a[0]))?,
            s(&a[1]),
            i(&a[2]),
        )))
    });
    r.add("regexFind", &[Str, Str], None, |a| {
        let re = must_compile(s(&a[0]))?;
        Ok(re.find(s(&a[1])).map(|m| m.as_str()).unwrap_or("").into())
    });
    r.add("mustRegexFind", &[Str, Str], None, |a| {
        let re = compile(s(&a[0]))?;
        Ok(re.find(s(&a[1])).map(|m| m.as_str()).unwrap_or("").into())
    });
    r.add("regexReplaceAll", &[Str, Str, Str], None, |a| {
        Ok(must_compile(s(&a[0]))?
            .replace_all(s(&a[1]), s(&a[2]))
            .into_owned()
            .into())
    });
    r.add("mustRegexReplaceAll", &[Str, Str, Str], None, |a| {
        Ok(compile(s(&a[0]))?
            .replace_all(s(&a[1]), s(&a[2]))
            .into_owned()
            .into())
    });
    r.add("regexReplaceAllLiteral", &[Str, Str, Str], None, |a| {
        Ok(must_compile(s(&a[0]))?
            .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
            .into_owned()
            .into())
    });
    r.add("mustRegexReplaceAllLiteral", &[Str, Str, Str], None, |a| {
        Ok(compile(s(&a[0]))?
            .replace_all(s(&a[1]), regex::NoExpand(s(&a[2])))
            .into_owned()
            .into())
    });
    r.add("regexSplit", &[Str, Str, Int], None, |a| {
        Ok(string_list(split(
            &must_compile(s(&a[0]))?,
            s(&a[1]),
            i(&a[2]),
        )))
    });
    r.add("mustRegexSplit", &[Str, Str, Int], None, |a| {
        Ok(string_list(split(&compile(s(&a[0]))?, s(&a[1]), i(&a[2]))))
    });
    r.add("regexQuoteMeta", &[Str], None, |a| {
        let mut out = String::new();
        for c in s(&a[0]).chars() {
            if "\\.+*?()|[]{}^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        Ok(out.into())
    });
}
