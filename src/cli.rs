//! Command-line structure. Flags and their `WERF_*` variables follow werf.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// davit builds images from werf.yaml, keeps stages in a registry and
/// deploys with Helm charts, as werf does. Same werf.yaml, same flags, same
/// WERF_* variables.
#[derive(Parser)]
#[command(name = "davit", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Work with werf.yaml: render it, list images, show the image graph.
    #[command(subcommand)]
    Config(Box<ConfigCommand>),
    /// Build the images of werf.yaml and store their stages in --repo (or locally).
    ///
    /// Each stage is addressed by a digest of its inputs (the Dockerfile,
    /// build args, the committed files it copies). A stage already in the
    /// registry is reused without pulling or running anything.
    ///
    /// Builds run on the Docker daemon (DOCKER_HOST): with BuildKit when the
    /// daemon has it, else the classic builder. DOCKER_BUILDKIT=0 or 1
    /// forces one. Registry credentials come from the docker config
    /// (DOCKER_CONFIG, ~/.docker/config.json).
    Build(Box<BuildArgs>),
    /// Print shell lines that set werf's CI variables (WERF_REPO, WERF_ENV,
    /// annotations, a temporary DOCKER_CONFIG logged into the CI registry).
    ///
    /// Compatible with `werf ci-env`: `. $(davit ci-env github --as-file)` or
    /// `eval "$(davit ci-env gitlab)"`. Without CI_SYSTEM the system is
    /// detected from the job's variables (GITHUB_ACTIONS, GITLAB_CI).
    /// The user's own docker config is copied, never modified.
    #[command(name = "ci-env")]
    CiEnv(Box<CiEnvArgs>),
    /// Render the project's Helm chart (.helm) as `werf render` does.
    ///
    /// Values apply in werf's order: the chart's values.yaml and decrypted
    /// secret-values.yaml, --values, --secret-values, --set-json, --set,
    /// --set-string, --set-file, --set-literal (each after its WERF_*_<ANY>
    /// variables), then werf's service values (.Values.werf, .Values.global.werf).
    ///
    /// Without --repo images are stubs (REPO:TAG) and nothing is built. With
    /// --repo the final images are built first (or found), or with
    /// --require-built-images a missing image is an error; --use-build-report
    /// takes them from a build report instead.
    Render(Box<RenderArgs>),
    /// Build, render and deploy the chart to Kubernetes, then wait until
    /// every resource is ready (as `werf converge`).
    ///
    /// Resources are applied in werf's order (CRDs, pre hooks, resources by
    /// werf.io/weight or werf.io/deploy-dependency-*, post hooks), tracked
    /// until ready, and recorded as a Helm 3 release that
    /// `helm list`/`history`/`rollback` read. A failure prints the failing
    /// pods' states, events and logs; --atomic restores the last deployed
    /// revision. werf's release lock keeps two deploys of one release apart.
    Converge(Box<ConvergeArgs>),
    /// Show what `converge` would change in the cluster, changing nothing
    /// (as `werf plan`).
    ///
    /// Every resource is applied as a server-side dry run and compared with
    /// the live object; resources that left the chart are listed for
    /// deletion. Values of Secrets and of resources annotated
    /// werf.io/sensitive or werf.io/sensitive-paths are shown as digests.
    /// With --exit-code the exit status is 2 when something would change.
    Plan(Box<PlanArgs>),
    /// Uninstall the release: its resources, hooks and records (and the
    /// namespace with --with-namespace).
    Dismiss(Box<DismissArgs>),
    /// Delete what the registry no longer needs, by werf's policies (as
    /// `werf cleanup`).
    ///
    /// A stage is kept when the git policy keeps it (cleanup.keepPolicies
    /// of werf.yaml, or werf's defaults: 10 tags, branches of the last week
    /// with their last 2 images, main/master/staging/production with their
    /// last 10), when a Kubernetes object runs it (every context and
    /// namespace of the kubeconfig), when it was built within the last N
    /// hours (2 by default), when --keep-list names it, or when a kept stage
    /// needs it (its parent, import and dependency sources). Everything else
    /// goes, with the records that point to it. --dry-run deletes nothing
    /// and reports exactly what a real run would delete; --explain says why
    /// each stage stays.
    Cleanup(Box<CleanupArgs>),
    /// Delete every stage and record of the project from the repository,
    /// whatever git or Kubernetes say (as `werf purge`). Images the cluster
    /// runs are deleted too. --dry-run lists what would go.
    Purge(Box<PurgeArgs>),
    /// Clean this machine: the images builds left in the local Docker
    /// daemon (label `werf`) and davit's local files (as `werf host`).
    #[command(subcommand)]
    Host(HostCommand),
    /// Helm-related commands werf has (`davit helm secret …`).
    #[command(subcommand)]
    Helm(Box<HelmCommand>),
    /// Print the davit version.
    Version,
}

