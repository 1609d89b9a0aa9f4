//! OCI runtime spec building: a pure function from a container's config to `config.json`.
//! STUB: the real implementation replaces this file.

use std::path::Path;

use crate::models::{ContainerConfig, HostConfig, ImageConfig};

pub mod seccomp_default;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{0}")]
    Invalid(String),
}

pub enum NetworkMode<'a> {
    Host,
    None_(&'a Path),
    Sandbox(&'a Path),
}

pub struct EtcFiles<'a> {
    pub hostname: &'a Path,
    pub hosts: &'a Path,
    pub resolv_conf: &'a Path,
}

pub struct SpecInput<'a> {
    pub id: &'a str,
    pub config: &'a ContainerConfig,
    pub host: &'a HostConfig,
    pub rootfs: &'a Path,
    pub hostname: &'a str,
    pub network: NetworkMode<'a>,
    pub etc_files: EtcFiles<'a>,
    pub cgroups_path: &'a str,
    pub daemon_caps: &'a [String],
    pub daemon_nofile_hard: u64,
    pub cgroup_version: u8,
}

pub fn merge_image_config(_container: &mut ContainerConfig, _image: &ImageConfig) {}

pub fn build(_input: &SpecInput) -> Result<oci_spec::runtime::Spec, SpecError> {
    Err(SpecError::Invalid(
        "spec building is not implemented yet".into(),
    ))
}
