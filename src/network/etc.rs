//! The files a container sees as /etc/hostname, /etc/hosts and /etc/resolv.conf, written by the
//! daemon into the container's directory and bind-mounted by the runtime (as dockerd does).

use std::path::Path;

/// /etc/hosts for a container: loopback names, the IPv6 specials, and its own hostname.
pub fn hosts(hostname: &str, own_ips: &[String], extra: &[String]) -> String {
    let mut out = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for e in extra {
        // --add-host "name:ip" becomes "ip\tname".
        if let Some((name, ip)) = e.rsplit_once(':').or_else(|| e.split_once('=')) {
            out.push_str(&format!("{ip}\t{name}\n"));
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
pub fn resolv_conf(host_resolv: &str, host_network: bool) -> String {
    if host_network {
        return host_resolv.to_string();
    }
    let mut out = String::new();
    let mut nameservers = 0;
    for line in host_resolv.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            let addr = words.next().unwrap_or("");
            if addr.starts_with("127.") || addr == "::1" {
                continue;
            }
            nameservers += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    if nameservers == 0 {
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
        resolv_conf(&host_resolv, host_network),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_has_localhost_and_extras() {
        let h = hosts("abc", &["172.17.0.2".into()], &["db:10.0.0.5".into()]);
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.0.0.5\tdb\n"));
        assert!(h.ends_with("172.17.0.2\tabc\n"));
    }

    #[test]
    fn resolv_drops_loopback_nameservers() {
        let r = resolv_conf(
            "search lan\nnameserver 127.0.0.53\nnameserver 10.1.1.1\n",
            false,
        );
        assert_eq!(r, "search lan\nnameserver 10.1.1.1\n");
        let r = resolv_conf("nameserver 127.0.0.53\n", false);
        assert!(r.contains("nameserver 8.8.8.8"));
        assert_eq!(
            resolv_conf("nameserver 127.0.0.53\n", true),
            "nameserver 127.0.0.53\n"
        );
    }
}
