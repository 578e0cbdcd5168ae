//! werf's service labels written into the Dockerfile as one `LABEL`
//! instruction. The Engine API's `labels` parameter makes the classic
//! builder run one extra step (a container commit, ~0.1 s) per label; one
//! instruction costs one step. The digest is computed from the original
//! Dockerfile, so this rewrite changes nothing but speed.

use std::collections::BTreeMap;

use super::parse::{parse, ParseError};

/// Characters that would need escaping or expansion inside a LABEL value.
fn needs_api(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '"' | '\\' | '`' | '$' | '\n' | '\r'))
}

/// Returns the Dockerfile with a `LABEL` after the last instruction of the
/// target stage (the last stage without a target), and the labels that
/// could not be written safely and must go through the API instead.
pub fn with_labels(
    text: &str,
    target: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> Result<(String, BTreeMap<String, String>), ParseError> {
    let (inline, api): (BTreeMap<_, _>, BTreeMap<_, _>) = labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, v)| !needs_api(k) && !needs_api(v));
    if inline.is_empty() {
        return Ok((text.to_string(), api));
    }
    let (instructions, _) = parse(text)?;
    let froms: Vec<(usize, Option<String>)> = instructions
        .iter()
        .filter(|i| i.keyword == "from")
        .map(|i| {
            let words: Vec<&str> = i.args.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, as_kw, name, ..] if as_kw.eq_ignore_ascii_case("as") => {
                    Some(name.to_ascii_lowercase())
                }
                _ => None,
            };
            (i.line, name)
        })
        .collect();
    let stage = match target {
        Some(t) => froms
            .iter()
            .position(|(_, n)| n.as_deref() == Some(t.to_ascii_lowercase().as_str())),
        None => None,
    };
    let label = format!(
        "LABEL {}",
        inline
            .iter()
            .map(|(k, v)| format!("\"{k}\"=\"{v}\""))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // Insert before the FROM that follows the target stage, or append.
    let next_from_line = stage.and_then(|i| froms.get(i + 1)).map(|(line, _)| *line);
    let out = match next_from_line {
        Some(line) => {
            let mut lines: Vec<&str> = text.split('\n').collect();
            let at = line.saturating_sub(1).min(lines.len());
            lines.insert(at, &label);
            lines.join("\n")
        }
        None => {
            let mut s = text.to_string();
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&label);
            s.push('\n');
            s
        }
    };
    Ok((out, api))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("werf".to_string(), "proj".to_string()),
            ("werf-version".to_string(), "davit 0.1.0".to_string()),
            ("odd".to_string(), "a$b".to_string()),
        ])
    }

    #[test]
    fn appends_to_the_last_stage() {
        let (out, api) = with_labels("FROM a\nRUN x", None, &labels()).expect("parse");
        assert_eq!(
            out,
            "FROM a\nRUN x\nLABEL \"werf\"=\"proj\" \"werf-version\"=\"davit 0.1.0\"\n"
        );
        assert_eq!(api.get("odd").map(String::as_str), Some("a$b"));
    }

    #[test]
    fn inserts_after_the_target_stage() {
        let df = "FROM a AS build\nRUN x \\\n  y\nFROM b AS Final\nCOPY --from=build / /\n";
        let (out, _) = with_labels(df, Some("build"), &labels()).expect("parse");
        assert_eq!(
            out,
            "FROM a AS build\nRUN x \\\n  y\nLABEL \"werf\"=\"proj\" \"werf-version\"=\"davit 0.1.0\"\nFROM b AS Final\nCOPY --from=build / /\n"
        );
        let (out, _) = with_labels(df, Some("final"), &labels()).expect("parse");
        assert!(out.ends_with(
            "COPY --from=build / /\nLABEL \"werf\"=\"proj\" \"werf-version\"=\"davit 0.1.0\"\n"
        ));
    }
}
