//! The v1 devices controller's state machine (kernel security/device_cgroup.c), so v2 enforces
//! exactly what the same rules would on v1: a default policy plus a list of exceptions.
//!
//! - "a" rules reset: allow-all or deny-all, exceptions cleared.
//! - A rule that agrees with the default removes its access bits from the exception with the
//!   same type/major/minor; one that disagrees adds (merges) an exception.
//! - Default deny: a request passes if one exception covers all requested access bits.
//!   Default allow: a request fails if one exception shares any requested access bit.

use super::{DevKind, DeviceRule};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exception {
    pub kind: DevKind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceState {
    pub default_allow: bool,
    pub exceptions: Vec<Exception>,
}

impl Default for DeviceState {
    /// A new cgroup under the root starts allowing everything.
    fn default() -> Self {
        DeviceState {
            default_allow: true,
            exceptions: Vec::new(),
        }
    }
}

impl DeviceState {
    pub fn from_rules(rules: &[DeviceRule]) -> DeviceState {
        let mut state = DeviceState::default();
        for rule in rules {
            state.apply(rule);
        }
        state
    }

    pub fn apply(&mut self, rule: &DeviceRule) {
        let Some(kind) = rule.kind else {
            self.default_allow = rule.allow;
            self.exceptions.clear();
            return;
        };
        let same = |e: &Exception| e.kind == kind && e.major == rule.major && e.minor == rule.minor;
        if rule.allow == self.default_allow {
            for e in self.exceptions.iter_mut().filter(|e| same(e)) {
                e.access &= !rule.access;
            }
            self.exceptions.retain(|e| e.access != 0);
        } else if let Some(e) = self.exceptions.iter_mut().find(|e| same(e)) {
            e.access |= rule.access;
        } else if rule.access != 0 {
            self.exceptions.push(Exception {
                kind,
                major: rule.major,
                minor: rule.minor,
                access: rule.access,
            });
        }
    }

    /// The kernel's answer for one access request (the reference the BPF program is tested
    /// against).
    #[cfg(test)]
    pub fn allows(&self, kind: DevKind, major: u32, minor: u32, access: u8) -> bool {
        let hits = |e: &&Exception| {
            e.kind == kind
                && e.major.is_none_or(|m| m == major)
                && e.minor.is_none_or(|m| m == minor)
        };
        if self.default_allow {
            !self
                .exceptions
                .iter()
                .filter(hits)
                .any(|e| e.access & access != 0)
        } else {
            self.exceptions
                .iter()
                .filter(hits)
                .any(|e| access & !e.access == 0)
        }
    }

    /// Parses devices.list: "a *:* rwm" alone means allow-all (the kernel shows nothing more
    /// then); otherwise the lines are the allow exceptions of a default-deny cgroup.
    pub fn from_v1_list(text: &str) -> Option<DeviceState> {
        let mut state = DeviceState {
            default_allow: false,
            exceptions: Vec::new(),
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut parts = line.split_whitespace();
            let (kind, numbers, access) = (parts.next()?, parts.next()?, parts.next()?);
            let (major, minor) = numbers.split_once(':')?;
            let num = |s: &str| -> Option<Option<u32>> {
                if s == "*" {
                    Some(None)
                } else {
                    s.parse().ok().map(Some)
                }
            };
            let mut bits = 0;
            for c in access.chars() {
                bits |= match c {
                    'r' => super::ACC_READ,
                    'w' => super::ACC_WRITE,
                    'm' => super::ACC_MKNOD,
                    _ => return None,
                };
            }
            let kind = match kind {
                "a" => return Some(DeviceState::default()),
                "b" => DevKind::Block,
                "c" => DevKind::Char,
                _ => return None,
            };
            state.exceptions.push(Exception {
                kind,
                major: num(major)?,
                minor: num(minor)?,
                access: bits,
            });
        }
        Some(state)
    }

    /// Same policy, ignoring the order of exceptions.
    pub fn same_as(&self, other: &DeviceState) -> bool {
        self.default_allow == other.default_allow
            && self.exceptions.len() == other.exceptions.len()
            && self.exceptions.iter().all(|e| other.exceptions.contains(e))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ACC_ALL, ACC_MKNOD, ACC_READ, ACC_WRITE};
    use super::*;

    fn rule(
        allow: bool,
        kind: Option<DevKind>,
        major: Option<u32>,
        minor: Option<u32>,
        access: u8,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access,
        }
    }

    #[test]
    fn docker_style_deny_all_then_allow_list() {
        let s = DeviceState::from_rules(&[
            rule(false, None, None, None, ACC_ALL),
            rule(true, Some(DevKind::Char), None, None, ACC_MKNOD),
            rule(true, Some(DevKind::Char), Some(1), Some(3), ACC_ALL),
            rule(
                true,
                Some(DevKind::Char),
                Some(136),
                None,
                ACC_READ | ACC_WRITE,
            ),
        ]);
        assert!(!s.default_allow);
        assert!(s.allows(DevKind::Char, 1, 3, ACC_READ | ACC_WRITE));
        assert!(!s.allows(DevKind::Char, 1, 5, ACC_READ));
        assert!(s.allows(DevKind::Char, 1, 5, ACC_MKNOD));
        assert!(!s.allows(DevKind::Block, 8, 0, ACC_MKNOD));
        assert!(s.allows(DevKind::Char, 136, 7, ACC_WRITE));
        assert!(!s.allows(DevKind::Char, 136, 7, ACC_WRITE | ACC_MKNOD));
    }

    #[test]
    fn later_deny_takes_bits_away_from_an_allow() {
        let s = DeviceState::from_rules(&[
            rule(false, None, None, None, ACC_ALL),
            rule(true, Some(DevKind::Char), Some(1), Some(3), ACC_ALL),
            rule(false, Some(DevKind::Char), Some(1), Some(3), ACC_WRITE),
        ]);
        assert!(s.allows(DevKind::Char, 1, 3, ACC_READ));
        // v1 semantics: read+write needs one exception covering both, and write is gone.
        assert!(!s.allows(DevKind::Char, 1, 3, ACC_READ | ACC_WRITE));
    }

    #[test]
    fn allow_all_with_deny_exceptions_is_partial_match() {
        let s =
            DeviceState::from_rules(&[rule(false, Some(DevKind::Block), Some(8), None, ACC_WRITE)]);
        assert!(s.default_allow);
        assert!(s.allows(DevKind::Block, 8, 1, ACC_READ));
        assert!(!s.allows(DevKind::Block, 8, 1, ACC_READ | ACC_WRITE));
        assert!(s.allows(DevKind::Char, 8, 1, ACC_WRITE));
    }

    #[test]
    fn merges_and_removes_exceptions() {
        let mut s = DeviceState::from_rules(&[
            rule(false, None, None, None, ACC_ALL),
            rule(true, Some(DevKind::Char), Some(1), Some(3), ACC_READ),
            rule(true, Some(DevKind::Char), Some(1), Some(3), ACC_WRITE),
        ]);
        assert_eq!(s.exceptions.len(), 1);
        assert_eq!(s.exceptions[0].access, ACC_READ | ACC_WRITE);
        s.apply(&rule(false, Some(DevKind::Char), Some(1), Some(3), ACC_ALL));
        assert!(s.exceptions.is_empty());
    }

    #[test]
    fn reads_back_devices_list() {
        let s = DeviceState::from_v1_list("c 1:3 rwm\nc *:* m\nb 8:* r\n").unwrap();
        assert!(!s.default_allow);
        assert_eq!(s.exceptions.len(), 3);
        assert_eq!(s.exceptions[1].major, None);
        assert_eq!(
            DeviceState::from_v1_list("a *:* rwm\n"),
            Some(DeviceState::default())
        );
        assert_eq!(
            DeviceState::from_v1_list("").map(|s| s.default_allow),
            Some(false)
        );
    }
}
