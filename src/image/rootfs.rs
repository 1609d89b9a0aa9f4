//! A container's root filesystem: an overlay of its image layers (read-only, shared) under its own
//! writable layer.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, umount2};

use super::{ImageError, ImageStore, io_err};

/// mount(2) takes one page of options; longer layer lists go through the mount API.
const MAX_MOUNT_DATA: usize = 4095;

impl ImageStore {
    /// Mounts the overlay of `layers` (diff IDs, bottom first) with `rw_dir`/diff as the upper
    /// layer at `target`. Idempotent: an existing overlay mount at `target` is kept.
    pub fn mount_rootfs(
        &self,
        layers: &[String],
        rw_dir: &Path,
        target: &Path,
    ) -> Result<(), ImageError> {
        if is_mountpoint(target) {
            return Ok(());
        }
        let upper = rw_dir.join("diff");
        let work = rw_dir.join("work");
        for d in [&upper, &work, &target.to_path_buf()] {
            std::fs::create_dir_all(d).map_err(io_err(format!("create {}", d.display())))?;
        }
        let mut lower: Vec<PathBuf> = layers.iter().rev().map(|l| self.layer_diff(l)).collect();
        if lower.is_empty() {
            // An image without layers (FROM scratch with nothing added): overlay needs a lower.
            let empty = rw_dir.join("empty");
            std::fs::create_dir_all(&empty).map_err(io_err("create empty lower dir"))?;
            lower.push(empty);
        }
        for l in &lower {
            if !l.is_dir() {
                return Err(ImageError::InvalidArchive(format!(
                    "layer directory {} is missing",
                    l.display()
                )));
            }
        }
        let lowers: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
        let data = format!(
            "lowerdir={},upperdir={},workdir={}",
            lowers.join(":"),
            upper.display(),
            work.display()
        );
        let mounted = if data.len() <= MAX_MOUNT_DATA {
            nix::mount::mount(
                Some("overlay"),
                target,
                Some("overlay"),
                MsFlags::empty(),
                Some(data.as_str()),
            )
            .map_err(std::io::Error::from)
        } else {
            mount_layer_by_layer(&lower, &upper, &work, target).map_err(|e| {
                if e.raw_os_error() == Some(libc::EINVAL) {
                    std::io::Error::other(format!(
                        "{} layers do not fit mount(2)'s options, and this kernel lacks \
                         overlayfs' lowerdir+ (Linux 6.8): {e}",
                        lower.len()
                    ))
                } else {
                    e
                }
            })
        };
        mounted.map_err(|source| ImageError::Io {
            context: format!("mount overlay at {}", target.display()),
            source,
        })
    }

    /// Unmounts a container's root filesystem; a target that is not mounted is fine.
    pub fn unmount_rootfs(&self, target: &Path) -> Result<(), ImageError> {
        unmount(target)
    }
}

/// The overlay through the mount API, one `lowerdir+` per layer (top first, as in `lowerdir`):
/// no limit but overlayfs' own (500 layers), where mount(2) takes one page of options.
fn mount_layer_by_layer(
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> std::io::Result<()> {
    use crate::util::newmount::{FsContext, cstring, move_mount_to};
    let ctx = FsContext::open(c"overlay")?;
    for l in lower {
        ctx.set(c"lowerdir+", &cstring(l)?)?;
    }
    ctx.set(c"upperdir", &cstring(upper)?)?;
    ctx.set(c"workdir", &cstring(work)?)?;
    let mnt = ctx.mount(0)?;
    move_mount_to(&mnt, target)
}

/// Unmounts `target` (lazily if busy, so a stuck process cannot keep the daemon from cleaning up).
pub fn unmount(target: &Path) -> Result<(), ImageError> {
    if !is_mountpoint(target) {
        return Ok(());
    }
    match umount2(target, MntFlags::empty()) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EBUSY) => {
            umount2(target, MntFlags::MNT_DETACH).map_err(|e| ImageError::Io {
                context: format!("unmount {}", target.display()),
                source: e.into(),
            })
        }
        Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(ImageError::Io {
            context: format!("unmount {}", target.display()),
            source: e.into(),
        }),
    }
}

/// True when `path` is the root of a mount (its device differs from its parent's, or it is
/// listed in /proc/self/mountinfo).
pub fn is_mountpoint(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let target = path.display().to_string();
    info.lines()
        .any(|l| l.split(' ').nth(4) == Some(target.as_str()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_is_a_mountpoint() {
        assert!(super::is_mountpoint(std::path::Path::new("/")));
        assert!(!super::is_mountpoint(std::path::Path::new(
            "/definitely/not/here"
        )));
    }
}
