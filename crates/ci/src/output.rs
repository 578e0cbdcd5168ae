//! Native CI output. One model of what a command did ([`Outcome`]) feeds
//! every format: GitHub's step outputs, job summary, log groups, error
//! annotations and masks; GitLab's log sections, dotenv report and
//! annotations report. Each stays within its system's documented limits,
//! truncating with a note rather than failing the job.

use std::fmt::Write as _;

/// Which CI output to write (`--ci-output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    None,
    GitHub,
    GitLab,
}

impl Mode {
    pub fn parse(value: &str) -> Option<Mode> {
        match value {
            "none" => Some(Mode::None),
            "github" => Some(Mode::GitHub),
            "gitlab" => Some(Mode::GitLab),
            _ => None,
        }
    }
}

/// One image a command produced or reused.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRow {
    /// The werf.yaml image name.
    pub name: String,
    pub repo: String,
    pub tag: String,
    /// `sha256:…` of the manifest, when known.
    pub digest: String,
    /// `repo:tag`.
    pub reference: String,
    pub rebuilt: bool,
    pub is_final: bool,
    /// Bytes; 0 when unknown.
    pub size: i64,
    pub seconds: f64,
}

/// A problem to annotate, with its place when known. `file` is relative to
/// the repository root, as CI systems link it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub col: Option<usize>,
}

/// What a command did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// `build`, …
    pub command: String,
    pub images: Vec<ImageRow>,
    pub problems: Vec<Problem>,
    /// The whole build report as JSON, when there is one.
    pub report_json: Option<String>,
    pub seconds: f64,
}

/// GitHub: 10 error annotations per step; a job summary of at most 1 MiB.
pub const GITHUB_MAX_ERROR_ANNOTATIONS: usize = 10;
pub const GITHUB_MAX_SUMMARY_BYTES: usize = 1024 * 1024;
/// GitLab's dotenv report on GitLab.com: under 5 KiB and 20 variables.
pub const GITLAB_MAX_DOTENV_BYTES: usize = 5 * 1024;
pub const GITLAB_MAX_DOTENV_VARIABLES: usize = 20;

/// GitHub workflow-command escaping of a message.
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// … and of a property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `::group::TITLE`.
pub fn github_group(title: &str) -> String {
    format!("::group::{}", escape_data(title))
}

pub fn github_endgroup() -> String {
    "::endgroup::".into()
}

/// `::add-mask::VALUE`: GitHub replaces the value with `***` in every
/// later log line. Multi-line values are masked line by line.
pub fn github_masks(value: &str) -> Vec<String> {
    value
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 3)
        .map(|l| format!("::add-mask::{}", escape_data(l)))
        .collect()
}

/// `::error file=F,line=N,col=M::message` for each problem, at most
/// [`GITHUB_MAX_ERROR_ANNOTATIONS`]; the rest are summed up in the last.
pub fn github_errors(problems: &[Problem]) -> Vec<String> {
    let mut out = Vec::new();
    let shown = if problems.len() > GITHUB_MAX_ERROR_ANNOTATIONS {
        GITHUB_MAX_ERROR_ANNOTATIONS - 1
    } else {
        problems.len()
    };
    for p in &problems[..shown] {
        let mut props = Vec::new();
        if let Some(f) = &p.file {
            props.push(format!("file={}", escape_property(f)));
            if let Some(l) = p.line.filter(|l| *l > 0) {
                props.push(format!("line={l}"));
                if let Some(c) = p.col.filter(|c| *c > 0) {
                    props.push(format!("col={c}"));
                }
            }
        }
        let props = if props.is_empty() {
            String::new()
        } else {
            format!(" {}", props.join(","))
        };
        out.push(format!("::error{props}::{}", escape_data(&p.message)));
    }
    if problems.len() > shown {
        out.push(format!(
            "::error::{} more errors are in the job log (GitHub shows {GITHUB_MAX_ERROR_ANNOTATIONS} annotations per step)",
            problems.len() - shown
        ));
    }
    out
}

/// A step-output name for an image: GitHub output names are letters,
/// digits, `-` and `_`.
pub fn output_name(image: &str) -> String {
    let mut s: String = image
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() {
        s.push('-');
    }
    s
}

