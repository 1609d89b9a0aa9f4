//! Devices: `--device` mappings, `--device-cgroup-rule`, and all of the host's /dev for
//! `--privileged` (moby daemon/pkg/oci devices, containerd's HostDevices). Looking at host device
//! nodes is this file's business alone.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

use super::defaults::device_rule;
use super::error::SpecError;
use crate::models::DeviceMapping;

fn major(rdev: u64) -> i64 {
    nix::sys::stat::major(rdev) as i64
}

fn minor(rdev: u64) -> i64 {
    nix::sys::stat::minor(rdev) as i64
}

/// Major and minor numbers of the device at `path` (symlinks followed), for blkio limits.
pub(crate) fn numbers(path: &str) -> Result<(i64, i64), SpecError> {
    let meta = std::fs::metadata(path).map_err(|source| SpecError::Io {
        path: PathBuf::from(path),
        source,
    })?;
    Ok((major(meta.rdev()), minor(meta.rdev())))
}

/// The device node at `path` (not followed if a symlink), or `None` if it is not one.
fn device_at(path: &Path) -> std::io::Result<Option<LinuxDevice>> {
    let meta = std::fs::symlink_metadata(path)?;
    let ft = meta.file_type();
    let typ = if ft.is_block_device() {
        LinuxDeviceType::B
    } else if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_fifo() {
        LinuxDeviceType::P
    } else {
        return Ok(None);
    };
    let mut d = LinuxDevice::default();
    d.set_path(path.to_path_buf());
    d.set_typ(typ);
    d.set_major(major(meta.rdev()));
    d.set_minor(minor(meta.rdev()));
    d.set_file_mode(Some(meta.mode() & 0o7777));
    d.set_uid(Some(meta.uid()));
    d.set_gid(Some(meta.gid()));
    Ok(Some(d))
}

/// Every device under the host's /dev, skipping what the container gets its own of (pts, shm,
/// mqueue, console) and fifos.
pub(crate) fn host_devices() -> Result<Vec<LinuxDevice>, SpecError> {
    let mut out = Vec::new();
    walk_host_dir(Path::new("/dev"), &mut out)?;
    Ok(out)
}

fn walk_host_dir(dir: &Path, out: &mut Vec<LinuxDevice>) -> Result<(), SpecError> {
    let io = |source| SpecError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    // Sorted like Go's os.ReadDir, so the list is stable.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            let skip = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];
            if !skip.iter().any(|s| name == *s) {
                walk_host_dir(&path, out)?;
            }
            continue;
        }
        if name == "console" {
            continue;
        }
        match device_at(&path) {
            Ok(Some(d)) if d.typ() != LinuxDeviceType::P => out.push(d),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(SpecError::Io { path, source }),
        }
    }
    Ok(())
}

/// One `--device HOST[:CONTAINER[:PERMS]]`: a device node, or a directory of them.
pub(crate) fn from_mapping(
    mapping: &DeviceMapping,
    permissions_override: Option<&str>,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), SpecError> {
    let on_host = mapping.path_on_host.as_deref().unwrap_or("");
    let in_container = mapping
        .path_in_container
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or(on_host);
    let permissions = permissions_override
        .or(mapping
            .cgroup_permissions
            .as_deref()
            .filter(|p| !p.is_empty()))
        .unwrap_or("rwm");
    let fail = |reason: String| SpecError::Device {
        path: on_host.to_string(),
        reason,
    };
    // A symlink (e.g. /dev/disk/by-id/...) names the node it points to.
    let resolved = std::fs::canonicalize(on_host).unwrap_or_else(|_| PathBuf::from(on_host));
    let mut devices = Vec::new();
    match device_at(&resolved) {
        Ok(Some(mut d)) => {
            d.set_path(PathBuf::from(in_container));
            devices.push(d);
        }
        Ok(None) => {
            if resolved.is_dir() {
                collect_dir(&resolved, &resolved, Path::new(in_container), &mut devices);
            }
            if devices.is_empty() {
                return Err(fail("not a device node".into()));
            }
        }
        Err(e) => return Err(fail(e.to_string())),
    }
    let rules = devices
        .iter()
        .map(|d| device_rule(true, Some((d.typ(), d.major(), d.minor())), permissions))
        .collect();
    Ok((devices, rules))
}

/// Device nodes below `dir`, renamed from under `root` to under `target`; others are ignored.
fn collect_dir(dir: &Path, root: &Path, target: &Path, out: &mut Vec<LinuxDevice>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<std::fs::DirEntry> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_dir(&path, root, target, out);
        } else if let Ok(Some(mut d)) = device_at(&path) {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            d.set_path(target.join(rel));
            out.push(d);
        }
    }
}

