//! The defaults dockerd writes into a new container's HostConfig (moby adaptContainerSettings and
//! createContainerOSSpecificSettings), so that inspect shows them and the spec follows them.

use super::defaults::{DEFAULT_SHM_SIZE, MASKED_PATHS, READONLY_PATHS};
use crate::models::{HostConfig, HostConfigCgroupnsModeEnum};

/// Fills what the client left out. Idempotent; `build` applies it too.
pub fn adapt_host_config(host: &mut HostConfig, cgroup_version: u8) {
    let memory = host.memory.unwrap_or(0);
    if memory > 0 && host.memory_swap.unwrap_or(0) == 0 {
        // Swap defaults to as much as the memory limit again.
        host.memory_swap = Some(memory * 2);
    }
    if host.memory_swappiness == Some(-1) {
        host.memory_swappiness = None;
    }
    if host.shm_size.unwrap_or(0) == 0 {
        host.shm_size = Some(DEFAULT_SHM_SIZE);
    }
    if host.ipc_mode.as_deref().unwrap_or("").is_empty() {
        host.ipc_mode = Some("private".into());
    }
    if matches!(
        host.cgroupns_mode,
        None | Some(HostConfigCgroupnsModeEnum::EMPTY)
    ) {
        // Private on cgroup v2 (even for privileged containers), the host's on v1.
        host.cgroupns_mode = Some(if cgroup_version == 2 {
            HostConfigCgroupnsModeEnum::PRIVATE
        } else {
            HostConfigCgroupnsModeEnum::HOST
        });
    }
    if host.oom_kill_disable.is_none() {
        host.oom_kill_disable = Some(false);
    }
    if !host.privileged.unwrap_or(false) {
        if host.masked_paths.is_none() {
            host.masked_paths = Some(MASKED_PATHS.iter().map(|p| p.to_string()).collect());
        }
        if host.readonly_paths.is_none() {
            host.readonly_paths = Some(READONLY_PATHS.iter().map(|p| p.to_string()).collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapted(mut h: HostConfig, v: u8) -> HostConfig {
        adapt_host_config(&mut h, v);
        h
    }

    #[test]
    fn empty_host_config() {
        let h = adapted(HostConfig::default(), 1);
        assert_eq!(h.shm_size, Some(67108864));
        assert_eq!(h.ipc_mode.as_deref(), Some("private"));
        assert_eq!(h.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::HOST));
        assert_eq!(h.oom_kill_disable, Some(false));
        assert_eq!(h.masked_paths.map(|p| p.len()), Some(MASKED_PATHS.len()));
        assert_eq!(h.readonly_paths.map(|p| p.len()), Some(5));
        assert_eq!(h.memory_swap, None);
    }

    #[test]
    fn cgroup_v2_is_private_even_for_privileged() {
        let h = adapted(HostConfig::default(), 2);
        assert_eq!(h.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::PRIVATE));
        let h = adapted(
            HostConfig {
                privileged: Some(true),
                ..Default::default()
            },
            2,
        );
        assert_eq!(h.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::PRIVATE));
        let h = adapted(
            HostConfig {
                privileged: Some(true),
                ..Default::default()
            },
            1,
        );
        assert_eq!(h.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::HOST));
    }

    #[test]
    fn swap_defaults_to_twice_memory() {
        let h = adapted(
            HostConfig {
                memory: Some(64 << 20),
                ..Default::default()
            },
            1,
        );
        assert_eq!(h.memory_swap, Some(128 << 20));
        let h = adapted(
            HostConfig {
                memory: Some(64 << 20),
                memory_swap: Some(-1),
                ..Default::default()
            },
            1,
        );
        assert_eq!(h.memory_swap, Some(-1));
    }

    #[test]
    fn privileged_gets_no_masked_paths_and_given_values_stay() {
        let h = adapted(
            HostConfig {
                privileged: Some(true),
                ..Default::default()
            },
            1,
        );
        assert_eq!((h.masked_paths, h.readonly_paths), (None, None));
        let h = adapted(
            HostConfig {
                masked_paths: Some(vec![]),
                shm_size: Some(1 << 20),
                ipc_mode: Some("host".into()),
                memory_swappiness: Some(-1),
                ..Default::default()
            },
            1,
        );
        assert_eq!(h.masked_paths, Some(vec![]));
        assert_eq!(h.shm_size, Some(1 << 20));
        assert_eq!(h.ipc_mode.as_deref(), Some("host"));
        assert_eq!(h.memory_swappiness, None);
    }

    #[test]
    fn idempotent() {
        let once = adapted(
            HostConfig {
                memory: Some(64 << 20),
                ..Default::default()
            },
            2,
        );
        assert_eq!(adapted(once.clone(), 2), once);
    }
}
