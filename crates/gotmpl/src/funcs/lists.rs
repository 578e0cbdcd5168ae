//! sprig list functions.

use std::rc::Rc;

use super::conv::{deep_equal, empty, i, int_list, list_items, to_int64};
use super::Registry;
use crate::func::Param::*;
use crate::value::{ListType, Value};

/// sprig's check: a slice, else "Cannot VERB on type KIND" (Go names the
/// kind, and a nil argument crashes sprig with a nil dereference).
fn need_list(v: &Value, verb: &str) -> Result<Vec<Value>, String> {
    if v.is_nil_or_invalid() {
        return Err("runtime error: invalid memory address or nil pointer dereference".into());
    }
    list_items(v).ok_or_else(|| format!("Cannot {verb} on type {}", v.kind_name()))
}

pub fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    let mut v = Vec::new();
    let limit = 10_000_000usize;
    if stop < start {
        if step >= 0 {
            return Ok(v);
        }
        let mut i = start;
        while i > stop {
            v.push(i);
            if v.len() > limit {
                return Err("untilStep: list too long".into());
            }
            i += step;
        }
        return Ok(v);
    }
    if step <= 0 {
        return Ok(v);
    }
    let mut i = start;
    while i < stop {
        v.push(i);
        if v.len() > limit {
            return Err("untilStep: list too long".into());
        }
        i += step;
    }
    Ok(v)
}

fn seq(p: &[i64]) -> Result<String, String> {
    let join = |v: Vec<i64>| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    Ok(match p.len() {
        1 => {
            let (start, end) = (1, p[0]);
            let inc = if end < start { -1 } else { 1 };
            join(until_step(start, end + inc, inc)?)
        }
        2 => {
            let (start, end) = (p[0], p[1]);
            let step = if end < start { -1 } else { 1 };
            join(until_step(start, end + step, step)?)
        }
        3 => {
            let (start, step, end) = (p[0], p[1], p[2]);
            let mut inc = 1;
            if end < start {
                inc = -1;
                if step > 0 {
                    return Ok(String::new());
                }
            }
            join(until_step(start, end + inc, step)?)
        }
        _ => String::new(),
    })
}

fn ilist(v: Vec<Value>) -> Value {
    Value::List(Rc::new(v), ListType::Interface)
}

/// Registers a list function and its `must` twin: the plain one turns an
/// error into a Go panic, which the engine reports the same way.
fn both(
    r: &mut Registry,
    name: &str,
    params: &[crate::func::Param],
    f: fn(Vec<Value>) -> Result<Value, String>,
) {
    r.add(name, params, None, f);
    let must = format!("must{}{}", name[..1].to_uppercase(), &name[1..]);
    r.add(&must, params, None, f);
}