/// Lines for `$GITHUB_OUTPUT`: per image `<name>-name`, `-tag`, `-digest`
/// and `-ref`, plus `images` (image → reference, JSON) and `report` (the
/// whole build report, JSON), multi-line values in heredoc form.
pub fn github_outputs(outcome: &Outcome) -> String {
    let mut out = String::new();
    let mut map = serde_json::Map::new();
    for img in &outcome.images {
        let n = output_name(&img.name);
        let _ = writeln!(out, "{n}-name={}", img.name);
        let _ = writeln!(out, "{n}-tag={}", img.tag);
        let _ = writeln!(out, "{n}-digest={}", img.digest);
        let _ = writeln!(out, "{n}-ref={}", img.reference);
        map.insert(
            img.name.clone(),
            serde_json::Value::String(img.reference.clone()),
        );
    }
    let _ = writeln!(out, "images={}", serde_json::Value::Object(map));
    if let Some(json) = &outcome.report_json {
        let mut delimiter = String::from("DAVIT_REPORT_EOF");
        while json.contains(&delimiter) {
            delimiter.push('_');
        }
        let _ = writeln!(out, "report<<{delimiter}\n{}\n{delimiter}", json.trim_end());
    }
    out
}

fn human_size(bytes: i64) -> String {
    if bytes <= 0 {
        return "–".into();
    }
    let b = bytes as f64;
    match bytes {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", b / 1024.0),
        n if n < 1024 * 1024 * 1024 => format!("{:.1} MiB", b / (1024.0 * 1024.0)),
        _ => format!("{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0)),
    }
}

/// Markdown table cells cannot hold `|` or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn short_digest(d: &str) -> String {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    if hex.is_empty() {
        "–".into()
    } else {
        format!("`sha256:{}`", &hex[..hex.len().min(12)])
    }
}

/// The job summary in Markdown: errors first, then the images table
/// (image, tag, digest, built or reused, size, time) and totals, within
/// [`GITHUB_MAX_SUMMARY_BYTES`].
pub fn github_summary(outcome: &Outcome) -> String {
    let mut md = String::new();
    let verb = &outcome.command;
    if outcome.problems.is_empty() {
        let _ = writeln!(md, "### davit {verb}: succeeded\n");
    } else {
        let _ = writeln!(md, "### davit {verb}: failed\n");
        for p in &outcome.problems {
            let place = match (&p.file, p.line.filter(|l| *l > 0)) {
                (Some(f), Some(l)) => format!("`{f}:{l}`: "),
                (Some(f), None) => format!("`{f}`: "),
                _ => String::new(),
            };
            let first = p.message.lines().next().unwrap_or_default();
            let _ = writeln!(md, "- :x: {place}{}", cell(first));
        }
        md.push('\n');
    }
    if !outcome.images.is_empty() {
        md.push_str("| Image | Tag | Digest | Result | Size | Time |\n");
        md.push_str("|---|---|---|---|---:|---:|\n");
        let mut omitted = 0;
        for img in &outcome.images {
            let row = format!(
                "| {} | `{}` | {} | {} | {} | {:.1} s |\n",
                cell(&img.name),
                cell(&img.tag),
                short_digest(&img.digest),
                if img.rebuilt { "built" } else { "reused" },
                human_size(img.size),
                img.seconds
            );
            // Leave room for the totals and a truncation note.
            if md.len() + row.len() > GITHUB_MAX_SUMMARY_BYTES - 1024 {
                omitted += 1;
                continue;
            }
            md.push_str(&row);
        }
        if omitted > 0 {
            let _ = writeln!(
                md,
                "\n_{omitted} more images are left out: a job summary holds at most 1 MiB. The build report has all of them._"
            );
        }
        md.push('\n');
    }
    let built = outcome.images.iter().filter(|i| i.rebuilt).count();
    let count = outcome.images.len();
    let _ = writeln!(
        md,
        "**{count} {}**: {built} built, {} reused, in {:.1} s.",
        if count == 1 { "image" } else { "images" },
        count - built,
        outcome.seconds
    );
    md
}

