//! Linux capabilities: names and numbers, what the kernel and the runtime itself hold, and
//! applying a process's five sets. The plan is computed in the runtime's main process (where
//! warnings can be logged); the container's init only applies it.
//!
//! As runc 1.1: names the runtime does not know, and capabilities the kernel lacks, are ignored
//! with a warning. Beyond runc: a capability the runtime itself does not hold (this can happen
//! when the runtime runs with a reduced bounding set) is dropped with a warning instead of
//! failing capset with EPERM.

use std::io;

use oci_spec::runtime::LinuxCapabilities;

#[derive(Debug, thiserror::Error)]
pub enum CapError {
    #[error("cannot read /proc/sys/kernel/cap_last_cap: {0}")]
    LastCap(io::Error),
    #[error("cannot drop {name} from the bounding set: {source}")]
    BoundingDrop { name: String, source: io::Error },
    #[error("capset failed: {0}")]
    Capset(io::Error),
    #[error("capget failed: {0}")]
    Capget(io::Error),
    #[error("cannot clear ambient capabilities: {0}")]
    AmbientClear(io::Error),
    #[error("cannot set PR_SET_KEEPCAPS: {0}")]
    KeepCaps(io::Error),
}

/// Capability numbers from linux/capability.h, in order.
const NAMES: &[&str] = &crate::util::caps::CAP_NAMES;

pub const CAP_SYS_RESOURCE: u32 = 24;

/// The number of a capability name (`CAP_X` or `X`, any case).
pub fn number(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    NAMES.iter().position(|n| *n == full).map(|i| i as u32)
}

pub fn name(num: u32) -> String {
    NAMES
        .get(num as usize)
        .map_or_else(|| format!("CAP_{num}"), |n| (*n).to_string())
}

/// Whether a name is one this runtime (and oci-spec) understands.
pub fn is_known(name: &str) -> bool {
    number(name).is_some()
}

/// The highest capability the running kernel knows.
pub fn kernel_last_cap() -> Result<u32, CapError> {
    let s = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").map_err(CapError::LastCap)?;
    s.trim()
        .parse()
        .map_err(|_| CapError::LastCap(io::Error::new(io::ErrorKind::InvalidData, s)))
}

/// A set of capabilities as a bit mask (bit n = capability n).
pub type CapMask = u64;

/// Which capabilities are in the current bounding set.
pub fn current_bounding(last_cap: u32) -> CapMask {
    let mut mask = 0;
    for cap in 0..=last_cap {
        // SAFETY: PR_CAPBSET_READ only reads.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) } == 1 {
            mask |= 1 << cap;
        }
    }
    mask
}

/// The five sets, after dropping what cannot be had.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CapPlan {
    pub bounding: CapMask,
    pub effective: CapMask,
    pub permitted: CapMask,
    pub inheritable: CapMask,
    pub ambient: CapMask,
}

/// Builds the plan from the spec. `available` is what the kernel knows and the runtime holds;
/// anything else is left out, with a warning in the returned list.
pub fn plan(caps: Option<&LinuxCapabilities>, available: CapMask) -> (CapPlan, Vec<String>) {
    let mut warnings = Vec::new();
    let Some(caps) = caps else {
        return (CapPlan::default(), warnings);
    };
    let mut skipped: Vec<u32> = Vec::new();
    let mut mask_of = |set: &Option<oci_spec::runtime::Capabilities>| -> CapMask {
        let mut m = 0;
        for c in set.iter().flatten() {
            let Some(n) = number(&c.to_string()).or_else(|| number(&format!("{c:?}"))) else {
                continue;
            };
            if available & (1 << n) == 0 {
                if !skipped.contains(&n) {
                    skipped.push(n);
                }
                continue;
            }
            m |= 1 << n;
        }
        m
    };
    let plan = CapPlan {
        bounding: mask_of(caps.bounding()),
        effective: mask_of(caps.effective()),
        permitted: mask_of(caps.permitted()),
        inheritable: mask_of(caps.inheritable()),
        ambient: mask_of(caps.ambient()),
    };
    skipped.sort_unstable();
    if !skipped.is_empty() {
        let names: Vec<String> = skipped.iter().map(|&n| name(n)).collect();
        warnings.push(format!(
            "ignoring unknown or unavailable capabilities: {}",
            names.join(", ")
        ));
    }
    (plan, warnings)
}

