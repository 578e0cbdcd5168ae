//! Whether one commit is in another's history: werf selects a git stage
//! only if the commit it was built from is an ancestor of (or equal to)
//! the current commit, so a stage built on a commit lost to a rebase or a
//! force-push is not reused.

use gix::ObjectId;

use crate::{obj_err, GitError, Repo};

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
}
