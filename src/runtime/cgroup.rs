//! Glue between containers and `runtime::cgroups::Manager`: which cgroup a container has, and
//! the resources it is created with.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use oci_spec::runtime::{LinuxResources, Spec};

use crate::runtime::cgroups::{CgroupError, Manager};
use crate::runtime::container::ContainerState;
use crate::runtime::rootfs::device;
use crate::util::fsutil::replace_file;

pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// In the state root: the parent cgroups this root's containers made (a `--cgroup-parent` that
/// did not exist), kept for the whole root because a parent made for one container may be
/// shared by the next and must go with the last of them.
const PARENTS_FILE: &str = "cgroup-parents.json";
const PARENTS_LOCK: &str = "cgroup-parents.lock";
/// Other holders only mkdir or rmdir a few directories.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// flock on the registry's lock file, released on drop (with the descriptor).
struct RegistryLock(#[allow(dead_code)] File);

fn lock_registry(root: &Path) -> io::Result<RegistryLock> {
    let f = File::create(root.join(PARENTS_LOCK))?;
    let deadline = Instant::now() + LOCK_TIMEOUT;
    let mut delay = Duration::from_millis(1);
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(RegistryLock(f));
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(e);
        }
        // flock has no timeout of its own: retry, bounded.
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{PARENTS_LOCK} held for more than {LOCK_TIMEOUT:?}"),
            ));
        }
        thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

fn read_registry(root: &Path) -> BTreeSet<PathBuf> {
    std::fs::read(root.join(PARENTS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_registry(root: &Path, set: &BTreeSet<PathBuf>) -> io::Result<()> {
    let json = serde_json::to_vec(set).map_err(io::Error::other)?;
    replace_file(&root.join(PARENTS_FILE), &json)
}

fn registry_err(root: &Path, source: io::Error) -> CgroupError {
    CgroupError::Io {
        op: "update parent registry",
        path: root.join(PARENTS_FILE),
        source,
    }
}

/// Creates the container's cgroup, recording first the parents that do not exist yet. Under
/// the registry lock, so a concurrent delete cannot remove a parent between the two.
pub fn create_recording_parents(root: &Path, m: &Manager) -> Result<(), CgroupError> {
    let _lock = lock_registry(root).map_err(|e| registry_err(root, e))?;
    let missing = m.missing_parents();
    if !missing.is_empty() {
        let mut set = read_registry(root);
        set.extend(missing);
        write_registry(root, &set).map_err(|e| registry_err(root, e))?;
    }
    m.create()
}

/// After the container's cgroup is gone: removes the recorded parents of it that are empty now
/// (one still holding another container stays, recorded), and forgets the ones that are gone.
pub fn remove_recorded_parents(root: &Path, m: &Manager) -> Result<(), CgroupError> {
    let _lock = lock_registry(root).map_err(|e| registry_err(root, e))?;
    let set = read_registry(root);
    if set.is_empty() {
        return Ok(());
    }
    let recorded: Vec<PathBuf> = set.iter().cloned().collect();
    let removed = m.remove_parents(&recorded);
    let left: BTreeSet<PathBuf> = set.into_iter().filter(|p| p.exists()).collect();
    write_registry(root, &left).map_err(|e| registry_err(root, e))?;
    removed
}

/// `linux.cgroupsPath`, when set. A container without one gets no cgroup of its own (the
/// runtime-spec leaves the default to the runtime); pause, update and events need one.
pub fn cgroups_path(spec: &Spec) -> Option<String> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.display().to_string())
        .filter(|p| !p.is_empty())
}

pub fn open(id: &str, cgroups_path: &str) -> Result<Manager, CgroupError> {
    Manager::new(Path::new(CGROUP_ROOT), cgroups_path, id)
}

/// The manager of an existing container, if it has a cgroup.
pub fn for_container(st: &ContainerState) -> Result<Option<Manager>, CgroupError> {
    st.cgroups_path
        .as_deref()
        .map(|p| open(&st.id, p))
        .transpose()
}

/// The config's resources with the default device rules appended (runc does the same, so a
/// deny-all device rule never locks out /dev/null and friends).
pub fn creation_resources(spec: &Spec) -> LinuxResources {
    let mut r = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let mut devices = r.devices().clone().unwrap_or_default();
    devices.extend(device::default_allow_rules());
    r.set_devices(Some(devices));
    r
}