#[derive(Args)]
pub struct CiEnvArgs {
    /// github or gitlab (default: detected from the job's variables).
    #[arg(value_name = "CI_SYSTEM")]
    pub system: Option<String>,
    /// Write a shell script to a file and print its path, for `. $(davit ci-env --as-file)`.
    #[arg(long, env = "WERF_AS_FILE", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub as_file: bool,
    /// Write a dotenv file (KEY=VALUE) and print its path.
    #[arg(long, env = "WERF_AS_ENV_FILE", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub as_env_file: bool,
    /// Write to this file (replacing it) and print nothing.
    #[arg(short = 'o', long, env = "WERF_OUTPUT_FILE_PATH")]
    pub output_file_path: Option<PathBuf>,
    /// Output syntax: default (any POSIX shell), powershell or cmdexe.
    #[arg(long, env = "WERF_SHELL", default_value = "")]
    pub shell: String,
    /// Log in to the CI registry (GitLab: CI_REGISTRY_IMAGE with CI_JOB_TOKEN; GitHub: ghcr.io with GITHUB_ACTOR and GITHUB_TOKEN).
    #[arg(long, env = "WERF_LOGIN_TO_REGISTRY", value_parser = BoolishValueParser::new(), default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub login_to_registry: bool,
    /// Build the temporary docker config from the DOCKER_AUTH_CONFIG JSON instead of copying a config directory.
    #[arg(long, env = "WERF_USE_DOCKER_AUTH_CONFIG", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub use_docker_auth_config: bool,
    /// The docker config directory to copy (default: WERF_DOCKER_CONFIG, DOCKER_CONFIG, ~/.docker).
    #[arg(long)]
    pub docker_config: Option<PathBuf>,
    /// Where the temporary docker config goes (WERF_TMP_DIR wins; default: the system temp dir).
    #[arg(long)]
    pub tmp_dir: Option<PathBuf>,
    /// Where --as-file files go (default: WERF_HOME, else ~/.davit).
    #[arg(long, env = "WERF_HOME")]
    pub home_dir: Option<PathBuf>,
    /// Accepted for werf command lines; davit does not emulate platforms here.
    #[arg(long, env = "WERF_PLATFORM", value_delimiter = ',')]
    pub platform: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Args)]
pub struct BuildArgs {
    /// Images to build (default: all), with the images they depend on.
    pub images: Vec<String>,
    /// Native CI output: auto (the CI system the job runs in), none, github
    /// (step outputs, job summary, ::group::, ::error:: annotations, masks)
    /// or gitlab (collapsible sections, davit-build.env dotenv report,
    /// davit-annotations.json annotations report).
    #[arg(
        long,
        env = "DAVIT_CI_OUTPUT",
        default_value = "auto",
        value_name = "auto|none|github|gitlab"
    )]
    pub ci_output: String,
    /// Also tag each final image in the repository with TEMPLATE (repeatable):
    /// a Go template with % delimiters and %image%, %image_slug%,
    /// %image_safe_slug%, %image_content_based_tag%, e.g. "%image%-latest".
    /// WERF_ADD_CUSTOM_TAG_<ANY> variables add more. Needs --repo.
    #[arg(long = "add-custom-tag", value_name = "TEMPLATE")]
    pub add_custom_tag: Vec<String>,
    /// Write the build report (see --build-report-path).
    #[arg(long, env = "WERF_SAVE_BUILD_REPORT", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub save_build_report: bool,
    /// Build report path: .json (default .werf-build-report.json) or .env.
    #[arg(long, env = "WERF_BUILD_REPORT_PATH")]
    pub build_report_path: Option<String>,
    /// Build independent images at the same time.
    #[arg(long, env = "WERF_PARALLEL", value_parser = BoolishValueParser::new(), default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub parallel: bool,
    /// Maximum images built at the same time; -1 for no limit.
    #[arg(
        long,
        env = "WERF_PARALLEL_TASKS_LIMIT",
        default_value_t = 5,
        allow_negative_numbers = true
    )]
    pub parallel_tasks_limit: i64,
    /// Target platforms for every image, over werf.yaml's `platform` (also
    /// DOCKER_DEFAULT_PLATFORM), e.g. linux/amd64,linux/arm64. Several make
    /// a multi-platform image (a manifest list; needs --repo).
    #[arg(long, env = "WERF_PLATFORM", value_delimiter = ',')]
    pub platform: Vec<String>,
    /// werf's lock server address. davit needs none (content-addressed
    /// stages, host locks and a re-check before publishing); other values
    /// than ":local" are accepted with a note, for drop-in use.
    #[arg(long, env = "WERF_SYNCHRONIZATION")]
    pub synchronization: Option<String>,
    /// Directory for temporary files (build secrets given as values).
    #[arg(long, env = "WERF_TMP_DIR")]
    pub tmp_dir: Option<PathBuf>,
    /// A private key for an ssh-agent of the build's own (repeatable; also
    /// WERF_SSH_KEY_<ANY>): shell stages and Dockerfile `ssh: default` get
    /// that agent instead of the one of SSH_AUTH_SOCK. Keys without a
    /// passphrase; runs OpenSSH's ssh-agent and ssh-add.
    #[arg(long = "ssh-key", value_name = "PATH")]
    pub ssh_key: Vec<PathBuf>,
    /// Build nothing: print each image's stages with their digests and
    /// whether the stages storage already has each one. Nothing is pulled
    /// or written; with --repo no Docker daemon is needed.
    #[arg(long)]
    pub plan: bool,
    /// The --plan format: text, or json for scripts.
    #[arg(
        long,
        value_name = "text|json",
        default_value = "text",
        requires = "plan"
    )]
    pub output: PlanFormat,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// How `davit build --plan` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct RenderArgs {
    /// Print only the manifests of these templates (templates/x.yaml; repeatable; also WERF_SHOW_ONLY*).
    #[arg(long, short = 's', value_name = "TEMPLATE")]
    pub show_only: Vec<String>,
    /// Write the manifests to this file instead of stdout.
    #[arg(long, env = "WERF_RENDER_OUTPUT")]
    pub output: Option<PathBuf>,
    /// Include the CRDs of crds/ folders.
    #[arg(long, env = "WERF_INCLUDE_CRDS", value_parser = BoolishValueParser::new(), default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub include_crds: bool,
    /// Let `lookup` read the cluster. Not supported yet: `lookup` returns an empty map.
    #[arg(long = "lookup-resources")]
    pub lookup_resources: Vec<String>,
    #[command(flatten)]
    pub chart: ChartArgs,
}

