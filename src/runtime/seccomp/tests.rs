//! Compiler tests: programs are run in `simulate` (and checked for well-formedness), plus real
//! tests that load filters into a child process and run busybox under them.

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompOperator as Op};
use serde_json::json;

use super::abi::{AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use super::abi::{Abi, X32_SYSCALL_BIT};
use super::action::*;
use super::bpf::{BPF_JA, BPF_JMP, BPF_RET};
use super::*;

const X32: u32 = X32_SYSCALL_BIT;
const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;
const ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;

fn profile(v: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("test profile is valid OCI JSON")
}

fn compile_x86_64(p: &LinuxSeccomp) -> Vec<libc::sock_filter> {
    let prog = compile(p, Arch::ScmpArchX86_64).expect("compiles");
    check_well_formed(&prog);
    prog
}

/// Every jump lands inside the program and the last instruction returns: the kernel's checks.
fn check_well_formed(prog: &[libc::sock_filter]) {
    assert!(!prog.is_empty() && prog.len() <= BPF_MAXINSNS);
    for (pc, insn) in prog.iter().enumerate() {
        if insn.code & 0x07 == BPF_JMP {
            let targets = if insn.code == BPF_JMP | BPF_JA {
                vec![insn.k as usize]
            } else {
                vec![insn.jt as usize, insn.jf as usize]
            };
            for t in targets {
                assert!(pc + 1 + t < prog.len(), "jump at {pc} leaves the program");
            }
        }
    }
    assert_eq!(prog[prog.len() - 1].code & 0x07, BPF_RET);
}

fn run(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let data = SeccompData {
        nr,
        arch,
        instruction_pointer: 0,
        args,
    };
    simulate(prog, &data).expect("program runs")
}

fn x86_64(prog: &[libc::sock_filter], name: &str, args: [u64; 6]) -> u32 {
    let nr = Abi::X86_64.syscall_nr(name).expect("known syscall");
    run(prog, AUDIT_ARCH_X86_64, nr, args)
}

#[test]
fn every_action_has_its_return_value() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_KILL"},
            {"names": ["rmdir"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["chmod"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["chown"], "action": "SCMP_ACT_TRAP"},
            {"names": ["link"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["unlink"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["rename"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["symlink"], "action": "SCMP_ACT_TRACE"},
            {"names": ["truncate"], "action": "SCMP_ACT_LOG"},
        ]
    }));
    let prog = compile_x86_64(&p);
    let cases = [
        ("mkdir", RET_KILL_THREAD),
        ("rmdir", RET_KILL_THREAD),
        ("chmod", RET_KILL_PROCESS),
        ("chown", RET_TRAP),
        ("link", RET_ERRNO | 13),
        ("unlink", EPERM),
        ("rename", RET_TRACE | 7),
        ("symlink", RET_TRACE | libc::EPERM as u32),
        ("truncate", RET_LOG),
        ("read", RET_ALLOW),
    ];
    for (name, want) in cases {
        assert_eq!(x86_64(&prog, name, [0; 6]), want, "{name}");
    }

    // ALLOW as a rule against a denying default, and the default's own errno.
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
    }));
    let prog = compile_x86_64(&p);
    assert_eq!(x86_64(&prog, "read", [0; 6]), RET_ALLOW);
    assert_eq!(x86_64(&prog, "write", [0; 6]), RET_ERRNO | 38);
}

#[test]
fn notify_is_refused() {
    let rule = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
    }));
    let default = profile(json!({"defaultAction": "SCMP_ACT_NOTIFY"}));
    for p in [rule, default] {
        let err = compile(&p, Arch::ScmpArchX86_64).unwrap_err();
        assert!(
            matches!(err, SeccompError::NotifyUnsupported { .. }),
            "{err}"
        );
    }
}

