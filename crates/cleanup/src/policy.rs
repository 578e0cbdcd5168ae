//! `cleanup.keepPolicies` (spec §3.2): which references count and how many
//! images each keeps, with werf's defaults as its code has them.

use std::time::Duration;

use davit_config::model::{KeepPolicy as RawPolicy, Limit as RawLimit, MetaCleanup};
use regex::Regex;

use crate::CleanupError;

/// Which references a policy selects.
#[derive(Clone, Debug)]
pub enum Selector {
    /// Branch names without `origin/`.
    Branch(Regex),
    Tag(Regex),
}

/// `references.limit` and `imagesPerReference`: the last N and/or those
/// within a duration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Negative: unlimited.
    pub last: i64,
    pub within: Option<Duration>,
    /// `operator: Or` (else And).
    pub or: bool,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(d) = self.within {
            parts.push(format!("in={}", go_duration(d)));
        }
        if self.last >= 0 {
            parts.push(format!("last={}", self.last));
        }
        parts.push(format!("operator={}", if self.or { "Or" } else { "And" }));
        write!(f, "{{{}}}", parts.join(" "))
    }
}

/// Go's `Duration.String()` for whole seconds (`168h0m0s`).
fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}h{}m{}s", s / 3600, (s % 3600) / 60, s % 60)
}

#[derive(Clone, Debug)]
pub struct KeepPolicy {
    pub selector: Selector,
    /// How the selector was written, for logs and explanations.
    pub selector_text: String,
    pub limit: Option<Limit>,
    pub images: Limit,
}

impl std::fmt::Display for KeepPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.selector {
            Selector::Branch(_) => "branch",
            Selector::Tag(_) => "tag",
        };
        write!(f, "references={{{kind}={}", self.selector_text)?;
        if let Some(l) = &self.limit {
            write!(f, " limit={l}")?;
        }
        write!(f, "}} imagesPerReference={}", self.images)
    }
}

/// The reason of a regex error on one line (the crate's message draws
/// the pattern over several).
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    match text.lines().last().and_then(|l| l.strip_prefix("error: ")) {
        Some(reason) => reason.to_string(),
        None => text.lines().next().unwrap_or_default().to_string(),
    }
}

/// werf's `processRegexpString`: `/re/` is a regexp, anything else a
/// literal; both anchored.
fn reference_regex(text: &str) -> Result<Regex, regex::Error> {
    let inner = match text.strip_prefix('/').and_then(|t| t.strip_suffix('/')) {
        Some(re) if text.len() >= 2 => re.to_string(),
        _ => regex::escape(text),
    };
    Regex::new(&format!("^({inner})$"))
}

fn limit(raw: &RawLimit, default_last: i64, index: usize, at: &str) -> Result<Limit, CleanupError> {
    let within = match raw.within.as_ref().map(|t| t.0.clone()) {
        None => None,
        Some(text) => {
            let nanos = match text.parse::<i64>() {
                // yaml.v2 reads a bare integer as nanoseconds.
                Ok(n) => n,
                Err(_) => davit_gotmpl::funcs::date::parse_duration(&text).map_err(|e| {
                    CleanupError::Policy {
                        index,
                        key: format!("{at}.in"),
                        message: e.to_string(),
                        hint: "a Go duration such as 168h or 30m (there is no d unit)",
                    }
                })?,
            };
            Some(Duration::from_nanos(nanos.max(0) as u64))
        }
    };
    let or = match raw.operator.as_ref().map(|t| t.0.clone()).as_deref() {
        None | Some("And") => false,
        Some("Or") => true,
        Some(other) => {
            return Err(CleanupError::Policy {
                index,
                key: format!("{at}.operator"),
                message: format!("unsupported value {other:?} for `operator: Or|And`!"),
                hint: "operator is And or Or",
            })
        }
    };
    Ok(Limit {
        last: raw.last.unwrap_or(default_last),
        within,
        or,
    })
}

