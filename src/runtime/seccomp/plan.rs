//! Profile -> plan: for every audit arch, the whole syscall-number space cut into intervals, each
//! with one verdict. Code generation then only has to search intervals and check arguments.
//!
//! The semantics follow runc 1.1 on libseccomp, which is what Docker users get today:
//! - the filter covers the native ABI plus every ABI listed in `architectures`; a syscall from any
//!   other arch gets libseccomp's default "bad arch" action, KILL_THREAD (runc never changes it);
//! - x86_64 and x32 share AUDIT_ARCH_X86_64 and are told apart by the x32 bit in the number; when
//!   x32 is not listed, x32 syscalls get the bad-arch action too, except nr -1 (a tracer skipping a
//!   syscall), which gets the default action, as libseccomp does;
//! - unknown syscall names are skipped; rules whose action equals the default action are dropped;
//! - an unconditional rule for a syscall beats every conditional one (libseccomp keeps the first
//!   unconditional rule and drops conditional chains); conditional rules are tried in profile
//!   order, the first whose conditions all hold wins;
//! - a rule that checks one argument index more than once is split into one rule per condition
//!   (runc's long-standing "old behaviour", which ORs them);
//! - runc's -ENOSYS stub: unless the default action lets syscalls through or already returns
//!   ENOSYS, syscall numbers above the highest one the profile names (per ABI) return ENOSYS, so
//!   programs fall back from syscalls newer than the profile (clone3 -> clone, say).

use std::collections::{BTreeMap, BTreeSet};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompOperator, LinuxSyscall};

use super::SeccompError;
use super::abi::{AUDIT_ARCH_X86_64, Abi, X32_SYSCALL_BIT};
use super::action::{RET_ERRNO, RET_KILL_THREAD, lets_through, ret_value};

/// libseccomp's default action for syscalls from an arch the filter does not cover.
pub(super) const BAD_ARCH_RET: u32 = RET_KILL_THREAD;

/// Linux syscalls take at most six arguments.
const MAX_ARGS: usize = 6;

/// One argument comparison, as in the OCI profile: `arg[index] <op> value`, or for MASKED_EQ
/// `(arg[index] & value) == (value_two & value)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cond {
    pub(super) index: u8,
    pub(super) op: LinuxSeccompOperator,
    pub(super) value: u64,
    pub(super) value_two: u64,
}

/// Conditions that must all hold for `ret` to apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct CondRule {
    pub(super) conds: Vec<Cond>,
    pub(super) ret: u32,
}

/// What the filter does for a syscall number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Ret(u32),
    /// First matching rule wins, else `otherwise`. `wide`: compare all 64 argument bits.
    Rules {
        rules: Vec<CondRule>,
        otherwise: u32,
        wide: bool,
    },
}

/// One audit arch: `intervals[i]` covers `start_i..start_{i+1}` (the last one up to u32::MAX).
#[derive(Debug)]
pub(super) struct ArchPlan {
    pub(super) audit_arch: u32,
    pub(super) intervals: Vec<(u32, Verdict)>,
}

#[derive(Debug)]
pub(super) struct Plan {
    pub(super) arches: Vec<ArchPlan>,
    pub(super) bad_arch_ret: u32,
}

/// Rules for one syscall number on one ABI.
#[derive(Default)]
struct SyscallRules {
    unconditional: Option<u32>,
    conditional: Vec<CondRule>,
}

pub(super) fn plan(profile: &LinuxSeccomp, native: Abi) -> Result<Plan, SeccompError> {
    let default_ret = ret_value(
        profile.default_action(),
        profile.default_errno_ret(),
        "the default action",
    )?;
    let enosys_stub = !lets_through(profile.default_action())
        && profile.default_errno_ret() != Some(libc::ENOSYS as u32);
    let rules = checked_rules(profile.syscalls().as_deref().unwrap_or_default())?;

    let mut abis = BTreeSet::from([native]);
    // Arches we carry no table for cannot occur on a kernel we run on (we only build for
    // x86/arm), so leaving them out changes nothing: they would get the bad-arch action either way.
    abis.extend(
        profile
            .architectures()
            .iter()
            .flatten()
            .filter_map(|a| Abi::from_arch(*a)),
    );

    let mut by_audit: BTreeMap<u32, Vec<(u32, Verdict)>> = BTreeMap::new();
    for abi in &abis {
        let intervals = by_audit.entry(abi.audit_arch()).or_default();
        abi_intervals(*abi, &rules, default_ret, enosys_stub, intervals);
    }
    // x86_64 and x32 split one audit arch; an absent half is bad-arch (see the module docs).
    if let Some(intervals) = by_audit.get_mut(&AUDIT_ARCH_X86_64) {
        if !abis.contains(&Abi::X86_64) {
            intervals.push((0, Verdict::Ret(BAD_ARCH_RET)));
        }
        if !abis.contains(&Abi::X32) {
            intervals.push((X32_SYSCALL_BIT, Verdict::Ret(BAD_ARCH_RET)));
            intervals.push((u32::MAX, Verdict::Ret(default_ret)));
        }
    }
    let mut arches: Vec<ArchPlan> = by_audit
        .into_iter()
        .map(|(audit_arch, intervals)| ArchPlan {
            audit_arch,
            intervals: merged(intervals),
        })
        .collect();
    // Nearly every syscall comes from the native arch: test for it first.
    arches.sort_by_key(|a| a.audit_arch != native.audit_arch());
    Ok(Plan {
        arches,
        bad_arch_ret: BAD_ARCH_RET,
    })
}

