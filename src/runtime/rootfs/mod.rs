//! The container's filesystem, built by its init in the new mount namespace:
//! 1. `/` becomes rslave (or `linux.rootfsPropagation`) so nothing we mount reaches the host;
//! 2. the rootfs is bind-mounted onto itself (pivot_root needs a mount point) and its parent
//!    mount made private if it is shared (pivot_root refuses shared parents);
//! 3. `mounts` in order, every target resolved inside the rootfs;
//! 4. /dev: device nodes, /dev/ptmx -> pts/ptmx, fd/stdin/stdout/stderr links;
//! 5. the caller's pre-pivot step (createRuntime / createContainer hooks);
//! 6. pivot_root (or move + chroot with --no-pivot).
//!
//! `finalize` runs after pivot: readonly paths, masked paths, read-only root.

pub mod cgroupfs;
pub mod device;
pub mod mount;
pub mod mountinfo;
pub mod paths;
pub mod pivot;
pub mod resolve;
pub mod symlink;

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, Spec};

use self::mount::{MountError, MountOptions};
use self::resolve::TargetKind;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
    #[error(transparent)]
    Device(#[from] device::DeviceError),
    #[error(transparent)]
    Symlink(#[from] symlink::SymlinkError),
    #[error(transparent)]
    Pivot(#[from] pivot::PivotError),
    #[error(transparent)]
    Cgroup(#[from] cgroupfs::CgroupMountError),
    #[error("invalid rootfsPropagation {0:?}")]
    BadPropagation(String),
    #[error("mount destination {0} must be absolute")]
    RelativeDestination(PathBuf),
    #[error("bind mount source {path} is not accessible: {source}")]
    BindSource {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    PrePivot(String),
}

/// Everything the rootfs steps need.
pub struct RootfsPlan<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub no_pivot: bool,
    /// In a new user namespace: devices are bind-mounted, never mknod'ed.
    pub userns: bool,
    pub cgroup_plan: &'a cgroupfs::CgroupMountPlan,
}

fn root_propagation(spec: &Spec) -> Result<Option<u64>, RootfsError> {
    match spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone())
    {
        None => Ok(None),
        Some(p) if p.is_empty() => Ok(None),
        Some(p) => mount::propagation_flags(&p)
            .map(Some)
            .ok_or(RootfsError::BadPropagation(p)),
    }
}

/// Steps 1-6. `before_pivot` runs with all mounts in place and the host root still visible.
pub fn prepare(
    plan: &RootfsPlan,
    before_pivot: impl FnOnce() -> Result<(), String>,
) -> Result<(), RootfsError> {
    let rootfs = plan.rootfs;
    let prop = root_propagation(plan.spec)?;
    mount::set_propagation(
        Path::new("/"),
        prop.unwrap_or(libc::MS_SLAVE | libc::MS_REC),
    )?;
    make_parent_private(rootfs)?;
    mount::mount(rootfs, rootfs, "bind", libc::MS_BIND | libc::MS_REC, "")?;

    let mounts: &[Mount] = plan.spec.mounts().as_deref().unwrap_or(&[]);
    let mut setup_dev = true;
    let mut ro_dev = false;
    for m in mounts {
        let dest = m.destination();
        if !dest.is_absolute() {
            return Err(RootfsError::RelativeDestination(dest.clone()));
        }
        let opts = mount::parse_options(m.options().as_deref().unwrap_or(&[]));
        let is_bind = m.typ().as_deref() == Some("bind") || opts.is_bind();
        if dest == Path::new("/dev") {
            if is_bind {
                setup_dev = false;
            } else if opts.flags & libc::MS_RDONLY != 0 {
                // Devices are created in it first; made read-only once they exist.
                ro_dev = true;
            }
        }
        mount_entry(plan, m, opts, is_bind, ro_dev && dest == Path::new("/dev"))?;
    }

    if setup_dev {
        let devices = plan
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.devices().clone())
            .unwrap_or_default();
        let nodes = device::plan(&devices)?;
        device::create_all(rootfs, &nodes, plan.userns)?;
        symlink::link_ptmx(rootfs)?;
        symlink::create_dev_links(rootfs)?;
    }
    if ro_dev {
        let host = resolve::secure_join(rootfs, Path::new("/dev"))?;
        mount::mount(
            Path::new(""),
            &host,
            "",
            libc::MS_REMOUNT | libc::MS_RDONLY,
            "",
        )?;
    }

    before_pivot().map_err(RootfsError::PrePivot)?;

    if plan.no_pivot {
        pivot::move_root(rootfs)?;
    } else {
        pivot::pivot_root(rootfs)?;
    }
    if let Some(p) = prop {
        mount::set_propagation(Path::new("/"), p)?;
    }
    Ok(())
}

/// pivot_root refuses a new root whose parent mount is shared.
fn make_parent_private(rootfs: &Path) -> Result<(), RootfsError> {
    let Ok(mounts) = mountinfo::read_self() else {
        return Ok(());
    };
    let parent = rootfs.parent().unwrap_or(Path::new("/"));
    if let Some(m) = mountinfo::containing(&mounts, parent)
        && m.is_shared()
    {
        mount::set_propagation(&m.mount_point, libc::MS_PRIVATE)?;
    }
    Ok(())
}

fn mount_entry(
    plan: &RootfsPlan,
    m: &Mount,
    opts: MountOptions,
    is_bind: bool,
    defer_ro: bool,
) -> Result<(), RootfsError> {
    let rootfs = plan.rootfs;
    let dest = m.destination();
    let typ = m.typ().clone().unwrap_or_default();
    if is_bind {
        return bind_entry(plan, m, &opts);
    }
    if typ == "cgroup" {
        let source = m
            .source()
            .clone()
            .unwrap_or_else(|| PathBuf::from("cgroup"));
        return Ok(cgroupfs::mount_cgroup(
            rootfs,
            &source,
            dest,
            &opts,
            plan.cgroup_plan,
        )?);
    }
    let (host, fd) = resolve::create_target(rootfs, dest, TargetKind::Dir)?;
    let source = m
        .source()
        .clone()
        .unwrap_or_else(|| PathBuf::from(typ.clone()));
    let mut flags = opts.flags;
    if defer_ro {
        flags &= !libc::MS_RDONLY;
    }
    let target = resolve::proc_fd_path(&fd);
    let data = opts.data_string();
    match mount::mount(&source, &target, &typ, flags, &data) {
        Ok(()) => {}
        // Without a network namespace of its own (or in a user namespace), sysfs and mqueue
        // cannot be mounted fresh; runc falls back to binding the host's, read-only for sysfs.
        Err(MountError::Mount { source: ref e, .. })
            if e.raw_os_error() == Some(libc::EPERM) && (typ == "sysfs" || typ == "mqueue") =>
        {
            let host_src = if typ == "sysfs" {
                "/sys"
            } else {
                "/dev/mqueue"
            };
            mount::mount(
                Path::new(host_src),
                &target,
                "",
                libc::MS_BIND | libc::MS_REC,
                "",
            )?;
            mount::bind_remount(&host, flags)?;
        }
        Err(e) => return Err(e.into()),
    }
    drop(fd);
    for p in &opts.propagation {
        mount::set_propagation(&host, *p)?;
    }
    Ok(())
}

fn bind_entry(plan: &RootfsPlan, m: &Mount, opts: &MountOptions) -> Result<(), RootfsError> {
    let src = mount::host_source(plan.bundle, m.source().as_deref());
    let meta = fs::metadata(&src).map_err(|source| RootfsError::BindSource {
        path: src.clone(),
        source,
    })?;
    let kind = if meta.is_dir() {
        TargetKind::Dir
    } else {
        TargetKind::File
    };
    let (host, fd) = resolve::create_target(plan.rootfs, m.destination(), kind)?;
    let rec = opts.flags & libc::MS_REC;
    mount::mount(
        &src,
        &resolve::proc_fd_path(&fd),
        "",
        libc::MS_BIND | rec,
        "",
    )?;
    drop(fd);
    let extra = opts.remount_flags();
    if extra != 0 {
        mount::bind_remount(&host, extra | rec)?;
    }
    for p in &opts.propagation {
        mount::set_propagation(&host, *p)?;
    }
    Ok(())
}

/// After pivot_root: readonly paths, masked paths, then the read-only root. The order is runc's:
/// masking last so a read-only bind never uncovers a masked path.
pub fn finalize(spec: &Spec) -> Result<(), RootfsError> {
    if let Some(linux) = spec.linux() {
        for p in linux.readonly_paths().iter().flatten() {
            paths::readonly(Path::new(p))?;
        }
        for p in linux.masked_paths().iter().flatten() {
            paths::mask(Path::new(p))?;
        }
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        paths::readonly_root()?;
    }
    Ok(())
}

/// Binds the terminal's slave onto /dev/console (after pivot).
pub fn mount_console(slave_path: &str) -> Result<(), RootfsError> {
    let console = Path::new("/dev/console");
    if fs::symlink_metadata(console).is_err() {
        fs::write(console, b"").map_err(|source| RootfsError::BindSource {
            path: console.to_path_buf(),
            source,
        })?;
    }
    mount::mount(Path::new(slave_path), console, "", libc::MS_BIND, "")?;
    Ok(())
}
