//! A model check of the cleanup decision: random git histories (branches,
//! merges, tags, commit times over weeks), random builds at random commits
//! (some commits sharing a stage), random policies and protections. For
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
use davit_cleanup::plan::{decide, finish, inventory, protect_relatives, Deletion, GitView, Input};
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
}

fn commit_id(i: usize) -> String {
    format!("{i:040x}")
}

fn stage_tag(k: usize, age_h: i64) -> String {
    format!("{k:056x}-{:013}", (NOW - age_h * HOUR) * 1000)
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
            proptest::collection::vec((0..n, 0usize..12, 0usize..2), 1..n + 1),
            0u8..4,
            -1i64..6,
            proptest::option::of(1i64..400),
            proptest::collection::vec(0usize..12, 0..3),
            proptest::collection::vec(0usize..12, 0..2),
            prop_oneof![Just(0u64), Just(2u64), Just(48u64)],
            proptest::collection::vec(0i64..1000, 12),
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
    let mut tags = BTreeSet::new();
    for (commit, stage, image) in &c.builds {
        let s = stage_tag(*stage, c.stage_age[*stage]);
        tags.insert(s.clone());
        tags.insert(format!(
            "meta-id-{}_{}_{s}",
            image_names[*image],
            commit_id(*commit)
        ));
    }
    let stage_of = |k: usize| stage_tag(k, c.stage_age[k]);
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
        imports: BTreeMap::new(),
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
        index_platform_times: Default::default(),
        now_ms: NOW * 1000,
        disable: false,
    };
    let mut d = decide(&input);
    // No labels in the model: relatives are a no-op round.
    protect_relatives(&mut d, &BTreeMap::new());
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
