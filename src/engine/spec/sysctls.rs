//! `HostConfig.Sysctls` at create: only sysctls of a namespace the container has of its own
//! (runc's rule, `util::sysctl`). dockerd passes them to runc, which refuses at start with a
//! 500; refusing here, with a 400 naming the key and runc's reason, changes nothing.

use super::error::SpecError;
use crate::models::HostConfig;
use crate::util::sysctl::{self, Namespaces};

/// The namespaces the container will have of its own, from its modes. A `container:` mode
/// shares another container's namespace, not the host's (runc allows it; the runtime checks
/// again that the joined netns is not its own). There are no user namespaces.
fn namespaces(host: &HostConfig) -> Namespaces {
    let mode = |m: &Option<String>| m.as_deref().unwrap_or("").to_string();
    Namespaces {
        ipc: mode(&host.ipc_mode) != "host",
        net: mode(&host.network_mode) != "host",
        uts: mode(&host.uts_mode) != "host",
        user: false,
    }
}

pub(crate) fn validate(host: &HostConfig) -> Result<(), SpecError> {
    let Some(sysctls) = host.sysctls.as_ref() else {
        return Ok(());
    };
    sysctl::check_all(sysctls.keys(), namespaces(host))
        .map_err(|e| SpecError::invalid(format!("invalid sysctl: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn err(key: &str, f: impl FnOnce(&mut HostConfig)) -> Option<String> {
        let mut host = HostConfig {
            sysctls: Some(HashMap::from([(key.to_string(), "1".to_string())])),
            ..Default::default()
        };
        f(&mut host);
        validate(&host).err().map(|e| e.to_string())
    }

    #[test]
    fn namespaced_sysctls_pass_by_default() {
        for k in [
            "net.ipv4.ip_forward",
            "net/ipv4/ip_forward",
            "kernel.shmmax",
            "fs.mqueue.msg_max",
            "kernel.domainname",
        ] {
            assert_eq!(err(k, |_| {}), None, "{k}");
        }
        assert_eq!(
            err("net.ipv4.ip_forward", |h| h.network_mode =
                Some("none".into())),
            None
        );
        assert!(validate(&HostConfig::default()).is_ok());
    }

    #[test]
    fn host_namespaces_refuse_their_sysctls() {
        assert_eq!(
            err("net.ipv4.ip_forward", |h| h.network_mode =
                Some("host".into()))
            .as_deref(),
            Some(
                "invalid sysctl: sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"
            )
        );
        assert_eq!(
            err("kernel.shmmax", |h| h.ipc_mode = Some("host".into())).as_deref(),
            Some(
                "invalid sysctl: sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace"
            )
        );
        assert_eq!(
            err("kernel.domainname", |h| h.uts_mode = Some("host".into())).as_deref(),
            Some(
                "invalid sysctl: sysctl \"kernel.domainname\" is not in a separate kernel namespace"
            )
        );
    }

    #[test]
    fn host_wide_and_bad_keys_are_refused() {
        for k in [
            "vm.overcommit_ratio",
            "kernel.pid_max",
            "kernel.hostname",
            "user.max_user_namespaces",
        ] {
            let e = err(k, |_| {}).unwrap_or_default();
            assert!(
                e.starts_with("invalid sysctl: ") && e.contains(k),
                "{k}: {e}"
            );
        }
        for k in ["net/../../vm/x", "net.\0.x", "net..x"] {
            let e = err(k, |_| {}).unwrap_or_default();
            assert!(e.contains(&format!("{k:?}")), "{k:?}: {e}");
        }
    }
}