#[test]
fn invalid_rules_are_errors() {
    let bad_index = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]
    }));
    assert!(matches!(
        compile(&bad_index, Arch::ScmpArchX86_64),
        Err(SeccompError::ArgIndex { index: 6, .. })
    ));
    let bad_errno = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]
    }));
    assert!(matches!(
        compile(&bad_errno, Arch::ScmpArchX86_64),
        Err(SeccompError::ErrnoOutOfRange { errno: 70000, .. })
    ));
    let empty = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["read", ""], "action": "SCMP_ACT_ERRNO"}]
    }));
    assert!(matches!(
        compile(&empty, Arch::ScmpArchX86_64),
        Err(SeccompError::EmptySyscallName { rule: 0 })
    ));
    let p = profile(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
    assert!(matches!(
        compile(&p, Arch::ScmpArchPpc64le),
        Err(SeccompError::UnsupportedArch(Arch::ScmpArchPpc64le))
    ));
}

#[test]
fn unknown_names_are_skipped_and_default_rules_dropped() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["no_such_syscall", "read"], "action": "SCMP_ACT_ALLOW"},
            // Same as the default: dropped, so it cannot shadow the write rule below.
            {"names": ["write"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["write"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 2, "value": 0, "op": "SCMP_CMP_GT"}]},
        ]
    }));
    let prog = compile_x86_64(&p);
    assert_eq!(x86_64(&prog, "read", [0; 6]), RET_ALLOW);
    assert_eq!(x86_64(&prog, "write", [1, 0, 5, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x86_64(&prog, "write", [1, 0, 0, 0, 0, 0]), EPERM);
}

/// What libseccomp means by each operator, on the values the kernel hands over.
fn reference(op: Op, value: u64, value_two: u64, arg: u64) -> bool {
    match op {
        Op::ScmpCmpNe => arg != value,
        Op::ScmpCmpLt => arg < value,
        Op::ScmpCmpLe => arg <= value,
        Op::ScmpCmpEq => arg == value,
        Op::ScmpCmpGe => arg >= value,
        Op::ScmpCmpGt => arg > value,
        Op::ScmpCmpMaskedEq => arg & value == value_two & value,
    }
}

/// Values around every 32-bit boundary, so that high/low half handling is exercised both ways.
const EDGES: [u64; 16] = [
    0,
    1,
    2,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0x1_ffff_ffff,
    0x2_0000_0000,
    0x8000_0000_0000_0000,
    0xffff_ffff_0000_0000,
    0xffff_ffff_0000_0001,
    u64::MAX - 1,
    u64::MAX,
];

const OPS: [(Op, &str); 7] = [
    (Op::ScmpCmpNe, "SCMP_CMP_NE"),
    (Op::ScmpCmpLt, "SCMP_CMP_LT"),
    (Op::ScmpCmpLe, "SCMP_CMP_LE"),
    (Op::ScmpCmpEq, "SCMP_CMP_EQ"),
    (Op::ScmpCmpGe, "SCMP_CMP_GE"),
    (Op::ScmpCmpGt, "SCMP_CMP_GT"),
    (Op::ScmpCmpMaskedEq, "SCMP_CMP_MASKED_EQ"),
];

fn op_profile(name: &str, index: usize, op: &str, value: u64, value_two: u64) -> LinuxSeccomp {
    profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_ARM"],
        "syscalls": [{"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
                      "args": [{"index": index, "value": value, "valueTwo": value_two, "op": op}]}]
    }))
}

