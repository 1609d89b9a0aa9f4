//! `--cgroup-parent`: the parent directories made for a container go when it is removed (in
//! every hierarchy, v1 or v2), a parent still holding another container stays until that one
//! goes too, and a parent that existed before (an admin's) is never removed.

mod common;

use std::fs;
use std::path::PathBuf;

use common::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start();
    d.load("busybox.tar");
    d
}

/// The cgroup hierarchies: every cgroup or cgroup2 mount under /sys/fs/cgroup (v1 controllers,
/// the hybrid cgroup2 one, or the unified root itself).
fn hierarchies() -> Vec<PathBuf> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let mnt = pre.split(' ').nth(4)?;
            let fstype = post.split(' ').next()?;
            (mnt.starts_with("/sys/fs/cgroup") && (fstype == "cgroup" || fstype == "cgroup2"))
                .then(|| PathBuf::from(mnt))
        })
        .collect()
}

/// A name no other test uses.
fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("berth-test-{tag}-{}-{nanos}", std::process::id())
}

/// Where `name` exists, directly under /sys/fs/cgroup or any hierarchy.
fn found(name: &str) -> Vec<PathBuf> {
    let mut bases = vec![PathBuf::from("/sys/fs/cgroup")];
    if let Ok(rd) = fs::read_dir("/sys/fs/cgroup") {
        bases.extend(rd.flatten().map(|e| e.path()));
    }
    bases.extend(hierarchies());
    bases.sort();
    bases.dedup();
    bases
        .into_iter()
        .map(|b| b.join(name))
        .filter(|p| p.exists())
        .collect()
}

/// Removes every cgroup directory named `name` (deepest first), also when the test fails.
struct CgroupDirs(String);

impl Drop for CgroupDirs {
    fn drop(&mut self) {
        for top in found(&self.0) {
            rmdir_tree(&top);
        }
    }
}

fn rmdir_tree(dir: &PathBuf) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                rmdir_tree(&e.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

#[test]
fn parents_made_for_a_container_are_removed_with_it() {
    let d = daemon();
    let name = unique("cgp");
    let _guard = CgroupDirs(name.clone());
    let parent = format!("/{name}/sub");

    d.ok(&["run", "--rm", "--cgroup-parent", &parent, "busybox", "true"]);
    assert_eq!(found(&name), Vec::<PathBuf>::new(), "after run --rm");

    let a = d.ok(&[
        "run",
        "-d",
        "--cgroup-parent",
        &parent,
        "busybox",
        "sleep",
        "600",
    ]);
    let b = d.ok(&[
        "run",
        "-d",
        "--cgroup-parent",
        &parent,
        "busybox",
        "sleep",
        "600",
    ]);
    assert!(!found(&name).is_empty(), "the parent exists while in use");
    d.ok(&["rm", "-f", a.trim()]);
    let left = found(&name);
    assert!(
        !left.is_empty() && left.iter().all(|p| p.join("sub").exists()),
        "a parent shared with a running container stays: {left:?}"
    );
    d.ok(&["rm", "-f", b.trim()]);
    assert_eq!(found(&name), Vec::<PathBuf>::new(), "after the last rm -f");
}

#[test]
fn a_pre_existing_parent_stays() {
    let d = daemon();
    let name = unique("cgadmin");
    let _guard = CgroupDirs(name.clone());
    let made: Vec<PathBuf> = hierarchies().iter().map(|h| h.join(&name)).collect();
    for dir in &made {
        fs::create_dir(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
    let parent = format!("/{name}/sub");
    let id = d.ok(&[
        "run",
        "-d",
        "--cgroup-parent",
        &parent,
        "busybox",
        "sleep",
        "600",
    ]);
    d.ok(&["rm", "-f", id.trim()]);
    for dir in &made {
        assert!(dir.exists(), "{} was the admin's", dir.display());
        assert!(
            !dir.join("sub").exists(),
            "{}/sub was made for the container",
            dir.display()
        );
    }
    d.ok(&[
        "run",
        "--rm",
        "--cgroup-parent",
        &format!("/{name}"),
        "busybox",
        "true",
    ]);
    for dir in &made {
        assert!(dir.exists(), "{} was the admin's", dir.display());
    }
}
