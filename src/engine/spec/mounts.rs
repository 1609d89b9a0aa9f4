//! The spec's mount list (moby oci_linux.go withMounts, volumes_unix.go setupMounts): Docker's
//! defaults not overridden by the user, then the user's tmpfs and bind mounts with the
//! container's /etc files, sorted so parents come before children.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;

use super::EtcFiles;
use super::binds::{self, DEFAULT_PROPAGATION, UserMount, UserMountKind};
use super::defaults::{self, INIT_PATH_IN_CONTAINER};
use super::error::SpecError;
use super::namespaces::IpcMode;
use super::tmpfs;
use crate::models::HostConfig;

pub(crate) struct MountInputs<'a> {
    pub host: &'a HostConfig,
    pub etc_files: &'a EtcFiles<'a>,
    pub ipc: IpcMode,
    pub shm_size: i64,
    pub privileged: bool,
    pub writable_cgroups: bool,
    /// docker-init on the host, when `--init` applies.
    pub init: Option<&'a Path>,
}

pub(crate) struct MountPlan {
    pub mounts: Vec<Mount>,
    /// Set when a bind mount's propagation needs the rootfs to propagate too.
    pub rootfs_propagation: Option<String>,
}

const ETC_DESTINATIONS: [&str; 3] = ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"];

pub(crate) fn plan(input: &MountInputs) -> Result<MountPlan, SpecError> {
    let readonly_root = input.host.readonly_rootfs.unwrap_or(false);
    let user = user_side(input, binds::user_mounts(input.host)?, readonly_root);
    let user_dests: Vec<&str> = user.iter().map(|m| m.destination.as_str()).collect();

    let mut defaults = defaults::mounts();
    if let Some(init) = input.init {
        defaults.push(defaults::mount(
            INIT_PATH_IN_CONTAINER,
            "bind",
            &init.to_string_lossy(),
            &["bind", "ro"],
        ));
    }
    let user_dev = user_dests.contains(&"/dev");
    let mut mounts: Vec<Mount> = Vec::new();
    for mut m in defaults {
        let dest = m.destination().to_string_lossy().into_owned();
        if user_dests.contains(&dest.as_str()) || (user_dev && dest.starts_with("/dev/")) {
            continue;
        }
        if dest == "/dev/shm" {
            if input.ipc == IpcMode::None {
                continue;
            }
            add_option(&mut m, &format!("size={}", input.shm_size));
        }
        mounts.push(m);
    }

    let mut rootfs_propagation: Option<String> = None;
    for p in &user {
        mounts.push(to_oci(p, &mut rootfs_propagation)?);
    }

    if readonly_root {
        for m in &mut mounts {
            let dest = m.destination().to_string_lossy().into_owned();
            let kernel_fs = ["/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"];
            if !kernel_fs.contains(&dest.as_str()) && !user_dests.contains(&dest.as_str()) {
                add_option(m, "ro");
            }
        }
    }
    for m in &mut mounts {
        let is_sys = m.destination() == Path::new("/sys");
        let is_cgroup = m.typ().as_deref() == Some("cgroup");
        if (input.privileged && is_sys) || (input.writable_cgroups && is_cgroup) {
            remove_option(m, "ro");
        }
    }
    Ok(MountPlan {
        mounts,
        rootfs_propagation,
    })
}

/// The user's mounts plus /dev/shm for `--ipc host` and the /etc files, in dockerd's order:
/// IPC, tmpfs, binds (parents first), /etc files; then all sorted parents first, stably.
fn user_side(input: &MountInputs, user: Vec<UserMount>, readonly_root: bool) -> Vec<UserMount> {
    let mut out: Vec<UserMount> = Vec::new();
    if input.ipc == IpcMode::Host && !user.iter().any(|m| m.destination == "/dev/shm") {
        out.push(bind("/dev/shm", PathBuf::from("/dev/shm"), true));
    }
    let (tmpfs, mut binds): (Vec<UserMount>, Vec<UserMount>) = user
        .into_iter()
        .partition(|m| matches!(m.kind, UserMountKind::Tmpfs { .. }));
    out.extend(tmpfs);

    // A bind onto one of the /etc files replaces the daemon's file (keeping its read-only-ness).
    let mut etc: Vec<(&str, Option<PathBuf>, bool)> = [
        (ETC_DESTINATIONS[0], input.etc_files.resolv_conf),
        (ETC_DESTINATIONS[1], input.etc_files.hostname),
        (ETC_DESTINATIONS[2], input.etc_files.hosts),
    ]
    .into_iter()
    .map(|(d, p)| (d, p.map(Path::to_path_buf), !readonly_root))
    .collect();
    binds.retain(|b| {
        let UserMountKind::Bind {
            source, writable, ..
        } = &b.kind
        else {
            return true;
        };
        match etc.iter_mut().find(|(d, _, _)| *d == b.destination) {
            Some(slot) => {
                slot.1 = Some(source.clone());
                slot.2 = *writable;
                false
            }
            None => true,
        }
    });
    binds.sort_by_key(|m| depth(&m.destination));
    out.extend(binds);
    out.extend(
        etc.into_iter()
            .filter_map(|(dest, path, writable)| path.map(|source| bind(dest, source, writable))),
    );
    out.sort_by_key(|m| depth(&m.destination));
    out
}