#[test]
fn every_operator_compares_64_bit_arguments() {
    let mut checked = 0;
    for (n, (op, op_name)) in OPS.iter().enumerate() {
        for (i, &value) in EDGES.iter().enumerate() {
            let value_two = EDGES[(i * 7 + 3) % EDGES.len()];
            let index = (n + i) % 6;
            let prog = compile_x86_64(&op_profile("ioctl", index, op_name, value, value_two));
            for &arg in &EDGES {
                let mut args = [0x5a5a; 6];
                args[index] = arg;
                let denied = x86_64(&prog, "ioctl", args) == RET_ERRNO | 99;
                assert_eq!(
                    denied,
                    reference(*op, value, value_two, arg),
                    "{op_name} arg{index}={arg:#x} value={value:#x} value_two={value_two:#x}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * 16 * 16);
}

#[test]
fn masked_eq_checks_both_halves() {
    for (mask, datum) in [
        (0xffff_0000_0000_00ff, 0x1234_0000_0000_0042),
        (0x0000_0001_0000_0000, 0x0000_0001_0000_0000),
        (0x7e02_0000, 0),
        (u64::MAX, 0),
    ] {
        let prog = compile_x86_64(&op_profile("clone", 0, "SCMP_CMP_MASKED_EQ", mask, datum));
        for &arg in EDGES
            .iter()
            .chain(&[datum, datum | !mask, datum ^ 1, datum ^ (1 << 40)])
        {
            let denied = x86_64(&prog, "clone", [arg, 0, 0, 0, 0, 0]) == RET_ERRNO | 99;
            assert_eq!(
                denied,
                arg & mask == datum & mask,
                "mask={mask:#x} arg={arg:#x}"
            );
        }
    }
}

#[test]
fn operators_on_32_bit_abis_use_the_low_halves() {
    // i386 and arm hand the filter zero-extended 32-bit arguments; rule values are truncated to
    // 32 bits, as libseccomp does.
    for (op, op_name) in OPS {
        for (i, &value) in EDGES.iter().enumerate() {
            let value_two = EDGES[(i * 5 + 1) % EDGES.len()];
            let p = op_profile("ioctl", 2, op_name, value, value_two);
            let x86 = compile_x86_64(&p);
            let arm = compile(&p, Arch::ScmpArchAarch64).expect("compiles");
            check_well_formed(&arm);
            for &arg in &EDGES {
                let arg32 = u64::from(arg as u32);
                let args = [0, 0, arg32, 0, 0, 0];
                let want = reference(
                    op,
                    u64::from(value as u32),
                    u64::from(value_two as u32),
                    arg32,
                );
                let what =
                    format!("{op_name} value={value:#x} value_two={value_two:#x} arg={arg:#x}");
                let nr = Abi::X86.syscall_nr("ioctl").expect("known");
                assert_eq!(
                    run(&x86, AUDIT_ARCH_I386, nr, args) == RET_ERRNO | 99,
                    want,
                    "{what}"
                );
                let nr = Abi::Arm.syscall_nr("ioctl").expect("known");
                assert_eq!(
                    run(&arm, AUDIT_ARCH_ARM, nr, args) == RET_ERRNO | 99,
                    want,
                    "{what}"
                );
            }
        }
    }
}

#[test]
fn rules_for_one_syscall_combine_like_runc() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            // Conditions within a rule are ANDed.
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]},
            // Rules are ORed: the first that matches decides.
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
             "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]},
            {"names": ["socket"], "action": "SCMP_ACT_LOG",
             "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_GE"}]},
            // The same argument twice: runc splits the rule, so the conditions are ORed.
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            // An unconditional rule beats conditional ones, wherever it stands.
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3,
             "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_ALLOW"},
        ]
    }));
    let prog = compile_x86_64(&p);
    let sock = |a: u64, b: u64| x86_64(&prog, "socket", [a, b, 0, 0, 0, 0]);
    assert_eq!(sock(2, 1), RET_ALLOW);
    assert_eq!(sock(2, 2), EPERM);
    assert_eq!(sock(10, 1), RET_ERRNO | 22);
    assert_eq!(sock(16, 1), RET_LOG);
    assert_eq!(sock(1, 1), EPERM);
    let pers = |a: u64| x86_64(&prog, "personality", [a, 0, 0, 0, 0, 0]);
    assert_eq!(pers(0), RET_ALLOW);
    assert_eq!(pers(8), RET_ALLOW);
    assert_eq!(pers(4), EPERM);
    assert_eq!(x86_64(&prog, "kill", [1, 9, 0, 0, 0, 0]), RET_ALLOW);
}

#[test]
fn foreign_arches_get_the_bad_arch_action() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
    }));
    let prog = compile_x86_64(&p);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 83, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 0, [0; 6]), RET_ALLOW);
    for arch in [AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, 0] {
        assert_eq!(
            run(&prog, arch, 0, [0; 6]),
            RET_KILL_THREAD,
            "arch {arch:#x}"
        );
    }
    // x32 is not listed: its syscalls are a bad arch too, but nr -1 (a tracer skipping a
    // syscall) gets the default action.
    assert_eq!(
        run(&prog, AUDIT_ARCH_X86_64, X32 | 83, [0; 6]),
        RET_KILL_THREAD
    );
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, X32, [0; 6]), RET_KILL_THREAD);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, u32::MAX, [0; 6]), RET_ALLOW);
}