/// What render and converge share: names, values, images, storage.
#[derive(Args)]
pub struct ChartArgs {
    /// The Helm release namespace (default: from werf.yaml deploy.namespace, else PROJECT[-ENV]).
    #[arg(long, short = 'n', env = "WERF_NAMESPACE")]
    pub namespace: Option<String>,
    /// The Helm release name (default: from werf.yaml deploy.helmRelease, else PROJECT[-ENV]).
    #[arg(long, env = "WERF_RELEASE")]
    pub release: Option<String>,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Add an annotation to every resource: KEY=VALUE (repeatable; also
    /// WERF_ADD_ANNOTATION_<ANY>). werf's service annotations (project.werf.io/*,
    /// *ci.werf.io/*) are deploy-time only and not rendered.
    #[arg(long = "add-annotation", value_name = "KEY=VALUE")]
    pub add_annotation: Vec<String>,
    /// Add a label to every resource: KEY=VALUE (repeatable; also WERF_ADD_LABEL_<ANY>).
    #[arg(long = "add-label", value_name = "KEY=VALUE")]
    pub add_label: Vec<String>,
    /// .Capabilities.KubeVersion.
    #[arg(long, env = "WERF_KUBE_VERSION", default_value = "1.20.0")]
    pub kube_version: String,
    /// Extra API versions for .Capabilities.APIVersions (repeatable; also WERF_EXTRA_APIVERSIONS_<ANY>).
    #[arg(long = "extra-apiversions", value_delimiter = ',')]
    pub extra_apiversions: Vec<String>,
    /// Fail instead of building when an image is not in --repo yet.
    #[arg(long, short = 'Z', env = "WERF_REQUIRE_BUILT_IMAGES", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub require_built_images: bool,
    /// Take the images from a build report (see --build-report-path) instead of building.
    #[arg(long, env = "WERF_USE_BUILD_REPORT", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub use_build_report: bool,
    /// The build report --use-build-report reads (default .werf-build-report.json).
    #[arg(long, env = "WERF_BUILD_REPORT_PATH")]
    pub build_report_path: Option<String>,
    /// Also pass the docker config as .Values.dockerconfigjson (base64).
    #[arg(long, env = "WERF_SET_DOCKER_CONFIG_JSON_VALUE", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub set_docker_config_json_value: bool,
    /// Target platforms of the images built with --repo.
    #[arg(long, env = "WERF_PLATFORM", value_delimiter = ',')]
    pub platform: Vec<String>,
    /// A private key for an ssh-agent of the build's own (repeatable; also
    /// WERF_SSH_KEY_<ANY>): shell stages and Dockerfile `ssh: default` get
    /// that agent instead of the one of SSH_AUTH_SOCK. Keys without a
    /// passphrase; runs OpenSSH's ssh-agent and ssh-add.
    #[arg(long = "ssh-key", value_name = "PATH")]
    pub ssh_key: Vec<PathBuf>,
    /// werf's lock server address; davit needs none (accepted for drop-in use).
    #[arg(long, env = "WERF_SYNCHRONIZATION")]
    pub synchronization: Option<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// The cluster (converge, dismiss).
#[derive(Args, Clone)]
pub struct KubeArgs {
    /// The kubeconfig (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long = "kube-config", env = "WERF_KUBE_CONFIG")]
    pub kube_config: Option<PathBuf>,
    /// The kubeconfig itself, base64 (for CI variables).
    #[arg(
        long = "kube-config-base64",
        env = "WERF_KUBE_CONFIG_BASE64",
        hide_env_values = true
    )]
    pub kube_config_base64: Option<String>,
    /// The kubeconfig context (default: its current context).
    #[arg(long = "kube-context", env = "WERF_KUBE_CONTEXT")]
    pub kube_context: Option<String>,
}

