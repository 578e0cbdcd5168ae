//! The local Docker Engine, reached through bollard (`DOCKER_HOST` or the
//! default socket): building a Dockerfile stage from a context archive and
//! asking about local images.
//!
//! Builds use BuildKit through a session (`buildkit.rs`) when the daemon
//! has it, the classic builder otherwise or with `DOCKER_BUILDKIT=0`;
//! secrets and ssh go through BuildKit's control API (`session_build.rs`).

pub mod container;
pub mod secrets;

use std::collections::{BTreeMap, HashMap};

use bollard::auth::DockerCredentials;
use bollard::models::{BuildInfoAux, ImageId};
use bollard::query_parameters::{
    BuildImageOptions, BuilderVersion, ImportImageOptions, ListImagesOptions, PushImageOptions,
    RemoveImageOptions, TagImageOptions,
};
use bollard::Docker;
use davit_registry::Credential;
use futures_util::StreamExt;

mod buildkit;
pub mod housekeeping;
mod session_build;
pub use buildkit::{Builder, BuilderChoice};

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker daemon ({endpoint}): {message}\n  hint: start dockerd or set DOCKER_HOST")]
    Connect { endpoint: String, message: String },
    #[error("docker build failed: {message}")]
    BuildFailed {
        message: String,
        /// The builder's last output lines, for context.
        log_tail: Vec<String>,
    },
    #[error("pushing {reference} failed: {message}")]
    PushFailed { reference: String, message: String },
    #[error("docker build finished without reporting an image ID")]
    NoImageId,
    #[error("Docker API ({what}): {source}")]
    Api {
        what: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
}

impl DockerError {
    /// The daemon's message when it refused the request as malformed (HTTP
    /// 400): for a build, the classic builder's Dockerfile errors.
    pub fn bad_request_message(&self) -> Option<&str> {
        match self {
            DockerError::Api {
                source:
                    bollard::errors::Error::DockerResponseServerError {
                        status_code: 400,
                        message,
                    },
                ..
            } => Some(message),
            _ => None,
        }
    }
}

/// One Dockerfile build: the context archive and the settings from werf.yaml.
pub struct BuildRequest<'a> {
    pub context_tar: Vec<u8>,
    /// Context-relative path of the Dockerfile.
    pub dockerfile: &'a str,
    pub target: Option<&'a str>,
    pub build_args: &'a BTreeMap<String, String>,
    pub labels: &'a BTreeMap<String, String>,
    pub add_host: &'a [String],
    pub network: Option<&'a str>,
    /// Local tag to give the result.
    pub tag: &'a str,
    /// Credentials for the registry the base images come from (the
    /// stages repository), for the daemon's pulls.
    pub registry_auth: Option<(&'a str, &'a Credential)>,
    pub builder: Builder,
    /// Build secrets and ssh-agent forwarding: BuildKit with session
    /// services (`session_build.rs`).
    pub secrets: &'a [crate::secrets::BuildSecret],
    pub ssh: bool,
    /// Target platform, `os/arch[/variant]`.
    pub platform: &'a str,
}

static NO_STRINGS: BTreeMap<String, String> = BTreeMap::new();

impl<'a> BuildRequest<'a> {
    /// A classic-builder build of `context_tar` (the Dockerfile at its
    /// root) tagged `tag`, for the default platform, with no args, labels,
    /// secrets or ssh; the rest is set with struct update syntax.
    pub fn classic(context_tar: Vec<u8>, tag: &'a str) -> BuildRequest<'a> {
        BuildRequest {
            context_tar,
            dockerfile: "Dockerfile",
            target: None,
            build_args: &NO_STRINGS,
            labels: &NO_STRINGS,
            add_host: &[],
            network: None,
            tag,
            registry_auth: None,
            builder: Builder::Classic,
            secrets: &[],
            ssh: false,
            platform: davit_digest::platform::DEFAULT,
        }
    }
}

/// A response stream that ended in the middle of a message.
fn cut_at_end(e: &bollard::errors::Error) -> bool {
    e.to_string().contains("bytes remaining on stream")
}

/// An error in a progress stream: the daemon's own message (a failed step,
/// a refused push) becomes `failed`, anything else an API error.
fn stream_error(
    e: bollard::errors::Error,
    what: &'static str,
    failed: impl FnOnce(String) -> DockerError,
) -> DockerError {
    match e {
        bollard::errors::Error::DockerStreamError { error } => failed(error),
        source => DockerError::Api { what, source },
    }
}

/// `"1.41" >= (1, 39)`.
fn api_at_least(version: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    v >= (major, minor)
}

/// A credential as the Engine API takes it.
fn docker_credentials(c: &Credential, server: Option<&str>) -> DockerCredentials {
    let mut d = if c.is_identity_token() {
        DockerCredentials {
            identitytoken: Some(c.secret().to_string()),
            ..Default::default()
        }
    } else {
        DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.secret().to_string()),
            ..Default::default()
        }
    };
    d.serveraddress = server.map(str::to_string);
    d
}

