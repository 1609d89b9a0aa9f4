//! Device nodes under the container's /dev: the defaults every container gets (null, zero, full,
//! tty, random, urandom) plus `linux.devices`. mknod first; where that is not allowed (a user
//! namespace) the host's node is bind-mounted onto an empty file instead, as runc does.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

use crate::runtime::rootfs::mount;
use crate::runtime::rootfs::resolve::{self, TargetKind};

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("device {path}: type {kind:?} cannot be created (only c, b, u and p)")]
    BadType { path: PathBuf, kind: String },
    #[error("device path {path} must be under /dev")]
    NotUnderDev { path: PathBuf },
    #[error("cannot create device {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
    #[error(transparent)]
    Mount(#[from] mount::MountError),
}

/// A device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub path: PathBuf,
    pub kind: char,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

fn default_node(path: &str, major: u64, minor: u64) -> Node {
    Node {
        path: PathBuf::from(path),
        kind: 'c',
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    }
}

/// The nodes every container has, whatever the config says.
pub fn default_nodes() -> Vec<Node> {
    vec![
        default_node("/dev/null", 1, 3),
        default_node("/dev/zero", 1, 5),
        default_node("/dev/full", 1, 7),
        default_node("/dev/random", 1, 8),
        default_node("/dev/urandom", 1, 9),
        default_node("/dev/tty", 5, 0),
    ]
}

/// Defaults first, then the config's devices (a config entry for the same path wins).
/// /dev/ptmx is left out: it becomes a link to pts/ptmx.
pub fn plan(devices: &[LinuxDevice]) -> Result<Vec<Node>, DeviceError> {
    let mut out = default_nodes();
    for d in devices {
        let path = d.path().clone();
        if !path.starts_with("/dev") {
            return Err(DeviceError::NotUnderDev { path });
        }
        if path == Path::new("/dev/ptmx") {
            continue;
        }
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => 'c',
            LinuxDeviceType::B => 'b',
            LinuxDeviceType::P => 'p',
            LinuxDeviceType::A => {
                return Err(DeviceError::BadType {
                    path,
                    kind: "a".into(),
                });
            }
        };
        let node = Node {
            path,
            kind,
            major: d.major().max(0) as u64,
            minor: d.minor().max(0) as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        out.retain(|n| n.path != node.path);
        out.push(node);
    }
    Ok(out)
}

fn rule(kind: &str, major: Option<i64>, minor: Option<i64>, access: &str) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(true);
    r.set_typ(Some(match kind {
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => LinuxDeviceType::A,
    }));
    r.set_major(major);
    r.set_minor(minor);
    r.set_access(Some(access.to_string()));
    r
}

/// Device cgroup rules appended after the config's own, so the default nodes (and ptys) work
/// even under a deny-all rule, as with runc: mknod of anything, the default nodes, /dev/pts/*,
/// /dev/ptmx and /dev/net/tun.
pub fn default_allow_rules() -> Vec<LinuxDeviceCgroup> {
    let mut rules = vec![rule("c", None, None, "m"), rule("b", None, None, "m")];
    for n in default_nodes() {
        rules.push(rule("c", Some(n.major as i64), Some(n.minor as i64), "rwm"));
    }
    rules.push(rule("c", Some(136), None, "rwm"));
    rules.push(rule("c", Some(5), Some(2), "rwm"));
    rules.push(rule("c", Some(10), Some(200), "rwm"));
    rules
}

/// Creates every node under `rootfs`. `bind` forces bind mounts (user namespace).
pub fn create_all(rootfs: &Path, nodes: &[Node], bind: bool) -> Result<(), DeviceError> {
    for node in nodes {
        create_one(rootfs, node, bind)?;
    }
    Ok(())
}

fn create_one(rootfs: &Path, node: &Node, bind: bool) -> Result<(), DeviceError> {
    let host = resolve::secure_join_parent(rootfs, &node.path)?;
    if let Some(parent) = host.parent() {
        fs::create_dir_all(parent).map_err(|source| DeviceError::Create {
            path: node.path.clone(),
            source,
        })?;
    }
    if !bind {
        match mknod(&host, node) {
            Ok(()) => return Ok(()),
            // Not allowed here (no CAP_MKNOD, or a user namespace): fall back to a bind mount.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            Err(source) => {
                return Err(DeviceError::Create {
                    path: node.path.clone(),
                    source,
                });
            }
        }
    }
    bind_from_host(rootfs, node)
}

