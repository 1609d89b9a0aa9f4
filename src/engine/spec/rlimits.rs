//! `--ulimit` to OCI rlimits. dockerd writes none unless asked (the container then inherits the
//! shim's limits); it checks names and soft <= hard as the docker CLI's parser does.

use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};

use super::error::SpecError;
use crate::models::ResourcesUlimits;

/// The names dockerd accepts ("as" is deliberately absent, as in go-units).
const NAMES: [&str; 15] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// `daemon_nofile_hard` of 0 means unknown: no check.
pub(crate) fn rlimits(
    ulimits: &[ResourcesUlimits],
    daemon_nofile_hard: u64,
) -> Result<Option<Vec<PosixRlimit>>, SpecError> {
    let mut out = Vec::new();
    for u in ulimits {
        let name = u.name.as_deref().unwrap_or("");
        if !NAMES.contains(&name) {
            return Err(SpecError::UlimitType(name.to_string()));
        }
        let soft = u.soft.unwrap_or(0);
        let hard = u.hard.unwrap_or(0);
        if hard != -1 {
            if soft == -1 {
                return Err(SpecError::UlimitSoftUnlimited(hard));
            }
            if soft > hard {
                return Err(SpecError::UlimitSoftAboveHard { soft, hard });
            }
        }
        // -1 is "unlimited", which the kernel spells as all ones.
        let (soft, hard) = (soft as u64, hard as u64);
        if name == "nofile" && daemon_nofile_hard != 0 && hard > daemon_nofile_hard {
            let requested = if hard == u64::MAX {
                "unlimited".to_string()
            } else {
                hard.to_string()
            };
            return Err(SpecError::UlimitAboveDaemon {
                requested,
                daemon: daemon_nofile_hard,
            });
        }
        let typ: PosixRlimitType = serde_json::from_value(serde_json::Value::String(format!(
            "RLIMIT_{}",
            name.to_uppercase()
        )))
        .map_err(|_| SpecError::UlimitType(name.to_string()))?;
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(soft)
                .hard(hard)
                .build()?,
        );
    }
    Ok((!out.is_empty()).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ul(name: &str, soft: i64, hard: i64) -> ResourcesUlimits {
        ResourcesUlimits {
            name: Some(name.into()),
            soft: Some(soft),
            hard: Some(hard),
        }
    }

    #[test]
    fn none_gives_no_rlimits() {
        assert!(rlimits(&[], 20000).is_ok_and(|r| r.is_none()));
    }

    #[test]
    fn nofile_and_nproc() {
        let r = rlimits(&[ul("nofile", 1024, 2048), ul("nproc", 500, 500)], 20000)
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].typ(), r[0].soft(), r[0].hard()),
            (PosixRlimitType::RlimitNofile, 1024, 2048)
        );
        assert_eq!(r[1].typ(), PosixRlimitType::RlimitNproc);
    }

    #[test]
    fn every_accepted_name_maps_to_an_oci_type() {
        for n in NAMES {
            assert!(rlimits(&[ul(n, 1, 1)], 0).is_ok(), "{n}");
        }
    }

    #[test]
    fn unlimited() {
        let r = rlimits(&[ul("core", -1, -1)], 0)
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!((r[0].soft(), r[0].hard()), (u64::MAX, u64::MAX));
        let r = rlimits(&[ul("core", 5, -1)], 0)
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!((r[0].soft(), r[0].hard()), (5, u64::MAX));
    }

    #[test]
    fn errors_are_dockers() {
        let e = |u| {
            rlimits(&[u], 20000)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(e(ul("as", 1, 1)), "invalid ulimit type: as");
        assert_eq!(e(ul("bogus", 1, 1)), "invalid ulimit type: bogus");
        assert_eq!(
            e(ul("nofile", 2048, 1024)),
            "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"
        );
        assert_eq!(
            e(ul("nofile", -1, 1024)),
            "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 1024"
        );
    }

    #[test]
    fn nofile_cannot_exceed_the_daemons_hard_limit() {
        let e = |u| {
            rlimits(&[u], 20000)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            e(ul("nofile", 1024, 30000)),
            "ulimit nofile hard limit 30000 exceeds the daemon's own hard limit 20000"
        );
        assert_eq!(
            e(ul("nofile", 1024, -1)),
            "ulimit nofile hard limit unlimited exceeds the daemon's own hard limit 20000"
        );
        assert!(rlimits(&[ul("nofile", 20000, 20000)], 20000).is_ok());
        assert!(rlimits(&[ul("nofile", 1, 30000)], 0).is_ok());
    }
}
