//! The privileged host side of running a container: mounting its root filesystem and making its
//! network namespace. Behind a trait so that an engine over a fake task service can run without
//! root ([`DirsOnly`]); the daemon uses [`Privileged`]. Called off the async runtime (blocking).

use std::path::Path;

use crate::engine::{Error, Result};
use crate::image::ImageStore;

pub trait Host: Send + Sync {
    /// Mounts the image's layers with `rw` on top at `rootfs`.
    fn mount_rootfs(
        &self,
        images: &ImageStore,
        layers: &[String],
        rw: &Path,
        rootfs: &Path,
    ) -> Result<()>;
    fn unmount_rootfs(&self, images: &ImageStore, rootfs: &Path) -> Result<()>;
    /// A fresh network namespace pinned at `netns` (an old one there is removed first).
    fn create_netns(&self, netns: &Path) -> Result<()>;
    fn remove_netns(&self, netns: &Path) -> Result<()>;
}

/// The real thing: overlay mounts and namespaces (needs root).
pub struct Privileged;

impl Host for Privileged {
    fn mount_rootfs(
        &self,
        images: &ImageStore,
        layers: &[String],
        rw: &Path,
        rootfs: &Path,
    ) -> Result<()> {
        Ok(images.mount_rootfs(layers, rw, rootfs)?)
    }

    fn unmount_rootfs(&self, images: &ImageStore, rootfs: &Path) -> Result<()> {
        Ok(images.unmount_rootfs(rootfs)?)
    }

    fn create_netns(&self, netns: &Path) -> Result<()> {
        crate::network::sandbox::remove(netns)
            .and_then(|_| crate::network::sandbox::create(netns))
            .map_err(|e| {
                tracing::warn!(error = ?e, "cannot create the network namespace");
                Error::internal(format!("cannot set up the container's network: {e}"))
            })
    }

    fn remove_netns(&self, netns: &Path) -> Result<()> {
        crate::network::sandbox::remove(netns).map_err(|e| Error::internal(e.to_string()))
    }
}

/// For tests without root: the root filesystem is an empty directory, no namespace is made.
pub struct DirsOnly;

impl Host for DirsOnly {
    fn mount_rootfs(&self, _: &ImageStore, _: &[String], rw: &Path, rootfs: &Path) -> Result<()> {
        for d in [&rw.join("diff"), rootfs] {
            std::fs::create_dir_all(d)
                .map_err(|e| Error::internal(format!("cannot create {}: {e}", d.display())))?;
        }
        Ok(())
    }

    fn unmount_rootfs(&self, _: &ImageStore, _: &Path) -> Result<()> {
        Ok(())
    }

    fn create_netns(&self, _: &Path) -> Result<()> {
        Ok(())
    }

    fn remove_netns(&self, _: &Path) -> Result<()> {
        Ok(())
    }
}
