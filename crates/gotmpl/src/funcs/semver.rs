//! `semver` and `semverCompare` with Masterminds/semver v3 rules: lenient
//! versions (`v1.2`), constraints with `, || - ~ ^ x *`, and pre-releases
//! matching only constraints that name a pre-release.

use std::cmp::Ordering;
use std::rc::Rc;

use super::conv::s;
use super::Registry;
use crate::func::Param::*;
use crate::value::{Object, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub meta: String,
    pub original: String,
}

const INVALID: &str = "Invalid Semantic Version";

fn valid_ident(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

impl Version {
    /// Masterminds `NewVersion` (lenient: `v` prefix, missing minor/patch).
    pub fn parse(v: &str) -> Result<Version, String> {
        let body = v.strip_prefix('v').unwrap_or(v);
        let (core_pre, meta) = match body.split_once('+') {
            Some((a, m)) => (a, m.to_string()),
            None => (body, String::new()),
        };
        let (core, pre) = match core_pre.split_once('-') {
            Some((a, p)) => (a, p.to_string()),
            None => (core_pre, String::new()),
        };
        if (!meta.is_empty() || body.contains('+')) && !valid_ident(&meta) {
            return Err(INVALID.into());
        }
        if (!pre.is_empty() || core_pre.contains('-')) && !valid_ident(&pre) {
            return Err(INVALID.into());
        }
        for part in pre.split('.').filter(|p| !p.is_empty()) {
            if part.len() > 1 && part.starts_with('0') && part.chars().all(|c| c.is_ascii_digit()) {
                return Err("Invalid Prerelease string".into());
            }
        }
        let nums: Vec<&str> = core.split('.').collect();
        if nums.is_empty()
            || nums.len() > 3
            || nums
                .iter()
                .any(|n| n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(INVALID.into());
        }
        let parse = |n: &str| {
            n.parse::<u64>()
                .map_err(|e| format!("Error parsing version segment: {e}"))
        };
        Ok(Version {
            major: parse(nums[0])?,
            minor: nums.get(1).map(|n| parse(n)).transpose()?.unwrap_or(0),
            patch: nums.get(2).map(|n| parse(n)).transpose()?.unwrap_or(0),
            pre,
            meta,
            original: v.to_string(),
        })
    }

    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| compare_prerelease(&self.pre, &o.pre))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.meta.is_empty() {
            write!(f, "+{}", self.meta)?;
        }
        Ok(())
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for (x, y) in pa.iter().zip(pb.iter()) {
        let c = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(p), Ok(q)) => p.cmp(&q),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    pa.len().cmp(&pb.len())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Gt,
    Lt,
    Gte,
    Lte,
    Tilde,
    Caret,
}

