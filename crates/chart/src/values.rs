//! Values: reading `values.yaml` as Helm does (sigs.k8s.io/yaml: YAML 1.1
//! scalars, every number a `float64`), merging user inputs (`--values`
//! files: maps merge, everything else is replaced) and coalescing them with
//! a chart's defaults and its subcharts' (user values win; a user `null`
//! deletes a default; parent globals flow down).

use std::cell::RefCell;
use std::rc::Rc;

use davit_gotmpl::funcs::yaml::yaml_json_to_value;
use davit_gotmpl::{Map, MapType, Value};
use davit_goyaml::Yaml;

use crate::chart::Chart;
use crate::ChartError;

pub type MapRef = Rc<RefCell<Map>>;

/// A `values.yaml`-style document as a map; an empty document is `{}`.
pub fn parse_values(text: &str, file: &str) -> Result<Value, ChartError> {
    let docs = davit_goyaml::load_all(text).map_err(|e| ChartError::Yaml {
        file: file.to_string(),
        message: e.go_message(),
    })?;
    match docs.into_iter().next().map(|d| d.value) {
        None | Some(Yaml::Null) => Ok(empty()),
        Some(y @ Yaml::Map(_)) => Ok(to_string_interface(&yaml_json_to_value(&y))),
        Some(_) => Err(ChartError::Yaml {
            file: file.to_string(),
            message: "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}".into(),
        }),
    }
}

/// Converts `map[interface {}]interface {}` maps (yaml.v2) to Helm's
/// `map[string]interface {}` throughout.
pub fn to_string_interface(v: &Value) -> Value {
    match v {
        Value::Map(m, _) => Value::Map(
            Rc::new(RefCell::new(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), to_string_interface(v)))
                    .collect(),
            )),
            MapType::StringInterface,
        ),
        Value::List(items, _) => Value::list(items.iter().map(to_string_interface).collect()),
        other => other.clone(),
    }
}

/// An empty `map[string]interface {}`.
pub fn empty() -> Value {
    Value::Map(Rc::default(), MapType::StringInterface)
}

pub fn as_map(v: &Value) -> Option<&MapRef> {
    match v {
        Value::Map(m, _) => Some(m),
        _ => None,
    }
}

/// Helm's `mergeMaps` for `--values` files: `b` over `a`, maps merged.
pub fn merge_maps(a: &Value, b: &Value) -> Value {
    let out = a.deep_copy();
    if let (Some(out_map), Some(b_map)) = (as_map(&out), as_map(b)) {
        let b_map = b_map.borrow();
        let mut o = out_map.borrow_mut();
        for (k, bv) in b_map.iter() {
            let merged = match (o.get(k), bv) {
                (Some(av @ Value::Map(..)), Value::Map(..)) => merge_maps(av, bv),
                _ => bv.deep_copy(),
            };
            o.insert(k.clone(), merged);
        }
    }
    out
}

/// Reads a value at a dotted path (`a.b.c`) of a values map.
pub fn path_get(values: &Value, path: &str) -> Option<Value> {
    let mut cur = values.clone();
    for part in path.split('.') {
        let next = as_map(&cur)?.borrow().get(part).cloned()?;
        cur = next;
    }
    Some(cur)
}

/// A deep copy of a chart default without its `null` entries: a default
/// set to null is no value at all (it deletes nothing below it either).
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Map(m, t) => Value::Map(
            Rc::new(RefCell::new(
                m.borrow()
                    .iter()
                    .filter(|(_, v)| !matches!(v, Value::Nil))
                    .map(|(k, v)| (k.clone(), without_nulls(v)))
                    .collect(),
            )),
            *t,
        ),
        other => other.deep_copy(),
    }
}

/// A warning Helm prints while coalescing (a table replaced by a scalar…).
pub type Warnings = Vec<String>;

/// Helm's `CoalesceValues`: the chart's defaults (and its subcharts', under
/// their names) under the user's values.
pub fn coalesce(chart: &Chart, user: &Value, warnings: &mut Warnings) -> Value {
    let dest = user.deep_copy();
    let dest = if as_map(&dest).is_some() {
        dest
    } else {
        empty()
    };
    coalesce_chart(chart, &dest, "", warnings);
    dest
}

fn coalesce_chart(chart: &Chart, dest: &Value, prefix: &str, warnings: &mut Warnings) {
    coalesce_values(&chart.values, dest, prefix, warnings);
    coalesce_deps(chart, dest, prefix, warnings);
}

