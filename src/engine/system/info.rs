//! `GET /info`: real counts and host facts.

use std::collections::HashMap;

use super::host::HostFacts;
use super::version::ENGINE_VERSION;
use crate::engine::{Engine, Result};
use crate::models::{
    Commit, IndexInfo, LocalNodeState, PluginsInfo, RegistryServiceConfig, Runtime, SwarmInfo,
    SystemInfo, SystemInfoCgroupDriverEnum, SystemInfoCgroupVersionEnum,
};

impl Engine {
    pub async fn info(&self) -> Result<SystemInfo> {
        let host = HostFacts::get();
        let containers = self.container_counts().await?;
        let images = self.store().images().await?.len() as i64;
        let cgroup_version = match host.cgroup_version {
            "2" => SystemInfoCgroupVersionEnum::_2,
            _ => SystemInfoCgroupVersionEnum::_1,
        };
        Ok(SystemInfo {
            id: Some(self.daemon_id()),
            containers: Some(containers.total),
            containers_running: Some(containers.running),
            containers_paused: Some(containers.paused),
            containers_stopped: Some(containers.stopped),
            images: Some(images),
            driver: Some("overlay2".into()),
            driver_status: Some(vec![
                vec!["Backing Filesystem".into(), backing_fs(&self.data_root())],
                vec!["Supports d_type".into(), "true".into()],
                vec!["Using metacopy".into(), "false".into()],
                vec!["Native Overlay Diff".into(), "true".into()],
                vec!["userxattr".into(), "false".into()],
            ]),
            docker_root_dir: Some(self.data_root().display().to_string()),
            plugins: Some(PluginsInfo {
                volume: Some(vec!["local".into()]),
                network: Some(vec!["bridge".into(), "host".into(), "null".into()]),
                authorization: Some(vec![]),
                log: Some(vec!["json-file".into()]),
            }),
            memory_limit: Some(true),
            swap_limit: Some(true),
            cpu_cfs_period: Some(true),
            cpu_cfs_quota: Some(true),
            cpu_shares: Some(true),
            cpu_set: Some(true),
            pids_limit: Some(true),
            oom_kill_disable: Some(host.cgroup_version == "1"),
            ipv4_forwarding: Some(
                std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                    .is_ok_and(|s| s.trim() == "1"),
            ),
            debug: Some(self.config().debug),
            nfd: Some(count_dir("/proc/self/fd")),
            n_goroutines: Some(count_dir("/proc/self/task")),
            system_time: Some(crate::util::time::rfc3339_nano(
                crate::util::time::now_nanos(),
            )),
            logging_driver: Some("json-file".into()),
            cgroup_driver: Some(SystemInfoCgroupDriverEnum::CGROUPFS),
            cgroup_version: Some(cgroup_version),
            n_events_listener: Some(0),
            kernel_version: Some(host.kernel_version.clone()),
            operating_system: Some(host.operating_system.clone()),
            os_version: Some(host.os_version.clone()),
            os_type: Some("linux".into()),
            architecture: Some(std::env::consts::ARCH.into()),
            ncpu: Some(host.ncpu),
            mem_total: Some(host.mem_total),
            index_server_address: Some("https://index.docker.io/v1/".into()),
            registry_config: Some(RegistryServiceConfig {
                insecure_registry_cidrs: Some(vec!["::1/128".into(), "127.0.0.0/8".into()]),
                index_configs: Some(HashMap::from([(
                    "docker.io".to_string(),
                    IndexInfo {
                        name: Some("docker.io".into()),
                        mirrors: Some(vec![]),
                        secure: Some(true),
                        official: Some(true),
                    },
                )])),
                mirrors: Some(vec![]),
            }),
            generic_resources: None,
            http_proxy: Some(env_proxy("HTTP_PROXY")),
            https_proxy: Some(env_proxy("HTTPS_PROXY")),
            no_proxy: Some(env_proxy("NO_PROXY")),
            name: Some(host.hostname.clone()),
            labels: Some(vec![]),
            experimental_build: Some(false),
            server_version: Some(ENGINE_VERSION.into()),
            runtimes: Some(
                self.config()
                    .runtimes
                    .iter()
                    .map(|(name, rt)| {
                        (
                            name.clone(),
                            Runtime {
                                path: Some(rt.path.display().to_string()),
                                runtime_args: (!rt.args.is_empty()).then(|| rt.args.clone()),
                                ..Default::default()
                            },
                        )
                    })
                    .collect(),
            ),
            default_runtime: Some(self.config().default_runtime.clone()),
            swarm: Some(SwarmInfo {
                node_id: Some(String::new()),
                node_addr: Some(String::new()),
                local_node_state: Some(LocalNodeState::INACTIVE),
                control_available: Some(false),
                error: Some(String::new()),
                remote_managers: None,
                ..Default::default()
            }),
            // Containers outlive the daemon by design, which is what dockerd calls live restore.
            live_restore_enabled: Some(true),
            isolation: None,
            init_binary: Some(String::new()),
            containerd_commit: Some(Commit {
                id: Some(String::new()),
            }),
            runc_commit: Some(Commit {
                id: Some(String::new()),
            }),
            init_commit: Some(Commit {
                id: Some(String::new()),
            }),
            // Containers get Docker's default seccomp profile (our own BPF compiler) and, on
            // cgroup v2, a private cgroup namespace.
            security_options: Some(if host.cgroup_version == "2" {
                vec![
                    "name=seccomp,profile=builtin".into(),
                    "name=cgroupns".into(),
                ]
            } else {
                vec!["name=seccomp,profile=builtin".into()]
            }),
            warnings: Some(vec![]),
            ..Default::default()
        })
    }

    /// A stable daemon ID, kept in the data root.
    fn daemon_id(&self) -> String {
        let path = self.data_root().join("engine-id");
        if let Ok(id) = std::fs::read_to_string(&path) {
            let id = id.trim();
            if !id.is_empty() {
                return id.to_string();
            }
        }
        let id = uuid_like();
        if let Err(e) = crate::util::fsutil::atomic_write(&path, id.as_bytes()) {
            tracing::warn!(error = %e, "cannot persist the engine ID");
        }
        id
    }
}

fn uuid_like() -> String {
    let hex = crate::util::ids::random_id();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn env_proxy(key: &str) -> String {
    std::env::var(key)
        .or_else(|_| std::env::var(key.to_ascii_lowercase()))
        .unwrap_or_default()
}

fn count_dir(path: &str) -> i64 {
    std::fs::read_dir(path)
        .map(|d| d.count() as i64)
        .unwrap_or(0)
}

/// The filesystem name dockerd prints as "Backing Filesystem".
fn backing_fs(path: &std::path::Path) -> String {
    use nix::sys::statfs::{
        BTRFS_SUPER_MAGIC, EXT4_SUPER_MAGIC, TMPFS_MAGIC, XFS_SUPER_MAGIC, statfs,
    };
    match statfs(path) {
        Ok(s) => match s.filesystem_type() {
            t if t == EXT4_SUPER_MAGIC => "extfs",
            t if t == XFS_SUPER_MAGIC => "xfs",
            t if t == BTRFS_SUPER_MAGIC => "btrfs",
            t if t == TMPFS_MAGIC => "tmpfs",
            _ => "unknown",
        }
        .into(),
        Err(_) => "unknown".into(),
    }
}
