//! werf's cleanup report (`--save-cleanup-report`, spec §3.6): the command,
//! whether it was a dry run, the repository, the kept stages with their
//! reasons and every deleted object. With `explain`, each kept stage also
//! carries davit's `detail` (the reference and commit, the resource).

use serde_json::{json, Value};

use crate::plan::{Deletion, Protection};

/// The report's item for a deletion.
pub fn deleted_item(d: &Deletion) -> Value {
    match d {
        Deletion::ImageMetadata { record, image } => json!({
            "type": "imageMetadata", "imageName": image, "stageID": record.stage, "commit": record.commit,
        }),
        Deletion::Stage { tag } => json!({"type": "stage", "tag": tag}),
        Deletion::CustomTag { tag, .. } => json!({"type": "customTag", "tag": tag}),
        Deletion::RejectedStage { tag } => json!({"type": "rejectedStage", "tag": tag}),
        Deletion::RejectedStageMarker { tag } => json!({"type": "rejectedStageMarker", "tag": tag}),
        Deletion::ManagedImage { name, .. } => json!({"type": "managedImage", "imageName": name}),
        Deletion::ImportMetadata { tag } => {
            json!({"type": "importMetadata", "id": crate::plan::import_id(tag)})
        }
        Deletion::FinalStage { tag } => json!({"type": "finalStage", "tag": tag}),
        Deletion::FinalCustomTag { tag } | Deletion::Record { tag } => {
            json!({"type": "customTag", "tag": tag})
        }
    }
}

/// The report. `deleted` holds only what was really deleted (all of the
/// plan in a dry run).
pub fn report<'a>(
    command: &str,
    dry_run: bool,
    repo: &str,
    kept: impl IntoIterator<Item = (&'a String, &'a Protection)>,
    deleted: &[Deletion],
    explain: bool,
) -> Value {
    let kept: Vec<Value> = kept
        .into_iter()
        .map(|(tag, p)| {
            let mut item = json!({"type": "stage", "tag": tag, "reason": p.reason});
            if explain && !p.detail.is_empty() {
                item["detail"] = json!(p.detail);
            }
            item
        })
        .collect();
    json!({
        "command": command,
        "dryRun": dry_run,
        "repo": repo,
        "kept": kept,
        "deleted": deleted.iter().map(deleted_item).collect::<Vec<_>>(),
    })
}
