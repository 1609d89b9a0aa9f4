//! `docker start`: mount the root filesystem, prepare the network namespace and /etc files,
//! build the OCI spec, have a shim create the task, connect waiting attaches, start it.

use super::live::PendingAttach;
use super::paths::ContainerPaths;
use super::record::Container;
use super::state::Status;
use crate::engine::spec::{self, EtcFiles, NetworkMode, SpecInput};
use crate::engine::system::{HostFacts, daemon_caps, nofile_hard_limit};
use crate::engine::{Engine, Error, ErrorKind, Result};
use crate::models::HostConfig;
use crate::task::{RuntimeCause, TaskConfig, TaskError};

impl Engine {
    pub async fn start_container(&self, input: &str) -> Result<()> {
        let found = self.resolve_container(input).await?;
        let lock = self.live().op_lock(&found.id);
        let _op = lock.lock().await;
        // Re-read under the lock: another request may have started or removed it meanwhile.
        let mut row = self
            .container_by_id(&found.id)
            .await?
            .ok_or_else(|| Error::no_such_container(input))?;
        if self.live().removing(&row.id) {
            return Err(Error::conflict(
                "container is marked for removal and cannot be started",
            ));
        }
        match row.state.status {
            Status::Running | Status::Restarting => {
                return Err(Error::new(
                    ErrorKind::NotModified,
                    "container already started",
                ));
            }
            Status::Paused => {
                return Err(Error::conflict(
                    "cannot start a paused container, try unpause instead",
                ));
            }
            Status::Removing | Status::Dead => {
                return Err(Error::conflict(
                    "container is marked for removal and cannot be started".to_string(),
                ));
            }
            Status::Created | Status::Exited => {}
        }
        match self.start_locked(&mut row).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.record_start_failure(&mut row, &e).await;
                // Attaches waiting for this start end now rather than hang.
                for p in self.live().take_pending(&row.id) {
                    let _ = p.reply.send(Err(Error::new(e.kind, e.message.clone())));
                }
                self.live().set_task(&row.id, None);
                if row.host.auto_remove == Some(true) {
                    // As dockerd: a --rm container that cannot start is removed (its waiters for
                    // "removed" return), after the lock is released.
                    let engine = self.clone();
                    let id = row.id.clone();
                    tokio::spawn(async move {
                        if let Err(err) = engine.remove_container(&id, true).await {
                            tracing::warn!(container = %id, error = %err, "cannot auto-remove");
                        }
                    });
                }
                Err(e)
            }
        }
    }

    async fn start_locked(&self, row: &mut Container) -> Result<()> {
        let t0 = std::time::Instant::now();
        let (config, host) = (row.config.clone(), row.host.clone());
        let paths = self.container_paths(&row.id);
        let layers = row.layers.clone();
        let network_mode = host.network_mode.clone().unwrap_or_default();
        let host_network = network_mode == "host";
        let hostname = match config.hostname.as_deref().filter(|h| !h.is_empty()) {
            Some(h) => h.to_string(),
            None if host_network => HostFacts::get().hostname.clone(),
            None => row.id[..12].to_string(),
        };

        // Filesystem, namespace and files: blocking work, off the async runtime. The network
        // namespace and the root filesystem do not depend on each other: made side by side.
        let images = self.images().clone();
        let (fs_host, ns_host) = (self.host(), self.host());
        let fs_paths = paths.clone();
        let ns_paths = paths.clone();
        let extra_hosts = host.extra_hosts.clone().unwrap_or_default();
        let dns = crate::network::etc::DnsSettings {
            servers: host.dns.clone().unwrap_or_default(),
            search: host.dns_search.clone().unwrap_or_default(),
            options: host.dns_options.clone().unwrap_or_default(),
        };
        let bind_sources = spec::sources_to_create(&host);
        let hn = hostname.clone();
        let workdir = config.working_dir.clone().filter(|w| !w.is_empty());
        let filesystem = tokio::task::spawn_blocking(move || -> Result<()> {
            let p = fs_paths;
            // Debris of an earlier run (a crash between exit and cleanup) goes first.
            let _ = std::fs::remove_file(p.bundle.join("exit.json"));
            fs_host.mount_rootfs(&images, &layers, &p.rw, &p.rootfs)?;
            // dockerd creates a missing working directory, resolved inside the container.
            if let Some(wd) = workdir
                && let Some(dir) = spec::resolve_in_root(&p.rootfs, std::path::Path::new(&wd))
            {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    Error::invalid(format!("cannot create working directory {wd}: {e}"))
                })?;
            }
            create_bind_sources(&bind_sources)?;
            crate::network::etc::write_all(&p.dir, &hn, host_network, &extra_hosts, &dns)
                .map_err(|e| Error::internal(format!("cannot write /etc files: {e}")))
        });
        let namespace = tokio::task::spawn_blocking(move || -> Result<()> {
            if host_network {
                return Ok(());
            }
            ns_host.create_netns(&ns_paths.netns)
        });
        let (filesystem, namespace) = tokio::join!(filesystem, namespace);
        let joined = |r: std::result::Result<Result<()>, tokio::task::JoinError>| {
            r.map_err(|e| Error::internal(e.to_string()))?
        };
        joined(filesystem)?;
        joined(namespace)?;

        tracing::debug!(container = %row.id, elapsed = ?t0.elapsed(), "rootfs, namespace and files ready");
        let network = if host_network {
            NetworkMode::Host
        } else if network_mode == "none" {
            NetworkMode::None_(&paths.netns)
        } else {
            NetworkMode::Sandbox(&paths.netns)
        };
        let caps = daemon_caps();
        let cgroups_path = match host.cgroup_parent.as_deref().filter(|p| !p.is_empty()) {
            Some(parent) => format!("{}/{}", parent.trim_end_matches('/'), row.id),
            None => format!("/berth/{}", row.id),
        };
        let oci = spec::build(&SpecInput {
            id: &row.id,
            config: &config,
            host: &host,
            rootfs: &paths.rootfs,
            hostname: &hostname,
            network,
            etc_files: EtcFiles {
                hostname: Some(&paths.hostname),
                hosts: Some(&paths.hosts),
                resolv_conf: Some(&paths.resolv_conf),
            },
            init_path: None,
            cgroups_path: &cgroups_path,
            daemon_caps: &caps,
            daemon_nofile_hard: nofile_hard_limit(),
            cgroup_version: if HostFacts::get().cgroup_version == "2" {
                2
            } else {
                1
            },
        })?;
        let spec_json =
            serde_json::to_vec_pretty(&oci).map_err(|e| Error::internal(e.to_string()))?;
        crate::util::fsutil::replace_file(&paths.bundle.join("config.json"), &spec_json)
            .map_err(|e| Error::internal(format!("cannot write the OCI bundle: {e}")))?;

        tracing::debug!(container = %row.id, elapsed = ?t0.elapsed(), "bundle written");
        let runtime_name = host
            .runtime
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| self.config().default_runtime.clone());
        let runtime =
            self.config().runtimes.get(&runtime_name).ok_or_else(|| {
                Error::invalid(format!("unknown runtime specified {runtime_name}"))
            })?;
        let (log_max_size, log_max_files) = self.log_rotation(&host)?;
        let task = self
            .tasks()
            .create(&TaskConfig {
                id: row.id.clone(),
                bundle: paths.bundle.clone(),
                state_dir: paths.bundle.clone(),
                runtime: runtime.path.clone(),
                runtime_root: self.config().exec_root.join("runtime").join(&runtime_name),
                runtime_args: runtime.args.clone(),
                tty: config.tty.unwrap_or(false),
                stdin: config.open_stdin.unwrap_or(false),
                log_path: paths.log.clone(),
                log_max_size,
                log_max_files,
            })
            .await
            .map_err(start_error)?;

        tracing::debug!(container = %row.id, elapsed = ?t0.elapsed(), "task created");
        // Known from here on, so a client that closes stdin before the start reaches the shim.
        self.live().set_task(&row.id, Some(task.clone()));
        // Attaches made before the start see the output from its first byte.
        for PendingAttach { opts, reply } in self.live().take_pending(&row.id) {
            let stream = task.attach(opts).await.map_err(start_error);
            let _ = reply.send(stream);
        }
        let pid = match task.start().await {
            Ok(pid) => pid,
            Err(e) => {
                self.live().set_task(&row.id, None);
                let _ = task.delete().await;
                return Err(start_error(e));
            }
        };
        tracing::debug!(container = %row.id, elapsed = ?t0.elapsed(), "task started");
        let start = row.event("start");
        let running = self
            .transition(
                row,
                |s| {
                    // dockerd's SetRunning: the last run's FinishedAt stays.
                    s.status = Status::Running;
                    s.pid = i64::from(pid);
                    s.started_at = crate::util::time::now_nanos();
                    s.exit_code = 0;
                    s.error.clear();
                    s.oom_killed = false;
                },
                Some(start),
            )
            .await;
        if let Err(e) = running {
            // Not recorded as running, so not left running: the record is what the daemon trusts.
            let _ = task.kill(libc::SIGKILL, true).await;
            let _ = task.delete().await;
            self.live().set_task(&row.id, None);
            return Err(e);
        }
        self.spawn_monitor(row.id.clone(), task);
        Ok(())
    }

    /// A failed start leaves the container created, with dockerd's exit code for the cause
    /// (127 command not found, 126 not executable) and the error recorded.
    async fn record_start_failure(&self, row: &mut Container, e: &Error) {
        let paths = self.container_paths(&row.id);
        self.release_resources(&row.id, &paths).await;
        let code = start_failure_code(e);
        let recorded = self
            .transition(
                row,
                |s| {
                    s.exit_code = code;
                    s.error = e.message.clone();
                    s.pid = 0;
                },
                None,
            )
            .await;
        if let Err(err) = recorded {
            tracing::error!(container = %row.id, error = %err, "cannot record a failed start");
        }
    }

    /// Unmounts the root filesystem and removes the network namespace (best effort, logged).
    pub(crate) async fn release_resources(&self, id: &str, paths: &ContainerPaths) {
        let images = self.images().clone();
        let host = self.host();
        let rootfs = paths.rootfs.clone();
        let netns = paths.netns.clone();
        let id = id.to_string();
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(e) = host.unmount_rootfs(&images, &rootfs) {
                tracing::warn!(container = %id, error = %e, "cannot unmount the root filesystem");
            }
            if let Err(e) = host.remove_netns(&netns) {
                tracing::warn!(container = %id, error = %e, "cannot remove the network namespace");
            }
        })
        .await;
    }

    /// json-file rotation: the container's `--log-opt`, else the daemon's `log-opts`.
    pub(super) fn log_rotation(&self, host: &HostConfig) -> Result<(Option<u64>, u32)> {
        let opts = host
            .log_config
            .as_ref()
            .and_then(|l| l.config.clone())
            .filter(|c| !c.is_empty());
        let get = |k: &str| -> Option<String> {
            match &opts {
                Some(o) => o.get(k).cloned(),
                None => self.config().log_opts.get(k).cloned(),
            }
        };
        let size = get("max-size").map(|s| parse_size(&s)).transpose()?;
        let files = match get("max-file") {
            Some(f) => f
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| Error::invalid(format!("invalid value for max-file: {f}")))?,
            None => 1,
        };
        Ok((size, files))
    }
}

