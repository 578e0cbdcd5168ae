//! The cleanup decision (spec §3.3–3.6): what the registry holds, read
//! from its tags; which stages are protected and why (Kubernetes, the git
//! policy, built within N hours, the keep list, and then the relatives of
//! protected stages); and every tag to delete.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::history::{scan_references_history, CommitGraph, ScanResult};
use crate::policy::KeepPolicy;
use crate::refs::{references_to_scan, GitRef, ScanRef};

/// Why a stage is kept: werf's reason strings, with what davit adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protection {
    /// werf's reason (`git policy`, `used in Kubernetes`, …).
    pub reason: String,
    /// What exactly protects it: the reference and commit, the resource, …
    pub detail: String,
}

/// A `meta-<id>_<commit>_<stage>` record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetaRecord {
    pub tag: String,
    /// The murmur3 id of the image name.
    pub image_id: String,
    pub commit: String,
    pub stage: String,
}

/// The tags of a repository, sorted into werf's objects (spec §3.1).
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// Stage IDs (`<digest>-<ms>` or `<digest>`) → creation time (ms; 0 for indexes).
    pub stages: BTreeMap<String, i64>,
    /// Stage IDs with a `-rejected` marker (not counted as stages).
    pub rejected: BTreeSet<String>,
    pub meta: Vec<MetaRecord>,
    pub managed_images: Vec<String>,
    pub custom_tag_records: Vec<String>,
    /// werf v2's `import-metadata-<import source id>` records (davit's
    /// builds do not write them; werf's stapel imports do).
    pub import_records: Vec<String>,
    pub all_tags: BTreeSet<String>,
}

/// What an `import-metadata-*` record says (its labels).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportRecord {
    /// `source-stage-id`: the stage the files were imported from.
    pub source_stage: String,
    /// `checksum`: what import stages name in their `werf-import-checksum-*` labels.
    pub checksum: String,
}

/// The import id of an `import-metadata-<id>` tag.
pub fn import_id(tag: &str) -> &str {
    tag.strip_prefix("import-metadata-").unwrap_or(tag)
}

fn is_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A `meta-<id>_<commit>_<stage>` tag, read.
fn meta_record(tag: &str) -> Option<MetaRecord> {
    let parts: Vec<&str> = tag.strip_prefix("meta-")?.split('_').collect();
    let [id, commit, stage] = parts[..] else {
        return None;
    };
    Some(MetaRecord {
        tag: tag.to_string(),
        image_id: id.to_string(),
        commit: commit.to_string(),
        stage: stage.to_string(),
    })
}

/// Sorts `tags` into an inventory.
pub fn inventory(tags: &[String]) -> Inventory {
    let mut inv = Inventory::default();
    for t in tags {
        inv.all_tags.insert(t.clone());
        if t.starts_with("meta-") {
            inv.meta.extend(meta_record(t));
            continue;
        }
        if let Some(name) = t.strip_prefix("managed-image-") {
            inv.managed_images.push(name.to_string());
            continue;
        }
        if t.starts_with("custom-tag-meta-") {
            inv.custom_tag_records.push(t.clone());
            continue;
        }
        if t.starts_with("import-metadata-") {
            inv.import_records.push(t.clone());
            continue;
        }
        if let Some(id) = t.strip_suffix("-rejected") {
            if let Some((d, ts)) = id.split_once('-') {
                if d.len() == 56
                    && is_hex(d)
                    && !ts.is_empty()
                    && ts.bytes().all(|b| b.is_ascii_digit())
                {
                    inv.rejected.insert(id.to_string());
                }
            }
            continue;
        }
        match t.split_once('-') {
            Some((d, ts)) if t.len() == 70 && d.len() == 56 && is_hex(d) && !ts.contains('-') => {
                if let Ok(ms) = ts.parse::<i64>() {
                    inv.stages.insert(t.clone(), ms);
                }
            }
            None if t.len() == 56 && is_hex(t) => {
                inv.stages.insert(t.clone(), 0);
            }
            _ => {}
        }
    }
    for r in &inv.rejected {
        inv.stages.remove(r);
    }
    inv
}