#[derive(Args)]
pub struct ConvergeArgs {
    /// Seconds to wait for the release to become ready; 0 waits as long as it takes.
    #[arg(long, short = 't', env = "WERF_TIMEOUT", default_value_t = 0)]
    pub timeout: u64,
    /// On failure, roll back to the last deployed revision.
    #[arg(long, short = 'R', visible_alias = "auto-rollback", env = "WERF_ATOMIC", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub atomic: bool,
    /// Revisions of the release kept (0: all).
    #[arg(long, env = "WERF_RELEASES_HISTORY_MAX", default_value_t = 5)]
    pub releases_history_max: usize,
    /// Fail instead of creating the release namespace.
    #[arg(long, env = "WERF_NO_CREATE_NAMESPACE", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_create_namespace: bool,
    /// Write the deploy report (release, namespace, revision).
    #[arg(long, env = "WERF_SAVE_DEPLOY_REPORT", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub save_deploy_report: bool,
    /// The deploy report path (default .werf-deploy-report.json).
    #[arg(long, env = "WERF_DEPLOY_REPORT_PATH")]
    pub deploy_report_path: Option<PathBuf>,
    /// How resources that left the chart are deleted: Foreground, Background or Orphan.
    #[arg(long, env = "WERF_DELETE_PROPAGATION", default_value = "Foreground")]
    pub delete_propagation: String,
    /// Seconds between status lines while waiting, in CI logs and pipes (-1: none; a terminal shows a live table).
    #[arg(
        long = "status-progress-period",
        env = "WERF_STATUS_PROGRESS_PERIOD_SECONDS",
        default_value_t = 5,
        allow_negative_numbers = true
    )]
    pub status_progress_period: i64,
    /// Annotations put on every resource at apply time, not stored in the release (KEY=VALUE,KEY=VALUE).
    #[arg(
        long = "runtime-annotations",
        env = "WERF_RUNTIME_ANNOTATIONS",
        value_delimiter = ',',
        value_name = "KEY=VALUE"
    )]
    pub runtime_annotations: Vec<String>,
    /// Labels put on every resource at apply time, not stored in the release (KEY=VALUE,KEY=VALUE).
    #[arg(
        long = "runtime-labels",
        env = "WERF_RUNTIME_LABELS",
        value_delimiter = ',',
        value_name = "KEY=VALUE"
    )]
    pub runtime_labels: Vec<String>,
    /// A label of the release's storage Secrets (repeatable; also $WERF_RELEASE_LABEL_*).
    #[arg(long = "release-label", value_name = "KEY=VALUE")]
    pub release_label: Vec<String>,
    /// Annotations of the release record's info (KEY=VALUE,KEY=VALUE).
    #[arg(
        long = "release-info-annotations",
        env = "WERF_RELEASE_INFO_ANNOTATIONS",
        value_delimiter = ',',
        value_name = "KEY=VALUE"
    )]
    pub release_info_annotations: Vec<String>,
    /// Do not show pods' log lines (of finished Jobs and of failures).
    #[arg(long = "no-pod-logs", default_value_t = false)]
    pub no_pod_logs: bool,
    /// Native CI output: auto (the CI system the job runs in), none, github
    /// (::group:: per stage, step outputs release/namespace/revision/status,
    /// job summary, ::error:: annotation) or gitlab (collapsible sections).
    #[arg(
        long,
        env = "DAVIT_CI_OUTPUT",
        default_value = "auto",
        value_name = "auto|none|github|gitlab"
    )]
    pub ci_output: String,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub chart: ChartArgs,
}

#[derive(Args)]
pub struct PlanArgs {
    /// Exit with 2 when the plan has changes (0: none, 1: an error).
    #[arg(long = "exit-code", env = "WERF_EXIT_CODE", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub exit_code: bool,
    /// Show the diffs of changed resources (with --diff=false only the list).
    #[arg(long, value_parser = BoolishValueParser::new(), default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub diff: bool,
    /// Annotations put on every resource at apply time (KEY=VALUE,KEY=VALUE).
    #[arg(
        long = "runtime-annotations",
        env = "WERF_RUNTIME_ANNOTATIONS",
        value_delimiter = ',',
        value_name = "KEY=VALUE"
    )]
    pub runtime_annotations: Vec<String>,
    /// Labels put on every resource at apply time (KEY=VALUE,KEY=VALUE).
    #[arg(
        long = "runtime-labels",
        env = "WERF_RUNTIME_LABELS",
        value_delimiter = ',',
        value_name = "KEY=VALUE"
    )]
    pub runtime_labels: Vec<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub chart: ChartArgs,
}

