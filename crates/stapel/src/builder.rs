//! The checksums of the shell user stages (spec §4.3). A stage exists
//! when its checksum is not empty, so `shell.cacheVersion` alone creates
//! all four user stages with no commands.

use davit_config::model::Shell;
use davit_digest::hash::h256;

use crate::stage::StageName;

/// The commands and checksum of one user stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStage {
    pub name: StageName,
    pub commands: Vec<String>,
    /// `""` when the stage is absent.
    pub checksum: String,
}

fn text(t: &Option<davit_config::model::Text>) -> &str {
    t.as_ref().map_or("", |t| t.0.as_str())
}

/// The four user stages of a shell builder, in order; `None` (no `shell:`)
/// gives four absent stages.
pub fn user_stages(shell: Option<&Shell>) -> Vec<UserStage> {
    let stages = [
        StageName::BeforeInstall,
        StageName::Install,
        StageName::BeforeSetup,
        StageName::Setup,
    ];
    stages
        .into_iter()
        .map(|name| {
            let Some(shell) = shell else {
                return UserStage {
                    name,
                    commands: Vec::new(),
                    checksum: String::new(),
                };
            };
            let (commands, stage_version) = match name {
                StageName::BeforeInstall => {
                    (&shell.before_install.0, &shell.before_install_cache_version)
                }
                StageName::Install => (&shell.install.0, &shell.install_cache_version),
                StageName::BeforeSetup => {
                    (&shell.before_setup.0, &shell.before_setup_cache_version)
                }
                _ => (&shell.setup.0, &shell.setup_cache_version),
            };
            UserStage {
                name,
                commands: commands.clone(),
                checksum: checksum(commands, text(stage_version), text(&shell.cache_version)),
            }
        })
        .collect()
}

/// `H256(cmds…, [H256([stageVersion], [cacheVersion])])`, or `""` when
/// there are neither commands nor versions.
fn checksum(commands: &[String], stage_version: &str, cache_version: &str) -> String {
    let versions: Vec<&str> = [stage_version, cache_version]
        .into_iter()
        .filter(|v| !v.is_empty())
        .collect();
    let version = if versions.is_empty() {
        String::new()
    } else {
        h256(&versions)
    };
    let mut args: Vec<&str> = commands.iter().map(String::as_str).collect();
    if !version.is_empty() {
        args.push(&version);
    }
    if args.is_empty() {
        return String::new();
    }
    h256(&args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(yaml: serde_json::Value) -> Shell {
        serde_json::from_value(yaml).expect("shell section")
    }

    #[test]
    fn commands_and_versions_make_the_checksum() {
        let s = shell(serde_json::json!({"install": ["a", "b"], "installCacheVersion": "2"}));
        let stages = user_stages(Some(&s));
        assert_eq!(stages[0].checksum, "", "beforeInstall has nothing");
        assert_eq!(stages[1].checksum, h256(&["a", "b", &h256(&["2"])]));
    }

    #[test]
    fn a_cache_version_alone_creates_every_user_stage() {
        let s = shell(serde_json::json!({"cacheVersion": "x"}));
        let stages = user_stages(Some(&s));
        assert!(stages.iter().all(|s| s.checksum == h256(&[h256(&["x"])])));
        let both = shell(
            serde_json::json!({"setup": "make", "setupCacheVersion": "1", "cacheVersion": "x"}),
        );
        assert_eq!(
            user_stages(Some(&both))[3].checksum,
            h256(&["make", &h256(&["1", "x"])])
        );
    }

    #[test]
    fn no_shell_means_no_user_stages() {
        assert!(user_stages(None).iter().all(|s| s.checksum.is_empty()));
    }
}