/// The git side of the decision.
pub struct GitView<'a> {
    pub refs: Vec<GitRef>,
    /// Shared by the threads that scan the images.
    pub graph: &'a (dyn CommitGraph + Sync),
    /// Whether a commit exists in the clone (reachable or not).
    pub commit_exists: &'a dyn Fn(&str) -> bool,
    pub policies: Vec<KeepPolicy>,
}

/// Everything the decision needs.
pub struct Input<'a> {
    pub inventory: &'a Inventory,
    /// The project's image names (werf.yaml and `managed-image-*`) by the
    /// murmur3 id their `meta-*` records carry.
    pub images: BTreeMap<String, String>,
    /// Custom tags by stage (from the `custom-tag-meta-*` records).
    pub custom_tags: BTreeMap<String, Vec<String>>,
    /// The readable `import-metadata-*` records by tag; a listed record
    /// missing here could not be read and is deleted (as werf does).
    pub imports: BTreeMap<String, ImportRecord>,
    /// `None` with `cleanup.disableGitHistoryBasedPolicy`.
    pub git: Option<GitView<'a>>,
    /// Images the cluster runs (exact references) → the resources using them.
    /// `None` without Kubernetes (`--without-kube`, the policy disabled).
    pub in_use: Option<&'a BTreeMap<String, Vec<String>>>,
    /// `<host>/<path>` of the repository, as images in the cluster name it.
    pub repo_address: String,
    pub keep_list: BTreeSet<String>,
    /// Built within this many hours is kept (0: off).
    pub keep_hours: u64,
    /// Multi-platform stages (manifest lists tagged `<digest>`, whose tag
    /// has no time) → their platforms' creation times (Unix ms; `None`
    /// where unreadable), for the built-within-N-hours policy. An index
    /// missing here is kept while that policy is on.
    pub index_platform_times: BTreeMap<String, Vec<Option<i64>>>,
    pub now_ms: i64,
    /// `cleanup.disable`: only the `managed-image-*` and `meta-*` tags go.
    pub disable: bool,
}

/// A tag to delete and what it is (the report's item).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Deletion {
    ImageMetadata {
        record: MetaRecord,
        image: String,
    },
    Stage {
        tag: String,
    },
    CustomTag {
        tag: String,
        record: String,
    },
    RejectedStage {
        tag: String,
    },
    RejectedStageMarker {
        tag: String,
    },
    ManagedImage {
        tag: String,
        name: String,
    },
    ImportMetadata {
        tag: String,
    },
    /// A stage's copy in `--final-repo`.
    FinalStage {
        tag: String,
    },
    /// A custom tag in `--final-repo` (its record is in `--repo`).
    FinalCustomTag {
        tag: String,
    },
    /// A record davit could not read (purge deletes it anyway).
    Record {
        tag: String,
    },
}

impl Deletion {
    /// The tags this deletion removes.
    pub fn tags(&self) -> Vec<&str> {
        match self {
            Deletion::ImageMetadata { record, .. } => vec![&record.tag],
            Deletion::Stage { tag }
            | Deletion::RejectedStage { tag }
            | Deletion::RejectedStageMarker { tag } => {
                vec![tag]
            }
            Deletion::CustomTag { tag, record } => vec![tag, record],
            Deletion::ManagedImage { tag, .. }
            | Deletion::ImportMetadata { tag }
            | Deletion::FinalStage { tag }
            | Deletion::FinalCustomTag { tag }
            | Deletion::Record { tag } => vec![tag],
        }
    }
}

/// The decision, before and after the relatives of protected stages.
#[derive(Clone, Debug, Default)]
pub struct Decision {
    pub kept: BTreeMap<String, Protection>,
    /// `meta-*` records to delete (compaction), rejected stages and, with
    /// `cleanup.disable`, the records.
    pub early: Vec<Deletion>,
    custom_tags: BTreeMap<String, Vec<String>>,
    /// Readable `import-metadata-*` records, and their sources by checksum.
    imports: BTreeMap<String, ImportRecord>,
    sources_by_checksum: BTreeMap<String, Vec<String>>,
    stages: BTreeSet<String>,
    /// The git policy's reasons are not extended to import and dependency sources.
    git_kept: BTreeSet<String>,
    relatives_done: BTreeSet<String>,
    indexes_done: BTreeSet<String>,
}

