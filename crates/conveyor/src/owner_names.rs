//! Owner and group names without downloading a base image. A git stage
//! or an import with `owner: app` needs the `/etc/passwd` and `/etc/group`
//! of the stage below it; read from the registry, that means every layer
//! down to the base. So each stage davit makes records the two files it
//! holds in a label: a shell stage reads them back from its container
//! before the commit, a stage davit composes carries its parent's record
//! forward (or the files it resolved names with). The next commit's patch
//! then finds the names on the previous stage's description, with no
//! layer read.
//!
//! Docker copies labels to child images, and a stage werf builds on one of
//! davit's inherits the record without updating it; so a record names the
//! stage digest it was written for and counts only on that stage.

use std::collections::{BTreeMap, HashMap};

use davit_stapel::layer::Ownership;
use davit_storage::{StageDescription, StageId, Storage};
use serde::{Deserialize, Serialize};

use super::stapel_image::stapel_err;
use super::{BuildError, Conveyor};

/// The label of the record.
pub(super) const LABEL: &str = "davit-etc-users";

pub(super) const PASSWD: &str = "/etc/passwd";
pub(super) const GROUP: &str = "/etc/group";

/// A stage's `/etc/passwd` and `/etc/group` (absent ones `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct UserFiles {
    pub passwd: Option<String>,
    pub group: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Record {
    /// The stage digest the record was written for.
    stage: String,
    #[serde(flatten)]
    files: UserFiles,
}

impl UserFiles {
    /// The files a shell stage's container held after its commands.
    pub(super) fn read_back(files: &BTreeMap<String, Vec<u8>>) -> UserFiles {
        let text = |p: &str| {
            files
                .get(p)
                .map(|d| String::from_utf8_lossy(d).into_owned())
        };
        UserFiles {
            passwd: text(PASSWD),
            group: text(GROUP),
        }
    }

    /// The label recording these files as those of stage `digest`.
    pub(super) fn label(&self, digest: &str) -> HashMap<String, String> {
        let record = Record {
            stage: digest.to_string(),
            files: self.clone(),
        };
        serde_json::to_string(&record)
            .map(|json| HashMap::from([(LABEL.to_string(), json)]))
            .unwrap_or_default()
    }

    /// The files recorded on `desc`, when the record is its own.
    pub(super) fn recorded(desc: &StageDescription) -> Option<UserFiles> {
        let record: Record = serde_json::from_str(desc.labels.get(LABEL)?).ok()?;
        (record.stage == desc.id.digest).then_some(record.files)
    }
}

/// Whether files put at `to` (an absolute image path) may replace
/// `/etc/passwd` or `/etc/group`: then a parent's record does not hold for
/// the new stage.
pub(super) fn may_write_etc(to: &str) -> bool {
    let to = to.trim_end_matches('/');
    to.is_empty() || to == "/etc" || to.starts_with("/etc/")
}

impl Conveyor<'_> {
    /// Each mapping's `owner`/`group` as ids; names are looked up in the
    /// `/etc/passwd` and `/etc/group` of the stage `base` (only when a
    /// name is used), with the files they were read from.
    pub(super) async fn owners(
        &self,
        primary: &Storage,
        name: &str,
        base: &StageDescription,
        mappings: &[davit_stapel::GitMapping],
    ) -> Result<(Vec<Ownership>, Option<UserFiles>), BuildError> {
        let pairs: Vec<(&str, &str)> = mappings
            .iter()
            .map(|m| (m.owner.as_str(), m.group.as_str()))
            .collect();
        self.owner_ids(primary, name, base, &pairs).await
    }

    /// `(owner, group)` pairs as ids, names looked up in the stage `base`:
    /// in its own record of the files (owner_names.rs), else in its layers
    /// in the storage.
    pub(super) async fn owner_ids(
        &self,
        primary: &Storage,
        name: &str,
        base: &StageDescription,
        pairs: &[(&str, &str)],
    ) -> Result<(Vec<Ownership>, Option<UserFiles>), BuildError> {
        let named = |v: &str| !v.is_empty() && v.parse::<u64>().is_err();
        let mut users = None;
        if pairs.iter().any(|(o, g)| named(o) || named(g)) {
            users = match UserFiles::recorded(base) {
                Some(recorded) => Some(recorded),
                None => Some(self.user_files(primary, name, &base.id).await?),
            };
        }
        let (passwd, group) = users
            .as_ref()
            .map_or((None, None), |u| (u.passwd.as_deref(), u.group.as_deref()));
        let ids = pairs
            .iter()
            .map(|(o, g)| {
                Ownership::resolve_names(name, o, g, passwd, group).map_err(|e| stapel_err(name, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((ids, users))
    }

    /// A stage's `/etc/passwd` and `/etc/group`, read from its layers.
    async fn user_files(
        &self,
        primary: &Storage,
        name: &str,
        stage: &StageId,
    ) -> Result<UserFiles, BuildError> {
        let files = primary
            .image_files(self.engine, stage, |p| {
                p == "etc/passwd" || p == "etc/group"
            })
            .await
            .map_err(|source| BuildError::Storage {
                image: name.to_string(),
                source: Box::new(source),
            })?;
        let text = |p: &str| {
            files
                .get(p)
                .map(|e| String::from_utf8_lossy(&e.data).into_owned())
        };
        Ok(UserFiles {
            passwd: text("etc/passwd"),
            group: text("etc/group"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use davit_storage::StageId;

    fn desc(digest: &str, labels: HashMap<String, String>) -> StageDescription {
        StageDescription {
            id: StageId::new(digest.to_string(), 1),
            image_id: String::new(),
            manifest_digest: String::new(),
            size: 0,
            labels: labels.into_iter().collect(),
        }
    }

    #[test]
    fn a_record_counts_only_on_its_own_stage() {
        let files = UserFiles {
            passwd: Some("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n".into()),
            group: None,
        };
        let label = files.label("d1");
        assert_eq!(UserFiles::recorded(&desc("d1", label.clone())), Some(files));
        // Inherited by a child image: not the child's.
        assert_eq!(UserFiles::recorded(&desc("d2", label)), None);
        assert_eq!(UserFiles::recorded(&desc("d1", HashMap::new())), None);
    }

    #[test]
    fn only_etc_and_above_can_replace_the_user_files() {
        for to in ["/", "/etc", "/etc/", "/etc/x"] {
            assert!(may_write_etc(to), "{to}");
        }
        for to in ["/app", "/etcetera", "/usr/etc"] {
            assert!(!may_write_etc(to), "{to}");
        }
    }
}
