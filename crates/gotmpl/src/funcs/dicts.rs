//! sprig dict functions. Dicts are Go maps: `set`, `unset` and `merge`
//! change the map they are given, and templates rely on that.

use std::cell::RefCell;
use std::rc::Rc;

use super::conv::{empty, s, string_list, strval};
use super::Registry;
use crate::func::Param::*;
use crate::value::{ListType, Map, MapType, Value};

fn dict_ref(v: &Value) -> Rc<RefCell<Map>> {
    match v {
        Value::Map(m, _) => m.clone(),
        _ => Rc::new(RefCell::new(Map::new())),
    }
}

/// mergo's `isEmptyValue`.
fn mergo_empty(v: &Value) -> bool {
    empty(v)
}

/// mergo `Merge` of map `src` into map `dst` (`overwrite` for `WithOverride`).
fn merge_into(dst: &Rc<RefCell<Map>>, src: &Rc<RefCell<Map>>, overwrite: bool, depth: usize) {
    if Rc::ptr_eq(dst, src) || depth > 64 {
        return;
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, sv) in entries {
        let dv = dst.borrow().get(&k).cloned();
        if let (Value::Map(sm, _), Some(Value::Map(dm, _))) = (&sv, &dv) {
            merge_into(dm, sm, overwrite, depth + 1);
        }
        let src_is_container = matches!(sv, Value::Map(..) | Value::List(..));
        if let Some(d) = &dv {
            if !mergo_empty(d) && src_is_container {
                continue;
            }
        }
        let dst_missing_or_empty = dv.as_ref().is_none_or(mergo_empty);
        if overwrite || dst_missing_or_empty {
            dst.borrow_mut().insert(k, sv);
        }
    }
}

pub fn register(r: &mut Registry) {
    r.add("dict", &[], Some(Any), |a| {
        let mut m = Map::new();
        let mut it = a.chunks(2);
        for pair in it.by_ref() {
            let key = strval(&pair[0]);
            let val = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
            m.insert(key, val);
        }
        Ok(Value::map(m))
    });
    r.add("get", &[Dict, Str], None, |a| {
        Ok(dict_ref(&a[0])
            .borrow()
            .get(s(&a[1]))
            .cloned()
            .unwrap_or_else(|| Value::from("")))
    });
    r.add("set", &[Dict, Str, Any], None, |a| {
        if a[0].is_nil_or_invalid() {
            return Err("assignment to entry in nil map".into());
        }
        let m = dict_ref(&a[0]);
        m.borrow_mut().insert(s(&a[1]).to_string(), a[2].clone());
        Ok(Value::Map(m, MapType::StringInterface))
    });
    r.add("unset", &[Dict, Str], None, |a| {
        if a[0].is_nil_or_invalid() {
            return Ok(Value::Nil);
        }
        let m = dict_ref(&a[0]);
        m.borrow_mut().remove(s(&a[1]));
        Ok(Value::Map(m, MapType::StringInterface))
    });
    r.add("hasKey", &[Dict, Str], None, |a| {
        Ok(Value::Bool(dict_ref(&a[0]).borrow().contains_key(s(&a[1]))))
    });
    r.add("pluck", &[Str], Some(Dict), |a| {
        let key = s(&a[0]);
        let out: Vec<Value> = a[1..]
            .iter()
            .filter_map(|d| dict_ref(d).borrow().get(key).cloned())
            .collect();
        Ok(Value::list(out))
    });
    // Go ranges over maps in random order; davit returns keys sorted so
    // renders are reproducible (docs/template-compat.md).
    r.add("keys", &[], Some(Dict), |a| {
        let mut keys: Vec<String> = Vec::new();
        for d in &a {
            keys.extend(dict_ref(d).borrow().keys().cloned());
        }
        Ok(string_list(keys))
    });
    r.add("values", &[Dict], None, |a| {
        Ok(Value::list(
            dict_ref(&a[0]).borrow().values().cloned().collect(),
        ))
    });
    r.add("pick", &[Dict], Some(Str), |a| {
        let src = dict_ref(&a[0]);
        let src = src.borrow();
        let mut m = Map::new();
        for k in &a[1..] {
            if let Some(v) = src.get(s(k)) {
                m.insert(s(k).to_string(), v.clone());
            }
        }
        Ok(Value::map(m))
    });
    r.add("omit", &[Dict], Some(Str), |a| {
        let src = dict_ref(&a[0]);
        let omit: Vec<&str> = a[1..].iter().map(s).collect();
        let m = src
            .borrow()
            .iter()
            .filter(|(k, _)| !omit.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Value::map(m))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        r.add(name, &[Dict], Some(Dict), move |a| {
            let dst = dict_ref(&a[0]);
            for src in &a[1..] {
                merge_into(&dst, &dict_ref(src), overwrite, 0);
            }
            Ok(Value::Map(dst, MapType::StringInterface))
        });
    }
    r.add("dig", &[], Some(Any), |a| {
        if a.len() < 3 {
            return Err("dig needs at least three arguments".into());
        }
        let Value::Map(dict, _) = &a[a.len() - 1] else {
            return Err(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                a[a.len() - 1].type_name()
            ));
        };
        let default = a[a.len() - 2].clone();
        let mut keys = Vec::new();
        for k in &a[..a.len() - 2] {
            match k {
                Value::String(s) => keys.push(s.to_string()),
                other => {
                    return Err(format!(
                        "interface conversion: interface {{}} is {}, not string",
                        other.type_name()
                    ))
                }
            }
        }
        let mut cur = dict.clone();
        for (n, k) in keys.iter().enumerate() {
            let step = cur.borrow().get(k).cloned();
            let Some(step) = step else {
                return Ok(default);
            };
            if n == keys.len() - 1 {
                return Ok(step);
            }
            match step {
                Value::Map(m, MapType::StringInterface) => cur = m,
                other => {
                    return Err(format!(
                        "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                        other.type_name()
                    ))
                }
            }
        }
        Ok(default)
    });
    for name in ["deepCopy", "mustDeepCopy"] {
        r.add(name, &[Any], None, |a| match &a[0] {
            Value::Nil | Value::Invalid => {
                Err("reflect: call of reflect.Value.Type on zero Value".into())
            }
            v => Ok(v.deep_copy()),
        });
    }
    let _ = ListType::Interface;
}
