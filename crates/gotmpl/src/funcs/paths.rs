//! Go's `path` package (`base dir clean ext isAbs` and the `os…` twins,
//! which are the same on Linux).

use super::conv::s;
use super::Registry;
use crate::func::Param::*;
use crate::value::Value;

/// `path.Clean` (one implementation for davit: werf's path matchers use it too).
pub use davit_pathmatch::clean;

/// `path.Base`.
pub fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    match t.rfind('/') {
        Some(i) => t[i + 1..].to_string(),
        None => t.to_string(),
    }
}

/// `path.Dir`.
pub fn dir(p: &str) -> String {
    let d = match p.rfind('/') {
        Some(i) => &p[..i + 1],
        None => "",
    };
    clean(d)
}

/// `path.Ext`.
pub fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

pub fn register(r: &mut Registry) {
    for prefix in ["", "os"] {
        let name = |n: &str| {
            if prefix.is_empty() {
                n.to_string()
            } else {
                format!("os{}{}", n[..1].to_uppercase(), &n[1..])
            }
        };
        r.add(&name("base"), &[Str], None, |a| Ok(base(s(&a[0])).into()));
        r.add(&name("dir"), &[Str], None, |a| Ok(dir(s(&a[0])).into()));
        r.add(&name("clean"), &[Str], None, |a| Ok(clean(s(&a[0])).into()));
        r.add(&name("ext"), &[Str], None, |a| Ok(ext(s(&a[0])).into()));
        r.add(&name("isAbs"), &[Str], None, |a| {
            Ok(Value::Bool(s(&a[0]).starts_with('/')))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_semantics() {
        assert_eq!(clean("a//b/./../c/"), "a/c");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean("../../x"), "../../x");
        assert_eq!(base("a/b/"), "b");
        assert_eq!(base("///"), "/");
        assert_eq!(dir("a/b/c"), "a/b");
        assert_eq!(dir("c"), ".");
        assert_eq!(ext("a/b.tar.gz"), ".gz");
        assert_eq!(ext("a.b/c"), "");
    }
}
