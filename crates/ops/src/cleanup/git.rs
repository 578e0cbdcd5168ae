//! The git side of `cleanup`, through the git CLI (fetching needs it
//! anyway): syncing `origin`'s branches and tags, the references, the
//! commit graph, and whether commits exist.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use davit_cleanup::history::Graph;
use davit_cleanup::refs::GitRef;

use crate::OpsError;

fn git(dir: &Path, args: &[&str]) -> Result<String, OpsError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| OpsError::Cleanup(format!("running git {}: {e}", args.join(" "))))?;
    if !out.status.success() {
        return Err(OpsError::Cleanup(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `gitWorktree` of werf.yaml, as it bears on cleanup.
pub struct WorktreeSettings {
    pub force_shallow_clone: bool,
    pub allow_fetch_origin: bool,
}

/// Brings `refs/remotes/origin/*` and the tags up to date with `origin`
/// (pruning what it no longer has), unshallowing a shallow clone.
pub fn sync_origin(dir: &Path, w: &WorktreeSettings) -> Result<(), OpsError> {
    let shallow = git(dir, &["rev-parse", "--is-shallow-repository"])?.trim() == "true";
    if !w.allow_fetch_origin {
        if shallow && !w.force_shallow_clone {
            return Err(OpsError::Cleanup(
                "git shallow clone is not allowed\n  hint: fetch the whole history (actions/checkout: fetch-depth: 0; GitLab: GIT_DEPTH: 0), or allow gitWorktree.allowFetchOriginBranchesAndTags".into(),
            ));
        }
        return Ok(());
    }
    if git(dir, &["remote"])?.lines().all(|r| r.trim() != "origin") {
        return Err(OpsError::Cleanup(
            "git remote origin was not detected\n  hint: cleanup keeps images by origin's branches and tags; add the remote or run in a clone".into(),
        ));
    }
    let mut args = vec!["fetch", "--quiet", "--prune", "--prune-tags"];
    if shallow {
        args.push("--unshallow");
    }
    args.extend([
        "origin",
        "+refs/heads/*:refs/remotes/origin/*",
        "+refs/tags/*:refs/tags/*",
    ]);
    git(dir, &args)?;
    Ok(())
}

/// `origin`'s branches and the tags, as werf selects from.
pub fn references(dir: &Path) -> Result<Vec<GitRef>, OpsError> {
    let text = git(
        dir,
        &[
            "for-each-ref",
            "--format=%(refname)%09%(objecttype)%09%(objectname)%09%(*objectname)%09%(*objecttype)%09%(creatordate:unix)",
            "refs/remotes/origin",
            "refs/tags",
        ],
    )?;
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, kind, object, peeled, peeled_kind, created] = f[..] else {
            continue;
        };
        let created: i64 = created.parse().unwrap_or(0);
        if let Some(short) = name.strip_prefix("refs/remotes/") {
            if short == "origin/HEAD" || kind != "commit" {
                continue;
            }
            out.push(GitRef {
                name: short.to_string(),
                is_tag: false,
                head: object.to_string(),
                created_at: created,
            });
        } else if let Some(short) = name.strip_prefix("refs/tags/") {
            let head = match kind {
                "commit" => object,
                // An annotated tag: its commit; created when tagged.
                "tag" if peeled_kind == "commit" => peeled,
                _ => {
                    return Err(OpsError::Cleanup(format!(
                        "tag {short} points to a {}, not a commit",
                        if kind == "tag" { peeled_kind } else { kind }
                    )))
                }
            };
            out.push(GitRef {
                name: short.to_string(),
                is_tag: true,
                head: head.to_string(),
                created_at: created,
            });
        }
    }
    Ok(out)
}

/// Every commit reachable from a reference: committer time and parents.
pub fn commit_graph(dir: &Path) -> Result<Graph, OpsError> {
    let text = git(dir, &["log", "--all", "--format=%H %ct %P"])?;
    let mut commits = davit_cleanup::history::CommitMap::default();
    for line in text.lines() {
        let mut parts = line.split(' ');
        let (Some(id), Some(time)) = (parts.next(), parts.next()) else {
            continue;
        };
        let parents: Vec<String> = parts
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        commits.insert(id.to_string(), (time.parse().unwrap_or(0), parents));
    }
    Ok(Graph { commits })
}

/// Which of `commits` exist in the clone (reachable or not).
pub fn existing_commits(dir: &Path, commits: &[String]) -> Result<HashSet<String>, OpsError> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch-check=%(objectname) %(objecttype)"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| OpsError::Cleanup(format!("running git cat-file: {e}")))?;
    // Records name each commit many times (one per image): ask once.
    let unique: HashSet<&String> = commits.iter().collect();
    let input: String = unique.into_iter().map(|c| format!("{c}\n")).collect();
    let mut stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(input.as_bytes());
        }
    });
    let out = child
        .wait_with_output()
        .map_err(|e| OpsError::Cleanup(format!("running git cat-file: {e}")))?;
    let _ = writer.join();
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(" commit").map(str::to_string))
        .collect())
}