#[derive(Args)]
pub struct PurgeArgs {
    /// List what would be deleted, delete nothing.
    #[arg(long, env = "WERF_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: bool,
    /// How many registry requests run at once.
    #[arg(long, env = "WERF_PARALLEL_TASKS_LIMIT", default_value_t = 10)]
    pub parallel_tasks_limit: usize,
    /// Write the cleanup report (werf's JSON).
    #[arg(long, env = "WERF_SAVE_CLEANUP_REPORT", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub save_cleanup_report: bool,
    /// The cleanup report path (default .werf-cleanup-report.json).
    #[arg(long, env = "WERF_CLEANUP_REPORT_PATH")]
    pub cleanup_report_path: Option<PathBuf>,
    #[command(flatten)]
    pub registry_api: RegistryApiArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Args)]
pub struct CleanupArgs {
    /// Decide and report, delete nothing.
    #[arg(long, env = "WERF_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: bool,
    /// Do not protect what Kubernetes runs (no cluster is contacted).
    #[arg(long, env = "WERF_WITHOUT_KUBE", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub without_kube: bool,
    /// Scan only this kubeconfig context (default: every context).
    #[arg(long, env = "WERF_SCAN_CONTEXT_ONLY")]
    pub scan_context_only: Option<String>,
    /// Scan only these namespaces (default: all).
    #[arg(long, env = "WERF_KUBE_SCAN_NAMESPACES", value_delimiter = ',')]
    pub kube_scan_namespaces: Vec<String>,
    /// Keep stages built within the last N hours (default: werf.yaml's
    /// keepImagesBuiltWithinLastNHours, else 2; 0 turns this off).
    #[arg(long, env = "WERF_KEEP_STAGES_BUILT_WITHIN_LAST_N_HOURS")]
    pub keep_stages_built_within_last_n_hours: Option<u64>,
    /// A file of stage tags to keep, one per line.
    #[arg(long, env = "WERF_KEEP_LIST")]
    pub keep_list: Option<PathBuf>,
    /// How many registry requests run at once.
    #[arg(long, env = "WERF_PARALLEL_TASKS_LIMIT", default_value_t = 10)]
    pub parallel_tasks_limit: usize,
    /// Write the cleanup report (werf's JSON).
    #[arg(long, env = "WERF_SAVE_CLEANUP_REPORT", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub save_cleanup_report: bool,
    /// The cleanup report path (default .werf-cleanup-report.json).
    #[arg(long, env = "WERF_CLEANUP_REPORT_PATH")]
    pub cleanup_report_path: Option<PathBuf>,
    /// Say why each stage is kept (the reference and commit, the resource
    /// running it) and why each is deleted; in the report too.
    #[arg(long, default_value_t = false)]
    pub explain: bool,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub registry_api: RegistryApiArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// How the repository's registry deletes tags (werf's implementations)
/// and the vendor credentials it needs.
#[derive(Args)]
#[command(next_help_heading = "Registry API")]
pub struct RegistryApiArgs {
    /// The registry implementation: auto (from the host, as werf detects it), default, dockerhub, ecr, acr, gcr, github, gitlab, harbor, quay. It decides how tags are deleted.
    #[arg(long, env = "WERF_REPO_CONTAINER_REGISTRY")]
    pub repo_container_registry: Option<String>,
    /// A GitHub token with read:packages and delete:packages, to delete package versions in GitHub Packages (ghcr.io).
    #[arg(long, env = "WERF_REPO_GITHUB_TOKEN", hide_env_values = true)]
    pub repo_github_token: Option<String>,
    /// A Docker Hub token (JWT) to delete tags through the Docker Hub API.
    #[arg(long, env = "WERF_REPO_DOCKER_HUB_TOKEN", hide_env_values = true)]
    pub repo_docker_hub_token: Option<String>,
    /// The Docker Hub username, with --repo-docker-hub-password, instead of a token.
    #[arg(long, env = "WERF_REPO_DOCKER_HUB_USERNAME")]
    pub repo_docker_hub_username: Option<String>,
    /// The Docker Hub password.
    #[arg(long, env = "WERF_REPO_DOCKER_HUB_PASSWORD", hide_env_values = true)]
    pub repo_docker_hub_password: Option<String>,
    /// --repo-container-registry for --final-repo (default: detected from its host).
    #[arg(long, env = "WERF_FINAL_REPO_CONTAINER_REGISTRY")]
    pub final_repo_container_registry: Option<String>,
    /// --repo-github-token for --final-repo (default: --repo-github-token).
    #[arg(long, env = "WERF_FINAL_REPO_GITHUB_TOKEN", hide_env_values = true)]
    pub final_repo_github_token: Option<String>,
    /// --repo-docker-hub-token for --final-repo (default: --repo-docker-hub-token).
    #[arg(long, env = "WERF_FINAL_REPO_DOCKER_HUB_TOKEN", hide_env_values = true)]
    pub final_repo_docker_hub_token: Option<String>,
    /// --repo-docker-hub-username for --final-repo.
    #[arg(long, env = "WERF_FINAL_REPO_DOCKER_HUB_USERNAME")]
    pub final_repo_docker_hub_username: Option<String>,
    /// --repo-docker-hub-password for --final-repo.
    #[arg(
        long,
        env = "WERF_FINAL_REPO_DOCKER_HUB_PASSWORD",
        hide_env_values = true
    )]
    pub final_repo_docker_hub_password: Option<String>,
    /// Accepted as werf accepts it; cleanup deletes through the registry API
    /// and needs no Harbor API credentials (werf uses them only to delete
    /// whole repositories).
    #[arg(long, env = "WERF_REPO_HARBOR_USERNAME")]
    pub repo_harbor_username: Option<String>,
    /// Accepted as werf accepts it (see --repo-harbor-username).
    #[arg(long, env = "WERF_REPO_HARBOR_PASSWORD", hide_env_values = true)]
    pub repo_harbor_password: Option<String>,
    /// Accepted as werf accepts it; cleanup needs no Quay API token (werf
    /// uses it only to delete whole repositories).
    #[arg(long, env = "WERF_REPO_QUAY_TOKEN", hide_env_values = true)]
    pub repo_quay_token: Option<String>,
}

