//! Which sysctls a container may set: /proc/sys is only partly namespaced, so a key is allowed
//! only when the namespace it lives in is the container's own (runc's rule, libcontainer
//! configs/validate `sysctl`, with its messages). Shared by the daemon (refused at create) and
//! the runtime (refused at `create`, before anything is set up). Keys are also checked so that
//! none can walk out of /proc/sys.

/// The namespaces the container has of its own (not the host's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Namespaces {
    pub ipc: bool,
    pub net: bool,
    pub uts: bool,
    pub user: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SysctlError {
    #[error("sysctl {key:?} is not a valid key: {reason}")]
    BadKey { key: String, reason: &'static str },
    #[error("sysctl {0:?} is not allowed in the hosts ipc namespace")]
    HostIpc(String),
    #[error("sysctl {0:?} not allowed in host network namespace")]
    HostNet(String),
    #[error("sysctl {0:?} is not allowed as it conflicts with the OCI \"hostname\" field")]
    Hostname(String),
    #[error("setting ucounts without a user namespace not allowed: {0}")]
    User(String),
    #[error("sysctl {0:?} is not in a separate kernel namespace")]
    NotNamespaced(String),
}

/// The IPC sysctls runc allows with a private IPC namespace (plus `fs.mqueue.*`).
const IPC_KEYS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// sysctl(8)'s two spellings: when the first separator is '/', '.' and '/' swap roles, so
/// "net/ipv4/conf/eth0.1/rp_filter" becomes "net.ipv4.conf.eth0/1.rp_filter" (runc's
/// convertSysctlVariableToDotsSeparator).
pub fn normalize(key: &str) -> String {
    match key.find(['.', '/']) {
        Some(i) if key.as_bytes()[i] == b'/' => key
            .chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                c => c,
            })
            .collect(),
        _ => key.to_string(),
    }
}

/// The path components under /proc/sys. In the dotted form a '/' inside a part stands for a
/// '.' in the file name (an interface such as "eth0.1"); empty, `.` and `..` parts and NUL are
/// refused, so the result never leaves /proc/sys.
pub fn path_parts(key: &str) -> Result<Vec<String>, SysctlError> {
    let bad = |reason| SysctlError::BadKey {
        key: key.to_string(),
        reason,
    };
    if key.is_empty() {
        return Err(bad("it is empty"));
    }
    if key.contains('\0') {
        return Err(bad("it contains a NUL byte"));
    }
    let mut parts = Vec::new();
    for part in normalize(key).split('.') {
        let name = part.replace('/', ".");
        if name.is_empty() {
            return Err(bad("it has an empty component"));
        }
        if name == "." || name == ".." {
            return Err(bad("\".\" and \"..\" components would leave /proc/sys"));
        }
        parts.push(name);
    }
    Ok(parts)
}

/// Whether `key` may be set in a container with the namespaces `ns`: a safe key first, then
/// runc's namespace rule.
pub fn check(key: &str, ns: Namespaces) -> Result<(), SysctlError> {
    path_parts(key)?;
    let s = normalize(key);
    if IPC_KEYS.contains(&s.as_str()) || s.starts_with("fs.mqueue.") {
        return if ns.ipc {
            Ok(())
        } else {
            Err(SysctlError::HostIpc(s))
        };
    }
    if s.starts_with("net.") {
        return if ns.net {
            Ok(())
        } else {
            Err(SysctlError::HostNet(s))
        };
    }
    if ns.uts {
        match s.as_str() {
            "kernel.domainname" => return Ok(()),
            "kernel.hostname" => return Err(SysctlError::Hostname(s)),
            _ => {}
        }
    }
    if s.starts_with("user.") {
        return if ns.user {
            Ok(())
        } else {
            Err(SysctlError::User(s))
        };
    }
    Err(SysctlError::NotNamespaced(s))
}

