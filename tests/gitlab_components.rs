//! The GitLab CI/CD components: a `spec:inputs` header with typed inputs,
//! and a job body that uses only declared inputs.

use davit_goyaml::{load_all, Yaml};

#[test]
fn components_declare_typed_inputs_and_use_only_those() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gitlab-ci-templates/templates");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("templates") {
        let path = entry.expect("entry").path().join("template.yml");
        let text = std::fs::read_to_string(&path).expect("template.yml");
        let (header, body) = text
            .split_once("\n---\n")
            .expect("a spec header and a body");
        let spec = load_all(header).expect("spec YAML");
        let Yaml::Map(root) = &spec[0].value else {
            panic!("{}: spec is a map", path.display())
        };
        let inputs = root
            .iter()
            .find(|(k, _)| k.value == Yaml::Str("spec".into()))
            .and_then(|(_, v)| match &v.value {
                Yaml::Map(m) => m
                    .iter()
                    .find(|(k, _)| k.value == Yaml::Str("inputs".into())),
                _ => None,
            })
            .map(|(_, v)| v.clone())
            .expect("spec.inputs");
        let Yaml::Map(inputs) = inputs.value else {
            panic!("inputs is a map")
        };
        let mut names = Vec::new();
        for (name, def) in &inputs {
            let Yaml::Str(name) = &name.value else {
                panic!("input names are strings")
            };
            let Yaml::Map(def) = &def.value else {
                panic!("{name}: a map")
            };
            let ty = def
                .iter()
                .find(|(k, _)| k.value == Yaml::Str("type".into()))
                .map(|(_, v)| v.value.clone());
            if let Some(ty) = ty {
                assert!(
                    matches!(ty, Yaml::Str(ref t) if ["string", "boolean", "number", "array"].contains(&t.as_str())),
                    "{}: input {name} has type {ty:?}",
                    path.display()
                );
            }
            names.push(name.clone());
        }
        load_all(&body.replace("$[[", "x").replace("]]", "x")).expect("body YAML");
        for used in body.split("$[[ inputs.").skip(1) {
            let name = used.split(' ').next().unwrap_or_default();
            assert!(
                names.iter().any(|n| n == name),
                "{}: uses undeclared input {name}",
                path.display()
            );
        }
        seen += 1;
    }
    assert!(seen >= 2, "the build and converge components exist");
}
