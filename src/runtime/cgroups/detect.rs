//! Which cgroup layout is mounted at the root: unified (v2), or v1 hierarchies (legacy, or hybrid
//! when a cgroup2 mount sits next to them).

use std::path::{Path, PathBuf};

use nix::sys::statfs::{CGROUP2_SUPER_MAGIC, statfs};

use super::error::CgroupError;

/// One mounted v1 hierarchy: its mount point and the controllers bound to it ("cpu", "cpuacct",
/// "name=systemd", ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    pub mount: PathBuf,
    pub controllers: Vec<String>,
}

impl Hierarchy {
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    Unified,
    Legacy {
        hierarchies: Vec<Hierarchy>,
        /// The hybrid layout's cgroup2 mount (e.g. /sys/fs/cgroup/unified).
        unified: Option<PathBuf>,
    },
}

/// The fields of a /proc/self/mountinfo line that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountEntry {
    pub mount_point: PathBuf,
    pub fstype: String,
    pub super_options: String,
}

const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

pub(crate) fn detect(root: &Path) -> Result<Layout, CgroupError> {
    let fs = statfs(root).map_err(|e| CgroupError::Io {
        op: "statfs",
        path: root.to_path_buf(),
        source: e.into(),
    })?;
    let is_cgroup2 = fs.filesystem_type() == CGROUP2_SUPER_MAGIC;
    if is_cgroup2 {
        return Ok(Layout::Unified);
    }
    let mountinfo = Path::new("/proc/self/mountinfo");
    let text = std::fs::read_to_string(mountinfo).map_err(|source| CgroupError::Io {
        op: "read",
        path: mountinfo.to_path_buf(),
        source,
    })?;
    classify(root, false, &parse_mountinfo(&text))
}

/// Decides the layout from the root's filesystem type and the mount table.
pub(crate) fn classify(
    root: &Path,
    root_is_cgroup2: bool,
    mounts: &[MountEntry],
) -> Result<Layout, CgroupError> {
    if root_is_cgroup2 {
        return Ok(Layout::Unified);
    }
    let mut hierarchies: Vec<Hierarchy> = Vec::new();
    let mut unified = None;
    for m in mounts
        .iter()
        .filter(|m| m.mount_point.parent() == Some(root))
    {
        match m.fstype.as_str() {
            "cgroup" => {
                let controllers: Vec<String> = m
                    .super_options
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                    .map(str::to_string)
                    .collect();
                // A hierarchy mounted twice (bind mounts) is still one hierarchy.
                if !controllers.is_empty()
                    && !hierarchies.iter().any(|h| h.controllers == controllers)
                {
                    hierarchies.push(Hierarchy {
                        mount: m.mount_point.clone(),
                        controllers,
                    });
                }
            }
            "cgroup2" if unified.is_none() => unified = Some(m.mount_point.clone()),
            _ => {}
        }
    }
    if hierarchies.is_empty() {
        return Err(CgroupError::Detect {
            root: root.to_path_buf(),
            reason: "neither a cgroup2 mount nor a directory of cgroup v1 mounts".into(),
        });
    }
    Ok(Layout::Legacy {
        hierarchies,
        unified,
    })
}

/// Fields: id parent major:minor root mount_point options [optional...] - fstype source super.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let mount_point = pre.split(' ').nth(4)?;
            let mut post = post.split(' ');
            let fstype = post.next()?;
            let _source = post.next()?;
            let super_options = post.next().unwrap_or("");
            Some(MountEntry {
                mount_point: PathBuf::from(unescape(mount_point)),
                fstype: fstype.to_string(),
                super_options: super_options.to_string(),
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(v as u8);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This build machine's table: tmpfs at /sys/fs/cgroup, v1 hierarchies, a cgroup2 "unified".
    const HYBRID: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    /// A systemd-era legacy layout: co-mounted cpu,cpuacct and extra super options.
    const LEGACY: &str = "\
24 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 24 0:23 / /sys/fs/cgroup/systemd rw,nosuid shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 24 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:13 - cgroup cgroup rw,cpu,cpuacct
30 24 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory
99 24 0:27 / /sys/fs/cgroup/memory2 rw,nosuid shared:14 - cgroup cgroup rw,memory
31 24 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:15 - cgroup cgroup rw,net_cls,net_prio
70 1 0:50 / /other/cgroup/pids rw - cgroup cgroup rw,pids
";

    const UNIFIED: &str = "\
28 22 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    fn root() -> &'static Path {
        Path::new("/sys/fs/cgroup")
    }

    #[test]
    fn cgroup2_magic_at_root_is_unified() {
        let mounts = parse_mountinfo(UNIFIED);
        assert_eq!(classify(root(), true, &mounts).unwrap(), Layout::Unified);
        // The magic decides, not the table: a tmpfs root with only a cgroup2 mount below is an error.
        assert!(classify(root(), false, &mounts).is_err());
    }

    #[test]
    fn tmpfs_with_v1_mounts_is_hybrid_legacy() {
        let Layout::Legacy {
            hierarchies,
            unified,
        } = classify(root(), false, &parse_mountinfo(HYBRID)).unwrap()
        else {
            panic!("expected legacy");
        };
        assert_eq!(unified, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        let names: Vec<_> = hierarchies
            .iter()
            .map(|h| h.controllers.join(","))
            .collect();
        assert_eq!(
            names,
            [
                "cpu",
                "cpuacct",
                "cpuset",
                "memory",
                "devices",
                "freezer",
                "blkio",
                "pids",
                "name=systemd"
            ]
        );
        assert_eq!(hierarchies[3].mount, PathBuf::from("/sys/fs/cgroup/memory"));
    }

    #[test]
    fn legacy_comounts_dedup_and_ignores_other_roots() {
        let Layout::Legacy {
            hierarchies,
            unified,
        } = classify(root(), false, &parse_mountinfo(LEGACY)).unwrap()
        else {
            panic!("expected legacy");
        };
        assert_eq!(unified, None);
        assert_eq!(hierarchies.len(), 4, "{hierarchies:?}");
        assert_eq!(hierarchies[0].controllers, ["name=systemd"]);
        assert_eq!(hierarchies[1].controllers, ["cpu", "cpuacct"]);
        assert_eq!(
            hierarchies[1].mount,
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert!(hierarchies.iter().all(|h| !h.has("pids")));
    }

    #[test]
    fn nothing_mounted_is_an_error() {
        let e = classify(root(), false, &[]).unwrap_err();
        assert!(e.to_string().contains("/sys/fs/cgroup"), "{e}");
    }

    #[test]
    fn mountinfo_unescapes_octal() {
        let m = parse_mountinfo("1 2 0:3 / /a\\040b rw - cgroup cgroup rw,pids\n");
        assert_eq!(m[0].mount_point, PathBuf::from("/a b"));
    }

    #[test]
    fn detects_a_real_tmpfs_as_not_unified() {
        // A tempdir is not cgroup2: detection must consult the mount table, and a tempdir has no
        // v1 mounts below it.
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            detect(dir.path()),
            Err(CgroupError::Detect { .. })
        ));
    }
}
