//! Device access rules: parsed from OCI, folded into the state the v1 devices controller would
//! reach (`DeviceState`), written to devices.allow/deny on v1 or compiled to an eBPF
//! BPF_PROG_TYPE_CGROUP_DEVICE program on v2.

pub(crate) mod bpf;
pub(crate) mod program;
pub(crate) mod state;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::error::CgroupError;

pub(crate) use state::DeviceState;

/// Access bits, valued as the kernel's BPF_DEVCG_ACC_* so the BPF program can use them as is.
pub(crate) const ACC_MKNOD: u8 = 1;
pub(crate) const ACC_READ: u8 = 2;
pub(crate) const ACC_WRITE: u8 = 4;
pub(crate) const ACC_ALL: u8 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// Device kinds, valued as BPF_DEVCG_DEV_* (block 1, char 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DevKind {
    Block = 1,
    Char = 2,
}

impl DevKind {
    fn letter(self) -> char {
        match self {
            DevKind::Block => 'b',
            DevKind::Char => 'c',
        }
    }
}

/// One OCI rule. `kind: None` is "a" (all devices), which the kernel treats as a policy reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceRule {
    pub allow: bool,
    pub kind: Option<DevKind>,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

impl DeviceRule {
    pub fn from_oci(r: &LinuxDeviceCgroup) -> Result<DeviceRule, CgroupError> {
        let kind = match r.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => None,
            LinuxDeviceType::B => Some(DevKind::Block),
            // 'u' (unbuffered) is a character device to the kernel.
            LinuxDeviceType::C | LinuxDeviceType::U => Some(DevKind::Char),
            LinuxDeviceType::P => {
                return Err(CgroupError::Resource {
                    what: "device rule",
                    reason: "type \"p\" (fifo) cannot be a device cgroup rule".into(),
                });
            }
        };
        Ok(DeviceRule {
            allow: r.allow(),
            kind,
            major: number(r.major(), "major")?,
            minor: number(r.minor(), "minor")?,
            access: access_bits(r.access().as_deref())?,
        })
    }

    /// The line for devices.allow/devices.deny, e.g. "c 1:5 rwm" or "a *:* rwm".
    pub fn v1_line(&self) -> String {
        let kind = self.kind.map_or('a', DevKind::letter);
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        format!(
            "{kind} {}:{} {}",
            num(self.major),
            num(self.minor),
            access_string(self.access)
        )
    }
}

/// None and -1 are wildcards.
fn number(n: Option<i64>, what: &'static str) -> Result<Option<u32>, CgroupError> {
    match n {
        None | Some(-1) => Ok(None),
        // The BPF program compares against a signed 32-bit immediate.
        Some(n) if (0..=i64::from(i32::MAX)).contains(&n) => Ok(Some(n as u32)),
        Some(n) => Err(CgroupError::Resource {
            what: "device rule",
            reason: format!("{what} number {n} is out of range"),
        }),
    }
}

fn access_bits(access: Option<&str>) -> Result<u8, CgroupError> {
    let Some(access) = access else {
        return Ok(ACC_ALL);
    };
    if access.is_empty() {
        return Err(CgroupError::Resource {
            what: "device rule",
            reason: "empty access (want a combination of r, w, m)".into(),
        });
    }
    let mut bits = 0;
    for c in access.chars() {
        bits |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            other => {
                return Err(CgroupError::Resource {
                    what: "device rule",
                    reason: format!("access {access:?} has {other:?} (want r, w, m)"),
                });
            }
        };
    }
    Ok(bits)
}

pub(crate) fn access_string(bits: u8) -> String {
    let mut s = String::new();
    if bits & ACC_READ != 0 {
        s.push('r');
    }
    if bits & ACC_WRITE != 0 {
        s.push('w');
    }
    if bits & ACC_MKNOD != 0 {
        s.push('m');
    }
    s
}

pub(crate) fn rules_from_oci(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>, CgroupError> {
    rules.iter().map(DeviceRule::from_oci).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oci(json: &str) -> LinuxDeviceCgroup {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn parses_oci_rules() {
        let r = DeviceRule::from_oci(&oci(r#"{"allow":false,"access":"rwm"}"#)).unwrap();
        assert_eq!(r.kind, None);
        assert_eq!(r.v1_line(), "a *:* rwm");
        let r = DeviceRule::from_oci(&oci(
            r#"{"allow":true,"type":"c","major":136,"access":"rw"}"#,
        ))
        .unwrap();
        assert_eq!(r.v1_line(), "c 136:* rw");
        let r = DeviceRule::from_oci(&oci(r#"{"allow":true,"type":"b","major":-1,"minor":-1}"#))
            .unwrap();
        assert_eq!(r.v1_line(), "b *:* rwm");
        assert!(DeviceRule::from_oci(&oci(r#"{"allow":true,"type":"c","access":"rx"}"#)).is_err());
        assert!(DeviceRule::from_oci(&oci(r#"{"allow":true,"type":"p"}"#)).is_err());
        assert!(
            DeviceRule::from_oci(&oci(r#"{"allow":true,"type":"c","major":4294967296}"#)).is_err()
        );
    }
}