/// Fills `dest` from a chart's defaults `src`.
fn coalesce_values(src: &Value, dest: &Value, prefix: &str, warnings: &mut Warnings) {
    let (Some(src), Some(dest)) = (as_map(src), as_map(dest)) else {
        return;
    };
    let src = src.borrow();
    let mut d = dest.borrow_mut();
    for (k, sv) in src.iter() {
        match d.get(k).cloned() {
            None => {
                if !matches!(sv, Value::Nil) {
                    d.insert(k.clone(), without_nulls(sv));
                }
            }
            Some(Value::Nil) => {
                d.remove(k);
            }
            Some(dv @ Value::Map(..)) => match sv {
                Value::Map(..) => coalesce_tables(&dv, sv, &format!("{prefix}{k}."), warnings),
                Value::Nil => {}
                _ => warnings.push(format!(
                    "warning: skipped value for {prefix}{k}: Not a table."
                )),
            },
            Some(_) => {}
        }
    }
}

/// Fills table `dst` from `src` recursively; `null` in `dst` deletes.
fn coalesce_tables(dst: &Value, src: &Value, prefix: &str, warnings: &mut Warnings) {
    let (Some(dm), Some(sm)) = (as_map(dst), as_map(src)) else {
        return;
    };
    if Rc::ptr_eq(dm, sm) {
        return;
    }
    let sm = sm.borrow();
    let mut d = dm.borrow_mut();
    for (k, sv) in sm.iter() {
        match d.get(k).cloned() {
            None => {
                if !matches!(sv, Value::Nil) {
                    d.insert(k.clone(), without_nulls(sv));
                }
            }
            Some(Value::Nil) => {
                d.remove(k);
            }
            Some(dv @ Value::Map(..)) => match sv {
                Value::Map(..) => coalesce_tables(&dv, sv, &format!("{prefix}{k}."), warnings),
                Value::Nil => {}
                _ => warnings.push(format!(
                    "warning: cannot overwrite table with non table for {prefix}{k} ({})",
                    davit_gotmpl::gofmt::to_string_v(sv)
                )),
            },
            Some(_) => {
                if let Value::Map(..) = sv {
                    warnings.push(format!(
                        "warning: destination for {prefix}{k} is a table. Ignoring non-table value ({})",
                        davit_gotmpl::gofmt::to_string_v(&d[k])
                    ));
                }
            }
        }
    }
}

fn coalesce_deps(chart: &Chart, dest: &Value, prefix: &str, warnings: &mut Warnings) {
    let Some(dm) = as_map(dest) else { return };
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        let existing = dm.borrow().get(&name).cloned();
        let sub_values = match existing {
            None => {
                let v = empty();
                dm.borrow_mut().insert(name.clone(), v.clone());
                v
            }
            Some(v @ Value::Map(..)) => v,
            Some(other) => {
                warnings.push(format!(
                    "warning: skipped value for {prefix}{name}: Not a table. ({})",
                    davit_gotmpl::gofmt::to_string_v(&other)
                ));
                continue;
            }
        };
        coalesce_globals(&sub_values, dest);
        coalesce_chart(sub, &sub_values, &format!("{prefix}{name}."), warnings);
    }
}

/// Copies the parent's `global` into a subchart's values; the parent wins.
pub(crate) fn coalesce_globals(sub: &Value, parent: &Value) {
    let (Some(sm), Some(pm)) = (as_map(sub), as_map(parent)) else {
        return;
    };
    let parent_global = match pm.borrow().get("global") {
        Some(g @ Value::Map(..)) => g.clone(),
        _ => empty(),
    };
    let sub_global = match sm.borrow().get("global") {
        Some(g @ Value::Map(..)) => g.deep_copy(),
        _ => empty(),
    };
    if let (Some(sg), Some(pg)) = (as_map(&sub_global), as_map(&parent_global)) {
        let pg = pg.borrow();
        let mut sgm = sg.borrow_mut();
        for (k, pv) in pg.iter() {
            match (sgm.get(k).cloned(), pv) {
                (Some(sv @ Value::Map(..)), Value::Map(..)) => {
                    // The parent's table over the subchart's own.
                    let merged = pv.deep_copy();
                    coalesce_tables(&merged, &sv, "", &mut Vec::new());
                    sgm.insert(k.clone(), merged);
                }
                _ => {
                    sgm.insert(k.clone(), pv.deep_copy());
                }
            }
        }
    }
    sm.borrow_mut().insert("global".into(), sub_global);
}

/// Values as JSON (Go's `encoding/json` view of them).
pub fn to_json(v: &Value) -> serde_json::Value {
    crate::schema::to_json(v)
}
