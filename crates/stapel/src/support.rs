//! The stapel features davit cannot plan or build yet. An image that uses
//! one gets an error naming it and the image; the rest of the config still
//! plans.

use davit_config::model::StapelImage;

/// The unsupported features an image uses, by their werf.yaml names.
pub fn unsupported_features(s: &StapelImage) -> Vec<&'static str> {
    let mut found = Vec::new();
    if s.ansible.is_some() {
        found.push("ansible");
    }
    found
}

/// What davit can plan but not build yet: today the same features.
pub fn unsupported_for_build(s: &StapelImage) -> Vec<&'static str> {
    unsupported_features(s)
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
            "shell": {"install": "make"},
            "secrets": [{"env": "TOKEN"}],
            "git": [{"url": "https://example.com/a/b.git", "to": "/b"}]
        }))
        .expect("stapel image");
        assert_eq!(unsupported_features(&s), ["ansible"]);
        assert_eq!(unsupported_for_build(&s), ["ansible"]);
        let plain: StapelImage = serde_json::from_value(
            serde_json::json!({"from": "alpine", "shell": {"install": "x"}}),
        )
        .expect("stapel image");
        assert!(unsupported_features(&plain).is_empty());
    }
}
