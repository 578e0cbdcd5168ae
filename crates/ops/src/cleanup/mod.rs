//! `davit cleanup`: werf's registry cleanup. The registry's tags, the git
//! history and the cluster's images are read here; `davit-cleanup`
//! decides; the deletions run here, in parallel, each tag deleted without
//! taking another with it. A dry run stops before the first deletion, so
//! it reports exactly what a real run deletes.

mod delete;
mod git;

pub use delete::RegistryApiOptions;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use davit_cleanup::plan::{self, Decision, Deletion, GitView, ImportRecord, Input, Protection};
use davit_cleanup::policy::keep_policies;
use davit_kube::KubeOptions;
use davit_storage::label_cache::StageLabelCache;
use davit_storage::RepoStorage;
use futures_util::stream::{self, StreamExt};

use crate::stores::StorageOptions;
use crate::{OpsError, Project};
use delete::Digests;

#[derive(Clone, Debug)]
pub struct CleanupOptions {
    pub storage: StorageOptions,
    pub dry_run: bool,
    /// `--without-kube`.
    pub without_kube: bool,
    pub kube: KubeOptions,
    /// `--scan-context-only`: one context instead of every one.
    pub scan_context_only: Option<String>,
    /// `--kube-scan-namespaces` (empty: all).
    pub kube_scan_namespaces: Vec<String>,
    /// `--keep-stages-built-within-last-n-hours` or its variable, when given.
    pub keep_hours: Option<u64>,
    /// `--keep-list`: tags to keep, one per line.
    pub keep_list: Option<PathBuf>,
    /// `--parallel-tasks-limit`.
    pub parallel: usize,
    /// How the registry deletes tags, and the vendor tokens.
    pub registry_api: RegistryApiOptions,
    /// The same for `--final-repo` (`--final-repo-*` flags).
    pub final_registry_api: RegistryApiOptions,
}

