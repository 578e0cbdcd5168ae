//! Running a stapel shell stage: pull the previous stage, run the stage's
//! commands in a container of it with the image's own `/bin/sh -e`,
//! commit the container with the image's config kept (and the service
//! labels and variables added), remove the container.

use std::collections::HashMap;

use bollard::container::LogOutput;
use bollard::models::{ContainerConfig, ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CommitContainerOptions, CreateContainerOptions, CreateImageOptions,
    DownloadFromContainerOptions, LogsOptions, RemoveContainerOptions, UploadToContainerOptions,
};
use davit_registry::Credential;
use futures_util::StreamExt;

use crate::{docker_credentials, DockerEngine, DockerError};

/// One shell stage to run.
pub struct ShellRun<'a> {
    /// The image to run in (a stage already in the daemon).
    pub image: &'a str,
    /// The stage's commands, run by `/bin/sh -e -c`, one per line.
    pub commands: &'a [String],
    /// `KEY=value` variables for the commands and the committed image.
    pub env: Vec<String>,
    /// Labels the committed image gets on top of the image's own.
    pub labels: HashMap<String, String>,
    /// `host:container[:ro]` bind mounts (stapel `mount`).
    pub binds: Vec<String>,
    /// `os/arch[/variant]`.
    pub platform: &'a str,
    /// A tar unpacked at `/` in the container before the commands run
    /// (a git patch).
    pub files: Option<Vec<u8>>,
    /// Regular files read back from the container once the commands
    /// succeed (absent ones are left out); `stamp` turns them into labels
    /// of the committed image.
    pub read_back: &'a [&'a str],
}

/// Files read back from a finished shell stage, by container path.
pub type ReadBack = std::collections::BTreeMap<String, Vec<u8>>;

/// A shell stage that did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the image has no /bin/sh, so its shell commands cannot run\n  hint: base the stage on an image with a shell, or drop the `shell:` stage")]
    NoShell,
    #[error("the commands exited with code {code}")]
    Failed {
        code: i64,
        /// The last output lines, for context.
        log_tail: Vec<String>,
    },
    #[error(transparent)]
    Docker(#[from] DockerError),
}

fn api(what: &'static str) -> impl FnOnce(bollard::errors::Error) -> DockerError {
    move |source| DockerError::Api { what, source }
}

impl DockerEngine {
    /// Fails with the connection error and its hint when no daemon
    /// answers: for an engine made with [`DockerEngine::unchecked`] before
    /// the first call that needs the daemon.
    pub async fn ensure_reachable(&self) -> Result<(), DockerError> {
        self.docker
            .ping()
            .await
            .map(|_| ())
            .map_err(|e| DockerError::Connect {
                endpoint: std::env::var("DOCKER_HOST")
                    .unwrap_or_else(|_| "unix:///var/run/docker.sock".into()),
                message: e.to_string(),
            })
    }

    /// Pulls `reference` into the daemon.
    pub async fn pull(
        &self,
        reference: &str,
        platform: &str,
        credential: Option<&Credential>,
    ) -> Result<(), DockerError> {
        let options = CreateImageOptions {
            from_image: Some(reference.to_string()),
            platform: platform.to_string(),
            ..Default::default()
        };
        let auth = credential.map(|c| docker_credentials(c, None));
        let mut stream = self.docker.create_image(Some(options), None, auth);
        while let Some(item) = stream.next().await {
            let info = item.map_err(api("pull"))?;
            if let Some(detail) = info.error_detail {
                return Err(DockerError::PushFailed {
                    reference: reference.to_string(),
                    message: format!("pull: {}", detail.message.unwrap_or_default()),
                });
            }
        }
        Ok(())
    }

