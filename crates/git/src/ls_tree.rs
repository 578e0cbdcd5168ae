//! werf's `ls-tree` over the commit (`pkg/true_git/ls_tree`): walk the
//! tree from a scope, descend where the matcher says `through`, and take
//! matched entries whole — a directory by its git tree id, a file by its
//! blob id. Tree ids are computed from the file list the way git computes
//! them, so the `--dev` snapshot gets the ids its commit would have.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use davit_pathmatch::PathMatcher;
use gix::ObjectId;

use crate::{EntryKind, Repo};

/// One entry the walk took: a repository-relative path and its object id
/// (a tree, a blob or a submodule commit) in lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsTreeEntry {
    pub path: String,
    pub oid: String,
}

#[derive(Debug, Default)]
pub(crate) struct Dir {
    entries: BTreeMap<String, Node>,
    id: OnceLock<ObjectId>,
}

#[derive(Debug)]
enum Node {
    Dir(Dir),
    Leaf { kind: EntryKind, oid: ObjectId },
}

impl Dir {
    pub(crate) fn build<'a>(files: impl Iterator<Item = (&'a str, EntryKind, ObjectId)>) -> Dir {
        let mut root = Dir::default();
        for (path, kind, oid) in files {
            let mut dir = &mut root;
            let mut parts = path.split('/').peekable();
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    dir.entries
                        .insert(part.to_string(), Node::Leaf { kind, oid });
                    break;
                }
                let node = dir
                    .entries
                    .entry(part.to_string())
                    .or_insert_with(|| Node::Dir(Dir::default()));
                let Node::Dir(next) = node else {
                    // A file and a directory of one name cannot both be
                    // in a tree; keep the file.
                    break;
                };
                dir = next;
            }
        }
        root
    }

    /// The git tree id: entries in git's order (a directory sorts as if
    /// its name ended in `/`), each `<mode> <name>\0<20-byte id>`.
    fn id(&self) -> ObjectId {
        *self.id.get_or_init(|| {
            let mut named: Vec<(Vec<u8>, &str, &Node)> = self
                .entries
                .iter()
                .map(|(name, node)| {
                    let mut key = name.as_bytes().to_vec();
                    if matches!(node, Node::Dir(_)) {
                        key.push(b'/');
                    }
                    (key, name.as_str(), node)
                })
                .collect();
            named.sort_by(|a, b| a.0.cmp(&b.0));
            let mut buf = Vec::new();
            for (_, name, node) in named {
                let (mode, oid) = match node {
                    Node::Dir(d) => ("40000", d.id()),
                    Node::Leaf { kind, oid } => (mode(*kind), *oid),
                };
                buf.extend_from_slice(mode.as_bytes());
                buf.push(b' ');
                buf.extend_from_slice(name.as_bytes());
                buf.push(0);
                buf.extend_from_slice(oid.as_bytes());
            }
            gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Tree, &buf)
                .unwrap_or_else(|_| ObjectId::null(gix::hash::Kind::Sha1))
        })
    }
}

fn mode(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "100644",
        EntryKind::Executable => "100755",
        EntryKind::Symlink => "120000",
        EntryKind::Submodule => "160000",
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

impl Repo {
    fn tree(&self) -> &Dir {
        self.tree.get_or_init(|| {
            Dir::build(
                self.files
                    .iter()
                    .map(|(path, f)| (path.as_str(), f.kind, f.oid)),
            )
        })
    }

    /// werf's `LsTree` from `scope` (repository-relative, `""` for the
    /// root): the entries `matcher` takes, sorted by path byte-wise. A
    /// scope that is not in the commit gives nothing. Submodules are taken
    /// by their commit id; davit does not descend into them.
    pub fn ls_tree(&self, scope: &str, matcher: &dyn PathMatcher) -> Vec<LsTreeEntry> {
        let root = self.tree();
        let mut out = Vec::new();
        if scope.is_empty() {
            decide_dir(root, "", matcher, &mut out);
        } else {
            let mut node: Option<&Node> = None;
            let mut dir = root;
            for part in scope.split('/') {
                node = dir.entries.get(part);
                match node {
                    Some(Node::Dir(d)) => dir = d,
                    _ => break,
                }
            }
            match node {
                Some(Node::Dir(d)) => decide_dir(d, scope, matcher, &mut out),
                Some(Node::Leaf { kind, oid }) => {
                    decide_leaf(*kind, *oid, scope, matcher, &mut out)
                }
                None => {}
            }
        }
        out.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        out
    }
}

fn decide_dir(dir: &Dir, path: &str, matcher: &dyn PathMatcher, out: &mut Vec<LsTreeEntry>) {
    if matcher.through(path) {
        for (name, node) in &dir.entries {
            let child = join(path, name);
            match node {
                Node::Dir(d) => decide_dir(d, &child, matcher, out),
                Node::Leaf { kind, oid } => decide_leaf(*kind, *oid, &child, matcher, out),
            }
        }
    } else if matcher.matched(path) {
        out.push(LsTreeEntry {
            path: path.to_string(),
            oid: dir.id().to_string(),
        });
    }
}

fn decide_leaf(
    kind: EntryKind,
    oid: ObjectId,
    path: &str,
    matcher: &dyn PathMatcher,
    out: &mut Vec<LsTreeEntry>,
) {
    // A submodule gone through would be walked at its commit; davit takes
    // submodules only whole.
    if kind == EntryKind::Submodule && matcher.through(path) {
        return;
    }
    if matcher.matched(path) {
        out.push(LsTreeEntry {
            path: path.to_string(),
            oid: oid.to_string(),
        });
    }
}
