//! /proc/self/mountinfo, parsed: which mount holds a path, whether it is shared, and where the
//! cgroup hierarchies are mounted.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// The path inside the filesystem that is mounted (field 4).
    pub root: PathBuf,
    pub mount_point: PathBuf,
    /// Optional fields such as `shared:1`, `master:2`.
    pub optional: Vec<String>,
    pub fstype: String,
    pub super_options: Vec<String>,
}

impl MountInfo {
    pub fn is_shared(&self) -> bool {
        self.optional.iter().any(|o| o.starts_with("shared:"))
    }
}

/// Undoes the octal escapes (`\040` for a space) the kernel uses in mountinfo paths.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_line(line: &str) -> Option<MountInfo> {
    let (left, right) = line.split_once(" - ")?;
    let l: Vec<&str> = left.split(' ').collect();
    let r: Vec<&str> = right.split(' ').collect();
    if l.len() < 6 || r.len() < 3 {
        return None;
    }
    Some(MountInfo {
        root: PathBuf::from(unescape(l[3])),
        mount_point: PathBuf::from(unescape(l[4])),
        optional: l[6..].iter().map(|s| s.to_string()).collect(),
        fstype: r[0].to_string(),
        super_options: r[2].split(',').map(String::from).collect(),
    })
}

pub fn parse(content: &str) -> Vec<MountInfo> {
    content.lines().filter_map(parse_line).collect()
}

pub fn read_self() -> std::io::Result<Vec<MountInfo>> {
    Ok(parse(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

/// The mount that contains `path` (longest mount point prefix; the last one wins when stacked).
pub fn containing<'a>(mounts: &'a [MountInfo], path: &Path) -> Option<&'a MountInfo> {
    let mut best: Option<&MountInfo> = None;
    for m in mounts {
        if path.starts_with(&m.mount_point)
            && best
                .is_none_or(|b| m.mount_point.as_os_str().len() >= b.mount_point.as_os_str().len())
        {
            best = Some(m);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 27 254:0 /data /mnt/with\\040space rw master:3 - ext4 /dev/vda rw
";

    #[test]
    fn parses_fields() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 6);
        assert!(m[1].is_shared());
        assert!(!m[0].is_shared());
        assert_eq!(m[2].fstype, "cgroup");
        assert_eq!(m[2].super_options, vec!["rw", "cpu"]);
        assert_eq!(m[5].mount_point, PathBuf::from("/mnt/with space"));
        assert_eq!(m[5].root, PathBuf::from("/data"));
        assert_eq!(m[5].optional, vec!["master:3"]);
    }

    #[test]
    fn finds_the_containing_mount() {
        let m = parse(SAMPLE);
        assert_eq!(
            containing(&m, Path::new("/sys/fs/cgroup/cpu/docker"))
                .unwrap()
                .fstype,
            "cgroup"
        );
        assert_eq!(
            containing(&m, Path::new("/var/lib")).unwrap().mount_point,
            PathBuf::from("/")
        );
        assert_eq!(
            containing(&m, Path::new("/proc")).unwrap().mount_point,
            PathBuf::from("/proc")
        );
    }
}