/// The keep policies of `cleanup`, or werf's defaults when none are given.
pub fn keep_policies(cleanup: &MetaCleanup) -> Result<Vec<KeepPolicy>, CleanupError> {
    if cleanup.keep_policies.is_empty() {
        return Ok(defaults());
    }
    cleanup
        .keep_policies
        .iter()
        .enumerate()
        .map(|(i, p)| one(p, i))
        .collect()
}

fn one(p: &RawPolicy, index: usize) -> Result<KeepPolicy, CleanupError> {
    let Some(refs) = &p.references else {
        return Err(CleanupError::Policy {
            index,
            key: String::new(),
            message: "cleanup keep policy must have references section!".into(),
            hint: "add references: {branch: …} or references: {tag: …}",
        });
    };
    let (kind, text) = match (&refs.branch, &refs.tag) {
        (Some(b), None) => ("branch", b.0.clone()),
        (None, Some(t)) => ("tag", t.0.clone()),
        _ => {
            let message = if refs.branch.is_none() {
                "tag `tag: string|REGEX` or branch `branch: string|REGEX` required for cleanup keep policy!"
            } else {
                "specify only tag `tag: string|REGEX` or branch `branch: string|REGEX` for cleanup keep policy!"
            };
            return Err(CleanupError::Policy {
                index,
                key: "references".into(),
                message: message.into(),
                hint: "one policy per kind of reference: split it in two",
            });
        }
    };
    let re = reference_regex(&text).map_err(|e| CleanupError::Policy {
        index,
        key: format!("references.{kind}"),
        message: format!("invalid value {text:?} for {kind:?}: {}", regex_reason(&e)),
        hint: "a literal name, or a regular expression between slashes: /^release-.*/",
    })?;
    let selector = if kind == "branch" {
        Selector::Branch(re)
    } else {
        Selector::Tag(re)
    };
    let lim = refs
        .limit
        .as_ref()
        .map(|l| limit(l, -1, index, "references.limit"))
        .transpose()?;
    let images = match &p.images_per_reference {
        Some(l) => limit(l, 1, index, "imagesPerReference")?,
        None => Limit {
            last: 1,
            within: None,
            or: false,
        },
    };
    Ok(KeepPolicy {
        selector,
        selector_text: text,
        limit: lim,
        images,
    })
}

/// werf's defaults, as coded (the docs give `last: 2` for the third).
pub fn defaults() -> Vec<KeepPolicy> {
    let week = Some(Duration::from_secs(168 * 3600));
    let re = |s: &str| Regex::new(s).expect("a valid built-in regex");
    vec![
        KeepPolicy {
            selector: Selector::Tag(re(".*")),
            selector_text: ".*".into(),
            limit: Some(Limit {
                last: 10,
                within: None,
                or: false,
            }),
            images: Limit {
                last: 1,
                within: None,
                or: false,
            },
        },
        KeepPolicy {
            selector: Selector::Branch(re(".*")),
            selector_text: ".*".into(),
            limit: Some(Limit {
                last: 10,
                within: week,
                or: false,
            }),
            images: Limit {
                last: 2,
                within: week,
                or: false,
            },
        },
        KeepPolicy {
            selector: Selector::Branch(re("^(main|master|staging|production)$")),
            selector_text: "^(main|master|staging|production)$".into(),
            limit: None,
            images: Limit {
                last: 10,
                within: None,
                or: false,
            },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_print_as_werf_logs_them() {
        let d = defaults();
        assert_eq!(
            d[0].to_string(),
            "references={tag=.* limit={last=10 operator=And}} imagesPerReference={last=1 operator=And}"
        );
        assert_eq!(
            d[1].to_string(),
            "references={branch=.* limit={in=168h0m0s last=10 operator=And}} imagesPerReference={in=168h0m0s last=2 operator=And}"
        );
        assert_eq!(
            d[2].to_string(),
            "references={branch=^(main|master|staging|production)$} imagesPerReference={last=10 operator=And}"
        );
    }

    #[test]
    fn literal_and_regex_references() {
        let lit = reference_regex("release.1").unwrap();
        assert!(lit.is_match("release.1") && !lit.is_match("releaseX1"));
        let re = reference_regex("/release-.*/").unwrap();
        assert!(re.is_match("release-2") && !re.is_match("xrelease-2"));
    }
}
