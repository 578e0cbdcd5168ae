//! The git-history scan (spec §3.5, "scanning"): from each selected
//! reference, oldest first, a breadth-first walk over the commits finds the
//! commits that `meta-*` records tie to stages; the images-per-reference
//! policy keeps the last N images (stages sharing their latest commit count
//! as one), and a reference that reached every expected stage leaves a stop
//! commit that newer references do not walk past.

use std::collections::{BTreeMap, BTreeSet};

// Commit IDs are hashed millions of times on a large history (each
// reference of each image walks it); SipHash's DoS resistance buys nothing
// on git's own hashes.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::refs::ScanRef;

/// The commits of the repository: committer time (unix seconds) and parents.
pub trait CommitGraph {
    fn commit(&self, id: &str) -> Option<(i64, &[String])>;
}

/// Commit → (committer time, parents).
pub type CommitMap = HashMap<String, (i64, Vec<String>)>;

/// A commit graph held in memory.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub commits: CommitMap,
}

impl CommitGraph for Graph {
    fn commit(&self, id: &str) -> Option<(i64, &[String])> {
        self.commits.get(id).map(|(t, p)| (*t, p.as_slice()))
    }
}

/// Why the git policy kept a stage: the reference and the commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptBy {
    pub reference: String,
    pub commit: String,
}

/// What the scan of one image found.
#[derive(Clone, Debug, Default)]
pub struct ScanResult {
    /// Stages some reference kept.
    pub reached: BTreeSet<String>,
    /// Per kept stage, the commits whose `meta-*` records stay.
    pub hit: BTreeMap<String, BTreeSet<String>>,
    pub kept_by: BTreeMap<String, KeptBy>,
}

/// A commit's parents, borrowed from the graph (none when it is unknown).
fn parents_of<'g>(graph: &'g dyn CommitGraph, c: &str) -> impl Iterator<Item = &'g str> {
    graph
        .commit(c)
        .map(|(_, p)| p)
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
}

fn time(graph: &dyn CommitGraph, c: &str) -> i64 {
    graph.commit(c).map(|(t, _)| t).unwrap_or(0)
}

/// Scans `refs` (in `references_to_scan` order) for the stages of
/// `expected` (stage → its commits).
pub fn scan_references_history(
    refs: &[ScanRef],
    expected: &BTreeMap<String, Vec<String>>,
    graph: &dyn CommitGraph,
    now: i64,
) -> ScanResult {
    let mut stop: HashSet<String> = HashSet::new();
    let mut out = ScanResult::default();
    for r in refs.iter().rev() {
        let (reached, hit) = scan_reference(r, expected, &mut stop, graph, now);
        for id in reached {
            out.reached.insert(id.clone());
            if let Some(c) = hit.get(&id).and_then(|c| c.first()) {
                out.kept_by.insert(
                    id,
                    KeptBy {
                        reference: r.git.name.clone(),
                        commit: c.clone(),
                    },
                );
            }
        }
    }
    // The `meta-*` records to keep: each reference's latest commit of each
    // stage it keeps, found by a walk without stop commits. werf takes them
    // from the walk above, where a stop commit left by an older reference
    // hides a newer reference's commits only when that older reference
    // reached every expected stage; so a first run (with stages that are
    // about to go still expected) and a second run keep different records.
    // Without stop commits the records kept do not depend on what else is
    // expected, and a second run deletes nothing.
    for r in refs.iter().rev() {
        let (kept, hit) = scan_reference(r, expected, &mut HashSet::new(), graph, now);
        for id in kept.into_iter().filter(|id| out.reached.contains(id)) {
            if let Some(commits) = hit.get(&id) {
                out.hit
                    .entry(id)
                    .or_default()
                    .extend(commits.iter().cloned());
            }
        }
    }
    out
}