#[test]
fn listed_arches_use_their_own_syscall_numbers() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "rt_sigaction", "socketcall"], "action": "SCMP_ACT_ERRNO"}]
    }));
    let prog = compile_x86_64(&p);
    // The native arch is tested first: it is where nearly every syscall comes from.
    assert_eq!(prog[1].k, AUDIT_ARCH_X86_64);
    // mkdir: 83 on x86_64 and x32, 39 on i386.
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 83, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, X32 | 83, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 39, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 83, [0; 6]), RET_ALLOW); // i386 83 is symlink
    // rt_sigaction: 13 on x86_64, but x32 has its own number (512), and 13 is not it.
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 13, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, X32 | 512, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, X32 | 13, [0; 6]), RET_ALLOW);
    // socketcall exists on i386 only.
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 102, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 102, [0; 6]), RET_ALLOW);
    // Not listed: still a bad arch.
    assert_eq!(run(&prog, AUDIT_ARCH_AARCH64, 34, [0; 6]), RET_KILL_THREAD);

    // aarch64 native with arm as the secondary ABI.
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "syscalls": [{"names": ["mkdirat", "breakpoint"], "action": "SCMP_ACT_ERRNO"}]
    }));
    let prog = compile(&p, Arch::ScmpArchAarch64).expect("compiles");
    check_well_formed(&prog);
    assert_eq!(run(&prog, AUDIT_ARCH_AARCH64, 34, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_ARM, 323, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_ARM, 0x0f_0001, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_ARM, 34, [0; 6]), RET_ALLOW);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 83, [0; 6]), RET_KILL_THREAD);
}

#[test]
fn syscalls_newer_than_the_profile_get_enosys() {
    let allow_list = |extra: serde_json::Value| {
        let mut p = json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["read", "openat"], "action": "SCMP_ACT_ALLOW"}]
        });
        if let (Some(obj), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
            obj.extend(extra.clone());
        }
        compile_x86_64(&profile(p))
    };
    let prog = allow_list(json!({}));
    // openat is 257 on x86_64: above it, ENOSYS; below, unlisted calls get the default.
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 257, [0; 6]), RET_ALLOW);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 200, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 258, [0; 6]), ENOSYS);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 435, [0; 6]), ENOSYS);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, X32 - 1, [0; 6]), ENOSYS);
    // i386: openat is 295.
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 295, [0; 6]), RET_ALLOW);
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 290, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_I386, 296, [0; 6]), ENOSYS);
    // x32 has its own ceiling.
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, X32 | 257, [0; 6]), RET_ALLOW);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, X32 | 100, [0; 6]), EPERM);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, X32 | 300, [0; 6]), ENOSYS);

    // No stub when the default already says ENOSYS, or lets syscalls through.
    let prog = allow_list(json!({"defaultErrnoRet": 38}));
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 300, [0; 6]), ENOSYS);
    assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 100, [0; 6]), ENOSYS);
    for action in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"] {
        let p = profile(json!({
            "defaultAction": action,
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
        }));
        let prog = compile_x86_64(&p);
        let want = ret_value(p.default_action(), None, "").expect("valid");
        assert_eq!(run(&prog, AUDIT_ARCH_X86_64, 400, [0; 6]), want);
    }
}

