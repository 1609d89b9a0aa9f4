//! `docker inspect` of a container: the newest (1.53) model with the defaults dockerd fills in.
//! Keys dockerd always sends as `null` or zero (and what older API versions add) are the API
//! shape's business (`api/shape/containers.rs`); this file supplies the values.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::record::Container;
use super::state::Status;
use crate::engine::{Engine, Error, Result};
use crate::models::{
    ContainerInspectResponse, ContainerState as ApiState, ContainerStateStatusEnum, DriverData,
    EndpointSettings, HostConfig, MountPoint, MountType, NetworkSettings, RestartPolicy,
    RestartPolicyNameEnum,
};
use crate::util::time::rfc3339_nano;

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
const DEFAULT_PROPAGATION: &str = "rprivate";

impl Engine {
    /// `size`: also report the writable layer's size and the whole root filesystem's
    /// (`SizeRw`, `SizeRootFs`), as `?size=1` asks; that walks the writable layer.
    pub async fn inspect_container(
        &self,
        input: &str,
        size: bool,
    ) -> Result<ContainerInspectResponse> {
        let row = self.container(input).await?;
        let paths = self.container_paths(&row.id);
        let lower: Vec<String> = if row.layers.is_empty() {
            // What start mounts for an image without layers.
            vec![paths.rw.join("empty").display().to_string()]
        } else {
            row.layers
                .iter()
                .rev()
                .map(|l| self.images().layer_diff(l).display().to_string())
                .collect()
        };
        let graph = DriverData {
            name: "overlay2".into(),
            data: HashMap::from([
                ("LowerDir".to_string(), lower.join(":")),
                ("MergedDir".to_string(), paths.rootfs.display().to_string()),
                (
                    "UpperDir".to_string(),
                    paths.rw.join("diff").display().to_string(),
                ),
                (
                    "WorkDir".to_string(),
                    paths.rw.join("work").display().to_string(),
                ),
            ]),
        };
        let sizes = if size {
            let upper = paths.rw.join("diff");
            let rw = tokio::task::spawn_blocking(move || dir_size(&upper))
                .await
                .map_err(|e| Error::internal(e.to_string()))?;
            let image = self
                .store()
                .image(&row.image_id)
                .await?
                .map_or(0, |i| i.size);
            Some((rw, image + rw))
        } else {
            None
        };
        // dockerd keeps the sandbox's key after the container stops; the host's namespace
        // has none of ours.
        let netns = (row.state.started_at != 0 && network_mode(&row.host) != "host")
            .then(|| paths.netns.display().to_string());
        let runtime = &self.config().default_runtime;
        let mut doc = document(&row, runtime, netns);
        let execs = self.execs().of_container(&row.id);
        doc.exec_ids = (!execs.is_empty()).then_some(execs);
        doc.log_path = Some(paths.log.display().to_string());
        doc.hostname_path = Some(paths.hostname.display().to_string());
        doc.hosts_path = Some(paths.hosts.display().to_string());
        doc.resolv_conf_path = Some(paths.resolv_conf.display().to_string());
        doc.graph_driver = Some(graph);
        if let Some((rw, root)) = sizes {
            doc.size_rw = Some(rw);
            doc.size_root_fs = Some(root);
        }
        Ok(doc)
    }
}