#[derive(Args)]
pub struct DismissArgs {
    /// The release namespace (with --release, no git repository is needed).
    #[arg(long, short = 'n', env = "WERF_NAMESPACE")]
    pub namespace: Option<String>,
    /// The release name.
    #[arg(long, env = "WERF_RELEASE")]
    pub release: Option<String>,
    /// Take release and namespace from a deploy report.
    #[arg(long, env = "WERF_USE_DEPLOY_REPORT", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub use_deploy_report: bool,
    /// The deploy report path (default .werf-deploy-report.json).
    #[arg(long, env = "WERF_DEPLOY_REPORT_PATH")]
    pub deploy_report_path: Option<PathBuf>,
    /// Also delete the hooks of the release.
    #[arg(long, env = "WERF_WITH_HOOKS", value_parser = BoolishValueParser::new(), default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub with_hooks: bool,
    /// Also delete the namespace.
    #[arg(long, env = "WERF_WITH_NAMESPACE", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub with_namespace: bool,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Subcommand)]
pub enum HelmCommand {
    /// Manage werf secrets: the key, secret values files and secret files.
    ///
    /// The key comes from $WERF_SECRET_KEY, else <dir>/.werf_secret_key,
    /// else $WERF_HOME/global_secret_key (~/.werf). Secrets are AES-CBC,
    /// hex-encoded, compatible with werf.
    #[command(subcommand)]
    Secret(SecretCommand),
}

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Print a new random key (32 hex characters, AES-128), for WERF_SECRET_KEY.
    GenerateSecretKey,
    /// Encrypt standard input (or FILE) as one secret.
    Encrypt(SecretIoArgs),
    /// Decrypt standard input (or FILE) holding one secret.
    Decrypt(SecretIoArgs),
    /// Secret values files: every leaf of the YAML is a secret.
    #[command(subcommand)]
    Values(SecretFormCommand),
    /// Secret files (a chart's secret/ folder, read with werf_secret_file).
    #[command(subcommand)]
    File(SecretFormCommand),
    /// Re-encrypt the chart's secret-values.yaml and secret/ files (and
    /// EXTRA values files) from WERF_OLD_SECRET_KEY to the current key.
    RotateSecretKey(RotateArgs),
}

#[derive(Subcommand)]
pub enum SecretFormCommand {
    /// Encrypt FILE (or standard input).
    Encrypt(SecretIoArgs),
    /// Decrypt FILE (or standard input).
    Decrypt(SecretIoArgs),
}

#[derive(Args)]
pub struct SecretIoArgs {
    /// Input file (default: standard input).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Write the result here instead of standard output.
    #[arg(long, short = 'o', env = "WERF_OUTPUT_FILE_PATH")]
    pub output_file_path: Option<PathBuf>,
    /// Project directory, where .werf_secret_key is looked up.
    #[arg(long, env = "WERF_DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct RotateArgs {
    /// Extra secret values files to rotate, relative to the project directory.
    #[arg(value_name = "EXTRA_SECRET_VALUES_FILE")]
    pub extra: Vec<String>,
    /// Project directory (default: the current directory).
    #[arg(long, env = "WERF_DIR")]
    pub dir: Option<PathBuf>,
    /// The chart folder, relative to the project directory.
    #[arg(long, default_value = ".helm")]
    pub helm_chart_dir: String,
}