fn protect(d: &mut Decision, stage: &str, reason: &str, detail: String, force: bool) {
    if force || !d.kept.contains_key(stage) {
        d.kept.insert(
            stage.to_string(),
            Protection {
                reason: reason.to_string(),
                detail,
            },
        );
    }
}

/// The first phase: protections and `meta-*` compaction.
pub fn decide(input: &Input<'_>) -> Decision {
    let inv = input.inventory;
    let mut d = Decision {
        stages: inv.stages.keys().cloned().collect(),
        custom_tags: input.custom_tags.clone(),
        ..Decision::default()
    };
    if input.disable {
        for name in &inv.managed_images {
            d.early.push(Deletion::ManagedImage {
                tag: format!("managed-image-{name}"),
                name: name.clone(),
            });
        }
        for m in &inv.meta {
            d.early.push(Deletion::ImageMetadata {
                record: m.clone(),
                image: input
                    .images
                    .get(&m.image_id)
                    .cloned()
                    .unwrap_or(m.image_id.clone()),
            });
        }
        // Nothing is deleted but the records: every stage stays.
        d.stages.clone().iter().for_each(|s| {
            protect(
                &mut d,
                s,
                "cleanup disabled",
                "cleanup.disable is set in werf.yaml".into(),
                false,
            )
        });
        return d;
    }

    d.imports = input.imports.clone();
    for r in input.imports.values() {
        d.sources_by_checksum
            .entry(r.checksum.clone())
            .or_default()
            .push(r.source_stage.clone());
    }
    // Records that could not be read go (werf: "not found / broken").
    for tag in &inv.import_records {
        if !input.imports.contains_key(tag) {
            d.early.push(Deletion::ImportMetadata { tag: tag.clone() });
        }
    }

    if let Some(in_use) = input.in_use {
        for s in &inv.stages.keys().cloned().collect::<Vec<_>>() {
            if let Some(users) = in_use.get(&format!("{}:{s}", input.repo_address)) {
                protect(&mut d, s, "used in Kubernetes", users.join(", "), false);
            }
        }
        let mut orphans = Vec::new();
        for (stage, tags) in &input.custom_tags {
            for t in tags {
                if let Some(users) = in_use.get(&format!("{}:{t}", input.repo_address)) {
                    if inv.stages.contains_key(stage) {
                        protect(
                            &mut d,
                            stage,
                            "used in Kubernetes",
                            format!("as {t}: {}", users.join(", ")),
                            false,
                        );
                    } else {
                        orphans.push(stage.clone());
                    }
                }
            }
        }
        // werf forgets them, so an orphan custom tag in use stays.
        for o in orphans {
            d.custom_tags.remove(&o);
        }
    }

    match &input.git {
        Some(git) => git_policy(input, git, &mut d),
        None => {
            for m in &inv.meta {
                d.early.push(Deletion::ImageMetadata {
                    record: m.clone(),
                    image: input
                        .images
                        .get(&m.image_id)
                        .cloned()
                        .unwrap_or(m.image_id.clone()),
                });
            }
        }
    }

    if input.keep_hours > 0 {
        let since = input.now_ms - input.keep_hours as i64 * 3_600_000;
        for (s, ms) in &inv.stages {
            // An index (no time in its tag) is as recent as its newest
            // platform, as werf has it; one whose platforms' times were
            // not all read is kept (the safe side).
            let recent = if *ms == 0 {
                match input.index_platform_times.get(s) {
                    Some(times) => times.iter().any(|t| t.is_none_or(|t| t >= since)),
                    None => true,
                }
            } else {
                *ms >= since
            };
            if recent {
                protect(
                    &mut d,
                    s,
                    &format!("built within last {} hours", input.keep_hours),
                    String::new(),
                    false,
                );
            }
        }
    }
    for s in inv.stages.keys() {
        if input.keep_list.contains(s) {
            protect(&mut d, s, "keep list", "--keep-list".into(), false);
        }
    }
    for id in &inv.rejected {
        if inv.all_tags.contains(id) {
            d.early.push(Deletion::RejectedStage { tag: id.clone() });
        }
        for t in d.custom_tags.get(id).cloned().unwrap_or_default() {
            d.early.push(Deletion::CustomTag {
                record: custom_tag_record(&t),
                tag: t,
            });
        }
        d.custom_tags.remove(id);
        d.early.push(Deletion::RejectedStageMarker {
            tag: format!("{id}-rejected"),
        });
    }
    d
}