/// `-v` sources that do not exist become directories (0755), as in dockerd; one that exists as
/// something else is left for the mount to judge (dockerd ignores ENOTDIR here too).
fn create_bind_sources(sources: &[std::path::PathBuf]) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    for source in sources {
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(source)
            && e.raw_os_error() != Some(libc::ENOTDIR)
            && !source.exists()
        {
            return Err(Error::internal(format!(
                "error while creating mount source path '{}': {e}",
                source.display()
            )));
        }
    }
    Ok(())
}

/// A task error at start, worded as dockerd words runtime failures (the CLI reads the words),
/// with dockerd's kind: a command that is missing or not executable, or a mount of the wrong
/// type, is the container's configuration (400); the rest are the daemon's.
fn start_error(e: TaskError) -> Error {
    let mut msg = format!("failed to create task for container: {e}");
    let kind = match e.runtime_cause() {
        Some(RuntimeCause::CommandNotFound | RuntimeCause::NotExecutable) => {
            ErrorKind::InvalidParameter
        }
        Some(RuntimeCause::NotADirectory) => {
            msg.push_str(": Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type");
            ErrorKind::InvalidParameter
        }
        _ => ErrorKind::Internal,
    };
    Error::caused_by(kind, msg, e)
}

/// dockerd's exit code for a start that failed: 127 for a command that is not there (or a
/// mount of the wrong type), 126 for one that cannot be executed, else 128.
fn start_failure_code(e: &Error) -> i64 {
    let cause = e
        .source
        .as_deref()
        .and_then(|s| s.downcast_ref::<TaskError>())
        .and_then(TaskError::runtime_cause);
    match cause {
        Some(RuntimeCause::CommandNotFound | RuntimeCause::NotADirectory) => 127,
        Some(RuntimeCause::NotExecutable) => 126,
        _ => 128,
    }
}

