//! Plan -> BPF. Layout:
//!
//! ```text
//!   A = arch; one `jeq` per audit arch to its section; else return the bad-arch action
//! section:
//!   A = nr; a binary search (`jge`) over the interval starts; each leaf returns its action or
//!   checks arguments rule by rule
//! ```
//! The search keeps every syscall at about log2(intervals) comparisons, and long jumps are the
//! assembler's problem.

use oci_spec::runtime::LinuxSeccompOperator as Op;

use super::bpf::{Asm, Cmp, Label};
use super::plan::{Cond, CondRule, Plan, Verdict};

/// `struct seccomp_data` offsets (linux/seccomp.h).
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

/// Offsets of the low and high 32-bit halves of argument `index`. Every ABI we support is
/// little-endian, so the low half comes first.
fn arg_offsets(index: u8) -> (u32, u32) {
    let base = OFF_ARGS + 8 * u32::from(index);
    (base, base + 4)
}

pub(super) fn generate(plan: &Plan) -> Asm {
    let mut a = Asm::default();
    a.load(OFF_ARCH);
    let sections: Vec<Label> = plan.arches.iter().map(|_| a.label()).collect();
    for (arch, section) in plan.arches.iter().zip(&sections) {
        let next = a.label();
        a.jump(Cmp::Eq, arch.audit_arch, *section, next);
        a.place(next);
    }
    a.ret(plan.bad_arch_ret);
    for (arch, section) in plan.arches.iter().zip(&sections) {
        a.place(*section);
        a.load(OFF_NR);
        search(&mut a, &arch.intervals);
    }
    a
}

/// Binary search over interval starts; the accumulator holds the syscall number.
fn search(a: &mut Asm, intervals: &[(u32, Verdict)]) {
    match intervals {
        [] => {}
        [(_, verdict)] => leaf(a, verdict),
        _ => {
            let mid = intervals.len() / 2;
            let (upper, lower) = (a.label(), a.label());
            a.jump(Cmp::Ge, intervals[mid].0, upper, lower);
            a.place(lower);
            search(a, &intervals[..mid]);
            a.place(upper);
            search(a, &intervals[mid..]);
        }
    }
}

fn leaf(a: &mut Asm, verdict: &Verdict) {
    match verdict {
        Verdict::Ret(k) => a.ret(*k),
        Verdict::Rules {
            rules,
            otherwise,
            wide,
        } => {
            for CondRule { conds, ret } in rules {
                let fail = a.label();
                for cond in conds {
                    condition(a, cond, *wide, fail);
                }
                a.ret(*ret);
                a.place(fail);
            }
            a.ret(*otherwise);
        }
    }
}

/// Falls through when `cond` holds, jumps to `fail` when not. Clobbers the accumulator.
///
/// 64-bit comparisons decide on the high halves and look at the low halves only when those are
/// equal. On 32-bit ABIs only the low halves exist (the kernel zero-extends arguments), and like
/// libseccomp we compare against the low 32 bits of the rule's values.
fn condition(a: &mut Asm, cond: &Cond, wide: bool, fail: Label) {
    let pass = a.label();
    let (lo_off, hi_off) = arg_offsets(cond.index);
    let split = |v: u64| ((v >> 32) as u32, v as u32);
    let (v_hi, v_lo) = split(cond.value);
    match cond.op {
        Op::ScmpCmpMaskedEq => {
            // `value` is the mask, `value_two` the datum (masked too, as libseccomp does).
            let (m_hi, m_lo) = (v_hi, v_lo);
            let (d_hi, d_lo) = split(cond.value_two & cond.value);
            // A zero high mask makes the high half always match: skip it.
            if wide && m_hi != 0 {
                let next = a.label();
                a.load(hi_off);
                a.and(m_hi);
                a.jump(Cmp::Eq, d_hi, next, fail);
                a.place(next);
            }
            a.load(lo_off);
            a.and(m_lo);
            a.jump(Cmp::Eq, d_lo, pass, fail);
        }
        Op::ScmpCmpEq | Op::ScmpCmpNe => {
            let (on_eq, on_ne) = if cond.op == Op::ScmpCmpEq {
                (pass, fail)
            } else {
                (fail, pass)
            };
            if wide {
                let next = a.label();
                a.load(hi_off);
                a.jump(Cmp::Eq, v_hi, next, on_ne);
                a.place(next);
            }
            a.load(lo_off);
            a.jump(Cmp::Eq, v_lo, on_eq, on_ne);
        }
        Op::ScmpCmpGt | Op::ScmpCmpGe | Op::ScmpCmpLt | Op::ScmpCmpLe => {
            let greater = matches!(cond.op, Op::ScmpCmpGt | Op::ScmpCmpGe);
            if wide {
                // High halves differ: that decides. Equal: go on to the low halves.
                let (above, below) = if greater { (pass, fail) } else { (fail, pass) };
                let (not_above, equal) = (a.label(), a.label());
                a.load(hi_off);
                a.jump(Cmp::Gt, v_hi, above, not_above);
                a.place(not_above);
                a.jump(Cmp::Eq, v_hi, equal, below);
                a.place(equal);
            }
            a.load(lo_off);
            match cond.op {
                Op::ScmpCmpGt => a.jump(Cmp::Gt, v_lo, pass, fail),
                Op::ScmpCmpGe => a.jump(Cmp::Ge, v_lo, pass, fail),
                Op::ScmpCmpLt => a.jump(Cmp::Ge, v_lo, fail, pass),
                _ => a.jump(Cmp::Gt, v_lo, fail, pass), // Le
            }
        }
    }
    a.place(pass);
}
