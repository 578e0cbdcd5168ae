//! A local cache of stage labels, one file per repository, so a cleanup
//! that runs again on the same runner reads only the stages it has not
//! seen. A stage tag (`<digest>-<unix millis>`) is written once and never
//! changes, so its labels can be kept for as long as the tag exists. Only
//! single-platform stage tags are cached: records, custom tags and
//! multi-platform indexes are read every time. A missing, unreadable or
//! corrupt cache is an empty one; the cache never decides anything the
//! registry would not.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::stage_id::StageId;

/// Bumped when the file's meaning changes; other versions are ignored.
const FORMAT: u32 = 1;

type Labels = BTreeMap<String, String>;

#[derive(Debug)]
pub struct StageLabelCache {
    file: PathBuf,
    repo: String,
    labels: BTreeMap<String, Labels>,
    changed: bool,
    hits: usize,
}

#[derive(serde::Deserialize)]
struct CacheFile {
    format: u32,
    repo: String,
    stages: BTreeMap<String, Labels>,
}

#[derive(serde::Serialize)]
struct CacheFileRef<'a> {
    format: u32,
    repo: &'a str,
    stages: &'a BTreeMap<String, Labels>,
}

impl StageLabelCache {
    /// The cache of `repo` (`HOST/PATH`) under `dir`.
    pub fn load(dir: &Path, repo: &str) -> StageLabelCache {
        let name = hex(&Sha256::digest(repo.as_bytes()))[..32].to_string();
        let file = dir.join(format!("{name}.json"));
        let labels = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice::<CacheFile>(&b).ok())
            .filter(|c| c.format == FORMAT && c.repo == repo)
            .map(|c| c.stages)
            .unwrap_or_default();
        StageLabelCache {
            file,
            repo: repo.to_string(),
            labels,
            changed: false,
            hits: 0,
        }
    }

    /// The labels cached for `tag`, counted as a hit when found.
    pub fn lookup(&mut self, tag: &str) -> Option<Labels> {
        let found = self.labels.get(tag).cloned();
        self.hits += usize::from(found.is_some());
        found
    }

    /// How many lookups the cache answered.
    pub fn hits(&self) -> usize {
        self.hits
    }

    /// Remembers the labels read for `tag` (ignored unless it is a
    /// single-platform stage tag, the only kind that never changes).
    pub fn insert(&mut self, tag: &str, labels: &Labels) {
        if !is_immutable(tag) || self.labels.get(tag) == Some(labels) {
            return;
        }
        self.labels.insert(tag.to_string(), labels.clone());
        self.changed = true;
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Writes the cache, keeping only the tags still listed in the
    /// repository (`listed`), through a temporary file renamed into place
    /// so a concurrent reader never sees half a file. A cache that cannot
    /// be written costs only speed, so the error is for the caller to
    /// mention, not to fail on.
    pub fn save(&mut self, listed: &[String]) -> std::io::Result<()> {
        let listed: HashSet<&str> = listed.iter().map(String::as_str).collect();
        let before = self.labels.len();
        self.labels.retain(|tag, _| listed.contains(tag.as_str()));
        if !self.changed && self.labels.len() == before {
            return Ok(());
        }
        let dir = self.file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let body = serde_json::to_vec(&CacheFileRef {
            format: FORMAT,
            repo: &self.repo,
            stages: &self.labels,
        })
        .map_err(std::io::Error::other)?;
        let tmp = self
            .file
            .with_extension(format!("json.{}.tmp", std::process::id()));
        std::fs::write(&tmp, &body)?;
        std::fs::rename(&tmp, &self.file).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        self.changed = false;
        Ok(())
    }
}

/// `<digest>-<unix millis>`: a stage tag, written once.
fn is_immutable(tag: &str) -> bool {
    StageId::from_tag(tag).is_some_and(|id| id.creation_ts != 0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGE: &str = "0f78c4afafe11071a8cf94bbc3d48c45d75dc6bee285cb586e53c09f-1793754874660";
    const INDEX: &str = "0f78c4afafe11071a8cf94bbc3d48c45d75dc6bee285cb586e53c09f";

    fn labels(parent: &str) -> Labels {
        BTreeMap::from([("werf.io/parent-stage-id".to_string(), parent.to_string())])
    }

    /// A cache of repository "r/p" in `dir` written with STAGE's labels.
    fn saved_with_stage(dir: &Path) {
        let mut cache = StageLabelCache::load(dir, "r/p");
        cache.insert(STAGE, &labels("x"));
        cache.save(&[STAGE.to_string()]).unwrap();
    }

    #[test]
    fn stage_labels_survive_a_reload_and_other_tags_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = StageLabelCache::load(dir.path(), "r.example/p");
        cache.insert(STAGE, &labels("x"));
        cache.insert(INDEX, &labels("y"));
        cache.insert("meta-1_2_3", &labels("z"));
        cache.insert("v1.0", &labels("z"));
        cache.save(&[STAGE.to_string(), INDEX.to_string()]).unwrap();
        assert_eq!(cache.len(), 1);

        let mut again = StageLabelCache::load(dir.path(), "r.example/p");
        assert_eq!(again.lookup(STAGE), Some(labels("x")));
        assert_eq!(again.lookup(INDEX), None);
        assert_eq!(again.hits(), 1);
        // Another repository has its own file.
        assert!(StageLabelCache::load(dir.path(), "r.example/q").is_empty());
    }

    #[test]
    fn tags_no_longer_listed_are_dropped_on_save() {
        let dir = tempfile::tempdir().unwrap();
        saved_with_stage(dir.path());
        let mut cache = StageLabelCache::load(dir.path(), "r/p");
        cache.save(&[]).unwrap();
        assert!(StageLabelCache::load(dir.path(), "r/p").is_empty());
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        saved_with_stage(dir.path());
        let file = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::write(&file, b"{not json").unwrap();
        assert!(StageLabelCache::load(dir.path(), "r/p").is_empty());
        let other_format = format!(r#"{{"format":99,"repo":"r/p","stages":{{"{STAGE}":{{}}}}}}"#);
        std::fs::write(&file, other_format).unwrap();
        assert!(StageLabelCache::load(dir.path(), "r/p").is_empty());
    }
}
