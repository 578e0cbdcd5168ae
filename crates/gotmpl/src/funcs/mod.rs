//! Function sets: sprig v3 (`sprig_funcs`), werf's werf.yaml set
//! (`werf_funcs`) and Helm's chart set (`helm_funcs`).

pub mod conv;
pub mod date;
mod dicts;
mod encoding;
mod files;
mod helm;
pub mod json;
mod lists;
mod math;
pub mod paths;
mod random;
mod reflect;
mod regex;
mod semver;
mod strings;
mod unsupported;
mod werf;
pub mod yaml;
mod yaml_toml;

use std::rc::Rc;

use crate::func::{CallContext, Func, FuncMap, Param};
use crate::value::Value;

pub use files::{FileSource, FilesObject};
pub use helm::{helm_funcs, HelmOptions};
pub use werf::{werf_funcs, EnvLookup, WerfOptions};

/// Builds a `FuncMap` with Go-like signatures.
pub struct Registry {
    map: FuncMap,
}

impl Registry {
    pub fn new() -> Registry {
        Registry {
            map: FuncMap::new(),
        }
    }

    pub fn add(
        &mut self,
        name: &str,
        params: &[Param],
        variadic: Option<Param>,
        f: impl Fn(Vec<Value>) -> Result<Value, String> + 'static,
    ) {
        self.map
            .insert(name.to_string(), Func::simple(params, variadic, f));
    }

    pub fn add_ctx(
        &mut self,
        name: &str,
        params: &[Param],
        variadic: Option<Param>,
        f: impl Fn(&CallContext<'_>, Vec<Value>) -> Result<Value, String> + 'static,
    ) {
        self.map.insert(
            name.to_string(),
            Func {
                params: params.to_vec(),
                variadic,
                imp: Rc::new(f),
            },
        );
    }

    pub fn remove(&mut self, name: &str) {
        self.map.remove(name);
    }

    pub fn into_map(self) -> FuncMap {
        self.map
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

/// sprig v3.2.3's `TxtFuncMap`, without `env` and `expandenv`, which the
/// werf and Helm sets define (or drop) themselves.
pub fn sprig_registry() -> Registry {
    let mut r = Registry::new();
    strings::register(&mut r);
    lists::register(&mut r);
    dicts::register(&mut r);
    math::register(&mut r);
    encoding::register(&mut r);
    regex::register(&mut r);
    paths::register(&mut r);
    reflect::register(&mut r);
    random::register(&mut r);
    date::register(&mut r);
    semver::register(&mut r);
    unsupported::register(&mut r);
    r.add("urlParse", &[Param::Str], None, |a| {
        Ok(paths_url::parse(conv::s(&a[0])))
    });
    r.add("urlJoin", &[Param::Dict], None, |a| {
        Ok(paths_url::join(&a[0]).into())
    });
    r
}

/// sprig's functions alone.
pub fn sprig_funcs() -> FuncMap {
    sprig_registry().into_map()
}

mod paths_url {
    //! `urlParse` / `urlJoin` for the common `scheme://user@host/path?q#f` form.
    use crate::value::{Map, Value};

    pub fn parse(s: &str) -> Value {
        let mut m = Map::new();
        let (rest, fragment) = match s.split_once('#') {
            Some((a, f)) => (a, f),
            None => (s, ""),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((a, q)) => (a, q),
            None => (rest, ""),
        };
        let (scheme, rest) = match rest.split_once("://") {
            Some((sc, r)) => (sc, r),
            None => ("", rest),
        };
        let (authority, path) = if scheme.is_empty() {
            ("", rest)
        } else {
            match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            }
        };
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (u, h),
            None => ("", authority),
        };
        let hostname = match host.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host,
        };
        for (k, v) in [
            ("scheme", scheme),
            ("host", host),
            ("hostname", hostname),
            ("path", path),
            ("query", query),
            ("opaque", ""),
            ("fragment", fragment),
            ("userinfo", userinfo),
        ] {
            m.insert(k.to_string(), Value::from(v));
        }
        Value::map(m)
    }

    pub fn join(d: &Value) -> String {
        let get = |k: &str| -> String {
            match d {
                Value::Map(m, _) => m
                    .borrow()
                    .get(k)
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                _ => String::new(),
            }
        };
        let mut out = String::new();
        let scheme = get("scheme");
        if !scheme.is_empty() {
            out.push_str(&scheme);
            out.push(':');
        }
        let host = get("host");
        if !host.is_empty() || !scheme.is_empty() {
            out.push_str("//");
            let ui = get("userinfo");
            if !ui.is_empty() {
                out.push_str(&ui);
                out.push('@');
            }
            out.push_str(&host);
        }
        let path = get("path");
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&path);
        let q = get("query");
        if !q.is_empty() {
            out.push('?');
            out.push_str(&q);
        }
        let f = get("fragment");
        if !f.is_empty() {
            out.push('#');
            out.push_str(&f);
        }
        out
    }
}
