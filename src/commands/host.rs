//! `davit host cleanup` and `davit host purge`: flags mapped to
//! `davit_ops::host`, one line per removed image, a summary.

use davit_ops::host::{self, HostCleanupOptions, HostOutcome, LocalImage};
use davit_ops::stores::StorageOptions;

use crate::cli::HostCommand;

fn describe(image: &LocalImage) -> String {
    let name = image
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| image.id.chars().take(19).collect());
    format!("{name} ({:.1} MB)", image.size as f64 / 1e6)
}

fn summary(verb: &str, outcome: &HostOutcome) {
    for w in &outcome.warnings {
        eprintln!("{w}");
    }
    for image in &outcome.in_use {
        eprintln!(
            "│ kept {}: containers were made from it (--force removes it)",
            describe(image)
        );
    }
    for image in &outcome.kept_as_parent {
        eprintln!("│ kept {}: a kept image is built on it", describe(image));
    }
    let bytes: i64 = outcome.removed.iter().map(|i| i.size.max(0)).sum();
    eprintln!(
        "{verb} {} image(s), {:.1} MB",
        outcome.removed.len(),
        bytes as f64 / 1e6
    );
}

pub fn run(command: HostCommand) -> anyhow::Result<()> {
    match command {
        HostCommand::Cleanup(args) => {
            let options = HostCleanupOptions {
                allowed_usage: args.allowed_backend_storage_volume_usage,
                margin: args.allowed_backend_storage_volume_usage_margin,
                storage_path: args.backend_storage_path,
                force: args.force,
                dry_run: args.dry_run,
                project: args.project_name,
            };
            let verb = if args.dry_run {
                "would remove"
            } else {
                "removed"
            };
            let outcome = host::cleanup(&options, &mut |i| eprintln!("│ {verb} {}", describe(i)))?;
            eprintln!(
                "volume of {}: {:.1}% used, allowed {:.1}%{}",
                outcome.storage_path,
                outcome.usage,
                options.allowed_usage,
                if outcome.usage <= options.allowed_usage {
                    ": nothing to remove"
                } else {
                    ""
                }
            );
            summary(verb, &outcome);
        }
        HostCommand::Purge(args) => {
            let storage = StorageOptions {
                home_dir: args.home_dir,
                ..Default::default()
            };
            let verb = if args.dry_run {
                "would remove"
            } else {
                "removed"
            };
            let outcome = host::purge(
                args.force,
                args.dry_run,
                args.project_name.as_deref(),
                &storage.lock_dir(),
                &storage.local_cache_dir(),
                &mut |i| eprintln!("│ {verb} {}", describe(i)),
            )?;
            for d in &outcome.removed_dirs {
                eprintln!("│ {verb} {}", d.display());
            }
            summary(verb, &outcome);
        }
    }
    Ok(())
}
