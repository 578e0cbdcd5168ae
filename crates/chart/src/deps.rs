//! Dependencies as Helm processes them before rendering: `alias` renames a
//! copy of the subchart, `tags` then `condition` enable or disable it
//! (conditions win; the first condition path that holds a boolean decides),
//! disabled subcharts are dropped, and `import-values` lift child values
//! into the parent (the parent's own values win).

use davit_gotmpl::Value;

use crate::chart::{Chart, ImportValue};
use crate::values::{as_map, coalesce, empty, path_get, Warnings};
use crate::ChartError;

/// Processes `chart`'s dependency tree for the user's values.
pub fn process(chart: &mut Chart, user: &Value, warnings: &mut Warnings) -> Result<(), ChartError> {
    process_enabled(chart, user, "", warnings)?;
    process_imports(chart, warnings);
    Ok(())
}

fn process_enabled(
    chart: &mut Chart,
    values: &Value,
    path: &str,
    warnings: &mut Warnings,
) -> Result<(), ChartError> {
    if chart.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let loaded = std::mem::take(&mut chart.dependencies);
    // Subcharts that Chart.yaml does not list are always kept.
    let mut kept: Vec<Chart> = loaded
        .iter()
        .filter(|c| {
            !chart
                .metadata
                .dependencies
                .iter()
                .any(|d| d.name == c.name())
        })
        .cloned()
        .collect();
    for dep in &mut chart.metadata.dependencies {
        let found = loaded.iter().find(|c| {
            c.name() == dep.name
                && (dep.version.is_empty() || version_matches(&dep.version, &c.metadata.version))
        });
        let Some(found) = found else {
            return Err(ChartError::Invalid {
                chart: chart.origin.clone(),
                message: format!(
                    "found in Chart.yaml, but missing in charts/ directory: {}",
                    dep.name
                ),
            });
        };
        let mut sub = found.clone();
        if !dep.alias.is_empty() {
            sub.metadata.name = dep.alias.clone();
            dep.name = dep.alias.clone();
        }
        kept.push(sub);
    }
    chart.dependencies = kept;

    let cvals = coalesce(chart, values, &mut Vec::new());
    let mut enabled: Vec<bool> = vec![true; chart.metadata.dependencies.len()];
    if let Some(tags) = path_get(&cvals, "tags").filter(|t| as_map(t).is_some()) {
        for (i, dep) in chart.metadata.dependencies.iter().enumerate() {
            let (mut has_true, mut has_false) = (false, false);
            for t in &dep.tags {
                match as_map(&tags).and_then(|m| m.borrow().get(t).cloned()) {
                    Some(Value::Bool(true)) => has_true = true,
                    Some(Value::Bool(false)) => has_false = true,
                    _ => {}
                }
            }
            if !has_true && has_false {
                enabled[i] = false;
            }
        }
    }
    for (i, dep) in chart.metadata.dependencies.iter().enumerate() {
        for cond in dep.condition.trim().split(',') {
            let cond = cond.trim();
            if cond.is_empty() {
                continue;
            }
            match path_get(&cvals, &format!("{path}{cond}")) {
                Some(Value::Bool(b)) => {
                    enabled[i] = b;
                    break;
                }
                Some(Value::Map(..)) | None => {}
                Some(_) => warnings.push(format!(
                    "Warning: Condition path '{cond}' for chart {} returned non-bool value",
                    dep.name
                )),
            }
        }
    }
    let disabled: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .zip(&enabled)
        .filter(|(_, e)| !**e)
        .map(|(d, _)| d.name.clone())
        .collect();
    chart
        .dependencies
        .retain(|c| !disabled.contains(&c.metadata.name));
    chart
        .metadata
        .dependencies
        .retain(|d| !disabled.contains(&d.name));
    for sub in &mut chart.dependencies {
        let sub_path = format!("{path}{}.", sub.metadata.name);
        process_enabled(sub, &cvals, &sub_path, warnings)?;
    }
    Ok(())
}

/// A `version:` constraint of a dependency (`1.2.3`, `^1.2`, `~1`, `>=1, <2`).
fn version_matches(constraint: &str, version: &str) -> bool {
    let Ok(v) = semver::Version::parse(version.trim_start_matches('v')) else {
        return true;
    };
    let normalized = constraint.replace(" || ", "||");
    normalized.split("||").any(|alt| {
        let alt = alt.trim();
        if alt.is_empty() || alt == "*" {
            return true;
        }
        // Masterminds: a bare version is an exact match; `x` wildcards.
        let req = alt.replace(".x", ".*").replace(".X", ".*");
        let req = if req.chars().next().is_some_and(|c| c.is_ascii_digit()) && !req.contains('*') {
            format!("={req}")
        } else {
            req
        };
        semver::VersionReq::parse(&req)
            .map(|r| r.matches(&v))
            .unwrap_or(true)
    })
}

fn process_imports(chart: &mut Chart, warnings: &mut Warnings) {
    for sub in &mut chart.dependencies {
        process_imports(sub, warnings);
    }
    if chart
        .metadata
        .dependencies
        .iter()
        .all(|d| d.import_values.is_empty())
    {
        return;
    }
    let cvals = coalesce(chart, &empty(), &mut Vec::new());
    let imported = empty();
    for dep in &chart.metadata.dependencies {
        for iv in &dep.import_values {
            let (child, parent) = match iv {
                ImportValue::Exports(name) => (format!("exports.{name}"), String::new()),
                ImportValue::Map { child, parent } => (child.clone(), parent.clone()),
            };
            let full = format!("{}.{child}", dep.name);
            let table = match path_get(&cvals, &full) {
                Some(t @ Value::Map(..)) => t,
                _ => {
                    warnings.push(format!(
                        "Warning: ImportValues missing table from chart {}: no table named {child:?}",
                        dep.name
                    ));
                    continue;
                }
            };
            let placed = if parent.is_empty() || parent == "." {
                table.deep_copy()
            } else {
                nest(&parent, table.deep_copy())
            };
            let merged = crate::values::merge_maps(&imported, &placed);
            if let (Some(dst), Some(src)) = (as_map(&imported), as_map(&merged)) {
                *dst.borrow_mut() = src.borrow().clone();
            }
        }
    }
    // The parent's values (with its subcharts' defaults) win over imports.
    chart.values = crate::values::merge_maps(&imported, &cvals);
}

fn nest(path: &str, value: Value) -> Value {
    path.rsplit('.').fold(value, |inner, key| {
        let m = empty();
        if let Some(mm) = as_map(&m) {
            mm.borrow_mut().insert(key.to_string(), inner);
        }
        m
    })
}