/// A recursive, privately propagating bind of a daemon-provided file or directory.
fn bind(destination: &str, source: PathBuf, writable: bool) -> UserMount {
    UserMount {
        destination: destination.to_string(),
        kind: UserMountKind::Bind {
            source,
            writable,
            propagation: DEFAULT_PROPAGATION.into(),
            non_recursive: false,
        },
    }
}

/// How deep a destination is: its number of separators once cleaned.
fn depth(dest: &str) -> usize {
    dest.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .count()
}

fn to_oci(p: &UserMount, rootfs_propagation: &mut Option<String>) -> Result<Mount, SpecError> {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(&p.destination));
    match &p.kind {
        UserMountKind::Tmpfs { data } => {
            m.set_source(Some(PathBuf::from("tmpfs")));
            let mut options: Vec<String> = ["noexec", "nosuid", "nodev", DEFAULT_PROPAGATION]
                .iter()
                .map(|s| s.to_string())
                .collect();
            if !data.is_empty() {
                options.extend(data.split(',').map(str::to_string));
            }
            m.set_typ(Some("tmpfs".into()));
            m.set_options(Some(tmpfs::merge_options(&options)?));
        }
        UserMountKind::Bind {
            source,
            writable,
            propagation,
            non_recursive,
        } => {
            m.set_source(Some(source.clone()));
            adjust_rootfs_propagation(propagation, rootfs_propagation);
            let mut options = vec![if *non_recursive { "bind" } else { "rbind" }.to_string()];
            if !writable {
                options.push("ro".into());
            }
            options.push(propagation.clone());
            m.set_typ(Some("bind".into()));
            m.set_options(Some(options));
        }
    }
    Ok(m)
}

/// A shared bind needs a shared rootfs, a slave one at least a slave rootfs.
fn adjust_rootfs_propagation(propagation: &str, rootfs: &mut Option<String>) {
    let current = rootfs.as_deref().unwrap_or("");
    let shared = ["shared", "rshared"];
    match propagation {
        "shared" | "rshared" if !shared.contains(&current) => *rootfs = Some("shared".into()),
        "slave" | "rslave" if !["shared", "rshared", "slave", "rslave"].contains(&current) => {
            *rootfs = Some("rslave".into())
        }
        _ => {}
    }
}

fn add_option(m: &mut Mount, opt: &str) {
    let mut options = m.options().clone().unwrap_or_default();
    if !options.iter().any(|o| o == opt) {
        options.push(opt.to_string());
    }
    m.set_options(Some(options));
}