/// Chart values and secrets (render, converge).
#[derive(Args, Clone)]
pub struct ValuesArgs {
    /// A values YAML file (repeatable; also WERF_VALUES_<ANY>).
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    pub values: Vec<String>,
    /// An encrypted values file, decrypted with the secret key (repeatable; also WERF_SECRET_VALUES_<ANY>).
    #[arg(long = "secret-values", value_name = "FILE")]
    pub secret_values: Vec<String>,
    /// Set values: a.b=c,list[0]=x,tags={a,b} (repeatable; also WERF_SET_<ANY>).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Set values as strings (repeatable; also WERF_SET_STRING_<ANY>).
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// Set values from files: KEY=PATH (repeatable; also WERF_SET_FILE_<ANY>).
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// Set values from JSON: KEY=JSON (repeatable; also WERF_SET_JSON_<ANY>).
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// Set one value verbatim: KEY=TEXT, commas and all (repeatable; also WERF_SET_LITERAL_<ANY>).
    #[arg(long = "set-literal", value_name = "KEY=TEXT")]
    pub set_literal: Vec<String>,
    /// Ignore the chart's values.yaml.
    #[arg(long, env = "WERF_DISABLE_DEFAULT_VALUES", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub disable_default_values: bool,
    /// Ignore the chart's secret-values.yaml.
    #[arg(long, env = "WERF_DISABLE_DEFAULT_SECRET_VALUES", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub disable_default_secret_values: bool,
    /// Render secrets without decrypting them (no key needed).
    #[arg(long, env = "WERF_IGNORE_SECRET_KEY", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub ignore_secret_key: bool,
}

/// The stages storage and registry access (build, render, converge).
#[derive(Args, Clone)]
pub struct StorageArgs {
    /// Stages storage: a registry repository such as registry.example.com/group/app
    /// (default: the local Docker daemon, as <project>:<digest>-<millis>).
    ///
    /// In a CI job without --repo, davit uses the CI registry as `davit ci-env`
    /// would (GitLab: CI_REGISTRY_IMAGE; GitHub: ghcr.io/OWNER/REPO/PROJECT),
    /// logging in with the job's token where the docker config has no
    /// credentials. --no-ci-defaults (DAVIT_NO_CI_DEFAULTS=1) turns this off.
    #[arg(long, env = "WERF_REPO")]
    pub repo: Option<String>,
    /// Do not take --repo and registry credentials from the CI job's variables.
    #[arg(long, env = "DAVIT_NO_CI_DEFAULTS", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_ci_defaults: bool,
    /// Read-only stages repositories: a stage found there is copied into --repo instead of built (repeatable).
    #[arg(long, env = "WERF_SECONDARY_REPO", value_delimiter = ',')]
    pub secondary_repo: Vec<String>,
    /// Cache repositories: every stage stored in --repo is copied there too (repeatable).
    #[arg(long, env = "WERF_CACHE_REPO", value_delimiter = ',')]
    pub cache_repo: Vec<String>,
    /// Also copy final images here (same tags); the report then points here.
    #[arg(long, env = "WERF_FINAL_REPO")]
    pub final_repo: Option<String>,
    /// Docker config directory with registry credentials (default:
    /// $DOCKER_CONFIG, else ~/.docker).
    #[arg(long, env = "WERF_DOCKER_CONFIG")]
    pub docker_config: Option<PathBuf>,
    /// Where davit keeps its host locks (werf's home dir; default ~/.davit).
    #[arg(long, env = "WERF_HOME")]
    pub home_dir: Option<PathBuf>,
    /// Reach the registries of this build over plain HTTP (loopback hosts always are).
    #[arg(long, env = "WERF_INSECURE_REGISTRY", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub insecure_registry: bool,
    /// Accept any TLS certificate from registries.
    #[arg(long, env = "WERF_SKIP_TLS_VERIFY_REGISTRY", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub skip_tls_verify_registry: bool,
}

#[derive(Subcommand)]
pub enum HostCommand {
    /// Free the daemon's volume when its usage passes
    /// --allowed-backend-storage-volume-usage (70%): remove the images builds
    /// left, least recently used first, until the usage would be under the
    /// threshold minus the margin (5%). Images that containers were made from
    /// stay unless --force.
    Cleanup(HostCleanupArgs),
    /// Remove every image builds left in the local daemon and davit's host
    /// locks. For a machine that is done with davit; no davit may be running.
    Purge(HostPurgeArgs),
}

