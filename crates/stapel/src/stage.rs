//! The stages of a stapel image in werf's order (spec §4.2), with the
//! names werf gives them in digests and in content digests.

/// One stapel stage. The order of the variants is the pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StageName {
    From,
    BeforeInstall,
    DependenciesBeforeInstall,
    GitArchive,
    Install,
    DependenciesAfterInstall,
    BeforeSetup,
    DependenciesBeforeSetup,
    Setup,
    DependenciesAfterSetup,
    GitCache,
    GitLatestPatch,
    DockerInstructions,
    ImageSpec,
}

impl StageName {
    /// The name werf prints and reports (`dependenciesBeforeInstall`).
    pub fn as_str(self) -> &'static str {
        match self {
            StageName::From => "from",
            StageName::BeforeInstall => "beforeInstall",
            StageName::DependenciesBeforeInstall => "dependenciesBeforeInstall",
            StageName::GitArchive => "gitArchive",
            StageName::Install => "install",
            StageName::DependenciesAfterInstall => "dependenciesAfterInstall",
            StageName::BeforeSetup => "beforeSetup",
            StageName::DependenciesBeforeSetup => "dependenciesBeforeSetup",
            StageName::Setup => "setup",
            StageName::DependenciesAfterSetup => "dependenciesAfterSetup",
            StageName::GitCache => "gitCache",
            StageName::GitLatestPatch => "gitLatestPatch",
            StageName::DockerInstructions => "dockerInstructions",
            StageName::ImageSpec => "imageSpec",
        }
    }

    /// The name that enters the stage digest: werf kept the v1.1 names of
    /// the dependencies stages there (`GetLegacyCompatibleStageName`), so
    /// registries shared with older builds keep matching.
    pub fn digest_name(self) -> &'static str {
        match self {
            StageName::DependenciesBeforeInstall => "importsBeforeInstall",
            StageName::DependenciesAfterInstall => "importsAfterInstall",
            StageName::DependenciesBeforeSetup => "importsBeforeSetup",
            StageName::DependenciesAfterSetup => "importsAfterSetup",
            other => other.as_str(),
        }
    }

    /// The `dependencies*` stages (imports and image dependencies).
    pub fn is_dependencies(self) -> bool {
        matches!(
            self,
            StageName::DependenciesBeforeInstall
                | StageName::DependenciesAfterInstall
                | StageName::DependenciesBeforeSetup
                | StageName::DependenciesAfterSetup
        )
    }

    /// The shell stages.
    pub fn is_user(self) -> bool {
        matches!(
            self,
            StageName::BeforeInstall
                | StageName::Install
                | StageName::BeforeSetup
                | StageName::Setup
        )
    }

    /// Stages after which the next stage's digest includes the commits of
    /// the git mappings (`GetNextStageDependencies`).
    pub fn passes_commits(self) -> bool {
        matches!(
            self,
            StageName::GitArchive
                | StageName::Install
                | StageName::BeforeSetup
                | StageName::Setup
                | StageName::GitCache
                | StageName::GitLatestPatch
        )
    }

    /// Stages selected by git ancestry rather than age when several
    /// stored stages share a digest (spec §5.4), given whether the image
    /// has git mappings.
    pub fn selected_by_ancestry(self, has_git: bool) -> bool {
        match self {
            StageName::GitArchive | StageName::GitCache | StageName::GitLatestPatch => true,
            StageName::Install | StageName::BeforeSetup | StageName::Setup => has_git,
            _ => false,
        }
    }
}

impl std::fmt::Display for StageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
