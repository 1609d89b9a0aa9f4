//! The container process's own settings, shared by the init and by exec'd processes:
//! validated once in the main process (`ProcessPlan::new`, where warnings can be logged and bad
//! rlimits refused before anything is forked), applied in the child (`apply`) as the last steps
//! before exec.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxSeccomp, PosixRlimitType, Process};

use crate::runtime::capabilities::{self, CapPlan};
use crate::runtime::seccomp;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("args must not be empty")]
    NoArgs,
    #[error("cwd {0:?} must be an absolute path")]
    RelativeCwd(PathBuf),
    #[error(
        "rlimit {name}: hard limit {wanted} is above the runtime's own hard limit {ours}, and raising it needs CAP_SYS_RESOURCE, which the runtime does not hold"
    )]
    RlimitAboveOwn {
        name: String,
        wanted: u64,
        ours: u64,
    },
    #[error("rlimit {name}: soft limit {soft} is above the hard limit {hard}")]
    RlimitSoftAboveHard { name: String, soft: u64, hard: u64 },
    #[error(transparent)]
    Caps(#[from] capabilities::CapError),
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("setrlimit {name}: {source}")]
    Rlimit { name: String, source: io::Error },
    #[error("write /proc/self/oom_score_adj ({value}): {source}")]
    OomScore { value: i32, source: io::Error },
    #[error("set no_new_privs: {0}")]
    NoNewPrivs(io::Error),
    #[error("{what}: {source}")]
    User { what: String, source: io::Error },
    #[error(transparent)]
    Caps(#[from] capabilities::CapError),
    #[error("seccomp: {0}")]
    Seccomp(#[from] seccomp::SeccompError),
    #[error("chdir to cwd ({cwd:?}) set in config.json failed: {source}")]
    Cwd { cwd: PathBuf, source: io::Error },
    #[error("exec: {0:?}: executable file not found in $PATH")]
    NotInPath(String),
    #[error("exec: {arg0:?}: stat {path}: {source}")]
    NotFound {
        arg0: String,
        path: String,
        source: io::Error,
    },
    #[error("exec: {0:?}: is a directory")]
    IsDir(String),
    #[error("exec: {0:?}: permission denied")]
    NotExecutable(String),
    #[error("{0} contains a NUL byte")]
    Nul(String),
}

/// How the child should look when it execs.
#[derive(Debug, Clone)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: u32,
    pub caps: CapPlan,
    pub last_cap: u32,
    /// (resource, name, soft, hard)
    pub rlimits: Vec<(u32, String, u64, u64)>,
    pub no_new_privs: bool,
    pub oom_score_adj: Option<i32>,
    pub terminal: bool,
    pub console_size: (u16, u16),
    pub seccomp: Option<LinuxSeccomp>,
    /// Leave fds 3 .. 3+N open across exec.
    pub preserve_fds: u32,
}