    /// Runs a shell stage and commits the result; returns the new image
    /// ID. Every output line goes to `on_line`. The container is removed
    /// whatever happens.
    pub async fn run_shell_stage(
        &self,
        run: &ShellRun<'_>,
        mut on_line: impl FnMut(&str),
        stamp: impl FnOnce(&ReadBack) -> HashMap<String, String>,
    ) -> Result<String, RunError> {
        let inspect = self
            .docker
            .inspect_image(run.image)
            .await
            .map_err(api("inspect image"))?;
        // The committed image keeps the image's own config (CMD,
        // ENTRYPOINT, USER, …), not the one the commands ran with.
        let mut config: ContainerConfig = inspect
            .config
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok())
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let mut env = config.env.clone().unwrap_or_default();
        for var in &run.env {
            let key = var.split_once('=').map_or(var.as_str(), |(k, _)| k);
            env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
            env.push(var.clone());
        }
        config.env = Some(env.clone());
        let mut labels = config.labels.clone().unwrap_or_default();
        labels.extend(run.labels.clone());
        config.labels = Some(labels);
        let body = ContainerCreateBody {
            image: Some(run.image.to_string()),
            entrypoint: Some(vec![]),
            cmd: Some(vec![
                "/bin/sh".into(),
                "-e".into(),
                "-c".into(),
                run.commands.join("\n"),
            ]),
            env: Some(env),
            user: Some("0:0".into()),
            host_config: Some(HostConfig {
                binds: Some(run.binds.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            platform: run.platform.to_string(),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(api("create container"))?;
        let result = match &run.files {
            Some(tar) => self
                .upload(&created.id, tar.clone())
                .await
                .map_err(RunError::from),
            None => Ok(()),
        };
        let result = match result {
            Ok(()) => {
                self.run_and_commit(&created.id, config, run.read_back, stamp, &mut on_line)
                    .await
            }
            Err(e) => Err(e),
        };
        let remove = RemoveContainerOptions {
            force: true,
            ..Default::default()
        };
        let _ = self
            .docker
            .remove_container(&created.id, Some(remove))
            .await;
        result
    }

    async fn upload(&self, id: &str, tar: Vec<u8>) -> Result<(), DockerError> {
        let options = UploadToContainerOptions {
            path: "/".into(),
            ..Default::default()
        };
        self.docker
            .upload_to_container(id, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(api("copy files into the container"))
    }

    /// The regular file at `path` in container `id`; `None` when absent.
    async fn read_file(&self, id: &str, path: &str) -> Option<Vec<u8>> {
        use std::io::Read;
        let options = DownloadFromContainerOptions {
            path: path.to_string(),
        };
        let mut stream = self.docker.download_from_container(id, Some(options));
        let mut archive = Vec::new();
        while let Some(chunk) = stream.next().await {
            archive.extend_from_slice(&chunk.ok()?);
        }
        let mut tar = tar::Archive::new(archive.as_slice());
        let mut entry = tar.entries().ok()?.next()?.ok()?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return None;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).ok()?;
        Some(data)
    }

    async fn run_and_commit(
        &self,
        id: &str,
        mut config: ContainerConfig,
        read_back: &[&str],
        stamp: impl FnOnce(&ReadBack) -> HashMap<String, String>,
        on_line: &mut impl FnMut(&str),
    ) -> Result<String, RunError> {
        if let Err(e) = self.docker.start_container(id, None).await {
            let message = e.to_string();
            if message.contains("/bin/sh") && message.contains("no such file") {
                return Err(RunError::NoShell);
            }
            return Err(api("start container")(e).into());
        }
        let logs = LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let mut tail: Vec<String> = Vec::new();
        let mut stream = self.docker.logs(id, Some(logs));
        while let Some(item) = stream.next().await {
            let chunk = match item.map_err(api("container output"))? {
                LogOutput::StdOut { message } | LogOutput::StdErr { message } => message,
                _ => continue,
            };
            for line in String::from_utf8_lossy(&chunk).lines() {
                on_line(line);
                tail.push(line.to_string());
                if tail.len() > 20 {
                    tail.remove(0);
                }
            }
        }
        let mut wait = self.docker.wait_container(id, None);
        let mut code = 0;
        while let Some(item) = wait.next().await {
            match item {
                Ok(r) => code = r.status_code,
                Err(bollard::errors::Error::DockerContainerWaitError { code: c, .. }) => code = c,
                Err(e) => return Err(api("wait for container")(e).into()),
            }
        }
        if code == 127 && tail.iter().any(|l| l.contains("/bin/sh")) {
            return Err(RunError::NoShell);
        }
        if code != 0 {
            return Err(RunError::Failed {
                code,
                log_tail: tail,
            });
        }
        let mut files = ReadBack::new();
        for path in read_back {
            if let Some(data) = self.read_file(id, path).await {
                files.insert(path.to_string(), data);
            }
        }
        let stamped = stamp(&files);
        if !stamped.is_empty() {
            config
                .labels
                .get_or_insert_with(HashMap::new)
                .extend(stamped);
        }
        let options = CommitContainerOptions {
            container: Some(id.to_string()),
            pause: true,
            ..Default::default()
        };
        let committed = self
            .docker
            .commit_container(options, config)
            .await
            .map_err(api("commit container"))?;
        Ok(committed.id)
    }
}