/// Docker's size units (`units.RAMInBytes`): 10k, 10m, 1g, with binary multiples.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    num.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| *n >= 0.0)
        .map(|n| (n * mult as f64) as u64)
        .ok_or_else(|| Error::invalid(format!("invalid size: '{s}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10m").unwrap(), 10 << 20);
        assert_eq!(parse_size("1k").unwrap(), 1024);
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn failure_codes_and_kinds_follow_docker_run() {
        let failed = |m: &str| start_error(TaskError::runtime(m));
        let missing = failed("exec: \"x\": executable file not found in $PATH");
        assert_eq!(
            (start_failure_code(&missing), missing.kind),
            (127, ErrorKind::InvalidParameter)
        );
        let denied = failed("exec /x: permission denied");
        assert_eq!(
            (start_failure_code(&denied), denied.kind),
            (126, ErrorKind::InvalidParameter)
        );
        let mount = failed("mounting /a on /etc/hosts: not a directory");
        assert_eq!(start_failure_code(&mount), 127);
        assert!(
            mount
                .message
                .ends_with("Check if the specified host path exists and is the expected type")
        );
        let other = failed("cgroup busy");
        assert_eq!(
            (start_failure_code(&other), other.kind),
            (128, ErrorKind::Internal)
        );
        // Not the runtime's words about the command: never 126/127, whatever the text says.
        let timeout = start_error(TaskError::Shim("no such file or directory".into()));
        assert_eq!(
            (start_failure_code(&timeout), timeout.kind),
            (128, ErrorKind::Internal)
        );
        assert_eq!(
            start_failure_code(&Error::invalid("permission denied")),
            128
        );
    }
}