fn rlimit_resource(t: PosixRlimitType) -> u32 {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

fn own_rlimit(resource: u32) -> (u64, u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into our struct.
    unsafe { libc::getrlimit(resource as _, &mut r) };
    (r.rlim_cur, r.rlim_max)
}

/// rlimit values from config.json; `u64::MAX` is RLIM_INFINITY already.
pub fn check_rlimits(
    process: &Process,
    can_raise: bool,
) -> Result<Vec<(u32, String, u64, u64)>, PlanError> {
    let mut out = Vec::new();
    for r in process.rlimits().iter().flatten() {
        let name = r.typ().to_string();
        let res = rlimit_resource(r.typ());
        let (soft, hard) = (r.soft(), r.hard());
        if soft > hard {
            return Err(PlanError::RlimitSoftAboveHard { name, soft, hard });
        }
        let (_, ours) = own_rlimit(res);
        if hard > ours && !can_raise {
            return Err(PlanError::RlimitAboveOwn {
                name,
                wanted: hard,
                ours,
            });
        }
        out.push((res, name, soft, hard));
    }
    Ok(out)
}

impl ProcessPlan {
    /// Validates `process`; returns the plan and warnings to log.
    pub fn new(
        process: &Process,
        seccomp: Option<&LinuxSeccomp>,
        preserve_fds: u32,
    ) -> Result<(ProcessPlan, Vec<String>), PlanError> {
        let args = process.args().clone().unwrap_or_default();
        if args.is_empty() {
            return Err(PlanError::NoArgs);
        }
        let cwd = process.cwd().clone();
        if !cwd.is_absolute() {
            return Err(PlanError::RelativeCwd(cwd));
        }
        let last_cap = capabilities::kernel_last_cap()?;
        let available = capabilities::current_bounding(last_cap);
        let (caps, mut warnings) = capabilities::plan(process.capabilities().as_ref(), available);
        let can_raise =
            capabilities::current_effective()? & (1 << capabilities::CAP_SYS_RESOURCE) != 0;
        let rlimits = check_rlimits(process, can_raise)?;
        if process
            .apparmor_profile()
            .as_deref()
            .is_some_and(|p| !p.is_empty())
        {
            warnings
                .push("AppArmor is not supported here: ignoring process.apparmorProfile".into());
        }
        if process
            .selinux_label()
            .as_deref()
            .is_some_and(|p| !p.is_empty())
        {
            warnings.push("SELinux is not supported here: ignoring process.selinuxLabel".into());
        }
        let user = process.user();
        let size = process.console_size();
        Ok((
            ProcessPlan {
                args,
                env: process.env().clone().unwrap_or_default(),
                cwd,
                uid: user.uid(),
                gid: user.gid(),
                additional_gids: user.additional_gids().clone().unwrap_or_default(),
                umask: user.umask().unwrap_or(0o022),
                caps,
                last_cap,
                rlimits,
                no_new_privs: process.no_new_privileges().unwrap_or(false),
                oom_score_adj: process.oom_score_adj(),
                terminal: process.terminal().unwrap_or(false),
                console_size: size.map_or((0, 0), |b| (b.height() as u16, b.width() as u16)),
                seccomp: seccomp.cloned(),
                preserve_fds,
            },
            warnings,
        ))
    }
}

fn last_os(what: impl Into<String>) -> impl FnOnce(io::Error) -> SetupError {
    let what = what.into();
    move |source| SetupError::User { what, source }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc != 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// What `apply` hands back for the final execve.
pub struct ExecTarget {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
}

/// Applies everything and returns what to exec. Order (runc's, and why):
/// rlimits and oom score while still privileged; stdio handed to the user; no_new_privs;
/// seccomp early only when it must be (no NNP: loading it needs CAP_SYS_ADMIN, which the cap
/// drop removes); bounding set (needs CAP_SETPCAP); user (KEEPCAPS so permitted survives);
/// capsets; cwd as the user; then seccomp as late as possible when NNP allows it.
pub fn apply(plan: &ProcessPlan) -> Result<ExecTarget, (super::message::Stage, SetupError)> {
    use super::message::Stage;
    for (res, name, soft, hard) in &plan.rlimits {
        let r = libc::rlimit {
            rlim_cur: *soft,
            rlim_max: *hard,
        };
        // SAFETY: setrlimit reads our struct.
        check(unsafe { libc::setrlimit(*res as _, &r) }).map_err(|source| {
            (
                Stage::Rlimits,
                SetupError::Rlimit {
                    name: name.clone(),
                    source,
                },
            )
        })?;
    }
    if let Some(v) = plan.oom_score_adj {
        write_oom_score(v).map_err(|e| (Stage::Process, e))?;
    }
    fix_stdio_owner(plan.uid, plan.gid);
    if plan.no_new_privs {
        // SAFETY: prctl with integer arguments.
        check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })
            .map_err(|e| (Stage::Process, SetupError::NoNewPrivs(e)))?;
    }
    if let Some(s) = plan.seccomp.as_ref().filter(|_| !plan.no_new_privs) {
        seccomp::install(s).map_err(|e| (Stage::Seccomp, e.into()))?;
    }
    capabilities::apply_bounding(&plan.caps, plan.last_cap)
        .map_err(|e| (Stage::Capabilities, e.into()))?;
    capabilities::keep_caps().map_err(|e| (Stage::Capabilities, e.into()))?;
    set_user(plan.uid, plan.gid, &plan.additional_gids).map_err(|e| (Stage::User, e))?;
    capabilities::apply_sets(&plan.caps).map_err(|e| (Stage::Capabilities, e.into()))?;
    // SAFETY: umask only changes the process mask.
    unsafe { libc::umask(plan.umask as libc::mode_t) };
    std::env::set_current_dir(&plan.cwd).map_err(|source| {
        (
            Stage::Process,
            SetupError::Cwd {
                cwd: plan.cwd.clone(),
                source,
            },
        )
    })?;
    let env = with_home(&plan.env, plan.uid);
    let target = exec_target(&plan.args, &env).map_err(|e| (Stage::Exec, e))?;
    mark_cloexec_from(3 + plan.preserve_fds);
    if let Some(s) = plan.seccomp.as_ref().filter(|_| plan.no_new_privs) {
        seccomp::install(s).map_err(|e| (Stage::Seccomp, e.into()))?;
    }
    Ok(target)
}

