//! `linux.sysctl`: checked at `create` against the container's namespaces (runc's rule, in
//! `util::sysctl`), then written under /proc/sys after pivot_root, so they land in the
//! container's own namespaces (net.*, kernel.shm*, ...). Keys are checked so a key can never
//! walk out of /proc/sys.

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::runtime::namespaces::{Kind, NamespacePlan};
use crate::util::sysctl::{self as rule, Namespaces};

#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    #[error(transparent)]
    Refused(#[from] rule::SysctlError),
    #[error("invalid netns path: stat {path}: {source}")]
    NetnsPath { path: PathBuf, source: io::Error },
    #[error("write sysctl {key}={value}: {source}")]
    Write {
        key: String,
        value: String,
        source: io::Error,
    },
}

/// `net.ipv4.ip_forward` -> /proc/sys/net/ipv4/ip_forward. Slashes are accepted as separators
/// too (sysctl(8) allows both); empty, `.` and `..` parts and NUL are refused.
pub fn key_path(key: &str) -> Result<PathBuf, SysctlError> {
    let mut p = PathBuf::from("/proc/sys");
    p.extend(rule::path_parts(key)?);
    Ok(p)
}

/// True when `path` is the network namespace this process is in: joining it is joining the
/// host's, as far as sysctls go (runc's isHostNetNS: "host" means "current").
fn is_own_netns(path: &Path) -> Result<bool, SysctlError> {
    let stat = |p: &Path| {
        std::fs::metadata(p).map_err(|source| SysctlError::NetnsPath {
            path: p.to_path_buf(),
            source,
        })
    };
    let own = stat(Path::new("/proc/self/ns/net"))?;
    let other = stat(path)?;
    Ok(own.dev() == other.dev() && own.ino() == other.ino())
}

/// Which namespaces of the plan are the container's own, for the sysctl rule.
fn namespaces(plan: &NamespacePlan) -> Result<Namespaces, SysctlError> {
    let net = match plan.join.iter().find(|(k, _)| *k == Kind::Network) {
        Some((_, path)) => !is_own_netns(path)?,
        None => plan.is_new(Kind::Network),
    };
    Ok(Namespaces {
        ipc: plan.has(Kind::Ipc),
        net,
        uts: plan.has(Kind::Uts),
        user: plan.has(Kind::User),
    })
}

/// Refuses, before anything is set up, a sysctl that would not land in a namespace of the
/// container's own (so would change the host), or whose key is not a plain /proc/sys path.
pub fn validate(
    sysctls: Option<&HashMap<String, String>>,
    plan: &NamespacePlan,
) -> Result<(), SysctlError> {
    let Some(sysctls) = sysctls.filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    // Key safety first, so a bad key is named even when the netns path cannot be read.
    let mut keys: Vec<&String> = sysctls.keys().collect();
    keys.sort();
    for key in &keys {
        rule::path_parts(key)?;
    }
    let ns = namespaces(plan)?;
    rule::check_all(keys, ns)?;
    Ok(())
}

pub fn write_all(sysctls: &HashMap<String, String>) -> Result<(), SysctlError> {
    let mut keys: Vec<&String> = sysctls.keys().collect();
    keys.sort();
    for key in keys {
        let value = &sysctls[key];
        let path = key_path(key)?;
        std::fs::write(&path, value.as_bytes()).map_err(|source| SysctlError::Write {
            key: key.clone(),
            value: value.clone(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_under_proc_sys() {
        assert_eq!(
            key_path("net.ipv4.ip_forward").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            key_path("net/ipv4/conf/eth0.1/forwarding").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.1/forwarding")
        );
        assert_eq!(
            key_path("net.ipv4.conf.eth0/1.forwarding").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.1/forwarding")
        );
        for bad in ["", "net..x", "../etc/passwd", "net/../../x", ".", "a\0b"] {
            assert!(key_path(bad).is_err(), "{bad:?}");
        }
    }

    fn plan(new: &[Kind], join: &[(Kind, &str)]) -> NamespacePlan {
        NamespacePlan {
            new: new.to_vec(),
            join: join.iter().map(|(k, p)| (*k, PathBuf::from(p))).collect(),
        }
    }

    fn one(key: &str) -> HashMap<String, String> {
        HashMap::from([(key.to_string(), "1".to_string())])
    }

    #[test]
    fn namespaces_come_from_the_plan() {
        let private = plan(&[Kind::Network, Kind::Ipc, Kind::Uts], &[]);
        for k in ["net.ipv4.ip_forward", "kernel.shmmax", "kernel.domainname"] {
            assert!(validate(Some(&one(k)), &private).is_ok(), "{k}");
        }
        let host = plan(&[Kind::Mount], &[]);
        for k in ["net.ipv4.ip_forward", "kernel.shmmax", "kernel.domainname"] {
            assert!(validate(Some(&one(k)), &host).is_err(), "{k}");
        }
        assert!(validate(None, &host).is_ok());
        assert!(validate(Some(&HashMap::new()), &host).is_ok());
    }

    #[test]
    fn joining_our_own_netns_is_the_host_one() {
        let own = plan(&[], &[(Kind::Network, "/proc/self/ns/net")]);
        let e = validate(Some(&one("net.ipv4.ip_forward")), &own).unwrap_err();
        assert_eq!(
            e.to_string(),
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"
        );
        let missing = plan(&[], &[(Kind::Network, "/nonexistent/netns")]);
        let e = validate(Some(&one("net.ipv4.ip_forward")), &missing).unwrap_err();
        assert!(e.to_string().starts_with("invalid netns path"), "{e}");
        // A bad key is named before the netns is looked at.
        let e = validate(Some(&one("net/../../vm/x")), &missing).unwrap_err();
        assert!(e.to_string().contains("net/../../vm/x"), "{e}");
    }
}