/// [`check`] for every key, in sorted order so the first refusal reported is stable.
pub fn check_all<'a>(
    keys: impl IntoIterator<Item = &'a String>,
    ns: Namespaces,
) -> Result<(), SysctlError> {
    let mut keys: Vec<&String> = keys.into_iter().collect();
    keys.sort();
    keys.into_iter().try_for_each(|k| check(k, ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Namespaces = Namespaces {
        ipc: true,
        net: true,
        uts: true,
        user: true,
    };
    const NONE: Namespaces = Namespaces {
        ipc: false,
        net: false,
        uts: false,
        user: false,
    };

    #[test]
    fn normalize_swaps_only_when_slash_comes_first() {
        assert_eq!(
            normalize("net/ipv4/conf/eno2.100/rp_filter"),
            "net.ipv4.conf.eno2/100.rp_filter"
        );
        assert_eq!(normalize("net.ipv4.ip_forward"), "net.ipv4.ip_forward");
        assert_eq!(normalize("net.ipv4/x"), "net.ipv4/x");
        assert_eq!(normalize("vm"), "vm");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn path_parts_map_both_spellings() {
        let want = ["net", "ipv4", "conf", "eth0.1", "forwarding"];
        assert_eq!(path_parts("net/ipv4/conf/eth0.1/forwarding").unwrap(), want);
        assert_eq!(path_parts("net.ipv4.conf.eth0/1.forwarding").unwrap(), want);
        assert_eq!(
            path_parts("kernel.shmmax").unwrap(),
            ["kernel", "shmmax"].map(String::from)
        );
    }

    #[test]
    fn path_tricks_are_refused() {
        for bad in [
            "",
            ".",
            "net..x",
            "net.",
            ".net.x",
            "../etc/passwd",
            "net/../../vm/x",
            "net/ipv4/..",
            "net.ipv4.//",
            "net.ipv4./",
            "net/./ipv4",
            "net.ipv4.ip_forward\0",
            "net.\0.x",
        ] {
            let e = check(bad, ALL).unwrap_err();
            assert!(matches!(e, SysctlError::BadKey { .. }), "{bad:?}: {e}");
            assert!(
                e.to_string().contains(&format!("{bad:?}")),
                "{bad:?}: the message names the key: {e}"
            );
        }
    }

    #[test]
    fn ipc_keys_need_a_private_ipc_namespace() {
        let host_ipc = Namespaces { ipc: false, ..ALL };
        for k in [
            "kernel.shmmax",
            "kernel.msgmax",
            "kernel.sem",
            "fs.mqueue.msg_max",
        ] {
            assert_eq!(check(k, ALL), Ok(()), "{k}");
            assert_eq!(
                check(k, host_ipc).unwrap_err().to_string(),
                format!("sysctl {k:?} is not allowed in the hosts ipc namespace")
            );
        }
        // Slash spelling is classified as the dotted one.
        assert!(check("kernel/shmmax", host_ipc).is_err());
        assert_eq!(check("kernel/shmmax", ALL), Ok(()));
    }

    #[test]
    fn net_keys_need_a_private_network_namespace() {
        let host_net = Namespaces { net: false, ..ALL };
        assert_eq!(check("net.ipv4.ip_forward", ALL), Ok(()));
        assert_eq!(check("net/ipv4/conf/eth0.1/forwarding", ALL), Ok(()));
        assert_eq!(
            check("net/ipv4/ip_forward", host_net)
                .unwrap_err()
                .to_string(),
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"
        );
    }

    #[test]
    fn uts_keys() {
        assert_eq!(check("kernel.domainname", ALL), Ok(()));
        assert_eq!(
            check("kernel.hostname", ALL).unwrap_err().to_string(),
            "sysctl \"kernel.hostname\" is not allowed as it conflicts with the OCI \"hostname\" field"
        );
        let host_uts = Namespaces { uts: false, ..ALL };
        for k in ["kernel.domainname", "kernel.hostname"] {
            assert_eq!(
                check(k, host_uts),
                Err(SysctlError::NotNamespaced(k.into()))
            );
        }
    }

    #[test]
    fn user_keys_need_a_user_namespace() {
        assert_eq!(check("user.max_user_namespaces", ALL), Ok(()));
        assert_eq!(
            check("user.max_user_namespaces", NONE)
                .unwrap_err()
                .to_string(),
            "setting ucounts without a user namespace not allowed: user.max_user_namespaces"
        );
    }

    #[test]
    fn the_rest_is_never_namespaced() {
        for k in [
            "vm.overcommit_ratio",
            "kernel.msgmax_extra",
            "kernel.pid_max",
            "fs.file-max",
            "kernel",
            "net",
            "fs.mqueue",
        ] {
            assert_eq!(
                check(k, ALL).unwrap_err().to_string(),
                format!("sysctl {k:?} is not in a separate kernel namespace")
            );
        }
    }

    #[test]
    fn check_all_reports_the_first_key_in_order() {
        let keys = ["vm.b".to_string(), "net.a".into(), "kernel.z".into()];
        assert_eq!(
            check_all(&keys, NONE),
            Err(SysctlError::NotNamespaced("kernel.z".into()))
        );
        assert_eq!(check_all(&keys[1..2], ALL), Ok(()));
    }
}
