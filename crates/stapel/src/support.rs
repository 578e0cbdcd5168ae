//! The stapel features davit cannot plan or build yet. An image that uses
//! one gets an error naming it and the image; the rest of the config still
//! plans.

use davit_config::model::StapelImage;

/// The unsupported features an image uses, by their werf.yaml names.
pub fn unsupported_features(
    s: &StapelImage,
    is_config_image: &dyn Fn(&str) -> bool,
) -> Vec<&'static str> {
    let mut found = Vec::new();
    if s.ansible.is_some() {
        found.push("ansible");
    }
    let external = |i: &davit_config::model::Import| {
        let name = i.image.as_ref().or(i.from.as_ref()).or(i.artifact.as_ref());
        name.is_some_and(|n| !is_config_image(&n.0))
    };
    if s.import.iter().any(external) {
        found.push("import from an external image");
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unsupported_feature_is_named() {
        let s: StapelImage = serde_json::from_value(serde_json::json!({
            "from": "alpine",
            "ansible": {"install": [{"command": "true"}]},
            "import": [{"from": "alpine:3", "add": "/x", "after": "install"}],
            "git": [{"url": "https://example.com/a/b.git", "to": "/b"}]
        }))
        .expect("stapel image");
        let internal = |n: &str| n == "a";
        assert_eq!(
            unsupported_features(&s, &internal),
            ["ansible", "import from an external image"]
        );
        let plain: StapelImage = serde_json::from_value(
            serde_json::json!({"from": "alpine", "shell": {"install": "x"}}),
        )
        .expect("stapel image");
        assert!(unsupported_features(&plain, &internal).is_empty());
    }
}