fn mknod(host: &Path, node: &Node) -> io::Result<()> {
    let kind = match node.kind {
        'b' => libc::S_IFBLK,
        'p' => libc::S_IFIFO,
        _ => libc::S_IFCHR,
    };
    // A stale node (from the image, or a previous container on a shared rootfs) is replaced.
    match fs::symlink_metadata(host) {
        Ok(_) => fs::remove_file(host)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let c = std::ffi::CString::new(host.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let dev = libc::makedev(node.major as u32, node.minor as u32);
    // SAFETY: mknod with a valid C string.
    if unsafe { libc::mknod(c.as_ptr(), kind | node.mode, dev) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // The umask may have trimmed the mode; set it exactly.
    fs::set_permissions(host, fs::Permissions::from_mode(node.mode))?;
    std::os::unix::fs::lchown(host, Some(node.uid), Some(node.gid))
}

fn bind_from_host(rootfs: &Path, node: &Node) -> Result<(), DeviceError> {
    let (_, fd) = resolve::create_target(rootfs, &node.path, TargetKind::File)?;
    mount::mount(
        &node.path,
        &resolve::proc_fd_path(&fd),
        "bind",
        libc::MS_BIND,
        "",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(path: &str, t: LinuxDeviceType, major: i64, minor: i64) -> LinuxDevice {
        let mut d = LinuxDevice::default();
        d.set_path(PathBuf::from(path));
        d.set_typ(t);
        d.set_major(major);
        d.set_minor(minor);
        d.set_file_mode(Some(0o620));
        d
    }

    #[test]
    fn defaults_plus_config_devices() {
        let nodes = plan(&[
            dev("/dev/fuse", LinuxDeviceType::C, 10, 229),
            dev("/dev/null", LinuxDeviceType::C, 1, 3),
            dev("/dev/ptmx", LinuxDeviceType::C, 5, 2),
        ])
        .unwrap();
        assert_eq!(nodes.len(), 7);
        let fuse = nodes
            .iter()
            .find(|n| n.path == Path::new("/dev/fuse"))
            .unwrap();
        assert_eq!(
            (fuse.kind, fuse.major, fuse.minor, fuse.mode),
            ('c', 10, 229, 0o620)
        );
        let null = nodes
            .iter()
            .find(|n| n.path == Path::new("/dev/null"))
            .unwrap();
        assert_eq!(null.mode, 0o620);
        assert!(!nodes.iter().any(|n| n.path == Path::new("/dev/ptmx")));
    }

    #[test]
    fn bad_devices_are_refused() {
        assert!(matches!(
            plan(&[dev("/etc/x", LinuxDeviceType::C, 1, 1)]),
            Err(DeviceError::NotUnderDev { .. })
        ));
        assert!(matches!(
            plan(&[dev("/dev/x", LinuxDeviceType::A, 1, 1)]),
            Err(DeviceError::BadType { .. })
        ));
    }

    #[test]
    fn default_rules_allow_the_default_nodes() {
        let rules = default_allow_rules();
        assert!(rules.iter().all(|r| r.allow()));
        assert!(
            rules
                .iter()
                .any(|r| r.major() == Some(1) && r.minor() == Some(3))
        );
        assert!(
            rules
                .iter()
                .any(|r| r.major() == Some(136) && r.minor().is_none())
        );
    }

    #[test]
    fn mknod_creates_real_nodes() {
        let dir = tempfile::tempdir().unwrap();
        create_all(dir.path(), &default_nodes(), false).unwrap();
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let m = fs::metadata(dir.path().join("dev/null")).unwrap();
        assert!(m.file_type().is_char_device());
        assert_eq!(m.rdev(), libc::makedev(1, 3));
        assert_eq!(m.mode() & 0o777, 0o666);
    }
}