/// The document from the record alone (no paths, no sizes): pure, for unit tests.
fn document(
    row: &Container,
    default_runtime: &str,
    netns: Option<String>,
) -> ContainerInspectResponse {
    let (mut config, state) = (row.config.clone(), row.state.clone());
    let host = host_defaults(row.host.clone(), default_runtime);
    // dockerd merges the image's labels into a map that always exists.
    config.labels.get_or_insert_with(Default::default);
    let time = |t: i64| {
        if t == 0 {
            ZERO_TIME.into()
        } else {
            rfc3339_nano(t)
        }
    };
    let mut args: Vec<String> = config
        .entrypoint
        .iter()
        .flatten()
        .chain(config.cmd.iter().flatten())
        .cloned()
        .collect();
    let path = if args.is_empty() {
        String::new()
    } else {
        args.remove(0)
    };
    ContainerInspectResponse {
        id: Some(row.id.clone()),
        created: Some(rfc3339_nano(row.created_at)),
        path: Some(path),
        args: Some(args),
        state: Some(ApiState {
            status: Some(api_status(state.status)),
            running: Some(state.is_running()),
            paused: Some(state.status == Status::Paused),
            restarting: Some(state.status == Status::Restarting),
            oom_killed: Some(state.oom_killed),
            dead: Some(state.status == Status::Dead),
            pid: Some(state.pid),
            exit_code: Some(state.exit_code),
            error: Some(state.error.clone()),
            started_at: Some(time(state.started_at)),
            finished_at: Some(time(state.finished_at)),
            // Only a container with a health check that has started has a health record.
            health: None,
        }),
        image: Some(row.image_id.clone()),
        name: Some(row.name.clone()),
        restart_count: Some(state.restart_count),
        driver: Some("overlay2".into()),
        platform: Some("linux".into()),
        mount_label: Some(String::new()),
        process_label: Some(String::new()),
        app_armor_profile: Some(String::new()),
        // Set by the caller (the engine's exec records); dockerd's `null` when none.
        exec_ids: None,
        mounts: Some(mount_points(&host)),
        network_settings: Some(network_settings(&host, netns)),
        host_config: Some(host),
        config: Some(config),
        ..Default::default()
    }
}

/// What dockerd fills in at create for fields the client left out (moby daemon/create.go,
/// adaptContainerSettings, runconfig): records written before these were filled get them here.
fn host_defaults(mut host: HostConfig, default_runtime: &str) -> HostConfig {
    let policy = host
        .restart_policy
        .get_or_insert_with(RestartPolicy::default);
    if matches!(policy.name, None | Some(RestartPolicyNameEnum::EMPTY)) {
        policy.name = Some(RestartPolicyNameEnum::NO);
    }
    policy.maximum_retry_count.get_or_insert(0);
    if host.runtime.as_deref().is_none_or(str::is_empty) {
        host.runtime = Some(default_runtime.to_string());
    }
    if host.network_mode.as_deref().is_none_or(str::is_empty) {
        host.network_mode = Some("default".into());
    }
    host.console_size.get_or_insert_with(|| vec![0, 0]);
    // 0 and -1 both mean "no limit", which dockerd shows as unset.
    if host.pids_limit.is_some_and(|l| l <= 0) {
        host.pids_limit = None;
    }
    host.port_bindings.get_or_insert_with(Default::default);
    host
}

fn network_mode(host: &HostConfig) -> &str {
    host.network_mode.as_deref().unwrap_or("")
}

/// dockerd's view of a container that has no endpoint yet: one entry named after the network
/// mode ("default" is the bridge), with zero values; a container sharing another's namespace
/// has none.
fn network_settings(host: &HostConfig, netns: Option<String>) -> NetworkSettings {
    let mode = network_mode(host);
    let name = match mode {
        "" | "default" => Some("bridge"),
        m if m.starts_with("container:") => None,
        m => Some(m),
    };
    let endpoint = EndpointSettings {
        mac_address: Some(String::new()),
        gw_priority: Some(0),
        network_id: Some(String::new()),
        endpoint_id: Some(String::new()),
        gateway: Some(String::new()),
        ip_address: Some(String::new()),
        ip_prefix_len: Some(0),
        ipv6_gateway: Some(String::new()),
        global_ipv6_address: Some(String::new()),
        global_ipv6_prefix_len: Some(0),
        ..Default::default()
    };
    NetworkSettings {
        sandbox_id: Some(String::new()),
        sandbox_key: Some(netns.unwrap_or_default()),
        ports: Some(Default::default()),
        networks: Some(
            name.map(|n| (n.to_string(), endpoint))
                .into_iter()
                .collect(),
        ),
    }
}

