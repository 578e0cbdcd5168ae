//! Other commits than HEAD: whether one is in another's history (werf
//! selects a git stage only if the commit it was built from is an
//! ancestor of the current one, so a stage built on a commit lost to a
//! rebase or a force-push is not reused), and the files of an older
//! commit (what a git patch stage starts from).

use std::collections::BTreeMap;

use gix::ObjectId;

use crate::{obj_err, tree_files, EntryKind, GitError, Repo};

/// A file of a commit: its kind and object id (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitFile {
    pub kind: EntryKind,
    pub oid: String,
}

impl Repo {
    /// `true` when `ancestor` is `descendant` or in its history. A commit
    /// that is not in the repository is nobody's ancestor.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, GitError> {
        let (Ok(ancestor), Ok(descendant)) = (
            ObjectId::from_hex(ancestor.as_bytes()),
            ObjectId::from_hex(descendant.as_bytes()),
        ) else {
            return Ok(false);
        };
        if ancestor == descendant {
            return Ok(self.repo.find_commit(ancestor).is_ok());
        }
        if self.repo.find_commit(ancestor).is_err() || self.repo.find_commit(descendant).is_err() {
            return Ok(false);
        }
        let walk = self
            .repo
            .rev_walk([descendant])
            .all()
            .map_err(|e| obj_err(format!("history of {descendant}"), e))?;
        for info in walk {
            let info = info.map_err(|e| obj_err(format!("history of {descendant}"), e))?;
            if info.id == ancestor {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The files of `commit` by repository path (with the files of the
    /// submodules it records, for a repository made by
    /// [`Repo::with_submodules`]).
    pub fn files_at(&self, commit: &str) -> Result<BTreeMap<String, CommitFile>, GitError> {
        let id = ObjectId::from_hex(commit.as_bytes())
            .map_err(|e| obj_err(format!("commit {commit}"), e))?;
        let commit_obj = self
            .repo
            .find_commit(id)
            .map_err(|e| obj_err(format!("commit {commit}"), e))?;
        let mut files = tree_files(&commit_obj, commit)?;
        if !self.gitlinks.is_empty() {
            self.expand_known_submodules(&mut files);
        }
        Ok(files
            .into_iter()
            .map(|(path, f)| {
                (
                    path,
                    CommitFile {
                        kind: f.kind,
                        oid: f.oid.to_string(),
                    },
                )
            })
            .collect())
    }

    /// The kind of `path` at HEAD.
    pub fn head_file(&self, path: &str) -> Option<CommitFile> {
        self.files.get(path).map(|f| CommitFile {
            kind: f.kind,
            oid: f.oid.to_string(),
        })
    }
}
