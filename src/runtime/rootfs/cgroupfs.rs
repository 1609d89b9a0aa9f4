//! A `cgroup` mount for a cgroup v1 (or hybrid) host, as runc builds it: a tmpfs at the
//! destination, and under it one bind mount per hierarchy showing only the container's own
//! cgroup, read-only when asked. Combined hierarchies (`cpu,cpuacct`) get a symlink per
//! controller. The plan is computed by the intermediate process after it joined the container's
//! cgroup and before any cgroup namespace exists, so host paths are absolute and unambiguous.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::runtime::rootfs::mount::{self, MountOptions};
use crate::runtime::rootfs::mountinfo::{self, MountInfo};
use crate::runtime::rootfs::resolve::{self, TargetKind};

#[derive(Debug, thiserror::Error)]
pub enum CgroupMountError {
    #[error("cannot read {what}: {source}")]
    Read {
        what: &'static str,
        source: io::Error,
    },
    #[error("cannot prepare cgroup mount at {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Mount(#[from] mount::MountError),
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
}

/// One hierarchy to show in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Directory name under the container's cgroup mount (`cpu`, `cpu,cpuacct`, `systemd`).
    pub name: String,
    /// Host directory of our cgroup in this hierarchy.
    pub host_dir: PathBuf,
    /// Controller names to link to `name` when it combines several.
    pub links: Vec<String>,
}

pub type CgroupMountPlan = Vec<Hierarchy>;

/// Lines of /proc/self/cgroup: (controller list, path).
fn parse_proc_cgroup(content: &str) -> Vec<(String, String)> {
    content
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let ctrls = it.next()?.to_string();
            let path = it.next()?.to_string();
            Some((ctrls, path))
        })
        .collect()
}

/// Builds the plan from mountinfo and /proc/self/cgroup contents.
pub fn plan_from(mounts: &[MountInfo], proc_cgroup: &str) -> CgroupMountPlan {
    let own = parse_proc_cgroup(proc_cgroup);
    let mut out: CgroupMountPlan = Vec::new();
    for m in mounts {
        // Only v1 hierarchies: runc leaves the hybrid layout's cgroup2 mount out as well.
        if m.fstype != "cgroup" {
            continue;
        }
        // A controller lives in exactly one hierarchy, so the line whose controllers all appear
        // in the mount's options is the one (mount options also carry rw, xattr, ...).
        let Some((_, path)) = own.iter().find(|(c, _)| {
            !c.is_empty() && c.split(',').all(|x| m.super_options.iter().any(|o| o == x))
        }) else {
            continue;
        };
        let Some(name) = m.mount_point.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // The part of our cgroup path below what this mount shows.
        let rel = Path::new(path)
            .strip_prefix(&m.root)
            .unwrap_or(Path::new(path))
            .to_path_buf();
        let rel = rel.strip_prefix("/").unwrap_or(&rel).to_path_buf();
        if out.iter().any(|h| h.name == name) {
            continue;
        }
        let links = if name.contains(',') {
            name.split(',').map(String::from).collect()
        } else {
            Vec::new()
        };
        out.push(Hierarchy {
            name: name.to_string(),
            host_dir: m.mount_point.join(rel),
            links,
        });
    }
    out
}

/// Reads the plan for the calling process.
pub fn plan() -> Result<CgroupMountPlan, CgroupMountError> {
    let mounts = mountinfo::read_self().map_err(|source| CgroupMountError::Read {
        what: "/proc/self/mountinfo",
        source,
    })?;
    let own = fs::read_to_string("/proc/self/cgroup").map_err(|source| CgroupMountError::Read {
        what: "/proc/self/cgroup",
        source,
    })?;
    // Only hierarchies mounted under /sys/fs/cgroup: stray mounts elsewhere are not ours to show.
    let mounts: Vec<MountInfo> = mounts
        .into_iter()
        .filter(|m| m.mount_point.starts_with("/sys/fs/cgroup"))
        .collect();
    Ok(plan_from(&mounts, &own))
}

/// Mounts the cgroup tree at `dest` inside `rootfs`.
pub fn mount_v1(
    rootfs: &Path,
    dest: &Path,
    opts: &MountOptions,
    plan: &CgroupMountPlan,
) -> Result<(), CgroupMountError> {
    let (host, fd) = resolve::create_target(rootfs, dest, TargetKind::Dir)?;
    let flags = opts.flags & !libc::MS_RDONLY;
    mount::mount(
        Path::new("tmpfs"),
        &resolve::proc_fd_path(&fd),
        "tmpfs",
        flags,
        "mode=755",
    )?;
    for h in plan {
        let target = host.join(&h.name);
        fs::create_dir_all(&target).map_err(|source| CgroupMountError::Io {
            path: target.clone(),
            source,
        })?;
        mount::mount(&h.host_dir, &target, "", libc::MS_BIND | libc::MS_REC, "")?;
        mount::bind_remount(&target, opts.flags & !libc::MS_BIND)?;
        for l in &h.links {
            let link = host.join(l);
            if fs::symlink_metadata(&link).is_err() {
                symlink(&h.name, &link).map_err(|source| CgroupMountError::Io {
                    path: link.clone(),
                    source,
                })?;
            }
        }
    }
    if opts.flags & libc::MS_RDONLY != 0 {
        mount::mount(
            Path::new(""),
            &host,
            "",
            libc::MS_REMOUNT | libc::MS_RDONLY | flags,
            "mode=755",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_maps_hierarchies_to_our_cgroup() {
        let mounts = mountinfo::parse(
            "\
33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpuacct,cpu
40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
42 31 0:39 /docker /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
",
        );
        let own = "11:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n0::/\n9:memory:/docker/abc\n";
        let p = plan_from(&mounts, own);
        let get = |n: &str| p.iter().find(|h| h.name == n).unwrap().clone();
        assert_eq!(
            get("cpu,cpuacct").host_dir,
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/docker/abc")
        );
        assert_eq!(get("cpu,cpuacct").links, vec!["cpu", "cpuacct"]);
        assert_eq!(
            get("systemd").host_dir,
            PathBuf::from("/sys/fs/cgroup/systemd/x")
        );
        // The hybrid layout's cgroup2 mount is left out, as runc does.
        assert!(!p.iter().any(|h| h.name == "unified"));
        // Mount root /docker: only the part below it is appended.
        assert_eq!(
            get("memory").host_dir,
            PathBuf::from("/sys/fs/cgroup/memory/abc")
        );
    }
}