/// `custom-tag-meta-<slug(tag, 48)>` for the tags davit and werf write
/// (valid docker tags up to 48 characters are their own slug).
fn custom_tag_record(tag: &str) -> String {
    format!("custom-tag-meta-{tag}")
}

fn git_policy(input: &Input<'_>, git: &GitView<'_>, d: &mut Decision) {
    let inv = input.inventory;
    let now = input.now_ms / 1000;
    let scan_refs = references_to_scan(&git.refs, &git.policies, now);
    // image name → stage → commits, for existing images, stages and commits.
    let mut to_cleanup = ExpectedByImage::new();
    for m in &inv.meta {
        let Some(image) = input.images.get(&m.image_id) else {
            d.early.push(Deletion::ImageMetadata {
                record: m.clone(),
                image: m.image_id.clone(),
            });
            continue;
        };
        if !inv.stages.contains_key(&m.stage) || !(git.commit_exists)(&m.commit) {
            d.early.push(Deletion::ImageMetadata {
                record: m.clone(),
                image: image.clone(),
            });
            continue;
        }
        to_cleanup
            .entry(image.clone())
            .or_default()
            .entry(m.stage.clone())
            .or_default()
            .push(m.commit.clone());
    }
    // The records by (stage, commit): the compaction below looks each up.
    let mut records: HashMap<(&str, &str), Vec<&MetaRecord>> = HashMap::new();
    for m in &inv.meta {
        records
            .entry((m.stage.as_str(), m.commit.as_str()))
            .or_default()
            .push(m);
    }
    for (image, expected, result) in scan_images(&to_cleanup, &scan_refs, git.graph, now) {
        for id in &result.reached {
            let detail = match result.kept_by.get(id) {
                Some(k) => format!("image {image}: {} at {}", k.reference, short(&k.commit)),
                None => format!("image {image}"),
            };
            protect(d, id, "git policy", detail, true);
            d.git_kept.insert(id.clone());
        }
        for (id, commits) in expected {
            let keep = result.hit.get(id);
            for c in commits {
                let kept = result.reached.contains(id) && keep.is_some_and(|k| k.contains(c));
                if !kept {
                    let record = records.get(&(id.as_str(), c.as_str())).and_then(|ms| {
                        ms.iter()
                            .find(|m| input.images.get(&m.image_id) == Some(image))
                    });
                    if let Some(m) = record {
                        d.early.push(Deletion::ImageMetadata {
                            record: (*m).clone(),
                            image: image.clone(),
                        });
                    }
                }
            }
        }
    }
}

/// Stage → the commits of its `meta-*` records, per image.
type ExpectedByImage = BTreeMap<String, ExpectedStages>;
type ExpectedStages = BTreeMap<String, Vec<String>>;
/// One image's scan: its name, its expected stages and what the walk found.
type ImageScan<'i> = (&'i String, &'i ExpectedStages, ScanResult);

