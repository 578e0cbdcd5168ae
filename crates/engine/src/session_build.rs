//! Builds that need BuildKit session services: secrets and ssh-agent
//! forwarding. They go through the daemon's BuildKit control API
//! (bollard's `Moby` driver), which serves the secrets from this process;
//! that API reports no step output, only the result or the error.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use bollard::grpc::build::{
    ImageBuildFrontendOptions, ImageBuildHostIp, ImageBuildLoadInput, ImageBuildNetworkMode,
    SecretSource as BollardSecret,
};
use bollard::grpc::driver::moby::Moby;
use bollard::grpc::driver::Build;

use super::{docker_credentials, BuildRequest, DockerEngine, DockerError};
use crate::secrets::SecretSource;

fn invalid(message: String) -> DockerError {
    DockerError::BuildFailed {
        message,
        log_tail: Vec::new(),
    }
}

impl DockerEngine {
    pub(super) async fn build_with_session(
        &self,
        req: BuildRequest<'_>,
        on_line: &mut impl FnMut(&str),
    ) -> Result<String, DockerError> {
        let mut opts = ImageBuildFrontendOptions::builder().dockerfile(Path::new(req.dockerfile));
        if let Some(target) = req.target.filter(|t| !t.is_empty()) {
            opts = opts.target(target);
        }
        for (k, v) in req.build_args {
            opts = opts.buildarg(k, v);
        }
        for (k, v) in req.labels {
            opts = opts.label(k, v);
        }
        for entry in req.add_host {
            let parsed = entry
                .split_once(':')
                .and_then(|(host, ip)| Some((host, ip.parse::<IpAddr>().ok()?)));
            let Some((host, ip)) = parsed else {
                return Err(invalid(format!("addHost {entry:?}: expected HOST:IP")));
            };
            opts = opts.extrahost(&ImageBuildHostIp {
                host: host.to_string(),
                ip,
            });
        }
        match req.network.unwrap_or_default() {
            "" | "default" => {}
            "host" => opts = opts.force_network_mode(&ImageBuildNetworkMode::Host),
            "none" => opts = opts.force_network_mode(&ImageBuildNetworkMode::None),
            other => {
                return Err(invalid(format!(
                    "network {other:?}: BuildKit builds take default, host or none"
                )))
            }
        }
        // Literal values are handed over as files in a private directory
        // that lives as long as the build.
        let value_dir = tempfile::tempdir().map_err(|e| invalid(e.to_string()))?;
        for (i, secret) in req.secrets.iter().enumerate() {
            let source = match &secret.source {
                SecretSource::Env(name) => BollardSecret::Env(name.clone()),
                SecretSource::File(path) => BollardSecret::File(path.clone()),
                SecretSource::Value(value) => {
                    let path = value_dir.path().join(format!("secret-{i}"));
                    std::fs::write(&path, value).map_err(|e| invalid(e.to_string()))?;
                    BollardSecret::File(path)
                }
            };
            opts = opts.set_secret(&secret.id, &source);
        }
        if req.ssh {
            opts = opts.enable_ssh(true);
        }
        if req.platform != davit_digest::platform::DEFAULT {
            let (os, architecture, variant) = davit_digest::platform::parts(req.platform);
            opts = opts.platforms(&bollard::grpc::build::ImageBuildPlatform {
                architecture: architecture.to_string(),
                os: os.to_string(),
                variant: variant.map(str::to_string),
            });
        }
        let credentials = req
            .registry_auth
            .map(|(host, c)| HashMap::from([(host, docker_credentials(c, Some(host)))]));
        on_line("BuildKit with secrets/ssh: the daemon reports no step output for such builds");
        Moby::new(&self.docker)
            .docker_build(
                req.tag,
                opts.build(),
                ImageBuildLoadInput::Upload(bytes::Bytes::from(req.context_tar)),
                credentials,
                None,
            )
            .await
            .map_err(|e| invalid(e.to_string()))?;
        self.image_id(req.tag).await?.ok_or(DockerError::NoImageId)
    }
}
