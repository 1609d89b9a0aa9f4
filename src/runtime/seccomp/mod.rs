//! Seccomp: compiles an OCI `LinuxSeccomp` into classic BPF and installs it (STUB: the real
//! implementation replaces this file).
//!
//! Contract: `install(&LinuxSeccomp) -> Result<(), SeccompError>` in the container's init just
//! before exec; `compile(&LinuxSeccomp, arch) -> Result<Vec<libc::sock_filter>, SeccompError>`.

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp is not implemented yet")]
    Unimplemented,
}

pub fn install(_profile: &oci_spec::runtime::LinuxSeccomp) -> Result<(), SeccompError> {
    Err(SeccompError::Unimplemented)
}
