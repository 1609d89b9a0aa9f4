//! A `cgroup` mount, as runc builds it. On a cgroup v1 (or hybrid) host: a tmpfs at the
//! destination, and under it one bind mount per hierarchy showing only the container's own
//! cgroup, read-only when asked; combined hierarchies (`cpu,cpuacct`) get a symlink per
//! controller. On a unified (v2) host: a fresh cgroup2 mount, whose view the container's cgroup
//! namespace decides, or, where cgroup2 cannot be mounted, a bind of the container's own cgroup.
//! The plan is computed by the intermediate process after it joined the container's cgroup and
//! before any cgroup namespace exists, so host paths are absolute and unambiguous.

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

/// What a `cgroup` mount shows in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupMountPlan {
    /// A v1 or hybrid host: the v1 hierarchies (runc leaves the hybrid cgroup2 mount out).
    V1(Vec<Hierarchy>),
    /// A unified host; `own_dir` is the container's cgroup, for the bind fallback.
    V2 { own_dir: PathBuf },
}

impl Default for CgroupMountPlan {
    fn default() -> CgroupMountPlan {
        CgroupMountPlan::V1(Vec::new())
    }
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

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
    let unified = mounts
        .iter()
        .any(|m| m.fstype == "cgroup2" && m.mount_point == Path::new(CGROUP_ROOT));
    if unified {
        let path = own
            .iter()
            .find(|(c, _)| c.is_empty())
            .map(|(_, p)| p.trim_start_matches('/'))
            .unwrap_or("");
        return CgroupMountPlan::V2 {
            own_dir: Path::new(CGROUP_ROOT).join(path),
        };
    }
    let mut out: Vec<Hierarchy> = Vec::new();
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
    CgroupMountPlan::V1(out)
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
/// `source` is the spec's (`cgroup` from Docker), shown as the cgroup2 mount's source.
pub fn mount_cgroup(
    rootfs: &Path,
    source: &Path,
    dest: &Path,
    opts: &MountOptions,
    plan: &CgroupMountPlan,
) -> Result<(), CgroupMountError> {
    match plan {
        CgroupMountPlan::V1(hierarchies) => mount_v1(rootfs, dest, opts, hierarchies),
        CgroupMountPlan::V2 { own_dir } => mount_v2(rootfs, source, dest, opts, own_dir),
    }
}

/// cgroup2 at `dest`; where the kernel refuses (EPERM, EBUSY: no cgroup namespace of our own
/// in a user namespace), the container's own cgroup bound there instead, as runc does.
fn mount_v2(
    rootfs: &Path,
    source: &Path,
    dest: &Path,
    opts: &MountOptions,
    own_dir: &Path,
) -> Result<(), CgroupMountError> {
    let (_, fd) = resolve::create_target(rootfs, dest, TargetKind::Dir)?;
    let target = resolve::proc_fd_path(&fd);
    match mount::mount(source, &target, "cgroup2", opts.flags, "") {
        Err(mount::MountError::Mount { ref source, .. })
            if matches!(source.raw_os_error(), Some(libc::EPERM | libc::EBUSY)) =>
        {
            mount::mount(own_dir, &target, "", libc::MS_BIND | libc::MS_REC, "")?;
            Ok(mount::bind_remount(&target, opts.flags & !libc::MS_BIND)?)
        }
        other => Ok(other?),
    }
}

fn mount_v1(
    rootfs: &Path,
    dest: &Path,
    opts: &MountOptions,
    plan: &[Hierarchy],
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
        let CgroupMountPlan::V1(p) = plan_from(&mounts, own) else {
            panic!("a hybrid host is planned as v1");
        };
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

    #[test]
    fn a_unified_host_gets_cgroup2_with_our_cgroup_as_fallback() {
        let mounts = mountinfo::parse(
            "25 30 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
        );
        assert_eq!(
            plan_from(&mounts, "0::/berth/abc\n"),
            CgroupMountPlan::V2 {
                own_dir: PathBuf::from("/sys/fs/cgroup/berth/abc")
            }
        );
    }
}