pub struct DockerEngine {
    docker: Docker,
    /// A Linux daemon with the session API (1.39+) runs BuildKit builds.
    has_buildkit: bool,
}

impl DockerEngine {
    /// Connects as the Docker CLI does: `DOCKER_HOST`, else the local socket.
    /// The connection is checked with a ping so that a missing daemon is
    /// reported before any work starts.
    pub async fn connect() -> Result<DockerEngine, DockerError> {
        let endpoint =
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let connect_err = |e: bollard::errors::Error| DockerError::Connect {
            endpoint: endpoint.clone(),
            message: e.to_string(),
        };
        let docker = Docker::connect_with_defaults().map_err(connect_err)?;
        docker.ping().await.map_err(connect_err)?;
        let version = docker.version().await.map_err(connect_err)?;
        let api = version.api_version.as_deref().unwrap_or("0");
        let has_buildkit = version.os.as_deref() == Some("linux") && api_at_least(api, (1, 39));
        Ok(DockerEngine {
            docker,
            has_buildkit,
        })
    }

    /// A client for work that must not need a daemon (a plan against a
    /// registry): it talks to the configured daemon if one is there, and
    /// otherwise to nothing, so a call that does need the daemon fails
    /// with a connection error instead of the whole command failing early.
    pub fn unchecked() -> Result<DockerEngine, DockerError> {
        let docker = Docker::connect_with_defaults()
            .or_else(|_| {
                // Port 9 (discard) refuses: nothing is ever sent anywhere.
                Docker::connect_with_http("http://127.0.0.1:9", 5, bollard::API_DEFAULT_VERSION)
            })
            .map_err(|e| DockerError::Connect {
                endpoint: "none".into(),
                message: e.to_string(),
            })?;
        Ok(DockerEngine {
            docker,
            has_buildkit: false,
        })
    }

    /// Whether the daemon runs BuildKit builds.
    pub fn has_buildkit(&self) -> bool {
        self.has_buildkit
    }

    /// Builds and returns the image ID (`sha256:…`). Every output line of
    /// the builder goes to `on_line`.
    pub async fn build(
        &self,
        req: BuildRequest<'_>,
        mut on_line: impl FnMut(&str),
    ) -> Result<String, DockerError> {
        let to_map = |m: &BTreeMap<String, String>| -> HashMap<String, String> {
            m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        if !req.secrets.is_empty() || req.ssh {
            return self.build_with_session(req, &mut on_line).await;
        }
        let buildkit = req.builder == Builder::BuildKit;
        let options = BuildImageOptions {
            dockerfile: req.dockerfile.to_string(),
            t: Some(req.tag.to_string()),
            target: req.target.unwrap_or_default().to_string(),
            buildargs: Some(to_map(req.build_args)),
            labels: Some(to_map(req.labels)),
            extrahosts: (!req.add_host.is_empty()).then(|| req.add_host.join(",")),
            networkmode: req.network.map(str::to_string),
            rm: true,
            forcerm: true,
            version: if buildkit {
                BuilderVersion::BuilderBuildKit
            } else {
                BuilderVersion::BuilderV1
            },
            session: buildkit.then(buildkit::session_id),
            // The daemon's own platform needs no parameter (and older
            // classic builders reject it).
            platform: if req.platform == davit_digest::platform::DEFAULT {
                String::new()
            } else {
                req.platform.to_string()
            },
            ..Default::default()
        };
        let body = bollard::body_full(bytes::Bytes::from(req.context_tar));
        let auth = req.registry_auth.map(|(host, c)| {
            HashMap::from([(host.to_string(), docker_credentials(c, Some(host)))])
        });
        let mut stream = self.docker.build_image(options, auth, Some(body));
        let mut image_id = None;
        let mut tail: Vec<String> = Vec::new();
        let mut status_lines = buildkit::StatusLines::default();
        let mut show = |line: &str, tail: &mut Vec<String>| {
            on_line(line);
            if tail.len() == 20 {
                tail.remove(0);
            }
            tail.push(line.to_string());
        };
        let success_line = format!("Successfully tagged {}", req.tag);
        while let Some(item) = stream.next().await {
            let failed = |message| DockerError::BuildFailed {
                message,
                log_tail: tail.clone(),
            };
            let info = match item {
                Ok(info) => info,
                // The daemon sometimes closes the stream in the middle of
                // its last message, after the build finished: the image is
                // there, named as asked.
                Err(e) if cut_at_end(&e) && tail.iter().any(|l| l.contains(&success_line)) => {
                    if image_id.is_none() {
                        image_id = self.image_id(req.tag).await?;
                    }
                    break;
                }
                Err(e) => return Err(stream_error(e, "build", failed)),
            };
            if let Some(detail) = info.error_detail {
                return Err(failed(detail.message.unwrap_or_default()));
            }
            if let Some(text) = info.stream.as_deref() {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    show(line, &mut tail);
                }
            }
            match info.aux {
                Some(BuildInfoAux::Default(ImageId { id: Some(id) })) => image_id = Some(id),
                Some(BuildInfoAux::BuildKit(status)) => {
                    for line in status_lines.lines(&status) {
                        show(&line, &mut tail);
                    }
                }
                _ => {}
            }
        }
        image_id.ok_or(DockerError::NoImageId)
    }

