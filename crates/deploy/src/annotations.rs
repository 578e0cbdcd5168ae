//! `--add-annotation`/`--add-label` and their `WERF_ADD_ANNOTATION_*` /
//! `WERF_ADD_LABEL_*` forms (spec §5.6). werf's service annotations
//! (`project.werf.io/*`, `*ci.werf.io/*`, `werf.io/release-channel`) are
//! applied at deploy time only; the others are baked into the manifests.

use crate::DeployError;

/// Parses `key=value` pairs: environment variables first (sorted by
/// variable name), then the flags, in order.
pub fn parse_pairs(
    what: &'static str,
    env: &[(String, String)],
    flags: &[String],
) -> Result<Vec<(String, String)>, DeployError> {
    let mut env: Vec<&(String, String)> = env.iter().collect();
    env.sort_by(|a, b| a.0.cmp(&b.0));
    env.iter()
        .map(|(_, v)| v.as_str())
        .chain(flags.iter().map(String::as_str))
        .map(|text| {
            let (k, v) = text.split_once('=').ok_or_else(|| DeployError::BadPair {
                what,
                text: text.to_string(),
                reason: "expected key=value",
            })?;
            if k.is_empty() {
                return Err(DeployError::BadPair {
                    what,
                    text: text.to_string(),
                    reason: "the key is empty",
                });
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// True for annotations werf keeps for deploy time and never renders.
pub fn is_service_annotation(key: &str) -> bool {
    key.starts_with("project.werf.io/")
        || key.contains("ci.werf.io/")
        || key == "werf.io/release-channel"
}

/// The annotations `render` bakes into the manifests.
pub fn extra_annotations(all: Vec<(String, String)>) -> Vec<(String, String)> {
    all.into_iter()
        .filter(|(k, _)| !is_service_annotation(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_service_and_extra() {
        let env = vec![
            (
                "WERF_ADD_ANNOTATION_X".to_string(),
                "example.com/owner=ops".to_string(),
            ),
            (
                "WERF_ADD_ANNOTATION_GIT".to_string(),
                "project.werf.io/git=https://x".to_string(),
            ),
        ];
        let flags = vec![
            "team=platform".to_string(),
            "ci.werf.io/commit=abc".to_string(),
        ];
        let all = parse_pairs("annotation", &env, &flags).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].0, "project.werf.io/git");
        let extra = extra_annotations(all);
        assert_eq!(
            extra,
            vec![
                ("example.com/owner".to_string(), "ops".to_string()),
                ("team".to_string(), "platform".to_string())
            ]
        );
        assert!(parse_pairs("label", &[], &["novalue".into()]).is_err());
        assert!(parse_pairs("label", &[], &["=v".into()]).is_err());
    }
}
