//! werf's `ls-tree` over the commit (`pkg/true_git/ls_tree`): walk the
//! tree from a scope, descend where the matcher says `through`, and take
//! matched entries whole — a directory by its git tree id, a file by its
//! blob id. Tree ids are computed from the file list the way git computes
//! them, so the `--dev` snapshot gets the ids its commit would have.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use davit_pathmatch::PathMatcher;
use gix::ObjectId;
use sha2::{Digest, Sha256};

use crate::{EntryKind, Repo};

/// One entry the walk took: a repository-relative path and its object id
/// (a tree, a blob or a submodule commit) in lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LsTreeEntry {
    pub path: String,
    pub oid: String,
}

/// What a walk took: entries sorted by path byte-wise, and for each
/// submodule the walk went into, what it took there (werf's sub-result,
/// kept only when not empty), sorted by the submodule's path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LsTree {
    pub entries: Vec<LsTreeEntry>,
    pub submodules: Vec<(String, LsTree)>,
}

impl LsTree {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.submodules.is_empty()
    }

    /// werf's `Checksum`: `""` when empty, else the sha256 (hex) of the
    /// entries' ids, then of each submodule result's own checksum.
    pub fn checksum(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut hasher = Sha256::new();
        for e in &self.entries {
            hasher.update(e.oid.as_bytes());
        }
        for (_, sub) in &self.submodules {
            hasher.update(sub.checksum().as_bytes());
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn sort(&mut self) {
        self.entries
            .sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        self.submodules
            .sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    }
}

#[derive(Debug, Default)]
pub(crate) struct Dir {
    entries: BTreeMap<String, Node>,
    id: OnceLock<ObjectId>,
}

#[derive(Debug)]
enum Node {
    Dir(Dir),
    Leaf {
        kind: EntryKind,
        oid: ObjectId,
    },
    /// A submodule whose files the repository holds: its recorded commit
    /// and its tree.
    Sub {
        oid: ObjectId,
        dir: Dir,
    },
}

impl Dir {
    /// The tree of `files`, with `gitlinks` (submodules replaced by their
    /// files, which `files` holds below them) as submodule nodes.
    pub(crate) fn build<'a>(
        gitlinks: impl Iterator<Item = (&'a str, ObjectId)>,
        files: impl Iterator<Item = (&'a str, EntryKind, ObjectId)>,
    ) -> Dir {
        let mut root = Dir::default();
        // Outer submodules sort before the ones nested in them.
        for (path, oid) in gitlinks {
            root.insert(
                path,
                Node::Sub {
                    oid,
                    dir: Dir::default(),
                },
            );
        }
        for (path, kind, oid) in files {
            root.insert(path, Node::Leaf { kind, oid });
        }
        root
    }

    fn insert(&mut self, path: &str, node: Node) {
        let mut dir = self;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                dir.entries.insert(part.to_string(), node);
                return;
            }
            let next = dir
                .entries
                .entry(part.to_string())
                .or_insert_with(|| Node::Dir(Dir::default()));
            dir = match next {
                Node::Dir(d) | Node::Sub { dir: d, .. } => d,
                // A file and a directory of one name cannot both be in a
                // tree; keep the file.
                Node::Leaf { .. } => return,
            };
        }
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
                    Node::Sub { oid, .. } => ("160000", *oid),
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
                self.gitlinks(),
                self.files
                    .iter()
                    .map(|(path, f)| (path.as_str(), f.kind, f.oid)),
            )
        })
    }

    /// werf's `LsTree` from `scope` (repository-relative, `""` for the
    /// root): the entries `matcher` takes. A scope that is not in the
    /// commit gives nothing. A submodule is taken by its commit id when
    /// matched whole; when the matcher goes through it, it is walked only
    /// if this repository holds its files ([`Repo::with_submodules`]), and
    /// what is taken there becomes a submodule result.
    pub fn ls_tree(&self, scope: &str, matcher: &dyn PathMatcher) -> LsTree {
        let root = self.tree();
        let mut result = LsTree::default();
        // The submodules the scope lies in: the result is theirs.
        let mut within: Vec<String> = Vec::new();
        if scope.is_empty() {
            decide_dir(root, "", matcher, &mut result);
        } else {
            let parts: Vec<&str> = scope.split('/').collect();
            let mut dir = root;
            let mut walked = String::new();
            let mut node = None;
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                walked = join(&walked, part);
                let found = dir.entries.get(*part);
                match found {
                    Some(Node::Dir(d)) => dir = d,
                    Some(Node::Sub { dir: d, .. }) if !last => {
                        within.push(walked.clone());
                        dir = d;
                    }
                    Some(_) if last => {}
                    _ => {
                        node = None;
                        break;
                    }
                }
                node = found;
            }
            if let Some(node) = node {
                decide(node, scope, matcher, &mut result);
            }
        }
        result.sort();
        for path in within.into_iter().rev() {
            if !result.is_empty() {
                result = LsTree {
                    entries: Vec::new(),
                    submodules: vec![(path, result)],
                };
            }
        }
        result
    }
}

fn decide_dir(dir: &Dir, path: &str, matcher: &dyn PathMatcher, out: &mut LsTree) {
    if matcher.through(path) {
        for (name, node) in &dir.entries {
            decide(node, &join(path, name), matcher, out);
        }
    } else if matcher.matched(path) {
        out.entries.push(LsTreeEntry {
            path: path.to_string(),
            oid: dir.id().to_string(),
        });
    }
}

fn decide(node: &Node, path: &str, matcher: &dyn PathMatcher, out: &mut LsTree) {
    match node {
        Node::Dir(d) => decide_dir(d, path, matcher, out),
        Node::Sub { oid, dir } => {
            if matcher.through(path) {
                let mut sub = LsTree::default();
                for (name, child) in &dir.entries {
                    decide(child, &join(path, name), matcher, &mut sub);
                }
                sub.sort();
                if !sub.is_empty() {
                    out.submodules.push((path.to_string(), sub));
                }
            } else if matcher.matched(path) {
                out.entries.push(LsTreeEntry {
                    path: path.to_string(),
                    oid: oid.to_string(),
                });
            }
        }
        Node::Leaf { kind, oid } => {
            // A submodule whose files this repository does not hold is
            // taken only whole.
            if *kind == EntryKind::Submodule && matcher.through(path) {
                return;
            }
            if matcher.matched(path) {
                out.entries.push(LsTreeEntry {
                    path: path.to_string(),
                    oid: oid.to_string(),
                });
            }
        }
    }
}