struct Constraint {
    op: Op,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_one(op: &str, ver: &str) -> Result<Constraint, String> {
    let op = match op {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Gt,
        "<" => Op::Lt,
        ">=" | "=>" => Op::Gte,
        "<=" | "=<" => Op::Lte,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        other => return Err(format!("improper constraint: {other}{ver}")),
    };
    let body = ver.strip_prefix('v').unwrap_or(ver);
    let (core, tail) = match body.find(['-', '+']) {
        Some(i) => (&body[..i], &body[i..]),
        None => (body, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let normalized = if parts.is_empty() || parts[0].is_empty() || is_x(parts[0]) {
        dirty = true;
        format!("0.0.0{tail}")
    } else if parts.len() < 2 || is_x(parts[1]) {
        minor_dirty = true;
        dirty = true;
        format!("{}.0.0{tail}", parts[0])
    } else if parts.len() < 3 || is_x(parts[2]) {
        dirty = true;
        patch_dirty = true;
        format!("{}.{}.0{tail}", parts[0], parts[1])
    } else {
        ver.to_string()
    };
    let con = Version::parse(&normalized)?;
    Ok(Constraint {
        op,
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

/// Splits one AND group into (operator, version) pairs.
fn tokenize(group: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = group.chars().collect();
    let mut i = 0;
    let op_chars = ['=', '!', '>', '<', '~', '^'];
    while i < chars.len() {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && op_chars.contains(&chars[i]) {
            i += 1;
        }
        let op: String = chars[start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let vstart = i;
        while i < chars.len() && !(chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        let ver: String = chars[vstart..i].iter().collect();
        if ver.is_empty()
            || !ver.starts_with(|c: char| c.is_ascii_digit() || c == 'v' || is_x(&c.to_string()))
        {
            return Err(format!("improper constraint: {}", group.trim()));
        }
        out.push((op, ver));
    }
    Ok(out)
}

/// Rewrites `A - B` into `>= A, <= B`.
fn rewrite_ranges(group: &str) -> String {
    let words: Vec<&str> = group.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if i + 2 < words.len() && words[i + 1] == "-" {
            out.push(format!(">= {},", words[i]));
            out.push(format!("<= {}", words[i + 2]));
            i += 3;
        } else {
            out.push(words[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
}

fn check(v: &Version, c: &Constraint) -> bool {
    if !v.pre.is_empty() && c.con.pre.is_empty() {
        return false;
    }
    let cmp = v.compare(&c.con);
    let con = &c.con;
    match c.op {
        Op::NotEqual => {
            if c.dirty {
                if con.major != v.major {
                    return true;
                }
                if con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    if !v.pre.is_empty() || !con.pre.is_empty() {
                        return compare_prerelease(&v.pre, &con.pre) != Ordering::Equal;
                    }
                    return false;
                }
            }
            cmp != Ordering::Equal
        }
        Op::Gt => {
            if !c.dirty {
                return cmp == Ordering::Greater;
            }
            if v.major > con.major {
                true
            } else if v.major < con.major || c.minor_dirty {
                false
            } else if c.patch_dirty {
                v.minor > con.minor
            } else {
                cmp == Ordering::Greater
            }
        }
        Op::Lt => cmp == Ordering::Less,
        Op::Gte => cmp != Ordering::Less,
        Op::Lte => {
            if !c.dirty {
                return cmp != Ordering::Greater;
            }
            !(v.major > con.major
                || (v.major == con.major && v.minor > con.minor && !c.minor_dirty))
        }
        Op::Tilde => tilde(v, c),
        Op::TildeOrEqual => {
            if c.dirty {
                tilde(v, c)
            } else {
                cmp == Ordering::Equal
            }
        }
        Op::Caret => {
            if cmp == Ordering::Less {
                return false;
            }
            if con.major > 0 || c.minor_dirty {
                return v.major == con.major;
            }
            if v.major > 0 {
                return false;
            }
            if con.minor > 0 || c.patch_dirty {
                return v.minor == con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            con.patch == v.patch
        }
    }
}

fn tilde(v: &Version, c: &Constraint) -> bool {
    let con = &c.con;
    if v.compare(con) == Ordering::Less {
        return false;
    }
    if con.major == 0 && con.minor == 0 && con.patch == 0 && !c.minor_dirty && !c.patch_dirty {
        return true;
    }
    if v.major != con.major {
        return false;
    }
    v.minor == con.minor || c.minor_dirty
}

/// `semverCompare CONSTRAINT VERSION`.
pub fn semver_compare(constraint: &str, version: &str) -> Result<bool, String> {
    let mut groups = Vec::new();
    for group in constraint.split("||") {
        let rewritten = rewrite_ranges(group);
        let tokens = tokenize(&rewritten)?;
        let mut cs = Vec::new();
        if tokens.is_empty() {
            cs.push(parse_one(">=", "0.0.0")?);
        }
        for (op, ver) in tokens {
            cs.push(parse_one(&op, &ver)?);
        }
        groups.push(cs);
    }
    let v = Version::parse(version)?;
    Ok(groups.iter().any(|g| g.iter().all(|c| check(&v, c))))
}

impl Object for Version {
    fn type_name(&self) -> String {
        "*semver.Version".into()
    }
    fn kind(&self) -> &'static str {
        "ptr"
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let other = || -> Result<Version, String> {
            match args.first() {
                Some(Value::Object(o)) => o
                    .as_any()
                    .downcast_ref::<Version>()
                    .cloned()
                    .ok_or_else(|| "wrong type for value; expected *semver.Version".to_string()),
                _ => Err("wrong type for value; expected *semver.Version".into()),
            }
        };
        Some(match name {
            "Major" => Ok(Value::Int64(self.major as i64)),
            "Minor" => Ok(Value::Int64(self.minor as i64)),
            "Patch" => Ok(Value::Int64(self.patch as i64)),
            "Prerelease" => Ok(Value::from(self.pre.as_str())),
            "Metadata" => Ok(Value::from(self.meta.as_str())),
            "Original" => Ok(Value::from(self.original.as_str())),
            "String" => Ok(Value::from(self.to_string())),
            "LessThan" => other().map(|o| Value::Bool(self.compare(&o) == Ordering::Less)),
            "GreaterThan" => other().map(|o| Value::Bool(self.compare(&o) == Ordering::Greater)),
            "Equal" => other().map(|o| Value::Bool(self.compare(&o) == Ordering::Equal)),
            "Compare" => other().map(|o| Value::Int(self.compare(&o) as i64)),
            _ => return None,
        })
    }
    fn method_params(&self, name: &str) -> Option<(Vec<crate::Param>, Option<crate::Param>)> {
        match name {
            "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "Original" | "String" => {
                Some((vec![], None))
            }
            "LessThan" | "GreaterThan" | "Equal" | "Compare" => {
                Some((vec![crate::Param::Any], None))
            }
            _ => None,
        }
    }
    fn format(&self) -> String {
        self.to_string()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn json(&self) -> Option<String> {
        Some(format!("\"{self}\""))
    }
}

pub fn register(r: &mut Registry) {
    r.add("semver", &[Str], None, |a| {
        Ok(Value::Object(Rc::new(Version::parse(s(&a[0]))?)))
    });
    r.add("semverCompare", &[Str, Str], None, |a| {
        Ok(Value::Bool(semver_compare(s(&a[0]), s(&a[1]))?))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints() {
        let t = |c: &str, v: &str| semver_compare(c, v).unwrap_or(false);
        assert!(t(">=1.2.3", "1.2.3"));
        assert!(t("^1.2", "1.9.0"));
        assert!(!t("^1.2", "2.0.0"));
        assert!(t("~1.2.3", "1.2.9"));
        assert!(!t("~1.2.3", "1.3.0"));
        assert!(t("1.2 - 1.4.5", "1.4.5"));
        assert!(t(">1.0 <2 || 3.x", "3.1.0"));
        assert!(!t(">=1.0", "1.5.0-beta"));
        assert!(t(">=1.0-0", "1.5.0-beta"));
        assert!(t("1.2.x", "1.2.7"));
        assert!(t("*", "4.0.0"));
    }
}