/// `Mounts`, as dockerd lists mount points: binds from `-v` and `--mount`, and `--mount`
/// tmpfs (not `--tmpfs`, which dockerd keeps out of its mount points).
fn mount_points(host: &HostConfig) -> Vec<MountPoint> {
    let mut out = Vec::new();
    for raw in host.binds.iter().flatten() {
        // Create validated these: SRC:DST[:MODE].
        let mut parts = raw.splitn(3, ':');
        let (Some(source), Some(destination)) = (parts.next(), parts.next()) else {
            continue;
        };
        let mode = parts.next().unwrap_or("");
        let options: Vec<&str> = mode.split(',').collect();
        let propagation = options
            .iter()
            .find(|o| o.contains("private") || o.contains("shared") || o.contains("slave"))
            .copied()
            .unwrap_or(DEFAULT_PROPAGATION);
        out.push(MountPoint {
            typ: Some("bind".into()),
            source: Some(source.into()),
            destination: Some(destination.into()),
            mode: Some(mode.into()),
            rw: Some(!options.contains(&"ro")),
            propagation: Some(propagation.into()),
            ..Default::default()
        });
    }
    for m in host.mounts.iter().flatten() {
        let rw = !m.read_only.unwrap_or(false);
        let (source, propagation) = match m.typ {
            Some(MountType::BIND) => (
                m.source.clone().unwrap_or_default(),
                m.bind_options
                    .as_ref()
                    .and_then(|o| o.propagation)
                    .map(|p| p.to_string())
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| DEFAULT_PROPAGATION.into()),
            ),
            Some(MountType::TMPFS) => (String::new(), String::new()),
            _ => continue,
        };
        out.push(MountPoint {
            typ: m.typ.map(|t| t.to_string()),
            source: Some(source),
            destination: m.target.clone(),
            mode: Some(String::new()),
            rw: Some(rw),
            propagation: Some(propagation),
            ..Default::default()
        });
    }
    out
}

/// Bytes in the files under `dir`, each hard-linked file once, as dockerd's directory.Size
/// counts a writable layer (a missing directory is empty; unreadable entries are skipped).
fn dir_size(dir: &Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = HashSet::new();
    let mut total: i64 = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
                continue;
            }
            if meta.nlink() > 1 && !seen.insert((meta.dev(), meta.ino())) {
                continue;
            }
            total = total.saturating_add(i64::try_from(meta.size()).unwrap_or(i64::MAX));
        }
    }
    total
}