/// `--device-cgroup-rule 'c 42:* rmw'`: type a/b/c, major and minor numbers or `*` (kept as -1),
/// access of r, w and m.
pub(crate) fn cgroup_rule(rule: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    let bad = || SpecError::DeviceCgroupRule(rule.to_string());
    let parts: Vec<&str> = rule.split(' ').collect();
    let [typ, numbers, access] = parts[..] else {
        return Err(bad());
    };
    let typ = match typ {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(bad()),
    };
    let (maj, min) = numbers.split_once(':').ok_or_else(bad)?;
    let number = |s: &str, which: &str| -> Result<i64, SpecError> {
        if s == "*" {
            return Ok(-1);
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| {
            SpecError::invalid(format!(
                "invalid {which} value in device cgroup rule format: '{rule}'"
            ))
        })
    };
    let (maj, min) = (number(maj, "major")?, number(min, "minor")?);
    if access.is_empty() || access.len() > 3 || !access.bytes().all(|b| b"rwm".contains(&b)) {
        return Err(bad());
    }
    Ok(device_rule(true, Some((typ, maj, min)), access))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(host: &str, container: &str, perms: &str) -> DeviceMapping {
        DeviceMapping {
            path_on_host: Some(host.into()),
            path_in_container: Some(container.into()),
            cgroup_permissions: Some(perms.into()),
        }
    }

    #[test]
    fn dev_null_mapping() {
        let (devs, rules) = match from_mapping(&mapping("/dev/null", "/dev/mynull", "r"), None) {
            Ok(x) => x,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(devs.len(), 1);
        let d = &devs[0];
        assert_eq!(d.path(), Path::new("/dev/mynull"));
        assert_eq!((d.typ(), d.major(), d.minor()), (LinuxDeviceType::C, 1, 3));
        assert_eq!(d.file_mode(), Some(0o666));
        assert_eq!((d.uid(), d.gid()), (Some(0), Some(0)));
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].access().as_deref(), Some("r"));
        assert_eq!((rules[0].major(), rules[0].minor()), (Some(1), Some(3)));
        assert!(rules[0].allow());
    }

    #[test]
    fn mapping_defaults_to_same_path_and_rwm() {
        let m = DeviceMapping {
            path_on_host: Some("/dev/zero".into()),
            ..Default::default()
        };
        let (devs, rules) = from_mapping(&m, None).unwrap_or_default();
        assert_eq!(
            devs.first().map(|d| d.path().clone()),
            Some("/dev/zero".into())
        );
        assert_eq!(
            rules.first().and_then(|r| r.access().clone()).as_deref(),
            Some("rwm")
        );
    }

    #[test]
    fn not_a_device_is_an_error() {
        let e = from_mapping(&mapping("/etc/hostname", "/x", "rwm"), None)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "error gathering device information while adding custom device \"/etc/hostname\": not a device node"
            )
        );
        assert!(from_mapping(&mapping("/nonexistent-berth", "/x", "rwm"), None).is_err());
    }

    #[test]
    fn directory_of_devices() {
        let d = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let sub = d.path().join("sub");
        std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{e}"));
        let mk = |p: &Path, minor: u64| {
            nix::sys::stat::mknod(
                p,
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::from_bits_truncate(0o600),
                nix::sys::stat::makedev(1, minor),
            )
            .unwrap_or_else(|e| panic!("mknod (needs root): {e}"))
        };
        mk(&d.path().join("a"), 3);
        mk(&sub.join("b"), 5);
        std::fs::write(d.path().join("plain"), "x").unwrap_or_else(|e| panic!("{e}"));
        let path = d.path().to_string_lossy().into_owned();
        let (devs, rules) =
            from_mapping(&mapping(&path, "/dev/mine", "rw"), None).unwrap_or_default();
        let paths: Vec<PathBuf> = devs.iter().map(|d| d.path().clone()).collect();
        assert_eq!(
            paths,
            vec![
                PathBuf::from("/dev/mine/a"),
                PathBuf::from("/dev/mine/sub/b")
            ]
        );
        assert_eq!(rules.len(), 2);
    }

    #[test]
    fn host_devices_has_the_usual_nodes_and_no_pts_or_console() {
        let devs = match host_devices() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let has = |p: &str| devs.iter().any(|d| d.path() == Path::new(p));
        assert!(has("/dev/null") && has("/dev/zero") && has("/dev/urandom"));
        assert!(!has("/dev/console"));
        assert!(!devs.iter().any(|d| d.path().starts_with("/dev/pts")));
        assert!(devs.iter().all(|d| d.typ() != LinuxDeviceType::P));
    }

    #[test]
    fn cgroup_rules() {
        let r = match cgroup_rule("c 42:* rmw") {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(r.typ(), Some(LinuxDeviceType::C));
        assert_eq!((r.major(), r.minor()), (Some(42), Some(-1)));
        assert_eq!(r.access().as_deref(), Some("rmw"));
        assert!(r.allow());
        assert!(cgroup_rule("a *:* rwm").is_ok());
        assert!(cgroup_rule("b 8:0 r").is_ok());
    }

    #[test]
    fn bad_cgroup_rules() {
        for rule in [
            "",
            "x 1:2 rwm",
            "c 1:2",
            "c 1 rwm",
            "c 1:2 rwmx",
            "c 1:2 q",
            "c  1:2 rwm",
            "c a:2 rwm",
            "c 1:2 rwm ",
        ] {
            assert_eq!(
                cgroup_rule(rule).err().map(|e| e.to_string()),
                Some(format!("invalid device cgroup rule format: '{rule}'")),
                "{rule:?}"
            );
        }
        assert_eq!(
            cgroup_rule("c 99999999999999999999:1 rwm")
                .err()
                .map(|e| e.to_string()),
            Some(
                "invalid major value in device cgroup rule format: 'c 99999999999999999999:1 rwm'"
                    .into()
            )
        );
    }

    #[test]
    fn numbers_of_dev_null() {
        assert_eq!(numbers("/dev/null").ok(), Some((1, 3)));
    }
}
