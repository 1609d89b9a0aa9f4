//! `linux.sysctl`: written under /proc/sys after pivot_root, so they land in the container's
//! own namespaces (net.*, kernel.shm*, ...). Keys are checked so a key can never walk out of
//! /proc/sys.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    #[error("invalid sysctl key {0:?}")]
    BadKey(String),
    #[error("write sysctl {key}={value}: {source}")]
    Write {
        key: String,
        value: String,
        source: io::Error,
    },
}

/// `net.ipv4.ip_forward` -> /proc/sys/net/ipv4/ip_forward. Slashes are accepted as separators
/// too (sysctl(8) allows both); empty, `.` and `..` parts are refused.
pub fn key_path(key: &str) -> Result<PathBuf, SysctlError> {
    let bad = || SysctlError::BadKey(key.to_string());
    let sep = if key.contains('/') { '/' } else { '.' };
    let mut p = PathBuf::from("/proc/sys");
    for part in key.split(sep) {
        if part.is_empty() || part == "." || part == ".." || part.contains('\0') {
            return Err(bad());
        }
        p.push(part);
    }
    Ok(p)
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
        for bad in ["", "net..x", "../etc/passwd", "net/../../x", "."] {
            assert!(key_path(bad).is_err(), "{bad}");
        }
    }
}