/// The history scan of each image. Images are scanned independently, so
/// they are spread over the cores; the registry has nothing to answer
/// until the decision is made.
fn scan_images<'i>(
    images: &'i ExpectedByImage,
    refs: &[ScanRef],
    graph: &(dyn CommitGraph + Sync),
    now: i64,
) -> Vec<ImageScan<'i>> {
    let jobs: Vec<_> = images.iter().collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, jobs.len().max(1));
    let per_thread = jobs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|&(image, expected)| {
                            let result = scan_references_history(refs, expected, graph, now);
                            (image, expected, result)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// The stages whose labels the next round of relatives needs: protected
/// ones not looked at yet.
pub fn needs_labels(d: &Decision) -> Vec<String> {
    d.kept
        .keys()
        .filter(|s| d.stages.contains(*s) && !d.relatives_done.contains(*s))
        .cloned()
        .collect()
}

/// One round of relatives: for each protected stage given with its labels,
/// its parent (`ancestor`) and, unless only the git policy protects it,
/// its import and dependency sources. Returns whether anything new was protected.
pub fn protect_relatives(
    d: &mut Decision,
    labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> bool {
    let mut changed = false;
    for (stage, ls) in labels {
        if !d.relatives_done.insert(stage.clone()) {
            continue;
        }
        let with_sources = d.kept.get(stage).is_some_and(|p| p.reason != "git policy");
        let mut found: Vec<(String, &str)> = Vec::new();
        for (k, v) in ls {
            if with_sources
                && (k.starts_with("werf-import-source-stage-id-"))
                && !v.starts_with("external-image")
            {
                found.push((v.clone(), "import source"));
            }
            if with_sources && k.starts_with("werf-import-checksum-") {
                for source in d.sources_by_checksum.get(v).into_iter().flatten() {
                    if !source.starts_with("external-image") {
                        found.push((source.clone(), "import source"));
                    }
                }
            }
            if with_sources && k.starts_with("werf-dependency-stage-id-") {
                found.push((v.clone(), "dependency source"));
            }
            if k == "werf.io/parent-stage-id" {
                found.push((v.clone(), "ancestor"));
            }
        }
        for (id, reason) in found {
            if d.stages.contains(&id) && !d.kept.contains_key(&id) {
                protect(d, &id, reason, format!("of {stage}"), false);
                changed = true;
            }
        }
    }
    changed
}

/// Protected multi-platform stages (manifest lists tagged `<digest>`)
/// whose platform stages are not looked at yet.
pub fn protected_indexes(d: &Decision) -> Vec<String> {
    d.kept
        .keys()
        .filter(|s| d.stages.contains(*s) && !s.contains('-') && !d.indexes_done.contains(*s))
        .cloned()
        .collect()
}

/// werf's "image index platform": the stages whose manifests a protected
/// index names are protected too (deleting one would break the index).
/// Returns whether anything new was protected.
pub fn protect_index_platforms(d: &mut Decision, index: &str, platform_stages: &[String]) -> bool {
    d.indexes_done.insert(index.to_string());
    let mut changed = false;
    for s in platform_stages {
        if d.stages.contains(s) && !d.kept.contains_key(s) {
            protect(d, s, "image index platform", format!("of {index}"), false);
            changed = true;
        }
    }
    changed
}

/// The second phase: every stage nobody protects, then the custom tags of
/// stages that are gone, and the `import-metadata-*` records whose source
/// stage nothing protects.
pub fn finish(d: &Decision) -> Vec<Deletion> {
    let mut out = d.early.clone();
    for (tag, r) in &d.imports {
        if !d.kept.contains_key(&r.source_stage) {
            out.push(Deletion::ImportMetadata { tag: tag.clone() });
        }
    }
    let gone: BTreeSet<&String> = d
        .stages
        .iter()
        .filter(|s| !d.kept.contains_key(*s))
        .collect();
    for s in &gone {
        out.push(Deletion::Stage { tag: s.to_string() });
    }
    for (stage, tags) in &d.custom_tags {
        if d.stages.contains(stage) && !gone.contains(stage) {
            continue;
        }
        for t in tags {
            out.push(Deletion::CustomTag {
                tag: t.clone(),
                record: custom_tag_record(t),
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

/// werf's `cleanupFinalStages`: which stages of `--final-repo` go once the
/// primary's plan is made. A copy goes when its stage is deleted from the
/// primary in this run, with the custom tags (in the final repository) of
/// stages that go; a copy the cluster runs (`<final_address>:<stage>`)
/// stays, and so does one whose stage the primary never had ("not found in
/// repo"). Returns the deletions and the final copies kept, with why.
pub fn final_repo_deletions(
    final_tags: &[String],
    final_address: &str,
    in_use: Option<&BTreeMap<String, Vec<String>>>,
    primary: &Inventory,
    planned: &[Deletion],
) -> (Vec<Deletion>, BTreeMap<String, Protection>) {
    let final_inv = inventory(final_tags);
    let doomed: BTreeSet<&str> = planned
        .iter()
        .filter_map(|d| match d {
            Deletion::Stage { tag } => Some(tag.as_str()),
            _ => None,
        })
        .collect();
    let doomed_custom: BTreeSet<&str> = planned
        .iter()
        .filter_map(|d| match d {
            Deletion::CustomTag { tag, .. } => Some(tag.as_str()),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    let mut kept = BTreeMap::new();
    for stage in final_inv.stages.keys() {
        let users = in_use.and_then(|u| u.get(&format!("{final_address}:{stage}")));
        if let Some(users) = users {
            kept.insert(
                stage.clone(),
                Protection {
                    reason: "used in Kubernetes".into(),
                    detail: users.join(", "),
                },
            );
        } else if !primary.stages.contains_key(stage) {
            kept.insert(
                stage.clone(),
                Protection {
                    reason: "not found in repo".into(),
                    detail: format!("the primary repository has no stage {stage}"),
                },
            );
        } else if doomed.contains(stage.as_str()) {
            out.push(Deletion::FinalStage { tag: stage.clone() });
        }
    }
    for tag in &final_inv.all_tags {
        if doomed_custom.contains(tag.as_str()) {
            out.push(Deletion::FinalCustomTag { tag: tag.clone() });
        }
    }
    (out, kept)
}

/// The reason given to a stage that a build used while the cleanup planned.
pub const USED_BY_A_BUILD: &str = "used by a build during the cleanup";

/// What builds did while the cleanup planned, read again just before the
/// first deletion: there is no lock between cleanup and build, so a build
/// can choose a stage the plan dooms.
pub struct Meanwhile<'a> {
    /// The repository's tags now.
    pub tags_now: &'a [String],
    /// The planned custom tags whose record names a stage now.
    pub custom_tag_stages_now: &'a BTreeMap<String, String>,
}

/// Spares, from `planned`, every stage that a `meta-*` record written
/// since `listed` was listed names (a build chose it and reports it),
/// with its custom tags, and every custom tag whose record now names
/// another stage (a build moved it). Returns the deletions left and the
/// spared stages' protections.
pub fn spare_used_meanwhile(
    planned: Vec<Deletion>,
    listed: &Inventory,
    custom_tags: &BTreeMap<String, Vec<String>>,
    now: &Meanwhile<'_>,
) -> (Vec<Deletion>, BTreeMap<String, Protection>) {
    let mut used: BTreeMap<String, String> = BTreeMap::new();
    for t in now.tags_now {
        if listed.all_tags.contains(t) {
            continue;
        }
        if let Some(record) = meta_record(t) {
            used.entry(record.stage).or_insert(record.tag);
        }
    }
    let stage_of_custom: BTreeMap<&str, &str> = custom_tags
        .iter()
        .flat_map(|(stage, tags)| tags.iter().map(move |t| (t.as_str(), stage.as_str())))
        .collect();
    let mut spared = BTreeMap::new();
    let left = planned
        .into_iter()
        .filter(|d| match d {
            Deletion::Stage { tag } => match used.get(tag) {
                Some(record) => {
                    spared.insert(
                        tag.clone(),
                        Protection {
                            reason: USED_BY_A_BUILD.into(),
                            detail: format!("{record} was written after the tags were listed"),
                        },
                    );
                    false
                }
                None => true,
            },
            Deletion::CustomTag { tag, .. } => {
                let before = stage_of_custom.get(tag.as_str()).copied();
                let moved = now.custom_tag_stages_now.get(tag).map(String::as_str) != before;
                !moved && !before.is_some_and(|s| used.contains_key(s))
            }
            _ => true,
        })
        .collect();
    (left, spared)
}

/// `purge` (spec §3.9): every stage (rejected ones with their markers),
/// every `managed-image-*` and `meta-*` record, every custom tag with its
/// record. Git and Kubernetes are not consulted.
pub fn purge(
    inv: &Inventory,
    custom_tags: &BTreeMap<String, Vec<String>>,
    images: &BTreeMap<String, String>,
) -> Vec<Deletion> {
    let mut out = Vec::new();
    for s in inv.stages.keys() {
        out.push(Deletion::Stage { tag: s.clone() });
    }
    for name in &inv.managed_images {
        out.push(Deletion::ManagedImage {
            tag: format!("managed-image-{name}"),
            name: name.clone(),
        });
    }
    for m in &inv.meta {
        out.push(Deletion::ImageMetadata {
            record: m.clone(),
            image: images
                .get(&m.image_id)
                .cloned()
                .unwrap_or(m.image_id.clone()),
        });
    }
    let mut recorded = BTreeSet::new();
    for tags in custom_tags.values() {
        for t in tags {
            recorded.insert(custom_tag_record(t));
            out.push(Deletion::CustomTag {
                tag: t.clone(),
                record: custom_tag_record(t),
            });
        }
    }
    for tag in &inv.import_records {
        out.push(Deletion::ImportMetadata { tag: tag.clone() });
    }
    // Records whose labels could not be read still go.
    for r in &inv.custom_tag_records {
        if !recorded.contains(r) {
            out.push(Deletion::Record { tag: r.clone() });
        }
    }
    for id in &inv.rejected {
        if inv.all_tags.contains(id) {
            out.push(Deletion::RejectedStage { tag: id.clone() });
        }
        out.push(Deletion::RejectedStageMarker {
            tag: format!("{id}-rejected"),
        });
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(n: u8, ms: i64) -> String {
        format!("{}-{ms:013}", format!("{n:02x}").repeat(28))
    }

    #[test]
    fn import_records_stay_with_their_protected_source_and_lead_to_it_by_checksum() {
        let (source, other, importer) = (stage(1, 1000), stage(2, 2000), stage(3, 3000));
        let tags: Vec<String> = vec![
            source.clone(),
            other.clone(),
            importer.clone(),
            "import-metadata-aaa".into(),
            "import-metadata-bbb".into(),
            "import-metadata-broken".into(),
        ];
        let inv = inventory(&tags);
        assert_eq!(inv.import_records.len(), 3);
        let record = |source: &str, checksum: &str| ImportRecord {
            source_stage: source.into(),
            checksum: checksum.into(),
        };
        let input = Input {
            inventory: &inv,
            images: BTreeMap::new(),
            custom_tags: BTreeMap::new(),
            imports: BTreeMap::from([
                ("import-metadata-aaa".to_string(), record(&source, "c1")),
                ("import-metadata-bbb".to_string(), record(&other, "c2")),
            ]),
            git: None,
            in_use: None,
            repo_address: "registry.test/app".into(),
            keep_list: BTreeSet::from([importer.clone()]),
            keep_hours: 0,
            index_platform_times: BTreeMap::new(),
            now_ms: 10_000,
            disable: false,
        };
        let mut d = decide(&input);
        // The kept importer's label names the checksum, not the stage.
        let labels = BTreeMap::from([(
            importer.clone(),
            BTreeMap::from([("werf-import-checksum-x".to_string(), "c1".to_string())]),
        )]);
        assert!(protect_relatives(&mut d, &labels));
        assert_eq!(d.kept[&source].reason, "import source");
        let planned = finish(&d);
        assert_eq!(
            planned,
            vec![
                Deletion::Stage { tag: other.clone() },
                Deletion::ImportMetadata {
                    tag: "import-metadata-bbb".into()
                },
                Deletion::ImportMetadata {
                    tag: "import-metadata-broken".into()
                },
            ]
        );
        assert_eq!(
            crate::report::deleted_item(&planned[1])["id"],
            serde_json::json!("bbb")
        );
    }

    #[test]
    fn an_index_is_as_recent_as_its_newest_platform() {
        let index = |n: u8| format!("{n:02x}").repeat(28);
        let (old, new, unread, unknown) = (index(1), index(2), index(3), index(4));
        let tags = vec![old.clone(), new.clone(), unread.clone(), unknown.clone()];
        let inv = inventory(&tags);
        let hour = 3_600_000;
        let now = 100 * hour;
        let input = Input {
            inventory: &inv,
            images: BTreeMap::new(),
            custom_tags: BTreeMap::new(),
            imports: BTreeMap::new(),
            git: None,
            in_use: None,
            repo_address: "registry.test/app".into(),
            keep_list: BTreeSet::new(),
            keep_hours: 2,
            index_platform_times: BTreeMap::from([
                (
                    old.clone(),
                    vec![Some(now - 5 * hour), Some(now - 3 * hour)],
                ),
                (new.clone(), vec![Some(now - 5 * hour), Some(now - hour)]),
                (unread.clone(), vec![Some(now - 5 * hour), None]),
            ]),
            now_ms: now,
            disable: false,
        };
        let d = decide(&input);
        assert!(!d.kept.contains_key(&old), "{:?}", d.kept);
        for kept in [&new, &unread, &unknown] {
            assert_eq!(d.kept[kept].reason, "built within last 2 hours");
        }
        assert_eq!(finish(&d), vec![Deletion::Stage { tag: old }]);
    }

    #[test]
    fn a_stage_a_build_chose_while_planning_is_spared_with_its_custom_tags() {
        let (s1, s2, s3) = (stage(1, 1000), stage(2, 2000), stage(3, 3000));
        let listed = vec![s1.clone(), s2.clone(), s3.clone()];
        let inv = inventory(&listed);
        let custom_tags = BTreeMap::from([
            (s1.clone(), vec!["one".to_string()]),
            (s2.clone(), vec!["two".to_string()]),
            (s3.clone(), vec!["three".to_string()]),
        ]);
        let custom = |t: &str| Deletion::CustomTag {
            tag: t.into(),
            record: custom_tag_record(t),
        };
        let planned = vec![
            Deletion::Stage { tag: s1.clone() },
            Deletion::Stage { tag: s2.clone() },
            Deletion::Stage { tag: s3.clone() },
            custom("one"),
            custom("two"),
            custom("three"),
        ];
        // A build reused s1 (a new record names it) and moved `two` to a
        // stage of its own; `three` is as planned.
        let record = format!("meta-abc_{}_{s1}", "c".repeat(40));
        let mut now = listed.clone();
        now.push(record.clone());
        let stages_now = BTreeMap::from([
            ("one".to_string(), s1.clone()),
            ("two".to_string(), stage(9, 9000)),
            ("three".to_string(), s3.clone()),
        ]);
        let (left, spared) = spare_used_meanwhile(
            planned,
            &inv,
            &custom_tags,
            &Meanwhile {
                tags_now: &now,
                custom_tag_stages_now: &stages_now,
            },
        );
        assert_eq!(
            left,
            vec![
                Deletion::Stage { tag: s2.clone() },
                Deletion::Stage { tag: s3.clone() },
                custom("three"),
            ]
        );
        assert_eq!(spared.keys().collect::<Vec<_>>(), vec![&s1]);
        assert_eq!(spared[&s1].reason, USED_BY_A_BUILD);
        assert!(spared[&s1].detail.contains(&record));
    }

    #[test]
    fn tags_sort_into_werfs_objects() {
        let s1 = stage(1, 1_700_000_000_000);
        let s2 = stage(2, 1_700_000_000_001);
        let tags = vec![
            s1.clone(),
            s2.clone(),
            format!("{s2}-rejected"),
            format!("meta-abc_{}_{s1}", "c".repeat(40)),
            "managed-image-app".into(),
            "custom-tag-meta-latest".into(),
            "latest".into(),
            "02".repeat(28),
        ];
        let inv = inventory(&tags);
        assert_eq!(inv.stages.len(), 2, "{:?}", inv.stages);
        assert!(inv.stages.contains_key(&s1) && inv.stages.contains_key(&"02".repeat(28)));
        assert!(inv.rejected.contains(&s2));
        assert_eq!(inv.meta[0].image_id, "abc");
        assert_eq!(inv.managed_images, vec!["app"]);
        let mut custom = BTreeMap::new();
        custom.insert(s1.clone(), vec!["latest".to_string()]);
        let all = purge(&inv, &custom, &BTreeMap::new());
        let tags: BTreeSet<&str> = all.iter().flat_map(|d| d.tags()).collect();
        // Everything werf wrote, the custom tag and its record included.
        for t in [
            s1.as_str(),
            &"02".repeat(28),
            "latest",
            "custom-tag-meta-latest",
            "managed-image-app",
            &format!("{s2}-rejected"),
            &inv.meta[0].tag,
        ] {
            assert!(tags.contains(t), "{t} is not purged: {tags:?}");
        }
    }
}
