//! Namespaces from `linux.namespaces`: new ones are unshared, ones with a `path` are joined with
//! setns. The user namespace always goes first (joining or creating it is what grants the
//! rights for the rest), and paths are all opened before any setns because joining a mount
//! namespace changes what a path means.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("namespace {0} listed twice")]
    Duplicate(&'static str),
    #[error("cannot open namespace path {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot join {kind} namespace {path}: {source}")]
    Join {
        kind: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot unshare namespaces ({kinds}): {source}")]
    Unshare { kinds: String, source: io::Error },
    #[error("cannot join the namespaces of pid {pid} ({kinds}): {source}")]
    JoinPid {
        pid: i32,
        kinds: String,
        source: io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    User,
    Pid,
    Network,
    Mount,
    Ipc,
    Uts,
    Cgroup,
    Time,
}

impl Kind {
    pub fn from_oci(t: LinuxNamespaceType) -> Kind {
        match t {
            LinuxNamespaceType::User => Kind::User,
            LinuxNamespaceType::Pid => Kind::Pid,
            LinuxNamespaceType::Network => Kind::Network,
            LinuxNamespaceType::Mount => Kind::Mount,
            LinuxNamespaceType::Ipc => Kind::Ipc,
            LinuxNamespaceType::Uts => Kind::Uts,
            LinuxNamespaceType::Cgroup => Kind::Cgroup,
            LinuxNamespaceType::Time => Kind::Time,
        }
    }

    pub fn flag(self) -> libc::c_int {
        match self {
            Kind::User => libc::CLONE_NEWUSER,
            Kind::Pid => libc::CLONE_NEWPID,
            Kind::Network => libc::CLONE_NEWNET,
            Kind::Mount => libc::CLONE_NEWNS,
            Kind::Ipc => libc::CLONE_NEWIPC,
            Kind::Uts => libc::CLONE_NEWUTS,
            Kind::Cgroup => libc::CLONE_NEWCGROUP,
            Kind::Time => 0x0000_0080, // CLONE_NEWTIME
        }
    }

    /// The name under /proc/<pid>/ns/.
    pub fn proc_name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Pid => "pid",
            Kind::Network => "net",
            Kind::Mount => "mnt",
            Kind::Ipc => "ipc",
            Kind::Uts => "uts",
            Kind::Cgroup => "cgroup",
            Kind::Time => "time",
        }
    }
}

/// The container's namespace configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NamespacePlan {
    /// New namespaces to unshare.
    pub new: Vec<Kind>,
    /// Existing namespaces to join.
    pub join: Vec<(Kind, PathBuf)>,
}

impl NamespacePlan {
    pub fn from_spec(list: &[LinuxNamespace]) -> Result<NamespacePlan, NamespaceError> {
        let mut plan = NamespacePlan::default();
        let mut seen: Vec<Kind> = Vec::new();
        for ns in list {
            let kind = Kind::from_oci(ns.typ());
            if seen.contains(&kind) {
                return Err(NamespaceError::Duplicate(kind.proc_name()));
            }
            seen.push(kind);
            match ns.path() {
                Some(p) if !p.as_os_str().is_empty() => plan.join.push((kind, p.clone())),
                _ => plan.new.push(kind),
            }
        }
        // User first: it gives the rights for everything after it.
        plan.join.sort_by_key(|(k, _)| *k != Kind::User);
        Ok(plan)
    }

    pub fn has(&self, kind: Kind) -> bool {
        self.new.contains(&kind) || self.join.iter().any(|(k, _)| *k == kind)
    }

    pub fn is_new(&self, kind: Kind) -> bool {
        self.new.contains(&kind)
    }

    /// Every kind the container has its own of (new or joined), as a flag mask; this is what an
    /// exec'd process joins through the init's pidfd.
    pub fn all_flags(&self) -> libc::c_int {
        self.new
            .iter()
            .chain(self.join.iter().map(|(k, _)| k))
            .fold(0, |acc, k| acc | k.flag())
    }