pub fn register(r: &mut Registry) {
    r.add("list", &[], Some(Any), |a| Ok(ilist(a)));
    r.add("tuple", &[], Some(Any), |a| Ok(ilist(a)));
    r.add("until", &[Int], None, |a| {
        let c = i(&a[0]);
        Ok(int_list(until_step(0, c, if c < 0 { -1 } else { 1 })?))
    });
    r.add("untilStep", &[Int, Int, Int], None, |a| {
        Ok(int_list(until_step(i(&a[0]), i(&a[1]), i(&a[2]))?))
    });
    r.add("seq", &[], Some(Int), |a| {
        let p: Vec<i64> = a.iter().map(i).collect();
        Ok(seq(&p)?.into())
    });
    for name in ["append", "push"] {
        both(r, name, &[Any, Any], |a| {
            let mut l = need_list(&a[0], "push")?;
            l.push(a[1].clone());
            Ok(ilist(l))
        });
    }
    both(r, "prepend", &[Any, Any], |a| {
        let mut l = need_list(&a[0], "prepend")?;
        l.insert(0, a[1].clone());
        Ok(ilist(l))
    });
    both(r, "first", &[Any], |a| {
        let l = need_list(&a[0], "find first")?;
        Ok(l.first().cloned().unwrap_or(Value::Nil))
    });
    both(r, "last", &[Any], |a| {
        let l = need_list(&a[0], "find last")?;
        Ok(l.last().cloned().unwrap_or(Value::Nil))
    });
    both(r, "rest", &[Any], |a| {
        let l = need_list(&a[0], "find rest")?;
        if l.is_empty() {
            return Ok(ilist(Vec::new()));
        }
        Ok(ilist(l[1..].to_vec()))
    });
    both(r, "initial", &[Any], |a| {
        let l = need_list(&a[0], "find initial")?;
        if l.is_empty() {
            return Ok(ilist(Vec::new()));
        }
        Ok(ilist(l[..l.len() - 1].to_vec()))
    });
    both(r, "reverse", &[Any], |a| {
        let mut l = need_list(&a[0], "find reverse")?;
        l.reverse();
        Ok(ilist(l))
    });
    both(r, "uniq", &[Any], |a| {
        let l = need_list(&a[0], "find uniq")?;
        let mut out: Vec<Value> = Vec::new();
        for item in l {
            if !out.iter().any(|o| deep_equal(o, &item)) {
                out.push(item);
            }
        }
        Ok(ilist(out))
    });
    both(r, "compact", &[Any], |a| {
        let l = need_list(&a[0], "compact")?;
        Ok(ilist(l.into_iter().filter(|v| !empty(v)).collect()))
    });
    r.add("without", &[Any], Some(Any), |a| {
        let l = need_list(&a[0], "find without")?;
        let omit = &a[1..];
        Ok(ilist(
            l.into_iter()
                .filter(|v| !omit.iter().any(|o| deep_equal(o, v)))
                .collect(),
        ))
    });
    r.add("mustWithout", &[Any], Some(Any), |a| {
        let l = need_list(&a[0], "find without")?;
        let omit = &a[1..];
        Ok(ilist(
            l.into_iter()
                .filter(|v| !omit.iter().any(|o| deep_equal(o, v)))
                .collect(),
        ))
    });
    for name in ["has", "mustHas"] {
        r.add(name, &[Any, Any], None, |a| {
            if a[1].is_nil_or_invalid() {
                return Ok(Value::Bool(false));
            }
            let l = need_list(&a[1], "find has")?;
            Ok(Value::Bool(l.iter().any(|v| deep_equal(v, &a[0]))))
        });
    }
    for name in ["slice", "mustSlice"] {
        r.add(name, &[Any], Some(Any), |a| {
            let (items, t) = match &a[0] {
                Value::List(l, t) => (l.as_ref().clone(), *t),
                Value::Invalid | Value::Nil => {
                    return Err("reflect: call of reflect.Value.Kind on zero Value".into())
                }
                other => {
                    return Err(format!(
                        "list should be type of slice or array but {}",
                        other.kind_name()
                    ))
                }
            };
            if items.is_empty() {
                return Ok(Value::Nil);
            }
            let start = a.get(1).map(to_int64).unwrap_or(0);
            let end = if a.len() < 3 {
                items.len() as i64
            } else {
                to_int64(&a[2])
            };
            if start < 0 || end < start || end as usize > items.len() {
                return Err("reflect: slice index out of range".to_string());
            }
            Ok(Value::List(
                Rc::new(items[start as usize..end as usize].to_vec()),
                t,
            ))
        });
    }
    r.add("concat", &[], Some(Any), |a| {
        let mut out = Vec::new();
        for l in &a {
            match list_items(l) {
                Some(items) => out.extend(items),
                None => return Err(format!("Cannot concat type {} as list", l.kind_name())),
            }
        }
        Ok(ilist(out))
    });
    for name in ["chunk", "mustChunk"] {
        r.add(name, &[Int, Any], None, |a| {
            let size = i(&a[0]);
            let l = need_list(&a[1], "chunk")?;
            if size <= 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(ilist(
                l.chunks(size as usize).map(|c| ilist(c.to_vec())).collect(),
            ))
        });
    }
}
