//! The files a container sees as /etc/hostname, /etc/hosts and /etc/resolv.conf, written by the
//! daemon into the container's directory and bind-mounted by the runtime (as dockerd does).
//!
//! The parsers here are also the create-time checks (engine/spec/validate.rs), so what create
//! accepts is exactly what start writes: nothing from the user reaches these files unchecked.

use std::net::IpAddr;
use std::path::Path;

/// dockerd's special `--add-host` address: the default bridge's gateway.
pub const HOST_GATEWAY: &str = "host-gateway";

/// The user's DNS settings (`--dns`, `--dns-search`, `--dns-option`), already validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsSettings {
    pub servers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

/// Why an `ExtraHosts` entry is refused (dockerd's messages, `opts.ValidateExtraHost`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtraHostError {
    #[error("bad format for add-host: {0:?}")]
    Format(String),
    #[error("invalid IP address in add-host: {0:?}")]
    Address(String),
    /// It needs the default bridge's gateway, and there is no bridge yet.
    #[error("invalid add-host {0:?}: host-gateway is not supported yet")]
    HostGateway(String),
}

/// `name:ip` (split on the first colon, so IPv6 addresses need no brackets, as in dockerd).
/// The name goes into /etc/hosts as one field: whitespace or control characters in it would
/// add fields or lines, so they are refused (dockerd lets them through).
pub fn parse_extra_host(entry: &str) -> Result<(&str, IpAddr), ExtraHostError> {
    let format = || ExtraHostError::Format(entry.to_string());
    let (name, ip) = entry.split_once(':').ok_or_else(format)?;
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format());
    }
    if ip == HOST_GATEWAY {
        return Err(ExtraHostError::HostGateway(entry.to_string()));
    }
    let addr = ip
        .parse::<IpAddr>()
        .map_err(|_| ExtraHostError::Address(ip.to_string()))?;
    Ok((name, addr))
}

/// `--dns`: an IP address (dockerd's CLI check, `opts.ValidateIPAddress`).
pub fn parse_dns_server(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>().map_err(|_| {
        format!("invalid DNS server address {s:?}: IP address is not correctly formatted")
    })
}

/// `--dns-search`: a domain name, or "." for none (dockerd's CLI check, `opts.ValidateDNSSearch`,
/// without its tolerance of trailing whitespace, which would reach resolv.conf).
pub fn check_dns_search(s: &str) -> Result<(), String> {
    let bad = || format!("invalid DNS search domain {s:?}: {s} is not a valid domain");
    if s == "." {
        return Ok(());
    }
    let name = s.strip_suffix('.').unwrap_or(s);
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    if name.len() >= 255
        || !name.bytes().any(|c| c.is_ascii_alphabetic())
        || !name.split('.').all(label_ok)
    {
        return Err(bad());
    }
    Ok(())
}

/// `--dns-option`: one word of resolv.conf's `options` line ("ndots:2", "rotate").
pub fn check_dns_option(s: &str) -> Result<(), String> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "invalid DNS option {s:?}: an option is one word, without spaces or control characters"
        ));
    }
    Ok(())
}

/// /etc/hosts for a container: loopback names, the IPv6 specials, `--add-host` entries and its
/// own hostname.
pub fn hosts(hostname: &str, own_ips: &[String], extra: &[String]) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for e in extra {
        // Refused at create; a row written before that check is skipped rather than copied.
        match parse_extra_host(e) {
            Ok((name, ip)) => out.push_str(&format!("{ip}\t{name}\n")),
            Err(err) => tracing::warn!(error = %err, "ignoring an invalid ExtraHosts entry"),
        }
    }
    for ip in own_ips {
        out.push_str(&format!("{ip}\t{hostname}\n"));
    }
    out
}

/// resolv.conf for a container on its own network namespace: the host's, without nameservers
/// that point at the host's loopback (unreachable from the container), falling back to public
/// resolvers when none remain, as dockerd does. With the host's network, the host's file as is.
/// The user's servers, search domains and options replace the host's lines of that kind (with
/// the host's network too, as in dockerd); a search list of "." means none.
pub fn resolv_conf(host_resolv: &str, host_network: bool, dns: &DnsSettings) -> String {
    let mut out = String::new();
    let mut nameservers = 0;
    for line in host_resolv.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") if !dns.servers.is_empty() => continue,
            Some("search" | "domain") if !dns.search.is_empty() => continue,
            Some("options") if !dns.options.is_empty() => continue,
            Some("nameserver") => {
                let addr = words.next().unwrap_or("");
                if !host_network && (addr.starts_with("127.") || addr == "::1") {
                    continue;
                }
                nameservers += 1;
            }
            _ => {}
        }
        out.push_str(line);
        out.push('\n');
    }
    for s in &dns.servers {
        out.push_str(&format!("nameserver {s}\n"));
        nameservers += 1;
    }
    if !dns.search.is_empty() && dns.search != ["."] {
        let domains: Vec<&str> = dns
            .search
            .iter()
            .map(|d| d.as_str())
            .filter(|d| *d != ".")
            .collect();
        out.push_str(&format!("search {}\n", domains.join(" ")));
    }
    if !dns.options.is_empty() {
        out.push_str(&format!("options {}\n", dns.options.join(" ")));
    }
    if nameservers == 0 && !host_network {
        out.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }
    out
}