/// A profile with distinct actions (nothing merges) and argument rules on a third of the
/// syscalls: hundreds of instructions between many jumps and their targets.
#[test]
fn long_jumps_on_a_big_profile() {
    let hit = |nr: u32| u64::from(nr) << 32 | 5;
    // What each x86_64 syscall gets: Some(errno) unconditionally, or an argument rule.
    let unconditional =
        |j: usize, nr: u32| (!nr.is_multiple_of(3) && j.is_multiple_of(2)).then_some(nr + 1);
    let mut syscalls = Vec::new();
    for (j, (name, nr)) in super::syscalls::X86_64.iter().enumerate() {
        if nr.is_multiple_of(3) {
            syscalls.push(
                json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": 4000,
                "args": [{"index": nr % 6, "value": hit(*nr), "op": "SCMP_CMP_EQ"}]}),
            );
        } else if let Some(errno) = unconditional(j, *nr) {
            syscalls.push(json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}));
        }
    }
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls,
    }));
    let prog = compile_x86_64(&p);
    assert!(
        prog.len() > 4 * 256,
        "big enough to need long jumps: {}",
        prog.len()
    );
    assert!(
        prog.iter().any(|i| i.code == BPF_JMP | BPF_JA),
        "uses trampolines"
    );

    for (j, (name, nr)) in super::syscalls::X86_64.iter().enumerate() {
        let mut args = [0u64; 6];
        args[(nr % 6) as usize] = hit(*nr);
        let (want_hit, want_miss) = match unconditional(j, *nr) {
            _ if nr.is_multiple_of(3) => (RET_ERRNO | 4000, RET_ALLOW),
            Some(errno) => (RET_ERRNO | errno, RET_ERRNO | errno),
            None => (RET_ALLOW, RET_ALLOW),
        };
        let got = (
            run(&prog, AUDIT_ARCH_X86_64, *nr, args),
            run(&prog, AUDIT_ARCH_X86_64, *nr, [0; 6]),
        );
        assert_eq!(got, (want_hit, want_miss), "{name} ({nr})");
    }
    // The secondary ABIs still dispatch correctly past all that code.
    // The rules name x86_64's syscalls; i386's mkdir gets what x86_64's (83) got.
    let j = super::syscalls::X86_64
        .iter()
        .position(|(n, _)| *n == "mkdir")
        .expect("known");
    let want = unconditional(j, 83).map_or(RET_ALLOW, |errno| RET_ERRNO | errno);
    let mkdir = Abi::X86.syscall_nr("mkdir").expect("known");
    assert_eq!(run(&prog, AUDIT_ARCH_I386, mkdir, [0; 6]), want);
    assert_eq!(run(&prog, AUDIT_ARCH_AARCH64, 0, [0; 6]), RET_KILL_THREAD);
}

#[test]
fn distinct_actions_for_every_number_stay_correct() {
    // One unconditional rule per syscall, each with its own errno, on all three x86 ABIs.
    let names: Vec<&str> = super::syscalls::X86.iter().map(|(n, _)| *n).collect();
    let syscalls: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"names": [n], "action": "SCMP_ACT_ERRNO", "errnoRet": i + 1}))
        .collect();
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls,
    }));
    let prog = compile_x86_64(&p);
    for (abi, arch) in [
        (Abi::X86_64, AUDIT_ARCH_X86_64),
        (Abi::X86, AUDIT_ARCH_I386),
        (Abi::X32, AUDIT_ARCH_X86_64),
    ] {
        for (i, name) in names.iter().enumerate() {
            if let Some(nr) = abi.syscall_nr(name) {
                assert_eq!(
                    run(&prog, arch, nr, [0; 6]),
                    RET_ERRNO | (i as u32 + 1),
                    "{abi:?} {name}"
                );
            }
        }
    }
}

#[test]
fn too_long_programs_are_refused() {
    let rules: Vec<_> = (0..3000)
        .map(|i| {
            json!({"names": ["ioctl"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 1, "value": i, "op": "SCMP_CMP_EQ"}]})
        })
        .collect();
    let p = profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}));
    assert!(
        matches!(compile(&p, Arch::ScmpArchX86_64), Err(SeccompError::TooLong(n)) if n > BPF_MAXINSNS)
    );
}

