//! A model check of the cleanup decision: random git histories (branches,
//! merges, tags, commit times over weeks), random builds at random commits
//! (some commits sharing a stage), random policies and protections, and
//! the stages' relatives: parents, multi-platform manifest lists and their
//! platforms, `import-metadata-*` records and the stages importing. For
//! each case the decision must keep what any protection covers, delete
//! everything else, leave no `meta-*` record pointing at a deleted stage,
//! decide the same twice (a dry run decides as the real run), and a second
//! run over what is left must delete nothing.
//!
//! `DAVIT_CLEANUP_MODEL_CASES` sets the number of cases (10,000 by
//! default; the long target runs more).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use davit_cleanup::history::Graph;
use davit_cleanup::plan::{
    decide, finish, inventory, needs_labels, protect_index_platforms, protect_relatives,
    protected_indexes, Deletion, GitView, ImportRecord, Input,
};
use davit_cleanup::policy::{defaults, KeepPolicy, Limit, Selector};
use davit_cleanup::refs::{references_to_scan, GitRef};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use regex::Regex;

const NOW: i64 = 1_800_000_000;
const HOUR: i64 = 3600;

#[derive(Clone, Debug)]
struct Case {
    /// Per commit: parents (earlier commits) and age in hours.
    commits: Vec<(Vec<usize>, i64)>,
    branches: Vec<usize>,
    tags: Vec<usize>,
    /// Per built commit: the stage (an index into a small pool) and the image.
    builds: Vec<(usize, usize, usize)>,
    policy: u8,
    last: i64,
    within_h: Option<i64>,
    in_use: Vec<usize>,
    keep_list: Vec<usize>,
    keep_hours: u64,
    /// Per stage: age in hours.
    stage_age: Vec<i64>,
    /// Per stage: its parent stage (the `werf.io/parent-stage-id` label).
    parents: Vec<Option<usize>>,
    /// Per multi-platform stage (pool entries 12..15): its platform stages.
    indexes: Vec<Vec<usize>>,
    /// Import records: (source stage, importing stage).
    imports: Vec<(usize, usize)>,
}

/// Single-platform stages are pool entries 0..12; 12..15 are manifest lists.
const SINGLE: usize = 12;
const POOL: usize = 15;

fn commit_id(i: usize) -> String {
    format!("{i:040x}")
}

fn stage_tag(k: usize, age_h: i64) -> String {
    format!("{k:056x}-{:013}", (NOW - age_h * HOUR) * 1000)
}

/// A manifest list's tag: the bare 56-hex digest.
fn index_tag(i: usize) -> String {
    format!("{:056x}", 0xf000 + i)
}

fn case() -> impl Strategy<Value = Case> {
    (3usize..24).prop_flat_map(|n| {
        let commits = proptest::collection::vec(
            (proptest::collection::vec(0usize..1000, 1..3), 0i64..1000),
            n,
        );
        (
            commits,
            proptest::collection::vec(0..n, 1..5),
            proptest::collection::vec(0..n, 0..4),
            proptest::collection::vec((0..n, 0usize..POOL, 0usize..2), 1..n + 1),
            0u8..4,
            -1i64..6,
            proptest::option::of(1i64..400),
            proptest::collection::vec(0usize..POOL, 0..3),
            proptest::collection::vec(0usize..POOL, 0..2),
            prop_oneof![Just(0u64), Just(2u64), Just(48u64)],
            proptest::collection::vec(0i64..1000, SINGLE),
            (
                proptest::collection::vec(proptest::option::of(0usize..SINGLE), SINGLE),
                proptest::collection::vec(
                    proptest::collection::vec(0usize..SINGLE, 1..3),
                    POOL - SINGLE,
                ),
                proptest::collection::vec((0usize..POOL, 0usize..SINGLE), 0..3),
            ),
        )
            .prop_map(
                |(
                    raw,
                    branches,
                    tags,
                    builds,
                    policy,
                    last,
                    within_h,
                    in_use,
                    keep_list,
                    keep_hours,
                    stage_age,
                    (parents, indexes, imports),
                )| {
                    // Parents are earlier commits; the ages fall towards the newest.
                    let mut commits = Vec::new();
                    let mut age = 2000;
                    for (i, (ps, step)) in raw.into_iter().enumerate() {
                        age = (age - step % 120).max(0);
                        let parents: Vec<usize> = if i == 0 {
                            vec![]
                        } else {
                            let mut p: Vec<usize> = ps.iter().map(|x| x % i).collect();
                            p.dedup();
                            p
                        };
                        commits.push((parents, age));
                    }
                    Case {
                        commits,
                        branches,
                        tags,
                        builds,
                        policy,
                        last,
                        within_h,
                        in_use,
                        keep_list,
                        keep_hours,
                        stage_age,
                        parents,
                        indexes,
                        imports,
                    }
                },
            )
    })
}