/// Writes the three files into `dir` (hostname, hosts, resolv.conf).
pub fn write_all(
    dir: &Path,
    hostname: &str,
    host_network: bool,
    extra_hosts: &[String],
    dns: &DnsSettings,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("hostname"), format!("{hostname}\n"))?;
    let hosts_text = if host_network {
        std::fs::read_to_string("/etc/hosts").unwrap_or_else(|_| hosts(hostname, &[], extra_hosts))
    } else {
        hosts(hostname, &[], extra_hosts)
    };
    std::fs::write(dir.join("hosts"), hosts_text)?;
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    std::fs::write(
        dir.join("resolv.conf"),
        resolv_conf(&host_resolv, host_network, dns),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_has_localhost_and_extras() {
        let h = hosts(
            "abc",
            &["172.17.0.2".into()],
            &[
                "db:10.0.0.5".into(),
                "v6:::1".into(),
                "bad\nname:1.2.3.4".into(),
            ],
        );
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.0.0.5\tdb\n"));
        assert!(h.contains("::1\tv6\n"));
        assert!(!h.contains("bad"));
        assert!(h.ends_with("172.17.0.2\tabc\n"));
    }

    #[test]
    fn extra_hosts_are_dockerds_name_colon_ip() {
        assert_eq!(
            parse_extra_host("h:10.1.2.3"),
            Ok(("h", "10.1.2.3".parse().unwrap()))
        );
        assert_eq!(
            parse_extra_host("h:2001:db8::1"),
            Ok(("h", "2001:db8::1".parse().unwrap()))
        );
        let e = |s: &str| parse_extra_host(s).unwrap_err().to_string();
        assert_eq!(e("nocolon"), "bad format for add-host: \"nocolon\"");
        assert_eq!(e(":1.2.3.4"), "bad format for add-host: \":1.2.3.4\"");
        assert_eq!(e("a b:1.2.3.4"), "bad format for add-host: \"a b:1.2.3.4\"");
        assert_eq!(
            e("h\nevil:1.2.3.4"),
            "bad format for add-host: \"h\\nevil:1.2.3.4\""
        );
        assert_eq!(
            e("h:1.2.3.4\nevil"),
            "invalid IP address in add-host: \"1.2.3.4\\nevil\""
        );
        assert_eq!(
            e("h:notanip"),
            "invalid IP address in add-host: \"notanip\""
        );
        assert_eq!(
            e("h:host-gateway"),
            "invalid add-host \"h:host-gateway\": host-gateway is not supported yet"
        );
    }

    #[test]
    fn dns_values() {
        assert!(parse_dns_server("10.0.0.1").is_ok());
        assert!(parse_dns_server("2001:db8::53").is_ok());
        assert_eq!(
            parse_dns_server("1.1.1.1\nsearch evil").unwrap_err(),
            "invalid DNS server address \"1.1.1.1\\nsearch evil\": IP address is not correctly formatted"
        );
        for ok in ["example.com", "a.b-c.d.", ".", "x1"] {
            assert!(check_dns_search(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1.2.3",
            "-a.com",
            "a..b",
            "a b",
            "ex.com\noptions x",
            "ex.com ",
        ] {
            assert!(check_dns_search(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_dns_search("a_b").unwrap_err(),
            "invalid DNS search domain \"a_b\": a_b is not a valid domain"
        );
        assert!(check_dns_option("ndots:2").is_ok());
        assert!(check_dns_option("").is_err());
        assert!(check_dns_option("ndots:2\nnameserver 6.6.6.6").is_err());
        assert!(check_dns_option("a b").is_err());
    }

    #[test]
    fn resolv_drops_loopback_nameservers() {
        let none = DnsSettings::default();
        let r = resolv_conf(
            "search lan\nnameserver 127.0.0.53\nnameserver 10.1.1.1\n",
            false,
            &none,
        );
        assert_eq!(r, "search lan\nnameserver 10.1.1.1\n");
        let r = resolv_conf("nameserver 127.0.0.53\n", false, &none);
        assert!(r.contains("nameserver 8.8.8.8"));
        assert_eq!(
            resolv_conf("nameserver 127.0.0.53\n", true, &none),
            "nameserver 127.0.0.53\n"
        );
    }

    #[test]
    fn resolv_user_settings_replace_the_hosts() {
        let dns = DnsSettings {
            servers: vec!["10.0.0.1".into()],
            search: vec!["example.com".into()],
            options: vec!["ndots:2".into()],
        };
        let r = resolv_conf(
            "search lan\nnameserver 10.1.1.1\noptions edns0\n# kept\n",
            false,
            &dns,
        );
        assert_eq!(
            r,
            "# kept\nnameserver 10.0.0.1\nsearch example.com\noptions ndots:2\n"
        );
        let only_search = DnsSettings {
            search: vec![".".into()],
            ..Default::default()
        };
        assert_eq!(
            resolv_conf("search lan\nnameserver 10.1.1.1\n", false, &only_search),
            "nameserver 10.1.1.1\n"
        );
    }
}
