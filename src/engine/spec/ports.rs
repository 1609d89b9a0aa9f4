//! Port specifications as dockerd checks them at create (`validatePortBindings`, and the
//! `nat.Port` decoding of ExposedPorts): a container port is `1-65535[/proto]`, a host port
//! empty (any), a number or a range `a-b` with `a <= b`.

use super::error::SpecError;
use crate::models::HostConfig;

fn number(s: &str) -> Option<u16> {
    // Go's ParseUint: digits only (no sign, no space).
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `80`, `80/tcp`, `53/UDP`: a port above 0 and a protocol (tcp when none).
fn container_port(spec: &str) -> bool {
    let (port, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    number(port).is_some_and(|n| n > 0) && !proto.is_empty()
}

/// `8080`, `8000-8010`, with an optional protocol.
fn host_port(spec: &str) -> bool {
    let range = spec.split_once('/').map_or(spec, |(r, _)| r);
    match range.split_once('-') {
        None => number(range).is_some(),
        Some((a, b)) => matches!((number(a), number(b)), (Some(a), Some(b)) if a <= b),
    }
}

pub fn validate(exposed: Option<&[String]>, host: &HostConfig) -> Result<(), SpecError> {
    let bad = |p: &str| SpecError::invalid(format!("invalid port specification: {p:?}"));
    for p in exposed.unwrap_or_default() {
        if !container_port(p) {
            return Err(bad(p));
        }
    }
    for (port, bindings) in host.port_bindings.iter().flatten() {
        if !container_port(port) {
            return Err(bad(port));
        }
        for b in bindings.iter().flatten() {
            let hp = b.host_port.as_deref().unwrap_or("");
            if !hp.is_empty() && !host_port(hp) {
                return Err(bad(hp));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_follow_dockerd() {
        for ok in ["80", "80/tcp", "53/udp", "65535/sctp"] {
            assert!(container_port(ok), "{ok}");
        }
        for bad in ["0", "-1", "abc", "70000", "", "80/", " 80", "+80"] {
            assert!(!container_port(bad), "{bad}");
        }
        for ok in ["8080", "0", "8000-8010", "8000-8000", "9000/udp"] {
            assert!(host_port(ok), "{ok}");
        }
        for bad in ["abc", "-1", "9000-8000", "1-", "70000"] {
            assert!(!host_port(bad), "{bad}");
        }
        assert_eq!(
            validate(Some(&["abc".to_string()]), &HostConfig::default())
                .unwrap_err()
                .to_string(),
            "invalid port specification: \"abc\""
        );
    }
}