fn write_oom_score(v: i32) -> Result<(), SetupError> {
    let current = fs::read_to_string("/proc/self/oom_score_adj").unwrap_or_default();
    if current.trim() == v.to_string() {
        return Ok(());
    }
    fs::write("/proc/self/oom_score_adj", v.to_string())
        .map_err(|source| SetupError::OomScore { value: v, source })
}

/// Hands the inherited stdio (pipes from the caller, or the pty) to the container user, so a
/// non-root process can reopen /dev/stdout; /dev/null is left alone. Errors are ignored, as
/// runc does (a read-only or foreign file is not ours to fix).
fn fix_stdio_owner(uid: u32, gid: u32) {
    let null_rdev = libc::makedev(1, 3);
    for fd in 0..3 {
        // SAFETY: fstat into a zeroed struct.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to our struct.
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            continue;
        }
        if st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == null_rdev {
            continue;
        }
        if st.st_uid == uid && st.st_gid == gid {
            continue;
        }
        // SAFETY: fchown on an inherited descriptor.
        unsafe { libc::fchown(fd, uid, gid) };
    }
}

/// setgroups (always, so the runtime's own groups never leak in), then gid, then uid.
pub fn set_user(uid: u32, gid: u32, groups: &[u32]) -> Result<(), SetupError> {
    let gids: Vec<libc::gid_t> = groups.to_vec();
    // SAFETY: setgroups reads `len` gids from the pointer.
    let rc = unsafe { libc::setgroups(gids.len(), gids.as_ptr()) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        // In a user namespace whose setgroups is denied, an empty list is already the state.
        if !(gids.is_empty() && e.raw_os_error() == Some(libc::EPERM)) {
            return Err(last_os(format!("setgroups {groups:?}"))(e));
        }
    }
    // SAFETY: plain syscalls with integer arguments.
    check(unsafe { libc::setresgid(gid, gid, gid) }).map_err(last_os(format!("setgid {gid}")))?;
    // SAFETY: as above.
    check(unsafe { libc::setresuid(uid, uid, uid) }).map_err(last_os(format!("setuid {uid}")))?;
    Ok(())
}

/// HOME from the container's /etc/passwd when the config does not set it (runc does this).
fn with_home(env: &[String], uid: u32) -> Vec<String> {
    if env.iter().any(|e| e.starts_with("HOME=")) {
        return env.to_vec();
    }
    let home = fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| home_of(&p, uid))
        .unwrap_or_else(|| "/".to_string());
    let mut out = env.to_vec();
    out.push(format!("HOME={home}"));
    out
}

/// The home directory of `uid` in passwd-format `content`.
pub fn home_of(content: &str, uid: u32) -> Option<String> {
    content.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
    })
}

fn env_value<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// Finds the program as Go's exec.LookPath does, with PATH from the process's environment.
pub fn look_path(arg0: &str, env: &[String]) -> Result<PathBuf, SetupError> {
    let check_file = |p: &Path| -> Result<(), SetupError> {
        let m = fs::metadata(p).map_err(|source| SetupError::NotFound {
            arg0: arg0.to_string(),
            path: p.display().to_string(),
            source,
        })?;
        if m.is_dir() {
            return Err(SetupError::IsDir(arg0.to_string()));
        }
        if m.permissions().mode() & 0o111 == 0 {
            return Err(SetupError::NotExecutable(arg0.to_string()));
        }
        Ok(())
    };
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        check_file(&p)?;
        return Ok(p);
    }
    for dir in env_value(env, "PATH").unwrap_or("").split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let p = Path::new(dir).join(arg0);
        if check_file(&p).is_ok() {
            return Ok(p);
        }
    }
    Err(SetupError::NotInPath(arg0.to_string()))
}

fn cstring(s: &[u8]) -> Result<CString, SetupError> {
    CString::new(s).map_err(|_| SetupError::Nul(String::from_utf8_lossy(s).into_owned()))
}

fn exec_target(args: &[String], env: &[String]) -> Result<ExecTarget, SetupError> {
    let path = look_path(&args[0], env)?;
    Ok(ExecTarget {
        path: cstring(path.as_os_str().as_bytes())?,
        argv: args
            .iter()
            .map(|a| cstring(a.as_bytes()))
            .collect::<Result<_, _>>()?,
        envp: env
            .iter()
            .map(|e| cstring(e.as_bytes()))
            .collect::<Result<_, _>>()?,
    })
}

