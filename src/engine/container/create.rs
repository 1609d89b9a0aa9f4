//! `docker create`: record a container for an image.

use super::names;
use super::state::ContainerState;
use crate::engine::{Engine, Error, Result};
use crate::image::resolve::ResolveError;
use crate::models::{ContainerConfig, ContainerCreateBody, ContainerCreateResponse, HostConfig};
use crate::store::{ContainerRow, StoreError};

impl Engine {
    pub async fn create_container(
        &self,
        name: Option<&str>,
        body: ContainerCreateBody,
    ) -> Result<ContainerCreateResponse> {
        let image_ref = body
            .image
            .clone()
            .filter(|i| !i.is_empty())
            .ok_or_else(|| {
                Error::invalid("config cannot be empty in order to create a container")
            })?;
        let chosen = match name.filter(|n| !n.is_empty()) {
            Some(n) => Some(names::validate(n)?),
            None => None,
        };
        let image_id = match self.images().resolve(&image_ref).await {
            Ok(r) => r.id,
            Err(ResolveError::NotFound) => {
                return Err(Error::no_such_image(&crate::engine::image::missing_name(
                    &image_ref,
                )));
            }
            Err(ResolveError::Ambiguous) => {
                return Err(Error::invalid(format!(
                    "multiple IDs found with provided prefix: {image_ref}"
                )));
            }
            Err(ResolveError::Other(e)) => return Err(e.into()),
        };
        let host_config = with_host_defaults(body.host_config.clone().unwrap_or_default());
        if let Some(rt) = host_config.runtime.as_deref().filter(|r| !r.is_empty())
            && !self.config().runtimes.contains_key(rt)
        {
            return Err(Error::invalid(format!(
                "unknown or invalid runtime name: {rt}"
            )));
        }
        let mut config = container_config(&body)?;
        let requested = config.clone();
        if let Some(row) = self.store().image(&image_id).await? {
            let file = crate::image::ImageConfigFile::parse(row.config.as_bytes())
                .map_err(|e| Error::internal(format!("image config unreadable: {e}")))?;
            if let Some(image_config) = file
                .config
                .clone()
                .and_then(|c| serde_json::from_value::<crate::models::ImageConfig>(c).ok())
            {
                crate::engine::spec::merge_image_config(&mut config, &image_config);
            }
        }
        let cgroup_version = if crate::engine::system::HostFacts::get().cgroup_version == "2" {
            2
        } else {
            1
        };
        let mut host_config = host_config;
        crate::engine::spec::adapt_host_config(&mut host_config, cgroup_version);
        // It looks at the host (bind sources, device nodes): off the async runtime.
        let (config, host_config, warnings) = tokio::task::spawn_blocking(move || {
            let warnings = crate::engine::spec::validate(
                &config,
                &host_config,
                &crate::engine::system::daemon_caps(),
                crate::engine::system::HostFacts::get().ncpu as usize,
            );
            (config, host_config, warnings)
        })
        .await
        .map_err(|e| Error::internal(e.to_string()))?;
        let warnings = warnings?;
        // dockerd's own checks first (their messages), then what Berth does not carry out yet,
        // of what the client asked for (before the image's settings merged in).
        crate::engine::spec::refuse_unsupported(
            &requested,
            &host_config,
            body.networking_config.as_ref(),
        )?;
        // Rotation settings as start reads them, so a bad max-size fails here rather than there.
        self.log_rotation(&host_config)?;
        let mut config = config;
        let id = crate::util::ids::random_id();
        if config.hostname.as_deref().unwrap_or("").is_empty() {
            // dockerd names the container's host after its short ID (or the host, for --network host).
            config.hostname = Some(if host_config.network_mode.as_deref() == Some("host") {
                crate::engine::system::HostFacts::get().hostname.clone()
            } else {
                id[..12].to_string()
            });
        }
        let layers: Vec<String> = self
            .store()
            .image_layers(&image_id)
            .await?
            .into_iter()
            .map(|l| l.diff_id)
            .collect();
        let mut row = ContainerRow {
            name: chosen
                .clone()
                .unwrap_or_else(|| format!("/{}", names::generate(0))),
            id,
            image_id,
            image_ref,
            created_at: crate::util::time::now_nanos(),
            config: serde_json::to_string(&config).map_err(|e| Error::internal(e.to_string()))?,
            host_config: serde_json::to_string::<HostConfig>(&host_config)
                .map_err(|e| Error::internal(e.to_string()))?,
            state: ContainerState::default().to_json(),
            layers: serde_json::to_string(&layers).map_err(|e| Error::internal(e.to_string()))?,
        };
        // A generated name that is taken is generated again, as dockerd does: a few times with
        // a digit, then the short ID.
        let mut retry = 0;
        loop {
            let listed = super::filter::Listed::from_row(row.clone())?;
            let inserted = self
                .store()
                .insert_container_then(&row, || self.view().insert(listed))
                .await;
            match inserted {
                Ok(()) => break,
                Err(StoreError::Duplicate(_))
                    if chosen.is_none() && retry < names::GENERATE_ATTEMPTS =>
                {
                    retry += 1;
                    row.name = match retry {
                        names::GENERATE_ATTEMPTS => format!("/{}", &row.id[..12]),
                        r => format!("/{}", names::generate(r)),
                    };
                }
                Err(StoreError::Duplicate(_)) => {
                    let name = &row.name;
                    let holder = self
                        .store()
                        .container_by_name(name)
                        .await?
                        .map(|c| c.id)
                        .unwrap_or_default();
                    return Err(Error::conflict(format!(
                        "Conflict. The container name \"{name}\" is already in use by container \"{holder}\". You have to remove (or rename) that container to be able to reuse that name."
                    )));
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.events()
            .publish(crate::engine::events::Event::container(
                "create",
                &row.id,
                &row.name,
                &row.image_ref,
                config.labels.iter().flatten(),
            ));
        Ok(ContainerCreateResponse {
            id: row.id,
            warnings,
        })
    }
}

/// Fills what dockerd fills when the client leaves it out, so inspect shows real values.
fn with_host_defaults(mut host: HostConfig) -> HostConfig {
    use crate::models::{HostConfigCgroupnsModeEnum, HostConfigLogConfig};
    let log = host
        .log_config
        .get_or_insert_with(HostConfigLogConfig::default);
    if log.typ.as_deref().unwrap_or("").is_empty() {
        log.typ = Some("json-file".into());
    }
    log.config.get_or_insert_with(Default::default);
    if matches!(
        host.cgroupns_mode,
        None | Some(HostConfigCgroupnsModeEnum::EMPTY)
    ) {
        // dockerd's default: a private cgroup namespace on cgroup v2, the host's on v1.
        host.cgroupns_mode = Some(
            if crate::engine::system::HostFacts::get().cgroup_version == "2" {
                HostConfigCgroupnsModeEnum::PRIVATE
            } else {
                HostConfigCgroupnsModeEnum::HOST
            },
        );
    }
    // -1 means "unset" on the wire; dockerd stores it as unset.
    if host.memory_swappiness == Some(-1) {
        host.memory_swappiness = None;
    }
    if host.network_mode.as_deref().unwrap_or("").is_empty() {
        // dockerd's NetworkDefault: the default bridge network.
        host.network_mode = Some("default".into());
    }
    host
}

/// The container's own config: the create body without HostConfig and NetworkingConfig.
fn container_config(body: &ContainerCreateBody) -> Result<ContainerConfig> {
    let mut value = serde_json::to_value(body).map_err(|e| Error::internal(e.to_string()))?;
    if let Some(obj) = value.as_object_mut() {
        obj.remove("HostConfig");
        obj.remove("NetworkingConfig");
    }
    serde_json::from_value(value).map_err(|e| Error::internal(e.to_string()))
}