/// Drops from the bounding set everything outside `plan.bounding` (needs CAP_SETPCAP, so this
/// runs before the user switch).
pub fn apply_bounding(plan: &CapPlan, last_cap: u32) -> Result<(), CapError> {
    for cap in 0..=last_cap {
        if plan.bounding & (1 << cap) != 0 {
            continue;
        }
        // SAFETY: PR_CAPBSET_DROP with a capability number.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            // EINVAL: the kernel does not know this capability; nothing to drop.
            if e.raw_os_error() == Some(libc::EINVAL) {
                continue;
            }
            return Err(CapError::BoundingDrop {
                name: name(cap),
                source: e,
            });
        }
    }
    Ok(())
}

/// Keeps permitted capabilities across the setuid away from root.
pub fn keep_caps() -> Result<(), CapError> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } != 0 {
        return Err(CapError::KeepCaps(io::Error::last_os_error()));
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

/// Sets effective, permitted and inheritable, then the ambient set. Ambient raises that the
/// kernel refuses (a capability missing from permitted or inheritable) are skipped, as runc.
pub fn apply_sets(plan: &CapPlan) -> Result<(), CapError> {
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: plan.effective as u32,
            permitted: plan.permitted as u32,
            inheritable: plan.inheritable as u32,
        },
        CapData {
            effective: (plan.effective >> 32) as u32,
            permitted: (plan.permitted >> 32) as u32,
            inheritable: (plan.inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and two data structs in the V3 layout the kernel expects.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
    if rc != 0 {
        return Err(CapError::Capset(io::Error::last_os_error()));
    }
    // SAFETY: prctl with integer arguments.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if rc != 0 {
        return Err(CapError::AmbientClear(io::Error::last_os_error()));
    }
    for cap in 0..64u32 {
        if plan.ambient & (1 << cap) != 0 {
            // SAFETY: prctl with integer arguments; failure is tolerated (see above).
            unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    cap as libc::c_ulong,
                    0,
                    0,
                );
            }
        }
    }
    Ok(())
}

/// The calling process's effective set.
pub fn current_effective() -> Result<CapMask, CapError> {
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and room for two data structs.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(CapError::Capget(io::Error::last_os_error()));
    }
    Ok(data[0].effective as u64 | ((data[1].effective as u64) << 32))
}

/// What can be granted: known to the kernel and in the runtime's own bounding set.
pub fn available() -> Result<CapMask, CapError> {
    let last = kernel_last_cap()?;
    Ok(current_bounding(last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{Capabilities, Capability};

    #[test]
    fn names_and_numbers() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("sys_admin"), Some(21));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(number("CAP_NOPE"), None);
        assert_eq!(name(24), "CAP_SYS_RESOURCE");
        assert_eq!(name(63), "CAP_63");
        for (i, n) in NAMES.iter().enumerate() {
            assert_eq!(number(n), Some(i as u32));
        }
    }

    #[test]
    fn oci_spec_names_map_to_our_numbers() {
        // The enum's Display is SCREAMING_SNAKE_CASE without the prefix.
        assert_eq!(number(&Capability::NetBindService.to_string()), Some(10));
        assert_eq!(number(&Capability::SysResource.to_string()), Some(24));
    }

    #[test]
    fn plan_drops_unavailable_with_a_warning() {
        let set: Capabilities = [Capability::Chown, Capability::SysResource, Capability::Kill]
            .into_iter()
            .collect();
        let mut caps = LinuxCapabilities::default();
        caps.set_bounding(Some(set.clone()));
        caps.set_effective(Some(set.clone()));
        caps.set_permitted(Some(set));
        caps.set_inheritable(None);
        caps.set_ambient(None);
        let available: CapMask = ((1u64 << 41) - 1) & !(1 << CAP_SYS_RESOURCE);
        let (p, w) = plan(Some(&caps), available);
        assert_eq!(p.bounding, 1 | (1 << 5));
        assert_eq!(p.effective, p.bounding);
        assert_eq!(p.inheritable, 0);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("CAP_SYS_RESOURCE"), "{w:?}");
        let (p, w) = plan(None, available);
        assert_eq!(p, CapPlan::default());
        assert!(w.is_empty());
    }

    #[test]
    fn we_can_read_our_own_caps() {
        let last = kernel_last_cap().unwrap();
        assert!(last >= 36);
        let bnd = current_bounding(last);
        assert_ne!(bnd, 0);
        current_effective().unwrap();
    }
}
