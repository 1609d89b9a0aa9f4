//! Loading a compiled filter into the calling thread with seccomp(2).

use oci_spec::runtime::LinuxSeccompFilterFlag;

use super::SeccompError;

/// seccomp(2) flags for the profile's `flags`.
pub(super) fn filter_flags(flags: &[LinuxSeccompFilterFlag]) -> libc::c_ulong {
    flags
        .iter()
        .map(|f| match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            // Only changes how a notify listener waits, and we refuse SCMP_ACT_NOTIFY; the kernel
            // would reject it without a listener, so it is dropped (as a no-op) here.
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
        })
        .fold(0, |acc, f| acc | f)
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). Allocation-free, so it may run between fork
/// and exec. Needs no_new_privs or CAP_SYS_ADMIN, else the kernel answers EACCES.
pub(super) fn load(
    program: &[libc::sock_filter],
    flags: libc::c_ulong,
) -> Result<(), SeccompError> {
    let prog = libc::sock_fprog {
        // The compiler caps programs at BPF_MAXINSNS (4096), so this cannot truncate.
        len: program.len() as libc::c_ushort,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `program`, which outlives the call; the kernel copies it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    match rc {
        0 => Ok(()),
        // With TSYNC, a positive result is the id of a thread that could not be synchronised.
        tid if tid > 0 => Err(SeccompError::Tsync { tid }),
        _ => Err(SeccompError::Load(nix::errno::Errno::last())),
    }
}