    /// New namespaces other than the user namespace (unshared after it).
    pub fn unshare_flags(&self) -> libc::c_int {
        self.new
            .iter()
            .filter(|k| **k != Kind::User)
            .fold(0, |acc, k| acc | k.flag())
    }
}

/// Opened namespace files, ready to join.
pub struct JoinFds(Vec<(Kind, PathBuf, OwnedFd)>);

pub fn open_join_fds(plan: &NamespacePlan) -> Result<JoinFds, NamespaceError> {
    let mut out = Vec::new();
    for (kind, path) in &plan.join {
        let f = File::open(path).map_err(|source| NamespaceError::Open {
            path: path.clone(),
            source,
        })?;
        out.push((*kind, path.clone(), OwnedFd::from(f)));
    }
    Ok(JoinFds(out))
}

impl JoinFds {
    /// Joins them, in plan order (user first).
    pub fn join_all(self) -> Result<(), NamespaceError> {
        for (kind, path, fd) in self.0 {
            // SAFETY: setns on a namespace descriptor we own.
            if unsafe { libc::setns(fd.as_raw_fd(), kind.flag()) } != 0 {
                return Err(NamespaceError::Join {
                    kind: kind.proc_name(),
                    path,
                    source: io::Error::last_os_error(),
                });
            }
        }
        Ok(())
    }
}

fn kinds_text(flags: libc::c_int) -> String {
    let all = [
        Kind::User,
        Kind::Pid,
        Kind::Network,
        Kind::Mount,
        Kind::Ipc,
        Kind::Uts,
        Kind::Cgroup,
        Kind::Time,
    ];
    all.iter()
        .filter(|k| flags & k.flag() != 0)
        .map(|k| k.proc_name())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn unshare(flags: libc::c_int) -> Result<(), NamespaceError> {
    if flags == 0 {
        return Ok(());
    }
    // SAFETY: unshare with namespace flags only.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(NamespaceError::Unshare {
            kinds: kinds_text(flags),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Joins several namespaces of a process at once through its pidfd (Linux 5.8+). The kernel
/// orders them itself (user namespace first).
pub fn join_pidfd(pidfd: &OwnedFd, pid: i32, flags: libc::c_int) -> Result<(), NamespaceError> {
    if flags == 0 {
        return Ok(());
    }
    // SAFETY: setns on a pidfd we own with namespace flags.
    if unsafe { libc::setns(pidfd.as_raw_fd(), flags) } != 0 {
        return Err(NamespaceError::JoinPid {
            pid,
            kinds: kinds_text(flags),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(t: LinuxNamespaceType, path: Option<&str>) -> LinuxNamespace {
        let mut n = LinuxNamespace::default();
        n.set_typ(t);
        n.set_path(path.map(PathBuf::from));
        n
    }

    #[test]
    fn plan_splits_new_and_joined_user_first() {
        let plan = NamespacePlan::from_spec(&[
            ns(LinuxNamespaceType::Pid, None),
            ns(LinuxNamespaceType::Network, Some("/var/run/netns/x")),
            ns(LinuxNamespaceType::User, Some("/proc/1/ns/user")),
            ns(LinuxNamespaceType::Mount, None),
            ns(LinuxNamespaceType::Ipc, Some("")),
        ])
        .unwrap();
        assert_eq!(plan.new, vec![Kind::Pid, Kind::Mount, Kind::Ipc]);
        assert_eq!(plan.join[0].0, Kind::User);
        assert_eq!(plan.join[1].0, Kind::Network);
        assert!(plan.has(Kind::Network));
        assert!(!plan.is_new(Kind::Network));
        assert!(!plan.has(Kind::Uts));
        assert_eq!(
            plan.unshare_flags(),
            libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWIPC
        );
        assert_eq!(kinds_text(plan.all_flags()), "user,pid,net,mnt,ipc");
    }

    #[test]
    fn duplicates_are_refused() {
        let e = NamespacePlan::from_spec(&[
            ns(LinuxNamespaceType::Pid, None),
            ns(LinuxNamespaceType::Pid, None),
        ]);
        assert!(matches!(e, Err(NamespaceError::Duplicate("pid"))));
    }
}
