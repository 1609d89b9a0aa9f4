//! Docker's default seccomp profile, as our own data.
//!
//! What it allows matches moby's `profiles/seccomp` (v0.2.3, the profile of Docker 29): deny by
//! default with EPERM; allow a base set of syscalls (grouped by purpose below); allow some calls
//! only with harmless arguments (personality, socket, and clone without namespace flags);
//! allow a few per host architecture; and allow the privileged ones only when the container's
//! bounding set holds the capability that guards them in the kernel anyway.
//!
//! As dockerd does, the profile is built for the host's architecture, and a rule's capability
//! condition is checked against the capabilities the container gets. dockerd also drops rules
//! whose `minKernel` is newer than the host's kernel; the only such rule (ptrace and
//! process_vm_*, from Linux 4.8) is always kept here: Berth needs a far newer kernel.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

/// Docker's default profile for a container holding `caps` (names like "CAP_SYS_ADMIN"), as
/// dockerd builds it on this host.
pub fn default_profile(caps: &[String]) -> LinuxSeccomp {
    default_profile_for_arch(caps, std::env::consts::ARCH)
}

/// The same for a host of architecture `arch` (Rust's `std::env::consts::ARCH` names).
pub fn default_profile_for_arch(caps: &[String], arch: &str) -> LinuxSeccomp {
    let host = HostArch::from_rust(arch);
    let has = |cap: &str| caps.iter().any(|c| c == cap);
    let mut syscalls = vec![allow(BASE.iter().flat_map(|group| group.iter()).copied())];
    syscalls.extend(argument_rules(host, has("CAP_SYS_ADMIN")));
    for (arches, names) in ARCH_ONLY {
        if arches.contains(&host.docker_name) {
            syscalls.push(allow(names.iter().copied()));
        }
    }
    for (cap, names) in CAP_GATED {
        if has(cap) {
            syscalls.push(allow(names.iter().copied()));
        }
    }

    let mut profile = LinuxSeccomp::default();
    profile.set_default_action(LinuxSeccompAction::ScmpActErrno);
    profile.set_default_errno_ret(Some(EPERM));
    if !host.architectures.is_empty() {
        profile.set_architectures(Some(host.architectures.to_vec()));
    }
    profile.set_syscalls(Some(syscalls));
    profile
}

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// Allowed for every container, whatever its capabilities.
const BASE: &[&[&str]] = &[
    FILES,
    XATTRS,
    DESCRIPTORS_AND_EVENTS,
    ASYNC_IO,
    MEMORY,
    FUTEXES,
    PROCESSES,
    SCHEDULING,
    CREDENTIALS,
    SIGNALS,
    TIME,
    SOCKETS,
    SYSV_AND_POSIX_IPC,
    // Reading another process's memory is gated by ptrace access checks in the kernel (>= 4.8
    // also checks seccomp for the tracee), so Docker allows it to all.
    &["process_vm_readv", "process_vm_writev", "ptrace"],
];

#[rustfmt::skip]
const FILES: &[&str] = &[
    "access", "cachestat", "chdir", "chmod", "chown", "chown32", "copy_file_range", "creat",
    "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod",
    "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fdatasync", "flock", "fstat",
    "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
    "futimesat", "getcwd", "getdents", "getdents64", "lchown", "lchown32", "link", "linkat",
    "listmount", "_llseek", "lseek", "lstat", "lstat64", "mkdir", "mkdirat", "mknod", "mknodat",
    "name_to_handle_at", "newfstatat", "open", "openat", "openat2", "pread64", "preadv", "preadv2",
    "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
    "rename", "renameat", "renameat2", "rmdir", "sendfile", "sendfile64", "splice", "stat",
    "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask", "unlink", "unlinkat",
    "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice", "write", "writev",
];

#[rustfmt::skip]
const XATTRS: &[&str] = &[
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "getxattrat", "lgetxattr",
    "listxattr", "listxattrat", "llistxattr", "lremovexattr", "lsetxattr", "removexattr",
    "removexattrat", "setxattr", "setxattrat",
];

#[rustfmt::skip]
const DESCRIPTORS_AND_EVENTS: &[&str] = &[
    "close", "close_range", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd",
    "eventfd2", "fanotify_mark", "fcntl", "fcntl64", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "ioctl", "_newselect", "pipe", "pipe2", "poll", "ppoll",
    "ppoll_time64", "pselect6", "pselect6_time64", "select", "signalfd", "signalfd4",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64",
];

#[rustfmt::skip]
const ASYNC_IO: &[&str] = &[
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup",
    "io_submit", "ioprio_get", "ioprio_set",
];

#[rustfmt::skip]
const MEMORY: &[&str] = &[
    "brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
    "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "mseal", "msync",
    "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "remap_file_pages",
];