#[derive(Args)]
pub struct HostCleanupArgs {
    /// The volume usage (percent) above which images are removed.
    #[arg(
        long,
        env = "WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE",
        alias = "allowed-docker-storage-volume-usage",
        default_value_t = 70.0
    )]
    pub allowed_backend_storage_volume_usage: f64,
    /// How far under the threshold (percent) a cleanup brings the usage.
    #[arg(
        long,
        env = "WERF_ALLOWED_BACKEND_STORAGE_VOLUME_USAGE_MARGIN",
        alias = "allowed-docker-storage-volume-usage-margin",
        default_value_t = 5.0
    )]
    pub allowed_backend_storage_volume_usage_margin: f64,
    /// The directory of the daemon's storage (default: its Docker Root Dir).
    #[arg(
        long,
        env = "WERF_BACKEND_STORAGE_PATH",
        alias = "docker-server-storage-path"
    )]
    pub backend_storage_path: Option<PathBuf>,
    /// Also remove images that containers were made from.
    #[arg(long, env = "WERF_FORCE", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub force: bool,
    /// Say what would be removed, remove nothing.
    #[arg(long, env = "WERF_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: bool,
    /// Only the images of this project (label werf=NAME).
    #[arg(long)]
    pub project_name: Option<String>,
}

#[derive(Args)]
pub struct HostPurgeArgs {
    /// Also remove images that containers were made from.
    #[arg(long, env = "WERF_FORCE", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub force: bool,
    /// Say what would be removed, remove nothing.
    #[arg(long, env = "WERF_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: bool,
    /// davit's home directory (host locks under it).
    #[arg(long, env = "WERF_HOME")]
    pub home_dir: Option<PathBuf>,
    /// Only the images of this project (label werf=NAME); the host locks stay.
    #[arg(long)]
    pub project_name: Option<String>,
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the rendered werf.yaml (all of it, or the documents of IMAGEs).
    Render {
        /// Images whose documents to print.
        images: Vec<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Print the image names of werf.yaml, one per line.
    List {
        /// Only images that are final (built for deployment).
        #[arg(long, env = "WERF_FINAL_IMAGES_ONLY", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        final_images_only: bool,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Print the dependency graph of the images (from, import, dependencies).
    Graph {
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = GraphFormat::Yaml)]
        output: GraphFormat,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Yaml,
    Json,
}

/// Where the project is and how to read it (werf's common flags).
#[derive(Args, Clone)]
pub struct ProjectArgs {
    /// Project directory (default: the current directory).
    #[arg(long, env = "WERF_DIR", global = true)]
    pub dir: Option<PathBuf>,
    /// The werf config file, relative to the project directory (default: werf.yaml, then werf.yml).
    #[arg(long, env = "WERF_CONFIG", global = true)]
    pub config: Option<String>,
    /// Directory of the config templates (`**/*.tmpl`), relative to the project directory.
    #[arg(long, env = "WERF_CONFIG_TEMPLATES_DIR", global = true)]
    pub config_templates_dir: Option<String>,
    /// The git work tree, when the project directory is not inside it.
    #[arg(long, env = "WERF_GIT_WORK_TREE", global = true)]
    pub git_work_tree: Option<PathBuf>,
    /// The giterminism config, relative to the project directory.
    #[arg(long, env = "WERF_GITERMINISM_CONFIG", global = true)]
    pub giterminism_config: Option<String>,
    /// The environment name, available in templates as `.Env`.
    #[arg(long, env = "WERF_ENV", default_value = "", global = true)]
    pub env: String,
    /// Development mode: read the work tree (tracked and untracked files not ignored by git) instead of the commit.
    #[arg(long, env = "WERF_DEV", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", global = true)]
    pub dev: bool,
    /// In development mode, take paths matching this glob from the commit (repeatable).
    #[arg(long, global = true)]
    pub dev_ignore: Vec<String>,
    /// werf's branch for development-mode commits. davit writes no commit
    /// and no branch in --dev; accepted so werf command lines work as they are.
    #[arg(
        long,
        env = "WERF_DEV_BRANCH",
        default_value = "_werf-dev",
        global = true
    )]
    pub dev_branch: String,
    /// Read everything from the file system and skip all giterminism checks.
    #[arg(long, env = "WERF_LOOSE_GITERMINISM", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", global = true)]
    pub loose_giterminism: bool,
    /// Print only errors.
    #[arg(long, env = "WERF_LOG_QUIET", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", global = true)]
    pub log_quiet: bool,
    /// Print what davit reads and decides.
    #[arg(long, env = "WERF_LOG_VERBOSE", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", global = true)]
    pub log_verbose: bool,
    /// Print everything, including each file read.
    #[arg(long, env = "WERF_LOG_DEBUG", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", global = true)]
    pub log_debug: bool,
    /// Colors in output: on, off or auto (on when stderr is a terminal).
    #[arg(long, env = "WERF_LOG_COLOR_MODE", default_value = "auto", value_parser = ["auto", "on", "off"], global = true)]
    pub log_color_mode: String,
    /// Make the *_debug template functions print.
    #[arg(long, env = "WERF_DEBUG_TEMPLATES", value_parser = BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", global = true)]
    pub debug_templates: bool,
}