/// What a cleanup reports as it goes.
pub enum Event<'a> {
    Phase(&'a str),
    Note(String),
    /// A reference the policies selected, with the policy it follows.
    Reference(&'a str, String),
    Deleted(&'a Deletion),
}

/// What a cleanup decided and did.
#[derive(Debug, Default)]
pub struct CleanupOutcome {
    pub repo: String,
    /// `--final-repo`, when cleaned too.
    pub final_repo: Option<String>,
    pub kept: BTreeMap<String, Protection>,
    /// What the policy deletes (all of it in a dry run).
    pub planned: Vec<Deletion>,
    /// What was deleted.
    pub deleted: Vec<Deletion>,
    /// Deletions that failed and were passed over (warnings).
    pub warnings: Vec<String>,
    /// Registry requests sent (for statistics).
    pub requests: u64,
    /// Requests to a vendor API (GitHub, Docker Hub), and the answers of
    /// it that were rate limits waited out.
    pub vendor_requests: u64,
    pub rate_limited: u64,
}

fn managed_image_name(id: &str) -> String {
    if id == "__nameless__" {
        return String::new();
    }
    id.replace("__space__", " ")
        .replace("__slash__", "/")
        .replace("__plus__", "+")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn runtime() -> Result<tokio::runtime::Runtime, OpsError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(OpsError::Runtime)
}

/// Runs `davit cleanup` for `project`. `outcome` is filled as far as the
/// run got, so a report can be written even when it fails.
pub fn cleanup(
    project: &Project,
    options: &CleanupOptions,
    outcome: &mut CleanupOutcome,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), OpsError> {
    let runtime = runtime()?;
    runtime.block_on(run(project, options, outcome, on_event))
}

async fn run(
    project: &Project,
    options: &CleanupOptions,
    outcome: &mut CleanupOutcome,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), OpsError> {
    let meta = &project.loaded.config.meta;
    let cfg = &meta.cleanup;
    let (repo_address, stores) = open_repo(project, options)?;
    outcome.repo = repo_address.clone();
    let Some(repo) = stores.primary.as_repo() else {
        return Err(OpsError::Usage("davit cleanup needs --repo".into()));
    };
    let work_tree = project.repo.work_tree().to_path_buf();
    // A real run that could not delete fails before anything is read.
    let deletion = if options.dry_run {
        None
    } else {
        Some(
            delete::tag_deletion(
                &repo_address,
                &options.registry_api,
                options.storage.skip_tls_verify,
            )
            .await?,
        )
    };

    // The final repository's registry too (`--final-repo-*`).
    let final_deletion = match (&stores.final_repo, options.dry_run) {
        (Some(f), false) => Some(
            delete::tag_deletion(
                &f.address(),
                &options.final_registry_api,
                options.storage.skip_tls_verify,
            )
            .await?,
        ),
        _ => None,
    };

    // A malformed policy stops before any work.
    let policies = keep_policies(cfg).map_err(|e| {
        let loaded = &project.loaded;
        let at = match loaded.config.meta_position(&e.key_path()) {
            Some((line, col)) => format!("{}:{line}:{col}", loaded.config_file),
            None => loaded.config_file.clone(),
        };
        OpsError::Cleanup(format!("{at}: {e}"))
    })?;

    // Git first: a clone that cannot be synced stops before anything else.
    let git_enabled = !cfg.disable && !cfg.disable_git_history_based_policy;
    if git_enabled {
        on_event(Event::Phase("Syncing origin branches and tags"));
        git::sync_origin(
            &work_tree,
            &git::WorktreeSettings {
                force_shallow_clone: meta.git_worktree.force_shallow_clone.unwrap_or(false),
                allow_fetch_origin: meta
                    .git_worktree
                    .allow_fetch_origin_branches_and_tags
                    .unwrap_or(true),
            },
        )?;
    }

    // The references and the commit graph are read while the registry
    // lists the tags.
    let git_read = git_enabled.then(|| {
        let work_tree = work_tree.clone();
        tokio::task::spawn_blocking(move || {
            Ok::<_, OpsError>((git::references(&work_tree)?, git::commit_graph(&work_tree)?))
        })
    });
    on_event(Event::Phase("Fetching manifests and metadata"));
    let tags = repo.all_tags().await.map_err(OpsError::from)?;
    let inventory = plan::inventory(&tags);
    let images = image_ids(project, &inventory);
    let custom_tags = read_custom_tags(
        repo,
        &inventory.custom_tag_records,
        options.parallel,
        on_event,
    )
    .await;

    let in_use = if cfg.disable || options.without_kube || cfg.disable_kubernetes_based_policy {
        None
    } else {
        on_event(Event::Phase("Scanning Kubernetes for images in use"));
        let found = davit_kube::images::images_in_use(
            &options.kube,
            options.scan_context_only.as_deref(),
            &options.kube_scan_namespaces,
        )
        .await
        .map_err(|e| {
            OpsError::Cleanup(format!(
                "cleanup requires Kubernetes access (token or kubeconfig), pass --without-kube to skip Kubernetes cleanup: {e}"
            ))
        })?;
        Some(found)
    };

    let keep_list = match &options.keep_list {
        None => BTreeSet::new(),
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| OpsError::Cleanup(format!("--keep-list {}: {e}", path.display())))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let keep_hours = if cfg.disable_built_within_last_n_hours_policy {
        0
    } else {
        options
            .keep_hours
            .or(cfg.keep_images_built_within_last_n_hours)
            .unwrap_or(2)
    };

    let graph;
    let existing;
    let git_view = if let Some(git_read) = git_read {
        let (refs, read_graph) = git_read
            .await
            .map_err(|e| OpsError::Cleanup(format!("reading the git history: {e}")))??;
        graph = read_graph;
        // A commit in the graph exists; git is asked about the others
        // (unreachable ones may exist too).
        let commits: Vec<String> = inventory
            .meta
            .iter()
            .filter(|m| !graph.commits.contains_key(&m.commit))
            .map(|m| m.commit.clone())
            .collect();
        existing = if commits.is_empty() {
            HashSet::new()
        } else {
            git::existing_commits(&work_tree, &commits)?
        };
        on_event(Event::Phase("Preparing references to scan"));
        let now = now_ms() / 1000;
        for r in davit_cleanup::refs::references_to_scan(&refs, &policies, now) {
            on_event(Event::Reference(
                &r.git.name,
                policies[r.policy].to_string(),
            ));
        }
        Some(GitView {
            refs,
            graph: &graph,
            commit_exists: &|c: &str| graph.commits.contains_key(c) || existing.contains(c),
            policies,
        })
    } else {
        None
    };

    let imports = read_import_records(repo, &inventory.import_records, options.parallel).await;
    let index_platform_times = if keep_hours > 0 {
        read_index_platform_times(repo, &inventory, options.parallel).await
    } else {
        BTreeMap::new()
    };
    let input = Input {
        inventory: &inventory,
        images,
        custom_tags,
        imports,
        git: git_view,
        in_use: in_use.as_ref(),
        repo_address: repo_address.clone(),
        keep_list,
        keep_hours,
        index_platform_times,
        now_ms: now_ms(),
        disable: cfg.disable,
    };
    on_event(Event::Phase("Git history-based cleanup"));
    let mut decision = plan::decide(&input);
    let cache_dir = options.storage.local_cache_dir().join("stage-labels");
    let mut label_cache = StageLabelCache::load(&cache_dir, &repo_address);
    let stage_digests = protect_relatives(
        repo,
        &inventory,
        &mut decision,
        &mut label_cache,
        options.parallel,
    )
    .await?;
    if label_cache.hits() > 0 {
        on_event(Event::Note(format!(
            "│ the labels of {} kept stage(s) came from the local cache {} (a stage's labels never change)",
            label_cache.hits(),
            cache_dir.display()
        )));
    }
    if let Err(e) = label_cache.save(&tags) {
        on_event(Event::Note(format!(
            "│ the stage label cache {} was not written ({e}); the next cleanup reads the labels again",
            cache_dir.display()
        )));
    }
    let mut planned = plan::finish(&decision);
    // The digests first, then a second look at the tags right before the
    // deletions: builds run while a cleanup plans (there is no lock), and a
    // stage a build chose since the first listing is spared. A dry run
    // deletes nothing, so it has no "right before" to look at.
    // Stage digests read for manifest lists are not read again.
    let mut digests = Digests::known(stage_digests);
    if let Some((_, how)) = &deletion {
        let unread = digests.missing(&tags);
        digests.extend(Digests::read(repo, how, &unread, options.parallel).await);
        let tags_now = repo.all_tags().await.map_err(OpsError::from)?;
        let new = digests.missing(&tags_now);
        digests.extend(Digests::read(repo, how, &new, options.parallel).await);
        planned = spare_used_meanwhile(
            repo,
            planned,
            &inventory,
            &input.custom_tags,
            &tags_now,
            &mut decision,
            options.parallel,
            on_event,
        )
        .await;
    }
    // `--final-repo`: the copies of the stages deleted here go too.
    let final_plan = match &stores.final_repo {
        Some(f) => {
            let address = f.address();
            outcome.final_repo = Some(address.clone());
            let final_tags = f.all_tags().await.map_err(OpsError::from)?;
            let (deletions, kept) = plan::final_repo_deletions(
                &final_tags,
                &address,
                in_use.as_ref(),
                &inventory,
                &planned,
            );
            for (stage, p) in &kept {
                on_event(Event::Note(format!(
                    "│ kept {address}:{stage}: {} ({})",
                    p.reason, p.detail
                )));
            }
            Some((f, final_tags, deletions))
        }
        None => None,
    };
    outcome.kept = decision.kept.clone();
    outcome.planned = planned.clone();
    if let Some((_, _, d)) = &final_plan {
        outcome.planned.extend(d.iter().cloned());
    }
    outcome.requests = repo.request_count();
    let Some((implementation, how)) = deletion else {
        outcome.deleted = outcome.planned.clone();
        return Ok(());
    };

    delete::delete_all(
        repo,
        &project.name,
        (implementation, how),
        &planned,
        &digests,
        options.parallel,
        outcome,
        on_event,
    )
    .await?;
    delete_cache_copies(
        &stores.cache_repos,
        &project.name,
        &planned,
        options,
        outcome,
        on_event,
    )
    .await;
    if let (Some((f, final_tags, deletions)), Some(final_how)) = (final_plan, final_deletion) {
        delete::delete_listed(
            f,
            &project.name,
            final_how,
            &deletions,
            &final_tags,
            options.parallel,
            outcome,
            on_event,
        )
        .await?;
        outcome.requests = repo.request_count() + f.request_count();
    }
    if !cfg.disable {
        if let Err(e) = repo.push_cleanup_record(&project.name, now_ms()).await {
            outcome
                .warnings
                .push(format!("the cleanup record could not be written: {e}"));
        }
    }
    Ok(())
}

/// `davit purge`: every stage and record werf wrote to the repository,
/// whatever git or Kubernetes say.
pub fn purge(
    project: &Project,
    options: &CleanupOptions,
    outcome: &mut CleanupOutcome,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), OpsError> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let (repo_address, stores) = open_repo(project, options)?;
        outcome.repo = repo_address;
        let Some(repo) = stores.primary.as_repo() else {
            return Err(OpsError::Usage("davit purge needs --repo".into()));
        };
        on_event(Event::Phase("Fetching manifests and metadata"));
        let tags = repo.all_tags().await.map_err(OpsError::from)?;
        let inventory = plan::inventory(&tags);
        let custom_tags = read_custom_tags(
            repo,
            &inventory.custom_tag_records,
            options.parallel,
            on_event,
        )
        .await;
        let images = image_ids(project, &inventory);
        let planned = plan::purge(&inventory, &custom_tags, &images);
        outcome.planned = planned.clone();
        // Every stage of `--final-repo` goes too, with the custom tags there.
        let final_plan = match &stores.final_repo {
            Some(f) => {
                outcome.final_repo = Some(f.address());
                let final_tags = f.all_tags().await.map_err(OpsError::from)?;
                let custom: BTreeSet<&String> = custom_tags.values().flatten().collect();
                let final_inv = plan::inventory(&final_tags);
                let deletions: Vec<Deletion> = final_inv
                    .stages
                    .keys()
                    .map(|t| Deletion::FinalStage { tag: t.clone() })
                    .chain(
                        final_tags
                            .iter()
                            .filter(|t| custom.contains(t))
                            .map(|t| Deletion::FinalCustomTag { tag: t.clone() }),
                    )
                    .collect();
                outcome.planned.extend(deletions.iter().cloned());
                Some((f, final_tags, deletions))
            }
            None => None,
        };
        if options.dry_run {
            outcome.deleted = outcome.planned.clone();
            return Ok(());
        }
        let (implementation, how) = delete::tag_deletion(
            &outcome.repo,
            &options.registry_api,
            options.storage.skip_tls_verify,
        )
        .await?;
        let final_how = match &final_plan {
            Some((f, _, _)) => Some(
                delete::tag_deletion(
                    &f.address(),
                    &options.final_registry_api,
                    options.storage.skip_tls_verify,
                )
                .await?,
            ),
            None => None,
        };
        delete::delete_listed(
            repo,
            &project.name,
            (implementation, how),
            &planned,
            &tags,
            options.parallel,
            outcome,
            on_event,
        )
        .await?;
        if let (Some((f, final_tags, deletions)), Some(final_how)) = (final_plan, final_how) {
            delete::delete_listed(
                f,
                &project.name,
                final_how,
                &deletions,
                &final_tags,
                options.parallel,
                outcome,
                on_event,
            )
            .await?;
        }
        Ok(())
    })
}

