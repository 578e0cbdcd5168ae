//! sprig reflection helpers and flow control (`typeOf`, `kindIs`, `default`,
//! `ternary`, `coalesce`, `empty`…).

use super::conv::{deep_equal, empty, s};
use super::Registry;
use crate::func::Param::*;
use crate::value::Value;

fn type_of(v: &Value) -> String {
    match v {
        Value::Invalid | Value::Nil => "<nil>".into(),
        other => other.type_name(),
    }
}

pub fn register(r: &mut Registry) {
    r.add("typeOf", &[Any], None, |a| Ok(type_of(&a[0]).into()));
    r.add("typeIs", &[Str, Any], None, |a| {
        Ok(Value::Bool(s(&a[0]) == type_of(&a[1])))
    });
    r.add("typeIsLike", &[Str, Any], None, |a| {
        let t = type_of(&a[1]);
        Ok(Value::Bool(s(&a[0]) == t || format!("*{}", s(&a[0])) == t))
    });
    r.add("kindOf", &[Any], None, |a| Ok(a[0].kind_name().into()));
    r.add("kindIs", &[Str, Any], None, |a| {
        Ok(Value::Bool(s(&a[0]) == a[1].kind_name()))
    });
    r.add("deepEqual", &[Any, Any], None, |a| {
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });

    r.add("default", &[Any], Some(Any), |a| {
        if a.len() < 2 || empty(&a[1]) {
            return Ok(a[0].clone());
        }
        Ok(a[1].clone())
    });
    r.add("empty", &[Any], None, |a| Ok(Value::Bool(empty(&a[0]))));
    r.add("coalesce", &[], Some(Any), |a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    r.add("all", &[], Some(Any), |a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    });
    r.add("any", &[], Some(Any), |a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    });
    r.add("ternary", &[Any, Any, Bool], None, |a| {
        Ok(if a[2].truth() {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    r.add("fail", &[Str], None, |a| Err(s(&a[0]).to_string()));
}