fn scan_reference(
    r: &ScanRef,
    expected: &BTreeMap<String, Vec<String>>,
    stop: &mut HashSet<String>,
    graph: &dyn CommitGraph,
    now: i64,
) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let p = &r.images;
    let filtered = p.last == 0 || (p.within.is_some() && !p.or);
    // The expected commits by commit, borrowed (each reference of each image
    // looks at them, twice); a period leaves out the older commits, and a
    // stage with none left.
    let since = match (p.within, p.or) {
        (Some(d), false) => Some(now - d.as_secs() as i64),
        _ => None,
    };
    let mut by_commit: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut expected_count = 0;
    if p.last != 0 {
        for (id, commits) in expected {
            let mut any = false;
            for c in commits {
                if since.is_none_or(|since| time(graph, c) > since) {
                    by_commit.entry(c.as_str()).or_default().push(id.as_str());
                    any = true;
                }
            }
            expected_count += usize::from(any);
        }
    }
    if expected_count == 0 {
        return (Vec::new(), BTreeMap::new());
    }
    let depth_limit = if r.git.is_tag { 1 } else { -1 };
    let mut scanned: HashSet<&str> = HashSet::new();
    let mut reached_commits: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    // The commits with records in the order the walk met them (index by commit).
    let mut reached_order: HashMap<&str, usize> = HashMap::new();
    let mut level: Vec<&str> = vec![r.git.head.as_str()];
    let mut depth = 0;
    loop {
        depth += 1;
        let mut next = Vec::new();
        for &c in &level {
            if scanned.contains(c) || stop.contains(c) {
                continue;
            }
            if let Some((&c, ids)) = by_commit.get_key_value(c) {
                for &id in ids {
                    reached_commits.entry(id).or_default().push(c);
                }
                let next_index = reached_order.len();
                reached_order.entry(c).or_insert(next_index);
            }
            if depth == depth_limit {
                continue;
            }
            if expected_count == reached_commits.len() {
                break;
            }
            scanned.insert(c);
            next.extend(parents_of(graph, c));
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    let reached_ids: Vec<String> = reached_commits.keys().map(|id| id.to_string()).collect();
    // werf takes a stage's latest commit among those met before the walk
    // stopped (when every expected stage was found), so the commit kept
    // depends on which other stages are still expected, and a second run
    // compacts differently. davit takes it among every commit of the stage
    // that the reference reaches (same stop commits, same depth), which the
    // walk's early end cannot change.
    let all_reached = reachable_expected(r, &by_commit, stop, graph, depth_limit);
    // The newest reached commit; of one second, the one met first.
    let latest = |id: &str| -> String {
        let met = |c: &str| reached_order.get(c).copied().unwrap_or(usize::MAX);
        all_reached
            .get(id)
            .into_iter()
            .flatten()
            .min_by(|a, b| {
                time(graph, b)
                    .cmp(&time(graph, a))
                    .then(met(a).cmp(&met(b)))
            })
            .map(|c| c.to_string())
            .unwrap_or_default()
    };
    let hit_of = |ids: &[String]| -> BTreeMap<String, Vec<String>> {
        ids.iter()
            .map(|id| (id.clone(), vec![latest(id)]))
            .collect()
    };
    if p.last > 0 {
        let last = p.last as usize;
        if reached_ids.len() == last {
            return (reached_ids.clone(), hit_of(&reached_ids));
        }
        if reached_ids.len() > last {
            // Stages sharing their latest commit count as one image.
            let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for id in &reached_ids {
                groups.entry(latest(id)).or_default().push(id.clone());
            }
            let mut commits: Vec<String> = groups.keys().cloned().collect();
            // Newest first; commits of one second in the order the walk
            // met them, nearest the reference's head first.
            let met = |c: &String| reached_order.get(c.as_str()).copied().unwrap_or(usize::MAX);
            commits.sort_by(|a, b| {
                time(graph, b)
                    .cmp(&time(graph, a))
                    .then(met(a).cmp(&met(b)))
            });
            let by_last: Vec<String> = commits.iter().take(last).cloned().collect();
            let keep: Vec<String> = match p.within {
                None => by_last,
                Some(d) => {
                    let since = now - d.as_secs() as i64;
                    let by_in: Vec<String> = commits
                        .iter()
                        .filter(|c| time(graph, c) > since)
                        .cloned()
                        .collect();
                    if p.or {
                        let mut k = by_in.clone();
                        k.extend(by_last.into_iter().filter(|c| !by_in.contains(c)));
                        k
                    } else {
                        by_last.into_iter().filter(|c| by_in.contains(c)).collect()
                    }
                }
            };
            let mut kept = Vec::new();
            let mut hit = BTreeMap::new();
            for c in keep {
                for id in &groups[&c] {
                    kept.push(id.clone());
                    hit.insert(id.clone(), vec![c.clone()]);
                }
            }
            return (kept, hit);
        }
    }
    if filtered {
        return (reached_ids.clone(), hit_of(&reached_ids));
    }
    if reached_ids.len() == expected.len() {
        if let Some((c, _)) = reached_order.iter().max_by_key(|(_, i)| **i) {
            stop.insert(c.to_string());
        }
    }
    (reached_ids.clone(), hit_of(&reached_ids))
}

/// Every expected commit (by stage) the reference reaches, walking the
/// whole history below its head (stop commits and depth as the scan has them).
fn reachable_expected<'e>(
    r: &ScanRef,
    by_commit: &HashMap<&'e str, Vec<&'e str>>,
    stop: &HashSet<String>,
    graph: &dyn CommitGraph,
    depth_limit: i32,
) -> HashMap<&'e str, Vec<&'e str>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut level: Vec<&str> = vec![r.git.head.as_str()];
    let mut depth = 0;
    while !level.is_empty() {
        depth += 1;
        let mut next = Vec::new();
        for c in level {
            if stop.contains(c) || !seen.insert(c) {
                continue;
            }
            if let Some((&c, ids)) = by_commit.get_key_value(c) {
                for &id in ids {
                    out.entry(id).or_default().push(c);
                }
            }
            if depth != depth_limit {
                next.extend(parents_of(graph, c));
            }
        }
        level = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Limit;
    use crate::refs::GitRef;

    /// A linear history c0 ← c1 ← … ← c{n-1}, commit i at time i.
    fn linear(n: usize) -> Graph {
        let mut g = Graph::default();
        for i in 0..n {
            let parents = if i == 0 {
                vec![]
            } else {
                vec![format!("c{}", i - 1)]
            };
            g.commits.insert(format!("c{i}"), (i as i64, parents));
        }
        g
    }

    fn branch(head: &str, last: i64) -> ScanRef {
        ScanRef {
            git: GitRef {
                name: "origin/main".into(),
                is_tag: false,
                head: head.into(),
                created_at: 0,
            },
            images: Limit {
                last,
                within: None,
                or: false,
            },
            policy: 0,
        }
    }

    #[test]
    fn the_last_n_images_of_a_branch() {
        let g = linear(5);
        let expected: BTreeMap<String, Vec<String>> = (0..5)
            .map(|i| (format!("s{i}"), vec![format!("c{i}")]))
            .collect();
        let r = scan_references_history(&[branch("c4", 2)], &expected, &g, 100);
        assert_eq!(
            r.reached,
            ["s3", "s4"].iter().map(|s| s.to_string()).collect()
        );
        assert_eq!(r.kept_by["s4"].commit, "c4");
    }

    #[test]
    fn stages_of_one_commit_count_once() {
        let g = linear(3);
        let mut expected = BTreeMap::new();
        expected.insert("a".to_string(), vec!["c2".to_string()]);
        expected.insert("b".to_string(), vec!["c2".to_string()]);
        expected.insert("old".to_string(), vec!["c0".to_string()]);
        let r = scan_references_history(&[branch("c2", 1)], &expected, &g, 100);
        assert_eq!(
            r.reached,
            ["a", "b"].iter().map(|s| s.to_string()).collect()
        );
    }
}
