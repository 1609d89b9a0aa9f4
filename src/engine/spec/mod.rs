//! OCI runtime spec building: a pure function from a container's config to `config.json`.
//! STUB: the real implementation replaces this file.

pub mod seccomp_default;