fn remove_option(m: &mut Mount, opt: &str) {
    let options: Vec<String> = m
        .options()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o != opt)
        .collect();
    m.set_options(Some(options));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{
        Mount as ApiMount, MountBindOptions, MountBindOptionsPropagationEnum, MountType,
    };
    use std::collections::HashMap;

    fn etc() -> EtcFiles<'static> {
        EtcFiles {
            resolv_conf: Some(Path::new("/c/resolv.conf")),
            hostname: Some(Path::new("/c/hostname")),
            hosts: Some(Path::new("/c/hosts")),
        }
    }

    fn plan_for(host: &HostConfig, ipc: IpcMode) -> MountPlan {
        let etc = etc();
        let input = MountInputs {
            host,
            etc_files: &etc,
            ipc,
            shm_size: 67108864,
            privileged: host.privileged.unwrap_or(false),
            writable_cgroups: host.privileged.unwrap_or(false),
            init: None,
        };
        match plan(&input) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn dests(p: &MountPlan) -> Vec<String> {
        p.mounts
            .iter()
            .map(|m| m.destination().to_string_lossy().into_owned())
            .collect()
    }

    fn find<'a>(p: &'a MountPlan, dest: &str) -> Option<&'a Mount> {
        p.mounts.iter().find(|m| m.destination() == Path::new(dest))
    }

    fn opts(p: &MountPlan, dest: &str) -> Vec<String> {
        find(p, dest)
            .and_then(|m| m.options().clone())
            .unwrap_or_default()
    }

    #[test]
    fn default_mounts_then_etc_files() {
        let p = plan_for(&HostConfig::default(), IpcMode::Private);
        assert_eq!(
            dests(&p),
            vec![
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm",
                "/etc/resolv.conf",
                "/etc/hostname",
                "/etc/hosts"
            ]
        );
        assert_eq!(
            opts(&p, "/dev/shm"),
            vec!["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
        );
        assert_eq!(opts(&p, "/etc/hosts"), vec!["rbind", "rprivate"]);
        assert_eq!(
            find(&p, "/etc/hosts").and_then(|m| m.source().clone()),
            Some(PathBuf::from("/c/hosts"))
        );
        assert_eq!(p.rootfs_propagation, None);
    }

    #[test]
    fn missing_etc_files_are_skipped() {
        let host = HostConfig::default();
        let etc = EtcFiles::default();
        let input = MountInputs {
            host: &host,
            etc_files: &etc,
            ipc: IpcMode::Private,
            shm_size: 1,
            privileged: false,
            writable_cgroups: false,
            init: None,
        };
        let p = plan(&input).ok();
        assert_eq!(p.map(|p| dests(&p).len()), Some(7));
    }

    #[test]
    fn ipc_none_has_no_shm_and_ipc_host_binds_the_hosts() {
        let p = plan_for(&HostConfig::default(), IpcMode::None);
        assert!(find(&p, "/dev/shm").is_none());
        let p = plan_for(&HostConfig::default(), IpcMode::Host);
        let shm = find(&p, "/dev/shm");
        assert_eq!(shm.and_then(|m| m.typ().clone()).as_deref(), Some("bind"));
        assert_eq!(opts(&p, "/dev/shm"), vec!["rbind", "rprivate"]);
    }

    #[test]
    fn readonly_rootfs_makes_daemon_mounts_ro_but_not_user_or_kernel_ones() {
        let host = HostConfig {
            readonly_rootfs: Some(true),
            tmpfs: Some(HashMap::from([("/run".to_string(), String::new())])),
            ..Default::default()
        };
        let p = plan_for(&host, IpcMode::Private);
        assert_eq!(
            opts(&p, "/run"),
            vec!["noexec", "nosuid", "nodev", "rprivate"]
        );
        assert_eq!(opts(&p, "/etc/hosts"), vec!["rbind", "ro", "rprivate"]);
        assert_eq!(opts(&p, "/sys"), vec!["nosuid", "noexec", "nodev", "ro"]);
        assert!(!opts(&p, "/dev/shm").contains(&"ro".to_string()));
        assert!(!opts(&p, "/proc").contains(&"ro".to_string()));
    }

    #[test]
    fn privileged_sys_and_cgroup_are_writable() {
        let host = HostConfig {
            privileged: Some(true),
            readonly_rootfs: Some(true),
            ..Default::default()
        };
        let p = plan_for(&host, IpcMode::Private);
        assert_eq!(opts(&p, "/sys"), vec!["nosuid", "noexec", "nodev"]);
        assert_eq!(
            opts(&p, "/sys/fs/cgroup"),
            vec!["nosuid", "noexec", "nodev"]
        );
    }

    #[test]
    fn user_mount_replaces_default_and_dev_replaces_everything_below() {
        let host = HostConfig {
            tmpfs: Some(HashMap::from([(
                "/dev/shm".to_string(),
                "size=1m".to_string(),
            )])),
            ..Default::default()
        };
        let p = plan_for(&host, IpcMode::Private);
        assert_eq!(
            opts(&p, "/dev/shm"),
            vec!["noexec", "nosuid", "nodev", "rprivate", "size=1m"]
        );
        assert_eq!(dests(&p).iter().filter(|d| *d == "/dev/shm").count(), 1);

        let host = HostConfig {
            binds: Some(vec!["/hostdev:/dev".into()]),
            ..Default::default()
        };
        let p = plan_for(&host, IpcMode::Private);
        let d = dests(&p);
        assert!(d.contains(&"/dev".to_string()));
        assert!(!d.iter().any(|d| d.starts_with("/dev/")), "{d:?}");
    }

    #[test]
    fn binds_and_ordering_parents_first() {
        let host = HostConfig {
            binds: Some(vec!["/h/deep:/a/b/c:ro".into(), "/h/top:/a".into()]),
            tmpfs: Some(HashMap::from([("/a/t".to_string(), String::new())])),
            ..Default::default()
        };
        let p = plan_for(&host, IpcMode::Private);
        let d = dests(&p);
        let pos = |x: &str| d.iter().position(|y| y == x).unwrap_or(usize::MAX);
        assert!(pos("/a") < pos("/a/t"));
        assert!(pos("/a/t") < pos("/a/b/c"));
        assert!(pos("/etc/hosts") < pos("/a/b/c"));
        assert_eq!(opts(&p, "/a/b/c"), vec!["rbind", "ro", "rprivate"]);
        assert_eq!(opts(&p, "/a"), vec!["rbind", "rprivate"]);
    }

    #[test]
    fn bind_over_etc_file_replaces_the_daemons_file() {
        let host = HostConfig {
            binds: Some(vec!["/my/hosts:/etc/hosts:ro".into()]),
            ..Default::default()
        };
        let p = plan_for(&host, IpcMode::Private);
        let hosts: Vec<&Mount> = p
            .mounts
            .iter()
            .filter(|m| m.destination() == Path::new("/etc/hosts"))
            .collect();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].source().clone(), Some(PathBuf::from("/my/hosts")));
        assert_eq!(opts(&p, "/etc/hosts"), vec!["rbind", "ro", "rprivate"]);
    }

    #[test]
    fn propagation_sets_rootfs_propagation() {
        let mk = |prop| HostConfig {
            mounts: Some(vec![ApiMount {
                typ: Some(MountType::BIND),
                source: Some("/s".into()),
                target: Some("/t".into()),
                bind_options: Some(MountBindOptions {
                    propagation: Some(prop),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let p = plan_for(
            &mk(MountBindOptionsPropagationEnum::RSHARED),
            IpcMode::Private,
        );
        assert_eq!(p.rootfs_propagation.as_deref(), Some("shared"));
        assert_eq!(opts(&p, "/t"), vec!["rbind", "rshared"]);
        let p = plan_for(
            &mk(MountBindOptionsPropagationEnum::SLAVE),
            IpcMode::Private,
        );
        assert_eq!(p.rootfs_propagation.as_deref(), Some("rslave"));
        let p = plan_for(
            &mk(MountBindOptionsPropagationEnum::PRIVATE),
            IpcMode::Private,
        );
        assert_eq!(p.rootfs_propagation, None);
        assert_eq!(opts(&p, "/t"), vec!["rbind", "private"]);
    }

    #[test]
    fn shared_then_slave_keeps_shared() {
        let mut r = None;
        adjust_rootfs_propagation("rshared", &mut r);
        adjust_rootfs_propagation("rslave", &mut r);
        assert_eq!(r.as_deref(), Some("shared"));
    }

    #[test]
    fn non_recursive_bind() {
        let host = HostConfig {
            mounts: Some(vec![ApiMount {
                typ: Some(MountType::BIND),
                source: Some("/s".into()),
                target: Some("/t".into()),
                bind_options: Some(MountBindOptions {
                    non_recursive: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let p = plan_for(&host, IpcMode::Private);
        assert_eq!(opts(&p, "/t"), vec!["bind", "rprivate"]);
    }

    #[test]
    fn bad_tmpfs_option_is_an_error() {
        let host = HostConfig {
            tmpfs: Some(HashMap::from([("/x".to_string(), "bogus".to_string())])),
            ..Default::default()
        };
        let etc = etc();
        let input = MountInputs {
            host: &host,
            etc_files: &etc,
            ipc: IpcMode::Private,
            shm_size: 1,
            privileged: false,
            writable_cgroups: false,
            init: None,
        };
        assert_eq!(
            plan(&input).err().map(|e| e.to_string()).as_deref(),
            Some("invalid tmpfs option \"bogus\"")
        );
    }

    #[test]
    fn init_mount_follows_the_defaults() {
        let host = HostConfig::default();
        let etc = etc();
        let input = MountInputs {
            host: &host,
            etc_files: &etc,
            ipc: IpcMode::Private,
            shm_size: 1,
            privileged: false,
            writable_cgroups: false,
            init: Some(Path::new("/usr/bin/docker-init")),
        };
        let p = match plan(&input) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(dests(&p)[7], "/sbin/docker-init");
        assert_eq!(opts(&p, "/sbin/docker-init"), vec!["bind", "ro"]);
    }
}