/// Marks every descriptor from `first` up close-on-exec (Linux 5.11 close_range), so nothing of
/// ours leaks into the container beyond stdio and the preserved ones.
fn mark_cloexec_from(first: u32) {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes descriptor flags here.
    unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
}

/// The kernel's struct sigaction (x86_64/aarch64 layout), for rt_sigaction without glibc, which
/// refuses to touch the two real-time signals it keeps for itself.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

const SIGSET_BYTES: usize = 8;

fn kernel_disposition(sig: libc::c_int) -> Option<usize> {
    let mut old = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: a NULL new action only reads the current one into `old`.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            std::ptr::null::<KernelSigaction>(),
            &mut old,
            SIGSET_BYTES,
        )
    };
    (rc == 0).then_some(old.handler)
}

/// Whether `sig` is currently ignored.
pub fn is_ignored(sig: libc::c_int) -> bool {
    kernel_disposition(sig) == Some(libc::SIG_IGN)
}

/// Signal state the container starts with, as under runc: nothing blocked, every disposition
/// default (handlers reset at execve anyway; ignored ones would survive it), except SIGHUP and
/// SIGINT, which stay ignored when the caller ignored them (nohup). The runtime itself ignores
/// SIGPIPE (Rust's default), which must not leak into the container.
fn reset_signals() {
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if matches!(
            sig,
            libc::SIGKILL | libc::SIGSTOP | libc::SIGHUP | libc::SIGINT
        ) {
            continue;
        }
        if is_ignored(sig) {
            // SAFETY: setting the default disposition from a valid struct.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &default,
                    std::ptr::null_mut::<KernelSigaction>(),
                    SIGSET_BYTES,
                )
            };
        }
    }
    let empty: u64 = 0;
    // SAFETY: an empty mask for this (only) thread, through the raw syscall so glibc's reserved
    // signals are unblocked too.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty,
            std::ptr::null_mut::<u64>(),
            SIGSET_BYTES,
        )
    };
}

/// Replaces the process image. Only returns on failure.
pub fn execve(t: &ExecTarget) -> io::Error {
    reset_signals();
    let mut argv: Vec<*const libc::c_char> = t.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = t.envp.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of C strings that outlive the call.
    unsafe { libc::execve(t.path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_from_passwd() {
        let p =
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
        assert_eq!(home_of(p, 0).as_deref(), Some("/root"));
        assert_eq!(home_of(p, 65534).as_deref(), Some("/nonexistent"));
        assert_eq!(home_of(p, 1000), None);
        let env = with_home(&["HOME=/x".into()], 0);
        assert_eq!(env, vec!["HOME=/x".to_string()]);
    }

    #[test]
    fn look_path_like_go() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(look_path("sh", &env).unwrap().ends_with("sh"));
        let e = look_path("no-such-cmd-xyz", &env).unwrap_err().to_string();
        assert_eq!(
            e,
            "exec: \"no-such-cmd-xyz\": executable file not found in $PATH"
        );
        let e = look_path("/no/such", &env).unwrap_err().to_string();
        assert!(e.starts_with("exec: \"/no/such\": stat /no/such:"), "{e}");
        assert!(matches!(look_path("/", &env), Err(SetupError::IsDir(_))));
        assert!(matches!(
            look_path("/etc/passwd", &env),
            Err(SetupError::NotExecutable(_))
        ));
        assert!(matches!(
            look_path("sh", &[]),
            Err(SetupError::NotInPath(_))
        ));
    }

    #[test]
    fn rlimits_above_our_own_are_refused_without_cap() {
        let mut p = Process::default();
        let (_, hard) = own_rlimit(libc::RLIMIT_NOFILE);
        let rlimit = |soft: u64, hard: u64| -> oci_spec::runtime::PosixRlimit {
            serde_json::from_value(
                serde_json::json!({"type": "RLIMIT_NOFILE", "soft": soft, "hard": hard}),
            )
            .unwrap()
        };
        p.set_rlimits(Some(vec![rlimit(1024, hard.saturating_add(1))]));
        let e = check_rlimits(&p, false).unwrap_err().to_string();
        assert!(e.contains("RLIMIT_NOFILE"), "{e}");
        assert!(e.contains("CAP_SYS_RESOURCE"), "{e}");
        assert!(check_rlimits(&p, true).is_ok());
        p.set_rlimits(Some(vec![rlimit(10, 5)]));
        assert!(matches!(
            check_rlimits(&p, true),
            Err(PlanError::RlimitSoftAboveHard { .. })
        ));
    }
}