/// `section_start:<unix>:<name>[collapsed=true]\r\e[0K<header>`.
pub fn gitlab_section_start(name: &str, header: &str, unix: u64, collapsed: bool) -> String {
    let opts = if collapsed { "[collapsed=true]" } else { "" };
    format!("\x1b[0Ksection_start:{unix}:{name}{opts}\r\x1b[0K{header}")
}

/// `section_end:<unix>:<name>\r\e[0K`.
pub fn gitlab_section_end(name: &str, unix: u64) -> String {
    format!("\x1b[0Ksection_end:{unix}:{name}\r\x1b[0K")
}

/// The dotenv report for `artifacts:reports:dotenv`: per final image
/// `WERF_<IMAGE>_DOCKER_IMAGE_NAME` (werf's .env report key), then the
/// other images, as long as GitLab accepts it (no comments or blank
/// lines, at most [`GITLAB_MAX_DOTENV_VARIABLES`] variables and
/// [`GITLAB_MAX_DOTENV_BYTES`]). Returns the file and a note for the log
/// when something had to be left out.
pub fn gitlab_dotenv(outcome: &Outcome) -> (String, Option<String>) {
    let mut images: Vec<&ImageRow> = outcome.images.iter().collect();
    images.sort_by_key(|i| !i.is_final);
    let mut text = String::new();
    let mut count = 0;
    let mut left_out = Vec::new();
    for img in images {
        let line = format!("{}={}\n", dotenv_key(&img.name), img.reference);
        if count + 1 > GITLAB_MAX_DOTENV_VARIABLES
            || text.len() + line.len() >= GITLAB_MAX_DOTENV_BYTES
            || img.reference.contains('\n')
        {
            left_out.push(img.name.clone());
            continue;
        }
        text.push_str(&line);
        count += 1;
    }
    let note = (!left_out.is_empty()).then(|| {
        format!(
            "the dotenv report leaves out {} (GitLab accepts at most {GITLAB_MAX_DOTENV_VARIABLES} variables and {GITLAB_MAX_DOTENV_BYTES} bytes); the build report has them",
            left_out.join(", ")
        )
    });
    (text, note)
}

/// werf's .env key for an image: `WERF_<NAME>_DOCKER_IMAGE_NAME`, the name
/// upper-cased with every other character turned into `_`.
pub fn dotenv_key(image: &str) -> String {
    let name: String = image
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("WERF_{name}_DOCKER_IMAGE_NAME")
}

/// `host[:port]/path` of `host[:port]/path:tag`.
pub fn repository_of(reference: &str) -> &str {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => reference,
    }
}

/// The annotations report (`artifacts:reports:annotations`): a link per
/// image, to `registry_url(reference)`.
pub fn gitlab_annotations(outcome: &Outcome, registry_url: &dyn Fn(&str) -> String) -> String {
    let links: Vec<serde_json::Value> = outcome
        .images
        .iter()
        .map(|img| {
            serde_json::json!({"external_link": {
                "label": format!("{}: {}", img.name, img.reference),
                "url": registry_url(&img.reference),
            }})
        })
        .collect();
    let report = serde_json::json!({ format!("davit {}", outcome.command): links });
    serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".into())
}

/// Where a line of CI output goes: GitHub reads workflow commands from
/// stdout; GitLab sections belong in the log stream itself (stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Files written for GitLab next to the job's working directory; the
/// GitLab templates name them under `artifacts:reports`.
pub const GITLAB_DOTENV_FILE: &str = "davit-build.env";
pub const GITLAB_ANNOTATIONS_FILE: &str = "davit-annotations.json";
/// The files davit writes into a job's work tree, which builds ignore.
pub const REPORT_FILES: [&str; 2] = [GITLAB_DOTENV_FILE, GITLAB_ANNOTATIONS_FILE];

/// Native CI output for one command run.
pub struct Reporter<'e> {
    pub mode: Mode,
    env: Env<'e>,
}