#[test]
fn simulate_rejects_malformed_programs() {
    let ret = |k| libc::sock_filter {
        code: BPF_RET,
        jt: 0,
        jf: 0,
        k,
    };
    let ja = |k| libc::sock_filter {
        code: BPF_JMP | BPF_JA,
        jt: 0,
        jf: 0,
        k,
    };
    let data = SeccompData::default();
    assert_eq!(simulate(&[ret(7)], &data), Ok(7));
    assert_eq!(
        simulate(&[ja(5), ret(1)], &data),
        Err(SimulateError::JumpOut { pc: 0 })
    );
    assert_eq!(simulate(&[ja(0)], &data), Err(SimulateError::NoReturn));
    let bad_load = libc::sock_filter {
        code: 0x20,
        jt: 0,
        jf: 0,
        k: 64,
    };
    assert_eq!(
        simulate(&[bad_load, ret(0)], &data),
        Err(SimulateError::BadLoad { pc: 0, offset: 64 })
    );
}

// ---- Real tests: load filters into a child and run busybox under them. ----

const BUSYBOX: &str = "/bin/busybox";

/// Runs `busybox sh -c script` in `dir` with no_new_privs set and `filter` loaded just before exec.
fn busybox_under(filter: Option<&Filter>, dir: &std::path::Path, script: &str) -> Output {
    let mut cmd = Command::new(BUSYBOX);
    cmd.args(["sh", "-c", script])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/bin:/usr/bin");
    let filter = filter.cloned();
    // SAFETY: the closure runs between fork and exec and only makes raw syscalls (prctl, seccomp)
    // through allocation-free code.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            match &filter {
                Some(f) => f.load().map_err(|e| match e {
                    SeccompError::Load(errno) => std::io::Error::from_raw_os_error(errno as i32),
                    _ => std::io::Error::from_raw_os_error(libc::EINVAL),
                }),
                None => Ok(()),
            }
        });
    }
    cmd.output().expect("busybox runs")
}

#[test]
fn real_filter_denies_mkdir_and_world_writable_chmod() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EPERM},
            // Refuse modes with S_IWOTH: chmod(path, mode) and fchmodat(dirfd, path, mode).
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EPERM,
             "args": [{"index": 1, "value": 0o002, "valueTwo": 0o002, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EPERM,
             "args": [{"index": 2, "value": 0o002, "valueTwo": 0o002, "op": "SCMP_CMP_MASKED_EQ"}]},
        ]
    }));
    let filter = Filter::new(&p).expect("compiles");
    let dir = tempfile::tempdir().expect("tempdir");
    let script = "mkdir d; echo mkdir=$?; echo hi > f; echo write=$?; \
                  chmod 644 f; echo chmod644=$?; chmod 666 f; echo chmod666=$?; \
                  ls -l f; cat f";

    let out = busybox_under(Some(&filter), dir.path(), script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("mkdir=1"), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("write=0") && stdout.contains("chmod644=0"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("chmod666=1"), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("-rw-r--r--") && stdout.ends_with("hi\n"),
        "{stdout}"
    );
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    assert!(!dir.path().join("d").exists());

    // Control: the same script without the filter does all of it.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = busybox_under(None, dir.path(), script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("mkdir=0") && stdout.contains("chmod666=0"),
        "{stdout}"
    );
}

#[test]
fn real_filter_kill_process() {
    // KILL_PROCESS on getppid: the shell dies of SIGSYS.
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]
    }));
    let filter = Filter::new(&p).expect("compiles");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = busybox_under(
        Some(&filter),
        dir.path(),
        "echo before; echo $PPID; echo after",
    );
    use std::os::unix::process::ExitStatusExt;
    // busybox sh reads the parent pid at startup: the process dies before printing anything.
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{:?}", out);
}

#[test]
fn profile_flags_reach_seccomp() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
    }));
    let filter = Filter::new(&p).expect("compiles");
    // WAIT_KILLABLE_RECV only matters with a notify listener, which we never create.
    let want = libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    assert_eq!(filter.flags(), want);
    // And the kernel takes them.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = busybox_under(Some(&filter), dir.path(), "mkdir d; echo mkdir=$?");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "mkdir=1\n", "{out:?}");

    let tsync =
        profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_TSYNC"]}));
    let filter = Filter::new(&tsync).expect("compiles");
    assert_eq!(filter.flags(), libc::SECCOMP_FILTER_FLAG_TSYNC);
    let out = busybox_under(Some(&filter), dir.path(), "echo ok");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n", "{out:?}");
}
