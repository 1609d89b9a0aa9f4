//! `--security-opt` parsing (moby daemon_unix.go parseSecurityOpt).

use super::error::SpecError;

/// What the security options ask for. AppArmor and SELinux labels are accepted and ignored: the
/// daemon runs neither.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SecurityOptions {
    pub no_new_privileges: bool,
    pub writable_cgroups: Option<bool>,
    pub seccomp: Seccomp,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) enum Seccomp {
    /// No option given: Docker's default profile.
    #[default]
    Default,
    Unconfined,
    /// A profile's JSON, as the CLI sends it after reading the file.
    Custom(String),
}

pub(crate) fn parse(opts: &[String]) -> Result<SecurityOptions, SpecError> {
    let mut out = SecurityOptions::default();
    for opt in opts {
        match opt.as_str() {
            "no-new-privileges" => {
                out.no_new_privileges = true;
                continue;
            }
            "writable-cgroups" => {
                out.writable_cgroups = Some(true);
                continue;
            }
            "disable" => continue,
            _ => {}
        }
        // "key=value"; the old "key:value" form is still accepted.
        let (key, value) = opt
            .split_once('=')
            .or_else(|| opt.split_once(':'))
            .ok_or_else(|| SpecError::SecurityOptFormat(opt.clone()))?;
        match key {
            "label" | "apparmor" => {}
            "seccomp" => {
                out.seccomp = match value {
                    "unconfined" => Seccomp::Unconfined,
                    "" | "builtin" => Seccomp::Default,
                    profile => Seccomp::Custom(profile.to_string()),
                }
            }
            "no-new-privileges" => {
                out.no_new_privileges =
                    parse_bool(value).ok_or_else(|| SpecError::SecurityOptValue(opt.clone()))?
            }
            "writable-cgroups" => {
                out.writable_cgroups = Some(
                    parse_bool(value).ok_or_else(|| SpecError::SecurityOptValue(opt.clone()))?,
                )
            }
            _ => return Err(SpecError::SecurityOptValue(opt.clone())),
        }
    }
    Ok(out)
}

/// Go's strconv.ParseBool.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> Result<SecurityOptions, SpecError> {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn nothing() {
        assert_eq!(p(&[]).ok(), Some(SecurityOptions::default()));
    }

    #[test]
    fn no_new_privileges_forms() {
        assert!(p(&["no-new-privileges"]).is_ok_and(|o| o.no_new_privileges));
        assert!(p(&["no-new-privileges=true"]).is_ok_and(|o| o.no_new_privileges));
        assert!(p(&["no-new-privileges:1"]).is_ok_and(|o| o.no_new_privileges));
        assert!(
            p(&["no-new-privileges", "no-new-privileges=false"])
                .is_ok_and(|o| !o.no_new_privileges)
        );
    }

    #[test]
    fn seccomp_forms() {
        assert!(p(&["seccomp=unconfined"]).is_ok_and(|o| o.seccomp == Seccomp::Unconfined));
        assert!(p(&["seccomp:unconfined"]).is_ok_and(|o| o.seccomp == Seccomp::Unconfined));
        assert!(p(&["seccomp=builtin"]).is_ok_and(|o| o.seccomp == Seccomp::Default));
        assert!(
            p(&["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"])
                .is_ok_and(|o| matches!(o.seccomp, Seccomp::Custom(_)))
        );
    }

    #[test]
    fn labels_and_apparmor_are_ignored() {
        assert_eq!(
            p(&[
                "label=disable",
                "label:type:svirt_t",
                "apparmor=unconfined",
                "disable"
            ])
            .ok(),
            Some(SecurityOptions::default())
        );
    }

    #[test]
    fn writable_cgroups() {
        assert!(p(&["writable-cgroups"]).is_ok_and(|o| o.writable_cgroups == Some(true)));
        assert!(p(&["writable-cgroups=false"]).is_ok_and(|o| o.writable_cgroups == Some(false)));
    }

    #[test]
    fn errors_are_dockerds() {
        let e = |o: &str| p(&[o]).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e("bogus"), "invalid --security-opt 1: \"bogus\"");
        assert_eq!(e("bogus=1"), "invalid --security-opt 2: \"bogus=1\"");
        assert_eq!(
            e("no-new-privileges=maybe"),
            "invalid --security-opt 2: \"no-new-privileges=maybe\""
        );
    }
}