fn policies(c: &Case) -> Vec<KeepPolicy> {
    let within = c.within_h.map(|h| Duration::from_secs(h as u64 * 3600));
    match c.policy {
        0 => defaults(),
        1 => vec![KeepPolicy {
            selector: Selector::Branch(Regex::new("^(.*)$").unwrap()),
            selector_text: "/.*/".into(),
            limit: None,
            images: Limit {
                last: c.last,
                within: None,
                or: false,
            },
        }],
        2 => vec![KeepPolicy {
            selector: Selector::Branch(Regex::new("^(.*)$").unwrap()),
            selector_text: "/.*/".into(),
            limit: Some(Limit {
                last: 2,
                within,
                or: true,
            }),
            images: Limit {
                last: c.last,
                within,
                or: c.last % 2 == 0,
            },
        }],
        _ => vec![
            KeepPolicy {
                selector: Selector::Tag(Regex::new("^(.*)$").unwrap()),
                selector_text: "/.*/".into(),
                limit: Some(Limit {
                    last: 2,
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
                selector: Selector::Branch(Regex::new("^(b0|b1)$").unwrap()),
                selector_text: "/b0|b1/".into(),
                limit: None,
                images: Limit {
                    last: c.last.max(0),
                    within,
                    or: false,
                },
            },
        ],
    }
}

struct World {
    tags: Vec<String>,
    graph: Graph,
    refs: Vec<GitRef>,
    images: BTreeMap<String, String>,
    in_use: BTreeMap<String, Vec<String>>,
    keep_list: BTreeSet<String>,
    /// Each stage's labels, as the registry would give them.
    labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Each manifest list's platform stages.
    platforms: BTreeMap<String, Vec<String>>,
    /// Each manifest list's platforms' creation times (ms).
    index_times: BTreeMap<String, Vec<Option<i64>>>,
    import_records: BTreeMap<String, ImportRecord>,
}

fn world(c: &Case) -> World {
    let mut graph = Graph::default();
    for (i, (parents, age)) in c.commits.iter().enumerate() {
        graph.commits.insert(
            commit_id(i),
            (
                NOW - age * HOUR,
                parents.iter().map(|p| commit_id(*p)).collect(),
            ),
        );
    }
    let time = |i: usize| NOW - c.commits[i].1 * HOUR;
    let mut refs = Vec::new();
    for (k, b) in c.branches.iter().enumerate() {
        refs.push(GitRef {
            name: format!("origin/b{k}"),
            is_tag: false,
            head: commit_id(*b),
            created_at: time(*b),
        });
    }
    for (k, t) in c.tags.iter().enumerate() {
        refs.push(GitRef {
            name: format!("v{k}"),
            is_tag: true,
            head: commit_id(*t),
            created_at: time(*t),
        });
    }
    let image_names = ["app", "worker"];
    let images: BTreeMap<String, String> = image_names
        .iter()
        .map(|n| (format!("id-{n}"), n.to_string()))
        .collect();
    let stage_of = |k: usize| {
        if k < SINGLE {
            stage_tag(k, c.stage_age[k])
        } else {
            index_tag(k - SINGLE)
        }
    };
    let mut tags = BTreeSet::new();
    for (commit, stage, image) in &c.builds {
        let s = stage_of(*stage);
        tags.insert(s.clone());
        tags.insert(format!(
            "meta-id-{}_{}_{s}",
            image_names[*image],
            commit_id(*commit)
        ));
        // A manifest list is pushed with its platforms.
        if *stage >= SINGLE {
            for p in &c.indexes[*stage - SINGLE] {
                tags.insert(stage_of(*p));
            }
        }
    }
    let platforms: BTreeMap<String, Vec<String>> = (SINGLE..POOL)
        .map(|k| {
            let ps = c.indexes[k - SINGLE].iter().map(|p| stage_of(*p)).collect();
            (stage_of(k), ps)
        })
        .collect();
    let index_times = (SINGLE..POOL)
        .map(|k| {
            let times = c.indexes[k - SINGLE]
                .iter()
                .map(|p| Some((NOW - c.stage_age[*p] * HOUR) * 1000))
                .collect();
            (stage_of(k), times)
        })
        .collect();
    let mut labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (k, parent) in c.parents.iter().enumerate() {
        if let Some(p) = parent.filter(|p| *p != k) {
            labels
                .entry(stage_of(k))
                .or_default()
                .insert("werf.io/parent-stage-id".into(), stage_of(p));
        }
    }
    let mut import_records = BTreeMap::new();
    for (i, (source, importer)) in c.imports.iter().enumerate() {
        labels
            .entry(stage_of(*importer))
            .or_default()
            .insert(format!("werf-import-checksum-{i}"), format!("c{i}"));
        // The record is written when the importer is built.
        if tags.contains(&stage_of(*importer)) {
            let tag = format!("import-metadata-{i}");
            tags.insert(tag.clone());
            import_records.insert(
                tag,
                ImportRecord {
                    source_stage: stage_of(*source),
                    checksum: format!("c{i}"),
                },
            );
        }
    }
    let in_use = c
        .in_use
        .iter()
        .map(|k| {
            (
                format!("registry.test/app:{}", stage_of(*k)),
                vec![format!("ns/a Deployment/d{k}")],
            )
        })
        .collect();
    let keep_list = c.keep_list.iter().map(|k| stage_of(*k)).collect();
    World {
        tags: tags.into_iter().collect(),
        graph,
        refs,
        images,
        in_use,
        keep_list,
        labels,
        platforms,
        index_times,
        import_records,
    }
}

/// One whole decision over `tags`: deletions and kept stages.
fn run(
    c: &Case,
    w: &World,
    policies: &[KeepPolicy],
    tags: &[String],
) -> (Vec<Deletion>, BTreeMap<String, String>) {
    let inv = inventory(tags);
    let exists = |id: &str| w.graph.commits.contains_key(id);
    let input = Input {
        inventory: &inv,
        images: w.images.clone(),
        custom_tags: BTreeMap::new(),
        // Only the records still listed can be read.
        imports: w
            .import_records
            .iter()
            .filter(|(t, _)| inv.import_records.contains(*t))
            .map(|(t, r)| (t.clone(), r.clone()))
            .collect(),
        git: Some(GitView {
            refs: w.refs.clone(),
            graph: &w.graph,
            commit_exists: &exists,
            policies: policies.to_vec(),
        }),
        in_use: Some(&w.in_use),
        repo_address: "registry.test/app".into(),
        keep_list: w.keep_list.clone(),
        keep_hours: c.keep_hours,
        index_platform_times: w.index_times.clone(),
        now_ms: NOW * 1000,
        disable: false,
    };
    let mut d = decide(&input);
    // Rounds of relatives, as the cleanup runs them: the platforms of
    // protected manifest lists, then the labels of newly protected stages.
    loop {
        let mut changed = false;
        for index in protected_indexes(&d) {
            let listed: Vec<String> = w.platforms[&index]
                .iter()
                .filter(|p| inv.stages.contains_key(*p))
                .cloned()
                .collect();
            changed |= protect_index_platforms(&mut d, &index, &listed);
        }
        let need = needs_labels(&d);
        if need.is_empty() && !changed {
            break;
        }
        let labels = need
            .into_iter()
            .map(|s| {
                let l = w.labels.get(&s).cloned().unwrap_or_default();
                (s, l)
            })
            .collect();
        protect_relatives(&mut d, &labels);
    }
    let kept = d
        .kept
        .iter()
        .map(|(k, p)| (k.clone(), p.reason.clone()))
        .collect();
    (finish(&d), kept)
}

fn check(c: Case) -> Result<(), TestCaseError> {
    let w = world(&c);
    let ps = policies(&c);
    let inv = inventory(&w.tags);
    let (deleted, kept) = run(&c, &w, &ps, &w.tags);
    let deleted_stages: BTreeSet<String> = deleted
        .iter()
        .filter_map(|d| match d {
            Deletion::Stage { tag } => Some(tag.clone()),
            _ => None,
        })
        .collect();
    // Every stage is kept (with a reason) or deleted, never both.
    for s in inv.stages.keys() {
        prop_assert!(
            kept.contains_key(s) != deleted_stages.contains(s),
            "stage {s}: kept {:?}",
            kept.get(s)
        );
    }
    // Protections hold.
    for image in w.in_use.keys() {
        let s = image.rsplit_once(':').unwrap().1;
        if inv.stages.contains_key(s) {
            prop_assert!(
                !deleted_stages.contains(s),
                "a stage Kubernetes uses was deleted"
            );
        }
    }
    for s in &w.keep_list {
        prop_assert!(
            !deleted_stages.contains(s),
            "a stage on the keep list was deleted"
        );
    }
    if c.keep_hours > 0 {
        for (s, ms) in &inv.stages {
            if *ms >= (NOW - c.keep_hours as i64 * HOUR) * 1000 {
                prop_assert!(!deleted_stages.contains(s), "a recent stage was deleted");
            }
        }
    }
    if c.keep_hours > 0 {
        let since = (NOW - c.keep_hours as i64 * HOUR) * 1000;
        for (index, times) in &w.index_times {
            if inv.stages.contains_key(index) && times.iter().any(|t| t.is_some_and(|t| t >= since))
            {
                prop_assert!(
                    !deleted_stages.contains(index),
                    "a manifest list with a recent platform was deleted"
                );
            }
        }
    }
    // Relatives stay with what they serve: a kept stage's parent, a kept
    // manifest list's platforms, and (unless only the git policy keeps it)
    // the source of what a kept stage imported.
    let listed = |s: &String| inv.stages.contains_key(s);
    for (s, reason) in &kept {
        let labels = w.labels.get(s).cloned().unwrap_or_default();
        if let Some(parent) = labels.get("werf.io/parent-stage-id").filter(|p| listed(p)) {
            prop_assert!(
                kept.contains_key(parent),
                "the parent {parent} of the kept {s} was deleted"
            );
        }
        for platform in w
            .platforms
            .get(s)
            .into_iter()
            .flatten()
            .filter(|p| listed(p))
        {
            prop_assert!(
                kept.contains_key(platform),
                "a platform of the kept list {s} was deleted"
            );
        }
        if reason != "git policy" {
            for (k, checksum) in &labels {
                if !k.starts_with("werf-import-checksum-") {
                    continue;
                }
                for (tag, r) in &w.import_records {
                    if inv.import_records.contains(tag)
                        && &r.checksum == checksum
                        && listed(&r.source_stage)
                    {
                        prop_assert!(
                            kept.contains_key(&r.source_stage),
                            "the import source of the kept {s} ({reason}) was deleted"
                        );
                    }
                }
            }
        }
    }
    // An import record goes exactly when its source goes.
    for tag in &inv.import_records {
        let gone = deleted
            .iter()
            .any(|d| matches!(d, Deletion::ImportMetadata { tag: t } if t == tag));
        let source_kept = kept.contains_key(&w.import_records[tag].source_stage);
        prop_assert_eq!(gone, !source_kept, "import record {}", tag);
    }
    // The newest image of every branch a plain last-N policy selects is kept.
    if c.policy == 1 && c.last != 0 {
        for r in references_to_scan(&w.refs, &ps, NOW) {
            if r.git.is_tag {
                continue;
            }
            for m in inv.meta.iter().filter(|m| m.commit == r.git.head) {
                prop_assert!(
                    kept.contains_key(&m.stage),
                    "the head build of {} was deleted",
                    r.git.name
                );
            }
        }
    }
    // No meta-* record outlives its stage.
    let deleted_meta: BTreeSet<String> = deleted
        .iter()
        .filter_map(|d| match d {
            Deletion::ImageMetadata { record, .. } => Some(record.tag.clone()),
            _ => None,
        })
        .collect();
    for m in &inv.meta {
        if deleted_stages.contains(&m.stage) {
            prop_assert!(
                deleted_meta.contains(&m.tag),
                "{} points at a deleted stage",
                m.tag
            );
        }
    }
    // The same inputs decide the same (a dry run is the real run).
    let (again, _) = run(&c, &w, &ps, &w.tags);
    prop_assert_eq!(&again, &deleted);
    // A second run over what is left deletes nothing.
    let gone: BTreeSet<&str> = deleted.iter().flat_map(|d| d.tags()).collect();
    let left: Vec<String> = w
        .tags
        .iter()
        .filter(|t| !gone.contains(t.as_str()))
        .cloned()
        .collect();
    let (second, _) = run(&c, &w, &ps, &left);
    prop_assert!(second.is_empty(), "the second run deletes {second:?}");
    Ok(())
}

#[test]
fn the_decision_keeps_what_is_protected_and_converges() {
    let cases: u32 = std::env::var("DAVIT_CLEANUP_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner.run(&case(), check).unwrap();
}
