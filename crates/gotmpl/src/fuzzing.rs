//! The entry point shared by the cargo-fuzz target and the in-tree fuzz
//! test: render arbitrary bytes under tight limits, with both function sets.

use std::rc::Rc;

use crate::funcs::{helm_funcs, werf_funcs, HelmOptions, WerfOptions};
use crate::{Limits, MissingKey, Template, Value};

const DATA: &str = r#"{"name":"app","Values":{"n":3,"f":1.5,"s":"str","b":true,"z":null,"l":[1,"a",null,{"k":"v"}],"m":{"a":1,"b":{"c":[1,2]}},"e":""}}"#;

/// Limits small enough that a fuzz iteration stays fast.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_depth: 64,
        max_output: 1 << 20,
        max_steps: 200_000,
    }
}

/// Parses and executes `data` (lossily decoded as UTF-8). The first byte
/// chooses the function set and missing-key mode. Returns the result so
/// tests can inspect it; the fuzzer only cares that it returns.
pub fn render_bytes(data: &[u8]) -> Result<String, crate::Error> {
    let (mode, rest) = match data.split_first() {
        Some((m, r)) => (*m, r),
        None => (0, data),
    };
    let text = String::from_utf8_lossy(rest);
    let helm = mode & 1 == 1;
    let funcs = if helm {
        helm_funcs(HelmOptions::default())
    } else {
        werf_funcs(WerfOptions {
            env: Rc::new(|name| Ok((name == "HOME").then(|| "/root".to_string()))),
            strict_env: mode & 2 == 2,
            debug_templates: false,
        })
    };
    let missing = match (mode >> 2) % 3 {
        0 => MissingKey::Default,
        1 => MissingKey::Zero,
        _ => MissingKey::Error,
    };
    let t = Template::with_options("main", funcs, missing, fuzz_limits());
    t.parse("main", &text)?;
    let json: serde_json::Value = serde_json::from_str(DATA).unwrap_or(serde_json::Value::Null);
    t.execute("main", &Value::from_json(&json))
}
