//! Helm's chart function set: sprig minus `env`/`expandenv`, plus
//! `include`, `tpl`, `required`, sigs.k8s.io/yaml `toYaml`/`fromYaml`,
//! `fromYamlArray`, `toJson`/`fromJson`/`fromJsonArray`, `toToml`, `lookup`.

use super::conv::s;
use super::json;
use super::sprig_registry;
use super::werf::register_engine_funcs;
use super::yaml::{from_yaml_array_json, from_yaml_json, to_yaml_json};
use crate::func::{FuncMap, Param::*};
use crate::value::{Map, Value};

#[derive(Clone, Default)]
pub struct HelmOptions {}

fn error_map(msg: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), Value::from(msg));
    Value::map(m)
}

pub fn helm_funcs(_opts: HelmOptions) -> FuncMap {
    let mut r = sprig_registry();
    register_engine_funcs(&mut r, true);
    r.add("toYaml", &[Any], None, |a| Ok(to_yaml_json(&a[0]).into()));
    r.add("mustToYaml", &[Any], None, |a| {
        super::yaml::value_to_yaml_json(&a[0]).map(|y| {
            davit_goyaml::marshal(&y)
                .trim_end_matches('\n')
                .to_string()
                .into()
        })
    });
    r.add("fromYaml", &[Str], None, |a| Ok(from_yaml_json(s(&a[0]))));
    r.add("fromYamlArray", &[Str], None, |a| {
        Ok(from_yaml_array_json(s(&a[0])))
    });
    r.add("toJson", &[Any], None, |a| {
        Ok(json::encode(&a[0], true, None).unwrap_or_default().into())
    });
    r.add("fromJson", &[Str], None, |a| match json::decode(s(&a[0])) {
        Ok(v @ Value::Map(..)) => Ok(v),
        Ok(other) => Ok(error_map(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json::json_kind(&other)
        ))),
        Err(e) => Ok(error_map(e)),
    });
    r.add("fromJsonArray", &[Str], None, |a| {
        match json::decode(s(&a[0])) {
            Ok(v @ Value::List(..)) => Ok(v),
            Ok(other) => Ok(Value::list(vec![Value::from(format!(
                "json: cannot unmarshal {} into Go value of type []interface {{}}",
                json::json_kind(&other)
            ))])),
            Err(e) => Ok(Value::list(vec![Value::from(e)])),
        }
    });
    r.add("toToml", &[Any], None, |a| {
        Ok(super::yaml_toml::to_toml(&a[0]).into())
    });
    r.add("lookup", &[Str, Str, Str, Str], None, |_| {
        Ok(Value::empty_map())
    });
    r.into_map()
}
