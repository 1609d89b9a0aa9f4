//! The v1-shaped OCI values converted to what the kernel files take, as runc 1.1 does.

/// cpu.shares [2, 262144] -> cpu.weight [1, 10000], linearly (runc 1.1's formula). Out-of-range
/// shares are clamped first, as the v1 kernel clamps them.
pub(crate) fn cpu_shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// blkio.weight [10, 1000] -> io.weight [1, 10000], linearly.
pub(crate) fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    let weight = u64::from(weight.clamp(10, 1000));
    1 + (weight - 10) * 9999 / 990
}

/// OCI's swap is memory+swap (v1 memsw); v2's memory.swap.max is swap alone. Returns the value
/// for memory.swap.max: None to leave it alone, Some(-1) for "max".
pub(crate) fn swap_v2(memory: i64, swap: i64) -> Result<Option<i64>, String> {
    match (memory, swap) {
        // "Unlimited memory" with swap unset means unlimited swap too, as on v1.
        (-1, 0) => Ok(Some(-1)),
        (_, 0) => Ok(None),
        (_, -1) => Ok(Some(-1)),
        (-1, s) => Ok(Some(s)),
        (0, _) => Err("a swap limit needs a memory limit".into()),
        (m, _) if m < 0 => Err(format!("memory limit {m} is negative")),
        (m, s) if s < m => Err(format!(
            "memory+swap limit {s} is below the memory limit {m}"
        )),
        (m, s) => Ok(Some(s - m)),
    }
}

/// A v2 limit value: -1 (or any negative) is "max".
pub(crate) fn v2_limit(v: i64) -> String {
    if v < 0 { "max".into() } else { v.to_string() }
}

/// pids.max: a positive limit, or "max" for 0 and -1 (Docker's "unlimited").
pub(crate) fn pids_max(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".into()
    }
}

/// cpu.max "$QUOTA $PERIOD": quota <= 0 is "max"; an unset period is the kernel default 100000.
pub(crate) fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let quota = quota.filter(|q| *q != 0);
    let period = period.filter(|p| *p != 0);
    if quota.is_none() && period.is_none() {
        return None;
    }
    let q = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_string(),
    };
    Some(format!("{q} {}", period.unwrap_or(100_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_to_weight_matches_runc_11() {
        assert_eq!(cpu_shares_to_weight(2), 1);
        assert_eq!(cpu_shares_to_weight(1024), 39);
        assert_eq!(cpu_shares_to_weight(512), 20);
        assert_eq!(cpu_shares_to_weight(262_144), 10000);
        assert_eq!(cpu_shares_to_weight(1), 1);
        assert_eq!(cpu_shares_to_weight(1 << 30), 10000);
    }

    #[test]
    fn blkio_weight_conversion() {
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10000);
        assert_eq!(blkio_weight_to_io_weight(300), 2930);
    }

    #[test]
    fn swap_conversion() {
        let m = 256 << 20;
        assert_eq!(swap_v2(m, 512 << 20), Ok(Some(256 << 20)));
        assert_eq!(swap_v2(m, m), Ok(Some(0)));
        assert_eq!(swap_v2(m, -1), Ok(Some(-1)));
        assert_eq!(swap_v2(-1, 0), Ok(Some(-1)));
        assert_eq!(swap_v2(m, 0), Ok(None));
        assert_eq!(swap_v2(-1, 100), Ok(Some(100)));
        assert!(swap_v2(0, 100).is_err());
        assert!(swap_v2(m, m - 1).is_err());
    }

    #[test]
    fn limits_and_cpu_max() {
        assert_eq!(v2_limit(-1), "max");
        assert_eq!(v2_limit(4096), "4096");
        assert_eq!(pids_max(0), "max");
        assert_eq!(pids_max(-1), "max");
        assert_eq!(pids_max(100), "100");
        assert_eq!(
            cpu_max(Some(150_000), Some(100_000)).unwrap(),
            "150000 100000"
        );
        assert_eq!(cpu_max(Some(50_000), None).unwrap(), "50000 100000");
        assert_eq!(cpu_max(Some(-1), Some(20_000)).unwrap(), "max 20000");
        assert_eq!(cpu_max(None, None), None);
        assert_eq!(cpu_max(Some(0), Some(0)), None);
    }
}
