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
        // Messages say what failed, not where the data root keeps it (the path goes to the log).
        for (d, what) in [
            (&upper, "create the container's writable layer"),
            (&work, "create the container's overlay work directory"),
            (
                &target.to_path_buf(),
                "create the container's root filesystem mount point",
            ),
        ] {
            std::fs::create_dir_all(d).map_err(|e| {
                tracing::warn!(path = %d.display(), error = %e, "{what}");
                io_err(what)(e)
            })?;
        }
        let mut lower: Vec<PathBuf> = layers.iter().rev().map(|l| self.layer_diff(l)).collect();
        if lower.is_empty() {
            // An image without layers (FROM scratch with nothing added): overlay needs a lower.
            let empty = rw_dir.join("empty");
            std::fs::create_dir_all(&empty).map_err(io_err("create empty lower dir"))?;
            lower.push(empty);
        }
        for (l, diff_id) in lower.iter().zip(layers.iter().rev()) {
            if !l.is_dir() {
                tracing::warn!(path = %l.display(), "layer directory missing");
                return Err(ImageError::InvalidArchive(format!(
                    "the image's layer {diff_id} is missing from the image store"
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
        mounted.map_err(|source| {
            tracing::warn!(target = %target.display(), error = %source, "overlay mount failed");
            ImageError::Io {
                context: "mount the container's root filesystem (overlay)".into(),
                source,
            }
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
            umount2(target, MntFlags::MNT_DETACH).map_err(|e| unmount_error(target, e))
        }
        Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(unmount_error(target, e)),
    }
}

fn unmount_error(target: &Path, e: nix::errno::Errno) -> ImageError {
    tracing::warn!(target = %target.display(), error = %e, "unmount failed");
    ImageError::Io {
        context: "unmount the container's root filesystem".into(),
        source: e.into(),
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
