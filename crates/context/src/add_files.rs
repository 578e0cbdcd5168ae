//! `contextAddFiles`: files taken from the work tree, not the commit, and
//! added to the build context (werf-giterminism.yaml must allow each one;
//! the config layer checks that when it loads werf.yaml).

use std::path::Path;

use super::archive::ContextError;

/// One file of the work tree for the context.
#[derive(Debug, Clone)]
pub struct AddFile {
    /// Path inside the context, `/`-separated.
    pub rel: String,
    /// Path inside the project directory, `/`-separated (for the checksum).
    pub project_rel: String,
    pub data: Vec<u8>,
    pub executable: bool,
    /// A regular file (not a symlink): werf's checksum hashes the content
    /// of regular files only.
    pub regular: bool,
}

/// Reads `entries` (context-relative files or directories) from
/// `<work_tree>/<context>`; directories are read recursively (names in
/// lexical order). Config order, each path once (its first occurrence), as
/// werf lists them for the checksum.
pub fn read_add_files(
    work_tree: &Path,
    context: &str,
    project_dir: &str,
    entries: &[String],
) -> Result<Vec<AddFile>, ContextError> {
    let context_dir = match context {
        "" | "." => work_tree.to_path_buf(),
        c => work_tree.join(c),
    };
    // The context relative to the project directory, for project_rel.
    let context_in_project = context
        .strip_prefix(project_dir)
        .map(|c| c.trim_start_matches('/'))
        .unwrap_or(context)
        .trim_start_matches('.')
        .trim_start_matches('/');
    let mut out = Vec::new();
    for entry in entries {
        let rel = davit_gotmpl::funcs::paths::clean(entry)
            .trim_start_matches('/')
            .to_string();
        let path = context_dir.join(&rel);
        let meta = std::fs::metadata(&path)
            .map_err(|_| ContextError::MissingAddFile(format!("{context}/{rel}")))?;
        if meta.is_dir() {
            walk(&path, &rel, &mut out)?;
        } else {
            push_file(&path, &rel, &meta, &mut out)?;
        }
    }
    for f in &mut out {
        f.project_rel = if context_in_project.is_empty() {
            f.rel.clone()
        } else {
            format!("{context_in_project}/{}", f.rel)
        };
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert(f.rel.clone()));
    Ok(out)
}

fn push_file(
    path: &Path,
    rel: &str,
    meta: &std::fs::Metadata,
    out: &mut Vec<AddFile>,
) -> Result<(), ContextError> {
    use std::os::unix::fs::PermissionsExt;
    out.push(AddFile {
        rel: rel.to_string(),
        project_rel: String::new(),
        data: std::fs::read(path)?,
        executable: meta.permissions().mode() & 0o111 != 0,
        regular: std::fs::symlink_metadata(path)?.file_type().is_file(),
    });
    Ok(())
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<AddFile>) -> Result<(), ContextError> {
    let mut names: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in names {
        let child = dir.join(&name);
        let child_rel = format!("{rel}/{}", name.to_string_lossy());
        let meta = std::fs::metadata(&child)?;
        if meta.is_dir() {
            walk(&child, &child_rel, out)?;
        } else {
            push_file(&child, &child_rel, &meta, out)?;
        }
    }
    Ok(())
}