#[rustfmt::skip]
const FUTEXES: &[&str] = &[
    "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
    "get_robust_list", "set_robust_list",
];

#[rustfmt::skip]
const PROCESSES: &[&str] = &[
    "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "get_thread_area",
    "getcpu", "getpgid", "getpgrp", "getpid", "getppid", "getrandom", "getrlimit", "getrusage",
    "getsid", "gettid", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64",
    "process_mrelease", "restart_syscall", "riscv_hwprobe", "rseq", "seccomp", "set_thread_area",
    "set_tid_address", "setpgid", "setrlimit", "setsid", "sysinfo", "tgkill", "times", "tkill",
    "ugetrlimit", "uname", "uretprobe", "vfork", "wait4", "waitid", "waitpid",
];

#[rustfmt::skip]
const SCHEDULING: &[&str] = &[
    "getpriority", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "setpriority",
];

#[rustfmt::skip]
const CREDENTIALS: &[&str] = &[
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32", "getuid", "getuid32",
    "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
    "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
    "setreuid", "setreuid32", "setuid", "setuid32",
];

#[rustfmt::skip]
const SIGNALS: &[&str] = &[
    "alarm", "getitimer", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
    "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "setitimer", "sigaltstack", "sigprocmask", "sigreturn",
];

#[rustfmt::skip]
const TIME: &[&str] = &[
    "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
    "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "gettimeofday",
    "nanosleep", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64",
];

/// `socket` itself is in `argument_rules`; socketcall (i386's multiplexer) stays open, so on
/// i386 the socket family restriction can be bypassed, as with Docker.
#[rustfmt::skip]
const SOCKETS: &[&str] = &[
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg",
    "sendto", "setsockopt", "shutdown", "socketcall", "socketpair",
];

#[rustfmt::skip]
const SYSV_AND_POSIX_IPC: &[&str] = &[
    "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt",
    "shmget",
];

/// Calls that only exist, or are only needed, on some architectures (Docker's arch names).
#[rustfmt::skip]
const ARCH_ONLY: &[(&[&str], &[&str])] = &[
    (&["ppc64le"], &["swapcontext", "sync_file_range2"]),
    (&["arm", "arm64"], &[
        "arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls",
        "sync_file_range2",
    ]),
    (&["amd64", "x32"], &["arch_prctl"]),
    (&["amd64", "x32", "x86"], &["modify_ldt"]),
    (&["s390", "s390x"], &["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"]),
    (&["riscv64"], &["riscv_flush_icache"]),
];

