//! Seccomp without libseccomp: compiles an OCI `LinuxSeccomp` profile into classic BPF and loads
//! it with seccomp(2).
//!
//! Behaviour follows runc 1.1 on libseccomp (see `plan.rs` for the details): native ABI plus the
//! listed `architectures` (x86_64, x86, x32, aarch64, arm; others cannot occur on the kernels we
//! build for and are ignored), bad arch -> KILL_THREAD, unknown syscall names skipped, runc's
//! -ENOSYS stub for syscalls newer than the profile, 64-bit argument comparisons on 64-bit ABIs.
//! Not supported: SCMP_ACT_NOTIFY (needs a listener; refused with an error), and libseccomp's
//! rewriting of socket/ipc rules into socketcall/ipc multiplexer rules on x86 (a `socket` rule
//! only covers the direct socket syscall there).
//!
//! Use: the runtime compiles before it forks (`Filter::new`), then calls `Filter::load` as the
//! last step before exec: loading allocates nothing. no_new_privs (or CAP_SYS_ADMIN) is the
//! caller's business.

mod abi;
mod action;
mod bpf;
mod codegen;
mod load;
mod plan;
mod simulate;
mod syscalls;

#[cfg(test)]
mod tests;

use oci_spec::runtime::{Arch, LinuxSeccomp};

pub use bpf::{AsmError, BPF_MAXINSNS};
pub use simulate::{SeccompData, SimulateError, simulate};

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp: no syscall table for architecture {0:?}")]
    UnsupportedArch(Arch),
    #[error(
        "seccomp: {what} uses SCMP_ACT_NOTIFY, which needs a seccomp notify listener; not supported"
    )]
    NotifyUnsupported { what: String },
    #[error("seccomp: {what}: errno {errno} does not fit the 16-bit action data")]
    ErrnoOutOfRange { what: String, errno: u32 },
    #[error("seccomp: {what}: argument index {index} is out of range (syscalls have 6 arguments)")]
    ArgIndex { what: String, index: usize },
    #[error("seccomp: rule {rule} has an empty syscall name")]
    EmptySyscallName { rule: usize },
    #[error(
        "seccomp: the compiled filter has {0} instructions, more than the kernel's limit of {BPF_MAXINSNS}"
    )]
    TooLong(usize),
    #[error("seccomp: internal code generation error: {0}")]
    Asm(#[from] AsmError),
    #[error("seccomp: loading the filter with seccomp(2) failed: {0}")]
    Load(nix::errno::Errno),
    #[error(
        "seccomp: thread {tid} could not be synchronised to the filter (SECCOMP_FILTER_FLAG_TSYNC)"
    )]
    Tsync { tid: libc::c_long },
}

/// Compiles `profile` for a kernel whose native architecture is `arch` (the profile's
/// `architectures` add secondary ABIs such as x86 and x32 on x86_64).
pub fn compile(profile: &LinuxSeccomp, arch: Arch) -> Result<Vec<libc::sock_filter>, SeccompError> {
    let native = abi::Abi::from_arch(arch).ok_or(SeccompError::UnsupportedArch(arch))?;
    let plan = plan::plan(profile, native)?;
    let program = codegen::generate(&plan).assemble()?;
    if program.len() > BPF_MAXINSNS {
        return Err(SeccompError::TooLong(program.len()));
    }
    Ok(program)
}

/// Compiles `profile` for the native architecture and loads it into the calling thread.
pub fn install(profile: &LinuxSeccomp) -> Result<(), SeccompError> {
    Filter::new(profile)?.load()
}

/// A profile compiled for the native architecture, ready to load.
#[derive(Debug, Clone)]
pub struct Filter {
    program: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
}

impl Filter {
    pub fn new(profile: &LinuxSeccomp) -> Result<Filter, SeccompError> {
        Ok(Filter {
            program: compile(profile, Arch::ScmpArchNative)?,
            flags: load::filter_flags(profile.flags().as_deref().unwrap_or_default()),
        })
    }

    pub fn program(&self) -> &[libc::sock_filter] {
        &self.program
    }

    /// The seccomp(2) flags (SECCOMP_FILTER_FLAG_*) the profile asked for.
    pub fn flags(&self) -> libc::c_ulong {
        self.flags
    }

    /// Loads the filter into the calling thread. Allocates nothing, so it is safe between fork
    /// and exec.
    pub fn load(&self) -> Result<(), SeccompError> {
        load::load(&self.program, self.flags)
    }
}
