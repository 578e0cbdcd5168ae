//! werf's werf.yaml function set: sprig minus `expandenv`, plus `env` (with
//! the giterminism hook), `include`, `tpl`, `required`, yaml.v2 `toYaml` and
//! `fromYaml`, and the `…_debug` helpers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::conv::s;
use super::encoding::adler32;
use super::yaml::{from_yaml_v2, to_yaml_v2};
use super::{sprig_registry, Registry};
use crate::func::{FuncMap, Param::*};
use crate::value::Value;

/// How deep one template may include itself (Helm's `recursionMaxNums`).
pub const MAX_INCLUDE_NESTING: usize = 1000;

/// Reads an environment variable; `Err` when giterminism forbids it.
pub type EnvLookup = Rc<dyn Fn(&str) -> Result<Option<String>, String>>;

/// How werf's template functions reach the outside world.
#[derive(Clone)]
pub struct WerfOptions {
    /// Environment access, already checked against giterminism's
    /// `allowEnvVariables`.
    pub env: EnvLookup,
    /// Giterministic mode: an unset variable without a default is an error.
    /// Loose mode (`--loose-giterminism`): it is `""`.
    pub strict_env: bool,
    /// `--debug-templates`: the `…_debug` functions print to stderr.
    pub debug_templates: bool,
}

impl Default for WerfOptions {
    fn default() -> Self {
        WerfOptions {
            env: Rc::new(|_| Ok(None)),
            strict_env: false,
            debug_templates: false,
        }
    }
}

/// Functions shared by werf and Helm: `include`, `tpl`, `required`.
pub(super) fn register_engine_funcs(r: &mut Registry, strip_no_value: bool) {
    // Helm's guard: a template may include itself at most 1000 levels deep.
    let included: Rc<RefCell<HashMap<String, usize>>> = Rc::default();
    r.add_ctx("include", &[Str, Any], None, move |ctx, a| {
        let name = s(&a[0]);
        let depth = {
            let mut m = included.borrow_mut();
            let d = m.entry(name.to_string()).or_insert(0);
            *d += 1;
            *d
        };
        let result = if depth > MAX_INCLUDE_NESTING + 1 {
            Err(format!(
                "rendering template has a nested reference name: {name}: unable to execute template"
            ))
        } else {
            ctx.execute_template(name, &a[1]).map(Value::from)
        };
        if let Some(d) = included.borrow_mut().get_mut(name) {
            *d -= 1;
        }
        result
    });
    r.add_ctx("tpl", &[Str, Any], None, move |ctx, a| {
        let text = s(&a[0]);
        let name = format!("tpl-{}", adler32(text.as_bytes()));
        let out = ctx.parse_and_execute(&name, text, &a[1])?;
        Ok(Value::from(if strip_no_value {
            out.replace("<no value>", "")
        } else {
            out
        }))
    });
    r.add("required", &[Str, Any], None, |a| match &a[1] {
        Value::Nil | Value::Invalid => Err(s(&a[0]).to_string()),
        Value::String(st) if st.is_empty() => Err(s(&a[0]).to_string()),
        other => Ok(other.clone()),
    });
}

pub fn werf_funcs(opts: WerfOptions) -> FuncMap {
    let mut r = sprig_registry();
    register_engine_funcs(&mut r, false);
    let env = opts.env.clone();
    let strict = opts.strict_env;
    r.add("env", &[Str], Some(Str), move |a| {
        if a.len() > 2 {
            return Err("more than 1 optional argument prohibited".into());
        }
        let name = s(&a[0]);
        let value = env(name)?;
        let default = a.get(1).map(|d| s(d).to_string());
        match (value, default) {
            (Some(v), Some(d)) if v.is_empty() => Ok(d.into()),
            (Some(v), _) => Ok(v.into()),
            (None, Some(d)) => Ok(d.into()),
            (None, None) if strict => Err(format!(
                "the environment variable {} must be set or default must be provided",
                crate::gofmt::quote(name)
            )),
            (None, None) => Ok("".into()),
        }
    });
    r.add("toYaml", &[Any], None, |a| Ok(to_yaml_v2(&a[0]).into()));
    r.add("fromYaml", &[Str], None, |a| from_yaml_v2(s(&a[0])));
    let debug = opts.debug_templates;
    r.add_ctx("include_debug", &[Str, Any], None, move |ctx, a| {
        let out = ctx.execute_template(s(&a[0]), &a[1])?;
        if debug {
            eprintln!("include_debug {}: {out}", s(&a[0]));
        }
        Ok(out.into())
    });
    r.add_ctx("tpl_debug", &[Str, Any], None, move |ctx, a| {
        let text = s(&a[0]);
        let out =
            ctx.parse_and_execute(&format!("tpl-{}", adler32(text.as_bytes())), text, &a[1])?;
        if debug {
            eprintln!("tpl_debug: {out}");
        }
        Ok(out.into())
    });
    r.add("printf_debug", &[Str], Some(Any), move |a| {
        if debug {
            eprintln!("{}", crate::gofmt::sprintf(s(&a[0]), &a[1..]));
        }
        Ok("".into())
    });
    r.add("dump_debug", &[Any], None, move |a| {
        if debug {
            eprintln!("{}", crate::gofmt::sprintf("%#v", &a));
        }
        Ok("".into())
    });
    r.into_map()
}
