//! `values.schema.json`: each chart's values checked against its schema,
//! subcharts with the values they receive.

use davit_gotmpl::Value;

use crate::chart::Chart;
use crate::values::{as_map, empty};
use crate::ChartError;

pub(crate) fn validate_tree(chart: &Chart, values: &Value) -> Result<(), ChartError> {
    let mut problems = String::new();
    walk(chart, values, &mut problems)?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ChartError::Schema(problems))
    }
}

fn walk(chart: &Chart, values: &Value, problems: &mut String) -> Result<(), ChartError> {
    if let Some(schema) = &chart.schema {
        let schema: serde_json::Value =
            serde_json::from_slice(schema).map_err(|e| ChartError::Invalid {
                chart: chart.origin.clone(),
                message: format!("values.schema.json is not valid JSON: {e}"),
            })?;
        let validator = jsonschema::validator_for(&schema).map_err(|e| ChartError::Invalid {
            chart: chart.origin.clone(),
            message: format!("values.schema.json is not a valid JSON schema: {e}"),
        })?;
        let instance = to_json(values);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| {
                let path = e.instance_path.to_string();
                let at = if path.is_empty() {
                    "(root)".to_string()
                } else {
                    path
                };
                format!("- at '{at}': {e}")
            })
            .collect();
        if !errors.is_empty() {
            problems.push_str(&format!("{}:\n{}\n", chart.name(), errors.join("\n")));
        }
    }
    for sub in &chart.dependencies {
        let sub_values = as_map(values)
            .and_then(|m| m.borrow().get(sub.name()).cloned())
            .unwrap_or_else(empty);
        walk(sub, &sub_values, problems)?;
    }
    Ok(())
}

/// Values as JSON (Go's `encoding/json` view of them).
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Invalid | Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) | Value::Int64(i) => serde_json::Value::from(*i),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 9e15 {
                serde_json::Value::from(*f as i64)
            } else {
                serde_json::Number::from_f64(*f)
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null)
            }
        }
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::Bytes(b) => serde_json::Value::String(String::from_utf8_lossy(b).into_owned()),
        Value::List(items, _) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(m, _) => serde_json::Value::Object(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::Object(_) | Value::Func(_) => serde_json::Value::Null,
    }
}
