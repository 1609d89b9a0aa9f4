//! Where a container's files live.
//! - `<data-root>/containers/<id>/`: its writable layer (`rw/`), json log, hostname, hosts,
//!   resolv.conf: what must survive a reboot.
//! - `<exec-root>/containers/<id>/`: the OCI bundle (`config.json`, `rootfs/` mount point) and the
//!   shim's state (socket, `exit.json`): what lives only while it runs.
//! - `<exec-root>/netns/<id>`: its network namespace.

use std::path::PathBuf;

use crate::engine::Engine;

#[derive(Clone)]
pub struct ContainerPaths {
    pub dir: PathBuf,
    pub rw: PathBuf,
    pub log: PathBuf,
    pub hostname: PathBuf,
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub netns: PathBuf,
}

impl Engine {
    pub fn container_paths(&self, id: &str) -> ContainerPaths {
        let dir = self.config().data_root.join("containers").join(id);
        let bundle = self.config().exec_root.join("containers").join(id);
        ContainerPaths {
            rw: dir.join("rw"),
            log: dir.join(format!("{id}-json.log")),
            hostname: dir.join("hostname"),
            hosts: dir.join("hosts"),
            resolv_conf: dir.join("resolv.conf"),
            rootfs: bundle.join("rootfs"),
            netns: self.config().exec_root.join("netns").join(id),
            bundle,
            dir,
        }
    }
}
