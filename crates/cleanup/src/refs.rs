//! Which git references the policies select (spec §3.5, "reference
//! selection"): remote branches of `origin` and tags, each with the
//! images-per-reference policy of the last policy that selected it,
//! branches newest first, then tags newest first.

use crate::policy::{KeepPolicy, Limit, Selector};

/// A branch (`origin/<name>`) or tag of the local clone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitRef {
    /// `origin/main`, `v1.2`.
    pub name: String,
    pub is_tag: bool,
    /// The commit it points to (a tag peeled).
    pub head: String,
    /// Unix seconds: the head's committer time, or an annotated tag's tagger time.
    pub created_at: i64,
}

/// A selected reference and the images it keeps.
#[derive(Clone, Debug)]
pub struct ScanRef {
    pub git: GitRef,
    pub images: Limit,
    /// The policy that set `images` (its position, for explanations).
    pub policy: usize,
}

fn apply_limit<'a>(refs: Vec<&'a GitRef>, limit: &Option<Limit>, now: i64) -> Vec<&'a GitRef> {
    let Some(l) = limit else { return refs };
    let in_refs: Vec<&GitRef> = match l.within {
        Some(d) => refs
            .iter()
            .copied()
            .filter(|r| r.created_at > now - d.as_secs() as i64)
            .collect(),
        None => refs.clone(),
    };
    let last_refs: Vec<&GitRef> = if l.last < 0 {
        refs.clone()
    } else {
        let mut sorted = refs.clone();
        sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.name.cmp(&b.name)));
        sorted.into_iter().take(l.last as usize).collect()
    };
    let has =
        |set: &[&GitRef], r: &GitRef| set.iter().any(|x| x.name == r.name && x.is_tag == r.is_tag);
    refs.into_iter()
        .filter(|r| {
            if l.or {
                has(&in_refs, r) || has(&last_refs, r)
            } else {
                has(&in_refs, r) && has(&last_refs, r)
            }
        })
        .collect()
}

/// The references to scan, in werf's order: branches by creation time
/// descending, then tags the same way.
pub fn references_to_scan(refs: &[GitRef], policies: &[KeepPolicy], now: i64) -> Vec<ScanRef> {
    let branches: Vec<&GitRef> = refs.iter().filter(|r| !r.is_tag).collect();
    let tags: Vec<&GitRef> = refs.iter().filter(|r| r.is_tag).collect();
    // (ref index in `refs`, policy index): the last policy to select a ref wins.
    let mut chosen: Vec<Option<usize>> = vec![None; refs.len()];
    for (pi, p) in policies.iter().enumerate() {
        let selected: Vec<&GitRef> = match &p.selector {
            Selector::Branch(re) => branches
                .iter()
                .copied()
                .filter(|b| re.is_match(b.name.strip_prefix("origin/").unwrap_or(&b.name)))
                .collect(),
            Selector::Tag(re) => tags
                .iter()
                .copied()
                .filter(|t| re.is_match(&t.name))
                .collect(),
        };
        for r in apply_limit(selected, &p.limit, now) {
            if let Some(i) = refs.iter().position(|x| std::ptr::eq(x, r)) {
                chosen[i] = Some(pi);
            }
        }
    }
    let mut out: Vec<ScanRef> = refs
        .iter()
        .zip(chosen)
        .filter_map(|(r, p)| {
            p.map(|pi| ScanRef {
                git: r.clone(),
                images: policies[pi].images.clone(),
                policy: pi,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.git
            .is_tag
            .cmp(&b.git.is_tag)
            .then(b.git.created_at.cmp(&a.git.created_at))
            .then(a.git.name.cmp(&b.git.name))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::defaults;

    fn r(name: &str, is_tag: bool, age_h: i64) -> GitRef {
        GitRef {
            name: name.into(),
            is_tag,
            head: format!("c-{name}"),
            created_at: 1_000_000 - age_h * 3600,
        }
    }

    #[test]
    fn defaults_select_recent_branches_main_and_ten_tags() {
        let mut refs = vec![
            r("origin/main", false, 500),
            r("origin/feature", false, 10),
            r("origin/stale", false, 400),
        ];
        for i in 0..12 {
            refs.push(r(&format!("v{i}"), true, 100 - i));
        }
        let scan = references_to_scan(&refs, &defaults(), 1_000_000);
        let names: Vec<&str> = scan.iter().map(|s| s.git.name.as_str()).collect();
        // feature: the week-old branch policy; main: the main policy (10 images); stale: none.
        assert_eq!(&names[..2], &["origin/feature", "origin/main"]);
        assert_eq!(scan[1].images.last, 10);
        assert_eq!(scan[0].images.last, 2);
        // The 10 newest tags, newest first.
        assert_eq!(names.len(), 12);
        assert_eq!(names[2], "v11");
        assert!(!names.contains(&"v0") && !names.contains(&"v1"));
    }
}
