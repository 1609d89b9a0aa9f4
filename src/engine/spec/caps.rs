//! The container's capability list: Docker's defaults tweaked by `--cap-add`/`--cap-drop`, or all
//! the daemon holds for `--privileged` (moby daemon/pkg/oci/caps).

use super::defaults::{DEFAULT_CAPS, KNOWN_CAPS};
use super::error::SpecError;

const ALL: &str = "ALL";

/// What the daemon may hand out: its own capabilities, or every known one if it could not tell
/// (an empty list), as dockerd falls back to.
pub(crate) fn available(daemon_caps: &[String]) -> Vec<String> {
    if daemon_caps.is_empty() {
        return KNOWN_CAPS.iter().map(|c| c.to_string()).collect();
    }
    daemon_caps
        .iter()
        .map(|c| with_prefix(&c.to_uppercase()))
        .collect()
}

fn with_prefix(c: &str) -> String {
    if c.starts_with("CAP_") {
        c.to_string()
    } else {
        format!("CAP_{c}")
    }
}

/// Upper-cases, adds `CAP_`, keeps `ALL`; refuses names the kernel does not know or the daemon
/// does not hold.
pub(crate) fn normalize(list: &[String], available: &[String]) -> Result<Vec<String>, SpecError> {
    list.iter()
        .map(|c| {
            let c = c.to_uppercase();
            if c == ALL {
                return Ok(c);
            }
            let c = with_prefix(&c);
            if !KNOWN_CAPS.contains(&c.as_str()) {
                Err(SpecError::UnknownCapability(c))
            } else if !available.contains(&c) {
                Err(SpecError::CapabilityUnavailable(c))
            } else {
                Ok(c)
            }
        })
        .collect()
}

/// The final list, in dockerd's order: defaults minus drops, then adds as given.
pub(crate) fn effective(
    cap_add: &[String],
    cap_drop: &[String],
    privileged: bool,
    daemon_caps: &[String],
) -> Result<Vec<String>, SpecError> {
    let available = available(daemon_caps);
    if privileged {
        return Ok(available);
    }
    let defaults = || DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    if cap_add.is_empty() && cap_drop.is_empty() {
        return Ok(defaults());
    }
    let drop = normalize(cap_drop, &available)?;
    let add = normalize(cap_add, &available)?;
    let all = ALL.to_string();
    let caps = if add.contains(&all) {
        available
            .into_iter()
            .filter(|c| !drop.contains(c))
            .collect()
    } else if drop.contains(&all) {
        add
    } else {
        let mut caps: Vec<String> = defaults();
        caps.retain(|c| !drop.contains(c));
        caps.extend(add);
        caps
    };
    Ok(caps)
}

/// Create-time check of both lists, with dockerd's "invalid CapAdd: ..." wording.
pub(crate) fn validate(
    cap_add: &[String],
    cap_drop: &[String],
    daemon_caps: &[String],
) -> Result<(), SpecError> {
    let available = available(daemon_caps);
    for (field, list) in [("CapAdd", cap_add), ("CapDrop", cap_drop)] {
        normalize(list, &available).map_err(|e| SpecError::InvalidCapabilityList {
            field,
            source: Box::new(e),
        })?;
    }
    Ok(())
}

/// oci-spec's typed set (a set: the order of the list is not kept).
pub(crate) fn to_oci(caps: &[String]) -> Result<oci_spec::runtime::Capabilities, SpecError> {
    caps.iter()
        .map(|c| {
            serde_json::from_value(serde_json::Value::String(c.clone()))
                .map_err(|_| SpecError::UnknownCapability(c.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn defaults() -> Vec<String> {
        v(&DEFAULT_CAPS)
    }

    #[test]
    fn no_tweaks_gives_the_defaults_in_order() {
        assert_eq!(effective(&[], &[], false, &[]).ok(), Some(defaults()));
    }

    #[test]
    fn add_and_drop_with_and_without_prefix_any_case() {
        let caps = effective(
            &v(&["net_admin", "CAP_SYS_TIME"]),
            &v(&["chown", "Cap_Mknod"]),
            false,
            &[],
        )
        .unwrap_or_default();
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(!caps.contains(&"CAP_MKNOD".to_string()));
        assert_eq!(caps.len(), 14);
        assert_eq!(&caps[12..], &v(&["CAP_NET_ADMIN", "CAP_SYS_TIME"])[..]);
        assert_eq!(caps[0], "CAP_DAC_OVERRIDE");
    }

    #[test]
    fn drop_all_keeps_only_adds() {
        let caps = effective(&v(&["chown"]), &v(&["all"]), false, &[]).unwrap_or_default();
        assert_eq!(caps, v(&["CAP_CHOWN"]));
        let caps = effective(&[], &v(&["ALL"]), false, &[]).unwrap_or_default();
        assert!(caps.is_empty());
    }

    #[test]
    fn add_all_gives_what_the_daemon_holds_minus_drops() {
        let daemon = v(&["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"]);
        let caps = effective(&v(&["ALL"]), &v(&["NET_RAW"]), false, &daemon).unwrap_or_default();
        assert_eq!(caps, v(&["CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"]));
    }

    #[test]
    fn add_all_wins_over_drop_all() {
        let daemon = v(&["CAP_CHOWN", "CAP_KILL"]);
        let caps = effective(&v(&["ALL"]), &v(&["ALL"]), false, &daemon).unwrap_or_default();
        assert_eq!(caps, daemon);
    }

    #[test]
    fn privileged_is_exactly_the_daemon_caps_whatever_the_tweaks() {
        let daemon = v(&["CAP_CHOWN", "CAP_SYS_ADMIN"]);
        let caps = effective(&v(&["bogus"]), &v(&["CHOWN"]), true, &daemon).unwrap_or_default();
        assert_eq!(caps, daemon);
    }

    #[test]
    fn privileged_with_unknown_daemon_caps_falls_back_to_all_known() {
        let caps = effective(&[], &[], true, &[]).unwrap_or_default();
        assert_eq!(caps.len(), 41);
        assert_eq!(caps[0], "CAP_CHOWN");
        assert_eq!(caps[40], "CAP_CHECKPOINT_RESTORE");
    }

    #[test]
    fn unknown_capability_message_is_dockerds() {
        let err = effective(&v(&["foo"]), &[], false, &[])
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("unknown capability: \"CAP_FOO\""));
    }

    #[test]
    fn capability_missing_from_daemon_is_refused() {
        let daemon = v(&["CAP_CHOWN"]);
        let err = effective(&v(&["SYS_RESOURCE"]), &[], false, &daemon)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "capability not supported by your kernel or not available in the current environment: \"CAP_SYS_RESOURCE\""
            )
        );
    }

    #[test]
    fn daemon_caps_without_prefix_are_understood() {
        let caps = effective(&[], &[], true, &v(&["chown", "kill"])).unwrap_or_default();
        assert_eq!(caps, v(&["CAP_CHOWN", "CAP_KILL"]));
    }

    #[test]
    fn validate_names_the_list() {
        let err = validate(&[], &v(&["nope"]), &[])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("invalid CapDrop: unknown capability: \"CAP_NOPE\"")
        );
        assert!(validate(&v(&["ALL", "net_admin"]), &v(&["all"]), &[]).is_ok());
    }

    #[test]
    fn to_oci_converts_every_known_cap() {
        let set = to_oci(&v(&KNOWN_CAPS)).unwrap_or_default();
        assert_eq!(set.len(), 41);
    }
}