/// The repositories to clean, opened.
fn open_repo(
    project: &Project,
    options: &CleanupOptions,
) -> Result<(String, crate::stores::Stores), OpsError> {
    let Some(repo_address) = options.storage.repo().map(str::to_string) else {
        return Err(OpsError::Usage(
            "--repo (WERF_REPO) is required: the repository to clean".into(),
        ));
    };
    let stores = options.storage.open(&project.name)?;
    Ok((repo_address, stores))
}

/// The project's image names (werf.yaml and `managed-image-*`) by the id
/// their `meta-*` records carry.
fn image_ids(project: &Project, inventory: &plan::Inventory) -> BTreeMap<String, String> {
    project
        .loaded
        .config
        .images
        .iter()
        .map(|i| i.name.clone())
        .chain(
            inventory
                .managed_images
                .iter()
                .map(|m| managed_image_name(m)),
        )
        .map(|name| (davit_slug::murmur(&name), name))
        .collect()
}

/// stage → custom tags, from the `custom-tag-meta-*` records' labels.
/// The second look: stages that builds chose since the first listing (a
/// new `meta-*` record names them) are spared with their custom tags, and
/// so are custom tags a build moved to another stage. Returns what is
/// still to delete; the spared stages join `decision.kept`.
#[allow(clippy::too_many_arguments)]
async fn spare_used_meanwhile(
    repo: &RepoStorage,
    planned: Vec<Deletion>,
    inventory: &plan::Inventory,
    custom_tags: &BTreeMap<String, Vec<String>>,
    tags_now: &[String],
    decision: &mut Decision,
    parallel: usize,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Vec<Deletion> {
    let custom_records: Vec<String> = planned
        .iter()
        .filter_map(|d| match d {
            Deletion::CustomTag { record, .. } => Some(record.clone()),
            _ => None,
        })
        .collect();
    let custom_tag_stages_now: BTreeMap<String, String> =
        read_custom_tags(repo, &custom_records, parallel, on_event)
            .await
            .into_iter()
            .flat_map(|(stage, tags)| tags.into_iter().map(move |t| (t, stage.clone())))
            .collect();
    let (planned, spared) = plan::spare_used_meanwhile(
        planned,
        inventory,
        custom_tags,
        &plan::Meanwhile {
            tags_now,
            custom_tag_stages_now: &custom_tag_stages_now,
        },
    );
    for (stage, protection) in spared {
        on_event(Event::Note(format!(
            "│ kept {stage}: {} ({})",
            protection.reason, protection.detail
        )));
        decision.kept.insert(stage, protection);
    }
    planned
}

/// The platforms' creation times of every multi-platform stage, for the
/// built-within-N-hours policy. One that cannot be read is left out, and
/// so kept while that policy is on.
async fn read_index_platform_times(
    repo: &RepoStorage,
    inventory: &plan::Inventory,
    parallel: usize,
) -> BTreeMap<String, Vec<Option<i64>>> {
    let indexes = inventory.stages.iter().filter(|(_, ms)| **ms == 0);
    stream::iter(indexes.map(|(tag, _)| async move {
        let times = repo.index_platform_created(tag).await;
        (tag.clone(), times)
    }))
    .buffer_unordered(parallel.max(1))
    .filter_map(|(tag, times)| async move { Some((tag, times.ok()??)) })
    .collect()
    .await
}

async fn read_custom_tags(
    repo: &RepoStorage,
    records: &[String],
    parallel: usize,
    on_event: &mut dyn FnMut(Event<'_>),
) -> BTreeMap<String, Vec<String>> {
    let read: Vec<_> = stream::iter(
        records
            .iter()
            .map(|r| async move { (r, repo.labels(r).await) }),
    )
    .buffer_unordered(parallel.max(1))
    .collect()
    .await;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (record, labels) in read {
        match labels {
            Ok(Some(l)) => match (l.get("stage-id"), l.get("tag")) {
                (Some(stage), Some(tag)) => out.entry(stage.clone()).or_default().push(tag.clone()),
                _ => on_event(Event::Note(format!("warning: {record}: not a custom tag record (no stage-id and tag labels), skipped"))),
            },
            Ok(None) => {}
            Err(e) => on_event(Event::Note(format!("warning: {record}: {e}"))),
        }
    }
    out
}

/// werf deletes a stage from every `--cache-repo` with the primary's; a
/// copy that cannot be deleted is a warning.
async fn delete_cache_copies(
    caches: &[RepoStorage],
    project: &str,
    planned: &[Deletion],
    options: &CleanupOptions,
    outcome: &mut CleanupOutcome,
    on_event: &mut dyn FnMut(Event<'_>),
) {
    let stages: BTreeSet<&str> = planned
        .iter()
        .filter_map(|d| match d {
            Deletion::Stage { tag } => Some(tag.as_str()),
            _ => None,
        })
        .collect();
    for cache in caches {
        let address = cache.address();
        let tags = match cache.all_tags().await {
            Ok(t) => t,
            Err(e) => {
                outcome
                    .warnings
                    .push(format!("WARNING: --cache-repo {address}: {e}"));
                continue;
            }
        };
        let copies: Vec<Deletion> = tags
            .iter()
            .filter(|t| stages.contains(t.as_str()))
            .map(|t| Deletion::Stage { tag: t.clone() })
            .collect();
        if copies.is_empty() {
            continue;
        }
        let api = delete::RegistryApiOptions {
            implementation: None,
            ..options.registry_api.clone()
        };
        let how = match delete::tag_deletion(&address, &api, options.storage.skip_tls_verify).await
        {
            Ok(h) => h,
            Err(e) => {
                outcome
                    .warnings
                    .push(format!("WARNING: --cache-repo {address}: {e}"));
                continue;
            }
        };
        // The cache's deletions are not the report's: only warnings surface.
        let mut cache_outcome = CleanupOutcome::default();
        let result = delete::delete_listed(
            cache,
            project,
            how,
            &copies,
            &tags,
            options.parallel,
            &mut cache_outcome,
            &mut |_| {},
        )
        .await;
        on_event(Event::Note(format!(
            "│ deleted {} stage copies from --cache-repo {address}",
            cache_outcome.deleted.len()
        )));
        outcome.warnings.extend(cache_outcome.warnings);
        if let Err(e) = result {
            outcome
                .warnings
                .push(format!("WARNING: --cache-repo {address}: {e}"));
        }
    }
}

/// The readable `import-metadata-*` records (werf's stapel imports) by
/// tag; one that cannot be read is left out, and so deleted.
async fn read_import_records(
    repo: &RepoStorage,
    records: &[String],
    parallel: usize,
) -> BTreeMap<String, ImportRecord> {
    stream::iter(
        records
            .iter()
            .map(|r| async move { (r, repo.labels(r).await) }),
    )
    .buffer_unordered(parallel.max(1))
    .filter_map(|(tag, labels)| async move {
        let labels = labels.ok().flatten()?;
        Some((
            tag.clone(),
            ImportRecord {
                source_stage: labels.get("source-stage-id")?.clone(),
                checksum: labels.get("checksum")?.clone(),
            },
        ))
    })
    .collect()
    .await
}

/// Rounds of relatives: the labels of newly protected stages, read in
/// parallel, and the platform stages of protected multi-platform stages,
/// until no new stage is protected. Labels come from `cache` where it has
/// them (a stage's labels never change). Returns the stage digests it read
/// (tag → digest; only when a manifest list needed them).
async fn protect_relatives(
    repo: &RepoStorage,
    inventory: &plan::Inventory,
    d: &mut Decision,
    cache: &mut StageLabelCache,
    parallel: usize,
) -> Result<BTreeMap<String, String>, OpsError> {
    // Stage manifest digest → stages, read once when an index needs it.
    let mut by_digest: Option<BTreeMap<String, Vec<String>>> = None;
    let mut read_digests = BTreeMap::new();
    loop {
        let indexes = plan::protected_indexes(d);
        let mut changed = false;
        if !indexes.is_empty() {
            if by_digest.is_none() {
                let single: Vec<&String> = inventory
                    .stages
                    .keys()
                    .filter(|s| s.contains('-'))
                    .collect();
                let heads: Vec<_> = stream::iter(
                    single
                        .into_iter()
                        .map(|s| async move { (s.clone(), repo.tag_digest(s).await) }),
                )
                .buffer_unordered(parallel.max(1))
                .collect()
                .await;
                let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (s, digest) in heads {
                    let digest = digest.map_err(|e| {
                        OpsError::Cleanup(format!(
                            "reading the digest of {s} (a kept manifest list may name it): {e}"
                        ))
                    })?;
                    if let Some(digest) = digest {
                        read_digests.insert(s.clone(), digest.clone());
                        map.entry(digest).or_default().push(s);
                    }
                }
                by_digest = Some(map);
            }
            let map = by_digest.as_ref().map(|m| m as &BTreeMap<_, _>);
            let platforms: Vec<_> = stream::iter(
                indexes
                    .into_iter()
                    .map(|i| async move { (i.clone(), repo.index_platform_digests(&i).await) }),
            )
            .buffer_unordered(parallel.max(1))
            .collect()
            .await;
            for (index, digests) in platforms {
                let digests = digests
                    .map_err(|e| {
                        OpsError::Cleanup(format!(
                            "reading the manifest list of the kept stage {index}: {e}"
                        ))
                    })?
                    .unwrap_or_default();
                let stages: Vec<String> = digests
                    .iter()
                    .filter_map(|dg| map.and_then(|m| m.get(dg)))
                    .flatten()
                    .cloned()
                    .collect();
                changed |= plan::protect_index_platforms(d, &index, &stages);
            }
        }
        let need = plan::needs_labels(d);
        if need.is_empty() && !changed {
            return Ok(read_digests);
        }
        let mut labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut unread = Vec::new();
        for stage in need {
            match cache.lookup(&stage) {
                Some(l) => {
                    labels.insert(stage, l);
                }
                None => unread.push(stage),
            }
        }
        let read: Vec<_> = stream::iter(unread.into_iter().map(|s| async move {
            let l = repo.labels(&s).await;
            (s, l)
        }))
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
        for (stage, l) in read {
            // Unread labels could hide a parent or source that must stay.
            let l = l.map_err(|e| {
                OpsError::Cleanup(format!(
                    "reading the labels of the kept stage {stage} (its parent and sources stay with it): {e}"
                ))
            })?;
            // A stage gone meanwhile has no labels, and is not cached.
            if let Some(l) = &l {
                cache.insert(&stage, l);
            }
            labels.insert(stage, l.unwrap_or_default());
        }
        plan::protect_relatives(d, &labels);
    }
}