/// A profile rule, validated and with its return value computed.
struct Rule<'a> {
    names: &'a [String],
    ret: u32,
    /// Alternatives: the rule applies if all conditions of any one of them hold. Empty means
    /// unconditional.
    alternatives: Vec<Vec<Cond>>,
}

fn checked_rules(syscalls: &[LinuxSyscall]) -> Result<Vec<Rule<'_>>, SeccompError> {
    syscalls
        .iter()
        .enumerate()
        .map(|(i, sc)| {
            let what = format!("rule {i} ({})", sc.names().join(","));
            if sc.names().iter().any(String::is_empty) {
                return Err(SeccompError::EmptySyscallName { rule: i });
            }
            let ret = ret_value(sc.action(), sc.errno_ret(), &what)?;
            let mut conds = Vec::new();
            for arg in sc.args().iter().flatten() {
                let index = u8::try_from(arg.index())
                    .ok()
                    .filter(|i| usize::from(*i) < MAX_ARGS)
                    .ok_or_else(|| SeccompError::ArgIndex {
                        what: what.clone(),
                        index: arg.index(),
                    })?;
                conds.push(Cond {
                    index,
                    op: arg.op(),
                    value: arg.value(),
                    value_two: arg.value_two().unwrap_or(0),
                });
            }
            let repeats_index = conds
                .iter()
                .enumerate()
                .any(|(i, c)| conds[..i].iter().any(|d| d.index == c.index));
            let alternatives = match (conds.is_empty(), repeats_index) {
                (true, _) => Vec::new(),
                (false, false) => vec![conds],
                (false, true) => conds.into_iter().map(|c| vec![c]).collect(),
            };
            Ok(Rule {
                names: sc.names(),
                ret,
                alternatives,
            })
        })
        .collect()
}

/// Appends `abi`'s intervals (covering exactly its number range) to `out`.
fn abi_intervals(
    abi: Abi,
    rules: &[Rule<'_>],
    default_ret: u32,
    enosys_stub: bool,
    out: &mut Vec<(u32, Verdict)>,
) {
    let (lo, hi) = abi.nr_range();
    let mut per_nr: BTreeMap<u32, SyscallRules> = BTreeMap::new();
    let mut highest = None;
    for rule in rules {
        for nr in rule.names.iter().filter_map(|n| abi.syscall_nr(n)) {
            highest = highest.max(Some(nr));
            if rule.ret == default_ret {
                continue;
            }
            let entry = per_nr.entry(nr).or_default();
            if rule.alternatives.is_empty() {
                entry.unconditional.get_or_insert(rule.ret);
            } else {
                entry
                    .conditional
                    .extend(rule.alternatives.iter().map(|conds| CondRule {
                        conds: conds.clone(),
                        ret: rule.ret,
                    }));
            }
        }
    }

    out.push((lo, Verdict::Ret(default_ret)));
    for (nr, rules) in per_nr {
        let verdict = match rules.unconditional {
            Some(ret) => Verdict::Ret(ret),
            None => Verdict::Rules {
                rules: rules.conditional,
                otherwise: default_ret,
                wide: abi.wide_args(),
            },
        };
        out.push((nr, verdict));
        if nr < hi {
            out.push((nr + 1, Verdict::Ret(default_ret)));
        }
    }
    if let Some(highest) = highest.filter(|h| enosys_stub && *h < hi) {
        out.push((highest + 1, Verdict::Ret(RET_ERRNO | libc::ENOSYS as u32)));
    }
}

/// Sorts by start, keeps the last entry for a repeated start, and joins neighbours with equal
/// verdicts.
fn merged(mut intervals: Vec<(u32, Verdict)>) -> Vec<(u32, Verdict)> {
    // Stable sort: for equal starts the later push (the more specific one) comes last.
    intervals.sort_by_key(|(start, _)| *start);
    let mut out: Vec<(u32, Verdict)> = Vec::with_capacity(intervals.len());
    for (start, verdict) in intervals {
        if out.last().is_some_and(|(s, _)| *s == start) {
            out.pop();
        }
        if out.last().is_none_or(|(_, v)| *v != verdict) {
            out.push((start, verdict));
        }
    }
    out
}