use crate::Env;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn append(path: &str, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

impl<'e> Reporter<'e> {
    /// `requested` is `--ci-output` (`auto` or a [`Mode`] name); `auto`
    /// picks the CI system the job runs in.
    pub fn new(requested: &str, env: Env<'e>) -> Result<Reporter<'e>, String> {
        let mode = match requested {
            "" | "auto" => match crate::CiSystem::detect(env) {
                Some(crate::CiSystem::GitHub) => Mode::GitHub,
                Some(crate::CiSystem::GitLab) => Mode::GitLab,
                None => Mode::None,
            },
            other => Mode::parse(other).ok_or_else(|| {
                format!("--ci-output {other:?}: use auto, none, github or gitlab")
            })?,
        };
        Ok(Reporter { mode, env })
    }

    /// A variable of the job's environment, if set and not empty.
    pub(crate) fn var(&self, key: &str) -> Option<String> {
        (self.env)(key).filter(|v| !v.is_empty())
    }

    /// Whether [`Reporter::masks`] prints anything: secret values need to
    /// be gathered only then.
    pub fn masks_secrets(&self) -> bool {
        self.mode == Mode::GitHub
    }

    /// Masks for every secret value, before anything could print one.
    pub fn masks(&self, secrets: &[String]) -> Vec<(Stream, String)> {
        match self.mode {
            Mode::GitHub => secrets
                .iter()
                .flat_map(|s| github_masks(s))
                .map(|l| (Stream::Stdout, l))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A collapsible log group for a phase.
    pub fn start(&self, id: &str, title: &str) -> Option<(Stream, String)> {
        match self.mode {
            Mode::GitHub => Some((Stream::Stdout, github_group(title))),
            Mode::GitLab => Some((
                Stream::Stderr,
                gitlab_section_start(id, title, unix_now(), false),
            )),
            Mode::None => None,
        }
    }

    pub fn end(&self, id: &str) -> Option<(Stream, String)> {
        match self.mode {
            Mode::GitHub => Some((Stream::Stdout, github_endgroup())),
            Mode::GitLab => Some((Stream::Stderr, gitlab_section_end(id, unix_now()))),
            Mode::None => None,
        }
    }

    /// Writes the outcome where the CI system reads it (GitHub: step
    /// outputs and job summary from `$GITHUB_OUTPUT` and
    /// `$GITHUB_STEP_SUMMARY`; GitLab: the dotenv and annotations reports
    /// in `dir`) and returns the lines to print (annotations, notes).
    /// A file that cannot be written is a note, never a failed job.
    pub fn finish(&self, outcome: &Outcome, dir: &std::path::Path) -> Vec<(Stream, String)> {
        let mut lines = Vec::new();
        let mut notes: Vec<(Stream, String)> = Vec::new();
        let mut note = |what: &str, e: std::io::Error| {
            notes.push((
                Stream::Stderr,
                format!("warning: davit could not write {what}: {e}"),
            ));
        };
        match self.mode {
            Mode::None => {}
            Mode::GitHub => {
                if let Some(path) = (self.env)("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
                    if let Err(e) = append(&path, &github_outputs(outcome)) {
                        note("the step outputs ($GITHUB_OUTPUT)", e);
                    }
                }
                if let Some(path) = (self.env)("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
                    if let Err(e) = append(&path, &github_summary(outcome)) {
                        note("the job summary ($GITHUB_STEP_SUMMARY)", e);
                    }
                }
                lines.extend(
                    github_errors(&outcome.problems)
                        .into_iter()
                        .map(|l| (Stream::Stdout, l)),
                );
            }
            Mode::GitLab => {
                let (dotenv, truncated) = gitlab_dotenv(outcome);
                if let Err(e) = std::fs::write(dir.join(GITLAB_DOTENV_FILE), dotenv) {
                    note("the dotenv report", e);
                }
                if let Some(t) = truncated {
                    lines.push((Stream::Stderr, format!("note: {t}")));
                }
                let project_url = (self.env)("CI_PROJECT_URL").filter(|v| !v.is_empty());
                let registry = (self.env)("CI_REGISTRY").filter(|v| !v.is_empty());
                let url = |reference: &str| match (&project_url, &registry) {
                    (Some(p), Some(r)) if reference.starts_with(r.as_str()) => {
                        format!("{p}/container_registry")
                    }
                    _ => format!("https://{}", repository_of(reference)),
                };
                if let Err(e) = std::fs::write(
                    dir.join(GITLAB_ANNOTATIONS_FILE),
                    gitlab_annotations(outcome, &url),
                ) {
                    note("the annotations report", e);
                }
            }
        }
        lines.extend(notes);
        lines
    }
}