/// Calls the kernel already reserves to a capability: allowed when the container holds it.
#[rustfmt::skip]
const CAP_GATED: &[(&str, &[&str])] = &[
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    ("CAP_SYS_ADMIN", &[
        "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
        "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mount",
        "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
        "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
    ]),
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    ("CAP_SYS_MODULE", &["delete_module", "finit_module", "init_module"]),
    ("CAP_SYS_PACCT", &["acct"]),
    ("CAP_SYS_PTRACE", &[
        "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace",
    ]),
    ("CAP_SYS_RAWIO", &["ioperm", "iopl"]),
    ("CAP_SYS_TIME", &["clock_settime", "clock_settime64", "settimeofday", "stime"]),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    ("CAP_SYS_NICE", &["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
];

/// personality(2) values a container may set: PER_LINUX, PER_LINUX32 (0x8), each with
/// UNAME26 (0x20000), and 0xffffffff, which only queries.
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// Address families: AF_ALG (38) and AF_VSOCK (40) reach kernel code containers do not need.
const AF_ALG: u64 = 38;
const AF_VSOCK: u64 = 40;

/// CLONE_NEWNS | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWCGROUP: new namespaces need
/// CAP_SYS_ADMIN.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7e02_0000;

/// Rules that look at arguments.
fn argument_rules(host: HostArch, sys_admin: bool) -> Vec<LinuxSyscall> {
    use LinuxSeccompOperator::{ScmpCmpEq, ScmpCmpGt, ScmpCmpLt, ScmpCmpMaskedEq};
    let mut rules = vec![
        // Every family but AF_ALG and AF_VSOCK (39, between them, is AF_QIPCRTR).
        allow_if("socket", arg(0, ScmpCmpLt, AF_ALG)),
        allow_if("socket", arg(0, ScmpCmpEq, AF_ALG + 1)),
        allow_if("socket", arg(0, ScmpCmpGt, AF_VSOCK)),
    ];
    rules.extend(
        PERSONALITIES
            .iter()
            .map(|p| allow_if("personality", arg(0, ScmpCmpEq, *p))),
    );
    if !sys_admin {
        // s390's clone takes the flags as its second argument.
        let flags_index: usize = if matches!(host.docker_name, "s390" | "s390x") {
            1
        } else {
            0
        };
        rules.push(allow_if(
            "clone",
            LinuxSeccompArgBuilder::default()
                .index(flags_index)
                .op(ScmpCmpMaskedEq)
                .value(CLONE_NAMESPACE_FLAGS)
                .value_two(0u64)
                .build()
                .expect("LinuxSeccompArgBuilder defaults every field"),
        ));
        // clone3 passes its flags in memory, out of a filter's reach: ENOSYS makes libcs fall
        // back to clone, which is checked above.
        let mut clone3 = LinuxSyscall::default();
        clone3.set_names(vec!["clone3".to_string()]);
        clone3.set_action(LinuxSeccompAction::ScmpActErrno);
        clone3.set_errno_ret(Some(ENOSYS));
        rules.push(clone3);
    }
    rules
}

fn allow<'a>(names: impl IntoIterator<Item = &'a str>) -> LinuxSyscall {
    let mut names: Vec<String> = names.into_iter().map(str::to_string).collect();
    names.sort();
    names.dedup();
    let mut rule = LinuxSyscall::default();
    rule.set_names(names);
    rule.set_action(LinuxSeccompAction::ScmpActAllow);
    rule
}

fn allow_if(name: &str, condition: LinuxSeccompArg) -> LinuxSyscall {
    let mut rule = allow([name]);
    rule.set_args(Some(vec![condition]));
    rule
}

fn arg(index: usize, op: LinuxSeccompOperator, value: u64) -> LinuxSeccompArg {
    LinuxSeccompArgBuilder::default()
        .index(index)
        .op(op)
        .value(value)
        .build()
        // The builder defaults every field, so building cannot fail.
        .expect("LinuxSeccompArgBuilder defaults every field")
}

/// The host as dockerd sees it: its libseccomp arch name (for the arch-only rules) and the
/// architectures listed in the profile (native first, then the ABIs its kernel also runs).
#[derive(Clone, Copy)]
struct HostArch {
    docker_name: &'static str,
    architectures: &'static [Arch],
}

impl HostArch {
    fn from_rust(arch: &str) -> HostArch {
        let (docker_name, architectures): (&'static str, &'static [Arch]) = match arch {
            "x86_64" => (
                "amd64",
                &[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
            ),
            "aarch64" => ("arm64", &[Arch::ScmpArchAarch64, Arch::ScmpArchArm]),
            "s390x" => ("s390x", &[Arch::ScmpArchS390x, Arch::ScmpArchS390]),
            "riscv64" => ("riscv64", &[Arch::ScmpArchRiscv64]),
            // dockerd has no architecture list for these, so the profile carries none and
            // the runtime covers only the native ABI.
            "x86" => ("x86", &[]),
            "arm" => ("arm", &[]),
            "powerpc64" => ("ppc64le", &[]),
            "loongarch64" => ("loongarch64", &[]),
            _ => ("", &[]),
        };
        HostArch {
            docker_name,
            architectures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// Rules that mention `name`.
    fn rules_for<'a>(p: &'a LinuxSeccomp, name: &str) -> Vec<&'a LinuxSyscall> {
        p.syscalls()
            .iter()
            .flatten()
            .filter(|r| r.names().iter().any(|n| n == name))
            .collect()
    }

    fn allowed_unconditionally(p: &LinuxSeccomp, name: &str) -> bool {
        rules_for(p, name).iter().any(|r| {
            r.action() == LinuxSeccompAction::ScmpActAllow
                && r.args().as_ref().is_none_or(Vec::is_empty)
        })
    }

    /// Docker's default capability set.
    const DOCKER_CAPS: &[&str] = &[
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ];

    #[test]
    fn denies_with_eperm_by_default() {
        let p = default_profile_for_arch(&caps(DOCKER_CAPS), "x86_64");
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(1));
        assert_eq!(
            p.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        assert!(p.flags().is_none() && p.listener_path().is_none());
    }

    #[test]
    fn base_set_is_dockers_361_calls() {
        let mut names: Vec<&str> = BASE[..BASE.len() - 1]
            .iter()
            .flat_map(|g| g.iter())
            .copied()
            .collect();
        let total = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), total, "a call is listed in two groups");
        assert_eq!(total, 361);
        for denied in [
            "mount",
            "unshare",
            "setns",
            "reboot",
            "kexec_load",
            "socket",
            "clone",
        ] {
            assert!(!names.contains(&denied), "{denied}");
        }
    }

    #[test]
    fn without_sys_admin_namespaces_stay_closed() {
        let p = default_profile_for_arch(&caps(DOCKER_CAPS), "x86_64");
        for name in [
            "mount",
            "umount2",
            "unshare",
            "setns",
            "pivot_root",
            "bpf",
            "sethostname",
        ] {
            assert!(rules_for(&p, name).is_empty(), "{name} must not be allowed");
        }
        let clone = rules_for(&p, "clone");
        assert_eq!(clone.len(), 1);
        let args = clone[0].args().clone().unwrap_or_default();
        assert_eq!(args.len(), 1);
        assert_eq!(args[0].index(), 0);
        assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        assert_eq!(args[0].value(), 0x7e02_0000);
        assert_eq!(args[0].value_two(), Some(0));
        let clone3 = rules_for(&p, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3[0].errno_ret(), Some(38));
        // CAP_SYS_CHROOT is in Docker's default set.
        assert!(allowed_unconditionally(&p, "chroot"));
        assert!(!allowed_unconditionally(&p, "reboot"));
    }

    #[test]
    fn sys_admin_opens_mount_and_namespaces() {
        let p = default_profile_for_arch(&caps(&["CAP_SYS_ADMIN"]), "x86_64");
        for name in [
            "mount", "umount2", "unshare", "setns", "clone", "clone3", "bpf", "fsopen",
        ] {
            assert!(allowed_unconditionally(&p, name), "{name}");
        }
        assert_eq!(rules_for(&p, "clone").len(), 1, "no masked clone rule");
        assert_eq!(rules_for(&p, "clone3").len(), 1, "no clone3 ENOSYS rule");
    }

    #[test]
    fn each_capability_opens_its_calls() {
        for (cap, name) in [
            ("CAP_SYS_PTRACE", "kcmp"),
            ("CAP_SYS_PTRACE", "pidfd_getfd"),
            ("CAP_SYSLOG", "syslog"),
            ("CAP_SYS_TIME", "settimeofday"),
            ("CAP_SYS_MODULE", "finit_module"),
            ("CAP_SYS_BOOT", "reboot"),
            ("CAP_SYS_PACCT", "acct"),
            ("CAP_SYS_NICE", "mbind"),
            ("CAP_SYS_RAWIO", "iopl"),
            ("CAP_SYS_CHROOT", "chroot"),
            ("CAP_SYS_TTY_CONFIG", "vhangup"),
            ("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
            ("CAP_BPF", "bpf"),
            ("CAP_PERFMON", "perf_event_open"),
        ] {
            let without = default_profile_for_arch(&[], "x86_64");
            let with = default_profile_for_arch(&caps(&[cap]), "x86_64");
            assert!(
                !allowed_unconditionally(&without, name),
                "{name} without {cap}"
            );
            assert!(allowed_unconditionally(&with, name), "{name} with {cap}");
        }
    }

    #[test]
    fn argument_rules_match_dockers() {
        let p = default_profile_for_arch(&[], "x86_64");
        let values = |name| -> Vec<(LinuxSeccompOperator, u64)> {
            rules_for(&p, name)
                .iter()
                .flat_map(|r| r.args().clone().unwrap_or_default())
                .map(|a| (a.op(), a.value()))
                .collect()
        };
        use LinuxSeccompOperator::*;
        assert_eq!(
            values("socket"),
            [(ScmpCmpLt, 38), (ScmpCmpEq, 39), (ScmpCmpGt, 40)]
        );
        assert_eq!(
            values("personality"),
            [
                (ScmpCmpEq, 0),
                (ScmpCmpEq, 8),
                (ScmpCmpEq, 0x20000),
                (ScmpCmpEq, 0x20008),
                (ScmpCmpEq, 0xffff_ffff)
            ]
        );
    }

    #[test]
    fn host_arch_picks_arch_rules() {
        let amd64 = default_profile_for_arch(&[], "x86_64");
        assert!(allowed_unconditionally(&amd64, "arch_prctl"));
        assert!(allowed_unconditionally(&amd64, "modify_ldt"));
        assert!(!allowed_unconditionally(&amd64, "set_tls"));

        let arm64 = default_profile_for_arch(&[], "aarch64");
        assert_eq!(
            arm64.architectures().as_deref(),
            Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..])
        );
        assert!(allowed_unconditionally(&arm64, "set_tls"));
        assert!(!allowed_unconditionally(&arm64, "arch_prctl"));

        // s390's clone has its flags in the second argument.
        let s390x = default_profile_for_arch(&[], "s390x");
        let clone = rules_for(&s390x, "clone");
        assert_eq!(clone[0].args().clone().unwrap_or_default()[0].index(), 1);
        assert!(allowed_unconditionally(&s390x, "s390_runtime_instr"));

        let ppc = default_profile_for_arch(&[], "powerpc64");
        assert!(ppc.architectures().is_none());
        assert!(allowed_unconditionally(&ppc, "swapcontext"));
    }
}
