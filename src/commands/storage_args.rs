//! The storage flags shared by `build`, `render` and `converge`, mapped
//! to `StorageOptions` with the CI job's registry where `--repo` is absent.

use davit_ci::CiSystem;
use davit_ops::ci::ci_defaults;
use davit_ops::{Project, StorageOptions};

use super::project_args::Level;
use crate::cli::StorageArgs;

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// The storage flags, with the CI job's registry and token where `--repo`
/// is not given (unless `--no-ci-defaults`).
pub(super) fn storage_options(args: &StorageArgs, project: &Project, lvl: Level) -> StorageOptions {
    let mut storage = StorageOptions {
        repo: args.repo.clone(),
        final_repo: args.final_repo.clone(),
        secondary_repos: args.secondary_repo.clone(),
        cache_repos: args.cache_repo.clone(),
        docker_config: args.docker_config.clone(),
        insecure_registry: args.insecure_registry,
        skip_tls_verify: args.skip_tls_verify_registry,
        home_dir: args.home_dir.clone(),
        fallback_login: None,
    };
    let Some(system) = CiSystem::detect(&env).filter(|_| !args.no_ci_defaults) else {
        return storage;
    };
    let defaults = ci_defaults(system, &env, Some(&project.name));
    storage.fallback_login = defaults.login;
    if storage.repo().is_none() {
        if let Some(repo) = defaults.repo {
            if lvl != Level::Quiet {
                eprintln!("note: no --repo: using the {} registry {repo} (--no-ci-defaults turns this off)", system.name());
            }
            storage.repo = Some(repo);
        }
    }
    storage
}