    /// The image ID of a local reference, `None` when it does not exist.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>, DockerError> {
        Ok(self.image_summary(reference).await?.map(|(id, _, _)| id))
    }

    /// Gives `source` the name `repo:tag`.
    pub async fn tag(&self, source: &str, repo: &str, tag: &str) -> Result<(), DockerError> {
        let options = TagImageOptions {
            repo: Some(repo.to_string()),
            tag: Some(tag.to_string()),
        };
        self.docker
            .tag_image(source, Some(options))
            .await
            .map_err(|source| DockerError::Api {
                what: "tag image",
                source,
            })
    }

    /// Removes a local name (the image stays while other names point at
    /// it). Untagged parents are kept: a concurrent build may use them.
    pub async fn untag(&self, reference: &str) -> Result<(), DockerError> {
        let options = RemoveImageOptions {
            noprune: true,
            ..Default::default()
        };
        self.docker
            .remove_image(reference, Some(options), None)
            .await
            .map(|_| ())
            .map_err(|source| DockerError::Api {
                what: "remove image name",
                source,
            })
    }

    /// Pushes `repo:tag`. The daemon uploads every blob before it writes
    /// the manifest, so the tag never points at missing blobs.
    pub async fn push(
        &self,
        repo: &str,
        tag: &str,
        credential: Option<&Credential>,
    ) -> Result<(), DockerError> {
        let auth = credential.map(|c| docker_credentials(c, None));
        let options = PushImageOptions {
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        let mut stream = self.docker.push_image(repo, Some(options), auth);
        while let Some(item) = stream.next().await {
            let failed = |message| DockerError::PushFailed {
                reference: format!("{repo}:{tag}"),
                message,
            };
            let info = item.map_err(|e| stream_error(e, "push", failed))?;
            if let Some(detail) = info.error_detail {
                return Err(failed(detail.message.unwrap_or_default()));
            }
        }
        Ok(())
    }

    /// Tags (`repo:tag`) of local images whose reference matches `pattern`
    /// (Docker's `reference` filter, e.g. `project:digest*`).
    pub async fn tags_matching(&self, pattern: &str) -> Result<Vec<String>, DockerError> {
        let images = self.list_images_where("reference", pattern).await?;
        Ok(images.into_iter().flat_map(|i| i.repo_tags).collect())
    }

    /// Local images that one filter of the Engine API selects.
    pub(crate) async fn list_images_where(
        &self,
        filter: &str,
        value: &str,
    ) -> Result<Vec<bollard::models::ImageSummary>, DockerError> {
        let options = ListImagesOptions {
            filters: Some(HashMap::from([(
                filter.to_string(),
                vec![value.to_string()],
            )])),
            ..Default::default()
        };
        self.docker
            .list_images(Some(options))
            .await
            .map_err(|source| DockerError::Api {
                what: "list images",
                source,
            })
    }

    /// ID, size and labels of a local image; `None` when absent.
    pub async fn image_summary(
        &self,
        reference: &str,
    ) -> Result<Option<(String, i64, BTreeMap<String, String>)>, DockerError> {
        match self.docker.inspect_image(reference).await {
            Ok(img) => Ok(Some((
                img.id.unwrap_or_default(),
                img.size.unwrap_or(0),
                img.config
                    .and_then(|c| c.labels)
                    .map(|l| l.into_iter().collect())
                    .unwrap_or_default(),
            ))),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(source) => Err(DockerError::Api {
                what: "inspect image",
                source,
            }),
        }
    }

    /// Labels of a local image (empty when it does not exist).
    pub async fn image_labels(
        &self,
        reference: &str,
    ) -> Result<BTreeMap<String, String>, DockerError> {
        Ok(self
            .image_summary(reference)
            .await?
            .map(|(_, _, labels)| labels)
            .unwrap_or_default())
    }

    /// `docker save` of one image, held in memory.
    pub async fn save(&self, reference: &str) -> Result<Vec<u8>, DockerError> {
        let mut out = Vec::new();
        let mut stream = self.docker.export_image(reference);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|source| DockerError::Api {
                what: "save image",
                source,
            })?;
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// `docker load` of an archive made by [`DockerEngine::save`].
    pub async fn load(&self, archive: Vec<u8>) -> Result<(), DockerError> {
        let mut stream = self.docker.import_image(
            ImportImageOptions {
                quiet: true,
                ..Default::default()
            },
            bollard::body_full(archive.into()),
            None,
        );
        while let Some(item) = stream.next().await {
            let info = item.map_err(|source| DockerError::Api {
                what: "load image",
                source,
            })?;
            if let Some(message) = info.error_detail.and_then(|d| d.message) {
                return Err(DockerError::BuildFailed {
                    message,
                    log_tail: Vec::new(),
                });
            }
        }
        Ok(())
    }
}
