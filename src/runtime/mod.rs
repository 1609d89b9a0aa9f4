//! The OCI runtime library behind `berth-runtime` (runc's role). Synchronous: it forks and clones,
//! which is only safe in a single-threaded process, so it never uses tokio. It imports nothing
//! from the rest of the crate.

pub mod cgroups;
pub mod seccomp;
