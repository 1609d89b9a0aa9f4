//! Which namespaces the container gets (moby oci_linux.go WithNamespaces): Docker's default set,
//! minus the ones shared with the host, with the network namespace the daemon prepared.

use std::path::Path;

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use super::NetworkMode;
use super::error::SpecError;
use crate::models::{HostConfig, HostConfigCgroupnsModeEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpcMode {
    Private,
    /// Dockerd shares a host-side /dev/shm so that others can join; here it is a private one.
    Shareable,
    None,
    Host,
}

pub(crate) fn ipc_mode(host: &HostConfig) -> Result<IpcMode, SpecError> {
    let mode = host.ipc_mode.as_deref().unwrap_or("");
    Ok(match mode {
        // Empty means a container from before IPC modes existed: shareable then.
        "" | "shareable" => IpcMode::Shareable,
        "private" => IpcMode::Private,
        "none" => IpcMode::None,
        "host" => IpcMode::Host,
        m if container_ref(m).is_some() => {
            return Err(SpecError::Unsupported(
                "joining another container's IPC namespace".into(),
            ));
        }
        m => return Err(SpecError::IpcMode(m.to_string())),
    })
}

/// `container:<name>` with a non-empty name.
fn container_ref(mode: &str) -> Option<&str> {
    mode.strip_prefix("container:").filter(|c| !c.is_empty())
}

/// True when the container gets its own PID namespace (only then does `--init` apply).
pub(crate) fn pid_is_private(host: &HostConfig) -> Result<bool, SpecError> {
    match host.pid_mode.as_deref().unwrap_or("") {
        "" => Ok(true),
        "host" => Ok(false),
        m if container_ref(m).is_some() => Err(SpecError::Unsupported(
            "joining another container's PID namespace".into(),
        )),
        m => Err(SpecError::PidMode(m.to_string())),
    }
}

pub(crate) fn uts_is_host(host: &HostConfig) -> Result<bool, SpecError> {
    match host.uts_mode.as_deref().unwrap_or("") {
        "" => Ok(false),
        "host" => Ok(true),
        m => Err(SpecError::UtsMode(m.to_string())),
    }
}

/// A private cgroup namespace: as asked, else the default of the cgroup version (private on v2,
/// the host's on v1 and for privileged containers on v1).
pub(crate) fn cgroupns_is_private(host: &HostConfig, cgroup_version: u8) -> bool {
    match host.cgroupns_mode {
        Some(HostConfigCgroupnsModeEnum::PRIVATE) => true,
        Some(HostConfigCgroupnsModeEnum::HOST) => false,
        Some(HostConfigCgroupnsModeEnum::EMPTY) | None => cgroup_version == 2,
    }
}

fn ns(typ: LinuxNamespaceType, path: Option<&Path>) -> LinuxNamespace {
    let mut n = LinuxNamespace::default();
    n.set_typ(typ);
    n.set_path(path.map(Path::to_path_buf));
    n
}

/// In Docker's order: mount, network, uts, pid, ipc, then cgroup when private.
pub(crate) fn namespaces(
    host: &HostConfig,
    network: &NetworkMode,
    cgroup_version: u8,
) -> Result<Vec<LinuxNamespace>, SpecError> {
    let mut out = vec![ns(LinuxNamespaceType::Mount, None)];
    match network {
        NetworkMode::Host => {}
        NetworkMode::None_(path) | NetworkMode::Sandbox(path) => {
            out.push(ns(LinuxNamespaceType::Network, Some(path)))
        }
    }
    if !uts_is_host(host)? {
        out.push(ns(LinuxNamespaceType::Uts, None));
    }
    if pid_is_private(host)? {
        out.push(ns(LinuxNamespaceType::Pid, None));
    }
    if ipc_mode(host)? != IpcMode::Host {
        out.push(ns(LinuxNamespaceType::Ipc, None));
    }
    if cgroupns_is_private(host, cgroup_version) {
        out.push(ns(LinuxNamespaceType::Cgroup, None));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(host: &HostConfig, net: &NetworkMode, v: u8) -> Vec<LinuxNamespaceType> {
        namespaces(host, net, v)
            .unwrap_or_default()
            .iter()
            .map(|n| n.typ())
            .collect()
    }

    #[test]
    fn default_set_in_dockers_order() {
        use LinuxNamespaceType::*;
        let net = NetworkMode::Sandbox(Path::new("/run/netns/x"));
        assert_eq!(
            types(&HostConfig::default(), &net, 1),
            vec![Mount, Network, Uts, Pid, Ipc]
        );
        assert_eq!(
            types(&HostConfig::default(), &net, 2),
            vec![Mount, Network, Uts, Pid, Ipc, Cgroup]
        );
    }

    #[test]
    fn network_paths() {
        let host = HostConfig::default();
        let all = namespaces(&host, &NetworkMode::None_(Path::new("/n")), 1).unwrap_or_default();
        let net = all.iter().find(|n| n.typ() == LinuxNamespaceType::Network);
        assert_eq!(net.and_then(|n| n.path().clone()), Some("/n".into()));
        let all = namespaces(&host, &NetworkMode::Host, 1).unwrap_or_default();
        assert!(all.iter().all(|n| n.typ() != LinuxNamespaceType::Network));
    }

    #[test]
    fn host_modes_drop_namespaces() {
        use LinuxNamespaceType::*;
        let host = HostConfig {
            ipc_mode: Some("host".into()),
            pid_mode: Some("host".into()),
            uts_mode: Some("host".into()),
            cgroupns_mode: Some(HostConfigCgroupnsModeEnum::HOST),
            ..Default::default()
        };
        assert_eq!(types(&host, &NetworkMode::Host, 2), vec![Mount]);
    }

    #[test]
    fn cgroupns_private_on_v1_when_asked() {
        let host = HostConfig {
            cgroupns_mode: Some(HostConfigCgroupnsModeEnum::PRIVATE),
            ..Default::default()
        };
        assert!(types(&host, &NetworkMode::Host, 1).contains(&LinuxNamespaceType::Cgroup));
    }

    #[test]
    fn invalid_modes_have_dockers_messages() {
        let e = |h: HostConfig| {
            namespaces(&h, &NetworkMode::Host, 1)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            e(HostConfig {
                ipc_mode: Some("weird".into()),
                ..Default::default()
            }),
            "invalid IPC mode: weird"
        );
        assert_eq!(
            e(HostConfig {
                pid_mode: Some("container:".into()),
                ..Default::default()
            }),
            "invalid PID mode: container:"
        );
        assert_eq!(
            e(HostConfig {
                uts_mode: Some("private".into()),
                ..Default::default()
            }),
            "invalid UTS mode: private"
        );
    }

    #[test]
    fn joining_other_containers_is_not_supported_yet() {
        let host = HostConfig {
            ipc_mode: Some("container:abc".into()),
            ..Default::default()
        };
        assert!(matches!(ipc_mode(&host), Err(SpecError::Unsupported(_))));
        let host = HostConfig {
            pid_mode: Some("container:abc".into()),
            ..Default::default()
        };
        assert!(matches!(
            pid_is_private(&host),
            Err(SpecError::Unsupported(_))
        ));
    }

    #[test]
    fn ipc_modes() {
        for (m, want) in [
            ("", IpcMode::Shareable),
            ("shareable", IpcMode::Shareable),
            ("private", IpcMode::Private),
            ("none", IpcMode::None),
            ("host", IpcMode::Host),
        ] {
            let host = HostConfig {
                ipc_mode: Some(m.into()),
                ..Default::default()
            };
            assert_eq!(ipc_mode(&host).ok(), Some(want), "{m}");
        }
    }
}