fn api_status(s: Status) -> ContainerStateStatusEnum {
    match s {
        Status::Created => ContainerStateStatusEnum::CREATED,
        Status::Running => ContainerStateStatusEnum::RUNNING,
        Status::Paused => ContainerStateStatusEnum::PAUSED,
        Status::Restarting => ContainerStateStatusEnum::RESTARTING,
        Status::Removing => ContainerStateStatusEnum::REMOVING,
        Status::Exited => ContainerStateStatusEnum::EXITED,
        Status::Dead => ContainerStateStatusEnum::DEAD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Mount, MountBindOptions, MountBindOptionsPropagationEnum};

    fn record(host: HostConfig) -> Container {
        Container {
            id: "0123456789abcdef".into(),
            name: "/web".into(),
            image_id: "sha256:i".into(),
            image_ref: "busybox".into(),
            created_at: 1,
            config: Default::default(),
            host,
            state: Default::default(),
            layers: vec![],
        }
    }

    #[test]
    fn host_config_gets_dockerd_defaults() {
        let doc = document(&record(HostConfig::default()), "berth", None);
        let host = doc.host_config.unwrap();
        let policy = host.restart_policy.unwrap();
        assert_eq!(policy.name, Some(RestartPolicyNameEnum::NO));
        assert_eq!(policy.maximum_retry_count, Some(0));
        assert_eq!(host.runtime.as_deref(), Some("berth"));
        assert_eq!(host.network_mode.as_deref(), Some("default"));
        assert_eq!(host.console_size, Some(vec![0, 0]));
        assert_eq!(doc.config.unwrap().labels, Some(HashMap::new()));
        // What the client chose stays.
        let chosen = HostConfig {
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::ON_FAILURE),
                maximum_retry_count: Some(3),
            }),
            runtime: Some("runc".into()),
            network_mode: Some("none".into()),
            pids_limit: Some(0),
            ..Default::default()
        };
        let host = document(&record(chosen), "berth", None)
            .host_config
            .unwrap();
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::ON_FAILURE)
        );
        assert_eq!(host.runtime.as_deref(), Some("runc"));
        assert_eq!(host.pids_limit, None);
    }

    #[test]
    fn networks_are_keyed_by_the_network_mode() {
        let keys = |mode: &str| {
            let host = HostConfig {
                network_mode: Some(mode.into()),
                ..Default::default()
            };
            let mut k: Vec<String> = network_settings(&host, None)
                .networks
                .unwrap()
                .into_keys()
                .collect();
            k.sort();
            k
        };
        assert_eq!(keys("default"), ["bridge"]);
        assert_eq!(keys("bridge"), ["bridge"]);
        assert_eq!(keys("none"), ["none"]);
        assert_eq!(keys("host"), ["host"]);
        assert!(keys("container:abc").is_empty());
        let ns = network_settings(&HostConfig::default(), Some("/run/x".into()));
        assert_eq!(ns.sandbox_key.as_deref(), Some("/run/x"));
        assert_eq!(ns.networks.unwrap()["bridge"].ip_prefix_len, Some(0));
    }

    #[test]
    fn mount_points_from_binds_and_mounts_not_tmpfs() {
        let host = HostConfig {
            binds: Some(vec![
                "/a:/b:ro".into(),
                "/c:/d:rshared".into(),
                "/e:/f".into(),
            ]),
            mounts: Some(vec![
                Mount {
                    typ: Some(MountType::TMPFS),
                    target: Some("/scratch".into()),
                    ..Default::default()
                },
                Mount {
                    typ: Some(MountType::BIND),
                    source: Some("/g".into()),
                    target: Some("/h".into()),
                    read_only: Some(true),
                    bind_options: Some(MountBindOptions {
                        propagation: Some(MountBindOptionsPropagationEnum::SLAVE),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ]),
            tmpfs: Some(HashMap::from([("/run".into(), "size=1m".into())])),
            ..Default::default()
        };
        let m = mount_points(&host);
        let brief: Vec<_> = m
            .iter()
            .map(|p| {
                (
                    p.typ.clone().unwrap(),
                    p.source.clone().unwrap(),
                    p.destination.clone().unwrap(),
                    p.mode.clone().unwrap(),
                    p.rw.unwrap(),
                    p.propagation.clone().unwrap(),
                )
            })
            .collect();
        let s = |v: &str| v.to_string();
        assert_eq!(
            brief,
            [
                (s("bind"), s("/a"), s("/b"), s("ro"), false, s("rprivate")),
                (
                    s("bind"),
                    s("/c"),
                    s("/d"),
                    s("rshared"),
                    true,
                    s("rshared")
                ),
                (s("bind"), s("/e"), s("/f"), s(""), true, s("rprivate")),
                (s("tmpfs"), s(""), s("/scratch"), s(""), true, s("")),
                (s("bind"), s("/g"), s("/h"), s(""), false, s("slave")),
            ]
        );
    }

    #[test]
    fn dir_size_counts_files_and_hard_links_once() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(dir_size(&dir.path().join("missing")), 0);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), b"12345").unwrap();
        std::fs::write(dir.path().join("b"), b"xy").unwrap();
        std::fs::hard_link(dir.path().join("b"), dir.path().join("c")).unwrap();
        assert_eq!(dir_size(dir.path()), 7);
    }
}
