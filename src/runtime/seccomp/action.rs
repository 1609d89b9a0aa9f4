//! OCI seccomp actions -> the filter's 32-bit return values (linux/seccomp.h SECCOMP_RET_*).

use oci_spec::runtime::LinuxSeccompAction;

use super::SeccompError;

pub(super) const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(super) const RET_KILL_THREAD: u32 = 0x0000_0000;
pub(super) const RET_TRAP: u32 = 0x0003_0000;
pub(super) const RET_ERRNO: u32 = 0x0005_0000;
pub(super) const RET_TRACE: u32 = 0x7ff0_0000;
pub(super) const RET_LOG: u32 = 0x7ffc_0000;
pub(super) const RET_ALLOW: u32 = 0x7fff_0000;

/// runc's value for ERRNO and TRACE when the profile gives none.
const DEFAULT_ERRNO: u32 = libc::EPERM as u32;

/// The return value for `action`, with `errno_ret` as its data where the action takes one.
/// `what` names the rule for error messages.
pub(super) fn ret_value(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    what: &str,
) -> Result<u32, SeccompError> {
    let data = || {
        let errno = errno_ret.unwrap_or(DEFAULT_ERRNO);
        // SECCOMP_RET_DATA is the low 16 bits; anything wider would corrupt the action.
        if errno > 0xffff {
            return Err(SeccompError::ErrnoOutOfRange {
                what: what.to_string(),
                errno,
            });
        }
        Ok(errno)
    };
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => RET_KILL_THREAD,
        LinuxSeccompAction::ScmpActKillProcess => RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => RET_TRAP,
        LinuxSeccompAction::ScmpActErrno => RET_ERRNO | data()?,
        LinuxSeccompAction::ScmpActTrace => RET_TRACE | data()?,
        LinuxSeccompAction::ScmpActLog => RET_LOG,
        LinuxSeccompAction::ScmpActAllow => RET_ALLOW,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(SeccompError::NotifyUnsupported {
                what: what.to_string(),
            });
        }
    })
}

/// Actions that let the syscall run. runc adds no -ENOSYS stub behind these defaults: a program
/// (or tracer) gets to see unknown syscalls as they are.
pub(super) fn lets_through(action: LinuxSeccompAction) -> bool {
    matches!(
        action,
        LinuxSeccompAction::ScmpActAllow
            | LinuxSeccompAction::ScmpActLog
            | LinuxSeccompAction::ScmpActTrace
    )
}
