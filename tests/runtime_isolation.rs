//! What a process sees inside the container, checked against berth-runtime and runc alike:
//! hostname, user/env/cwd, read-only root, tmpfs, masked and read-only paths, capabilities,
//! no_new_privs, rlimits, pid and network namespaces, sysctls, bind mounts, devices, user
//! namespaces, and mount targets that try to escape the rootfs through symlinks.

mod runtime_support;

use std::fs;

use runtime_support::*;
use serde_json::json;

#[test]
fn hostname_and_domainname() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "host");
        c.config["hostname"] = json!("box1");
        c.config["domainname"] = json!("example.org");
        c.script("hostname; cat /proc/sys/kernel/domainname");
        let out = c.output_of_run();
        // runc 1.1 ignores `domainname` (it arrived in runc 1.2); the spec has it.
        let domain = if rt.name == "runc" {
            "(none)"
        } else {
            "example.org"
        };
        assert_eq!(out, format!("box1\n{domain}\n"), "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn user_groups_env_cwd_umask_home() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "user");
        c.config["process"]["user"] =
            json!({"uid": 1000, "gid": 1001, "additionalGids": [10, 20], "umask": 63});
        c.config["process"]["cwd"] = json!("/tmp");
        c.config["process"]["env"] = json!(["PATH=/bin", "FOO=bar baz"]);
        c.script("id -u; id -g; id -G; pwd; echo \"$FOO\"; umask; echo \"home=$HOME\"");
        let out = c.output_of_run();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            vec![
                "1000",
                "1001",
                "1001 10 20",
                "/tmp",
                "bar baz",
                "0077",
                "home=/"
            ],
            "[{}] {out}",
            rt.name
        );
        c.finish();
    }
}

#[test]
fn home_comes_from_the_containers_passwd() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "home");
        c.script("echo \"$HOME\"");
        let out = c.output_of_run();
        assert_eq!(out, "/root\n", "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn readonly_root_with_a_writable_tmpfs() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "ro");
        c.config["root"]["readonly"] = json!(true);
        c.config["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                         "options": ["nosuid", "nodev", "size=1m", "mode=1777"]}),
        );
        c.script(
            "touch /rootfile 2>/dev/null && echo root-writable || echo root-ro; \
             touch /tmp/x && echo tmp-writable; grep ' /tmp ' /proc/mounts | cut -d' ' -f3",
        );
        let out = c.output_of_run();
        assert_eq!(out, "root-ro\ntmp-writable\ntmpfs\n", "[{}]", rt.name);
        assert!(!c.rootfs().join("rootfile").exists());
        c.finish();
    }
}

#[test]
fn masked_paths_are_empty_and_proc_sys_is_readonly() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "masked");
        c.script(
            "echo kcore=$(cat /proc/kcore 2>/dev/null | wc -c); \
             echo keys=$(cat /proc/keys | wc -c); \
             echo timer_list=$(cat /proc/timer_list | wc -c); \
             echo firmware=$(ls -A /sys/firmware | wc -l); \
             echo x > /proc/sys/kernel/domainname 2>/dev/null && echo sys-writable || echo sys-ro; \
             echo 1 > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable || echo sysrq-ro; \
             touch /sys/firmware/x 2>/dev/null && echo firmware-writable || echo firmware-ro",
        );
        let out = c.output_of_run();
        assert_eq!(
            out, "kcore=0\nkeys=0\ntimer_list=0\nfirmware=0\nsys-ro\nsysrq-ro\nfirmware-ro\n",
            "[{}]",
            rt.name
        );
        c.finish();
    }
}

#[test]
fn capabilities_match_the_spec() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "caps");
        c.args(&["cat", "/proc/self/status"]);
        let status = c.output_of_run();
        let mask = |k: &str| {
            u64::from_str_radix(status_field(&status, k).unwrap_or("x"), 16)
                .unwrap_or_else(|_| panic!("[{}] {k} in {status}", rt.name))
        };
        assert_eq!(mask("CapEff"), DOCKER_CAPS_MASK, "[{}]", rt.name);
        assert_eq!(mask("CapPrm"), DOCKER_CAPS_MASK, "[{}]", rt.name);
        assert_eq!(mask("CapBnd"), DOCKER_CAPS_MASK, "[{}]", rt.name);
        assert_eq!(mask("CapInh"), 0, "[{}]", rt.name);
        assert_eq!(mask("CapAmb"), 0, "[{}]", rt.name);
        assert_eq!(
            status_field(&status, "NoNewPrivs"),
            Some("0"),
            "[{}]",
            rt.name
        );
        c.finish();
    }
}

#[test]
fn non_root_user_with_ambient_caps_and_no_new_privs() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "ambient");
        let caps = json!(["CAP_NET_BIND_SERVICE", "CAP_KILL"]);
        c.config["process"]["capabilities"] = json!({
            "bounding": caps, "effective": caps, "permitted": caps,
            "inheritable": caps, "ambient": caps
        });
        c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c.config["process"]["noNewPrivileges"] = json!(true);
        c.args(&["cat", "/proc/self/status"]);
        let status = c.output_of_run();
        let want = format!("{:016x}", (1u64 << 10) | (1 << 5));
        for k in ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"] {
            assert_eq!(
                status_field(&status, k),
                Some(want.as_str()),
                "[{}] {k}",
                rt.name
            );
        }
        assert_eq!(
            status_field(&status, "NoNewPrivs"),
            Some("1"),
            "[{}]",
            rt.name
        );
        assert!(
            status_field(&status, "Uid").unwrap().starts_with("1000"),
            "[{}]",
            rt.name
        );
        c.finish();
    }
}

#[test]
fn unknown_capabilities_are_ignored() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "unknowncap");
        let caps = json!(["CAP_KILL", "CAP_NOT_A_REAL_ONE"]);
        c.config["process"]["capabilities"] =
            json!({"bounding": caps, "effective": caps, "permitted": caps});
        c.args(&["cat", "/proc/self/status"]);
        let status = c.output_of_run();
        assert_eq!(
            status_field(&status, "CapEff"),
            Some("0000000000000020"),
            "[{}]",
            rt.name
        );
        c.finish();
    }
}

#[test]
fn rlimits_are_applied() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "rlimit");
        c.config["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048},
            {"type": "RLIMIT_NPROC", "soft": 500, "hard": 600}
        ]);
        c.script("ulimit -n; ulimit -Hn; ulimit -u");
        let out = c.output_of_run();
        assert_eq!(out, "1024\n2048\n500\n", "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn rlimits_above_the_runtimes_own_fail_clearly() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "rlimit-high");
        // The runtime's own hard limit is 20000 and it lacks CAP_SYS_RESOURCE.
        c.config["process"]["rlimits"] =
            json!([{"type": "RLIMIT_NOFILE", "soft": 1048576, "hard": 1048576}]);
        let out = c.create_with(&[]);
        assert!(!out.status.success(), "[{}] created anyway", rt.name);
        let err = c.stderr();
        assert!(
            err.contains("RLIMIT_NOFILE") || err.contains("rlimit"),
            "[{}] {err}",
            rt.name
        );
        if rt.is_berth() {
            assert!(err.contains("CAP_SYS_RESOURCE"), "{err}");
        }
        c.runtime_err(&["state", &c.id], "does not exist");
        c.finish();
    }
}

#[test]
fn the_process_is_pid_1_and_sees_only_its_own() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "pidns");
        c.script("echo $$; ls /proc | grep -c '^[0-9]'");
        let out = c.output_of_run();
        // sh (pid 1) and ls/grep: a handful, never the host's hundreds.
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "1", "[{}] {out}", rt.name);
        assert!(lines[1].parse::<u32>().unwrap() <= 4, "[{}] {out}", rt.name);
        c.finish();
    }
}

#[test]
fn a_new_network_namespace_has_only_lo_and_it_is_up() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "netns");
        c.script("ls /sys/class/net; cat /sys/class/net/lo/operstate; cat /sys/class/net/lo/flags");
        let out = c.output_of_run();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "lo", "[{}] {out}", rt.name);
        // IFF_UP is bit 0 of the flags.
        let flags = u32::from_str_radix(lines[2].trim_start_matches("0x"), 16).unwrap();
        assert_eq!(flags & 1, 1, "[{}] lo is down: {out}", rt.name);
        c.finish();
    }
}

#[test]
fn joining_an_existing_network_namespace_by_path() {
    for rt in runtimes() {
        // A first container owns a network namespace; the second joins it by path.
        let owner = Container::new(&rt, "netowner");
        owner.launch();
        let ns_path = format!("/proc/{}/ns/net", owner.pid());
        let want = fs::read_link(&ns_path).unwrap();
        let mut c = Container::new(&rt, "netjoin");
        for n in c.config["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "network" {
                n["path"] = json!(ns_path);
            }
        }
        c.args(&["readlink", "/proc/self/ns/net"]);
        let out = c.output_of_run();
        assert_eq!(out.trim(), want.to_str().unwrap(), "[{}]", rt.name);
        c.finish();
        owner.finish();
    }
}

#[test]
fn sysctls_land_in_the_containers_namespaces() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "sysctl");
        c.config["linux"]["sysctl"] =
            json!({"net.ipv4.ip_forward": "1", "kernel.shmmax": "12345678"});
        c.script("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax");
        let out = c.output_of_run();
        assert_eq!(out, "1\n12345678\n", "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn bind_mounts_ro_and_rw() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "bind");
        let host = c.bundle.path().join("shared");
        fs::create_dir(&host).unwrap();
        fs::write(host.join("hello"), "from-host\n").unwrap();
        let src = host.to_str().unwrap();
        let mounts = c.config["mounts"].as_array_mut().unwrap();
        mounts.push(
            json!({"destination": "/data/ro", "type": "bind", "source": src,
                           "options": ["rbind", "ro"]}),
        );
        mounts.push(
            json!({"destination": "/data/rw", "type": "bind", "source": src,
                           "options": ["rbind", "rw"]}),
        );
        c.script(
            "cat /data/ro/hello; touch /data/ro/x 2>/dev/null && echo ro-writable || echo ro-ok; \
             echo written > /data/rw/out && echo rw-ok",
        );
        let out = c.output_of_run();
        assert_eq!(out, "from-host\nro-ok\nrw-ok\n", "[{}]", rt.name);
        assert_eq!(fs::read_to_string(host.join("out")).unwrap(), "written\n");
        c.finish();
    }
}

#[test]
fn default_devices_and_dev_links() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "devices");
        c.script(
            "for d in null zero full random urandom tty; do stat -c '%n %t:%T %a' /dev/$d; done; \
             for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done; \
             echo x > /dev/null && head -c 3 /dev/zero | wc -c",
        );
        let out = c.output_of_run();
        let want = "/dev/null 1:3 666\n/dev/zero 1:5 666\n/dev/full 1:7 666\n\
                    /dev/random 1:8 666\n/dev/urandom 1:9 666\n/dev/tty 5:0 666\n\
                    pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\n3\n";
        assert_eq!(out, want, "[{}]", rt.name);
        c.finish();
    }
}

#[test]
fn config_devices_are_created() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "extradev");
        c.config["linux"]["devices"] = json!([
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 432,
             "uid": 0, "gid": 0}
        ]);
        if let Some(rules) = c.config["linux"]["resources"]["devices"].as_array_mut() {
            rules.push(
                json!({"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}),
            );
        }
        c.args(&["stat", "-c", "%n %F %t:%T %a", "/dev/fuse"]);
        let out = c.output_of_run();
        assert_eq!(
            out, "/dev/fuse character special file a:e5 660\n",
            "[{}]",
            rt.name
        );
        c.finish();
    }
}

#[test]
fn user_namespace_with_id_mappings() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "userns");
        c.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c.config["linux"]["uidMappings"] =
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c.config["linux"]["gidMappings"] =
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        // Files owned by host root show up as nobody; the process is root inside only.
        c.script(
            "cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '; id -u; stat -c %u /bin/busybox",
        );
        let out = c.output_of_run();
        let lines: Vec<&str> = out.lines().map(str::trim).collect();
        assert_eq!(
            lines,
            vec!["0 100000 65536", "0 100000 65536", "0", "65534"],
            "[{}] {out}",
            rt.name
        );
        c.finish();
    }
}

#[test]
fn mount_targets_cannot_escape_through_symlinks() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "escape");
        // An image that points /evil at the host's /tmp (absolute) and /up far above its root.
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), c.rootfs().join("evil")).unwrap();
        std::os::unix::fs::symlink("../../../../../../..", c.rootfs().join("up")).unwrap();
        let target_abs = "/evil/mnt".to_string();
        let target_up = format!("/up{}/mnt2", outside.path().display());
        let mounts = c.config["mounts"].as_array_mut().unwrap();
        mounts.push(json!({"destination": target_abs, "type": "tmpfs", "source": "tmpfs"}));
        mounts.push(json!({"destination": target_up, "type": "tmpfs", "source": "tmpfs"}));
        c.args(&["true"]);
        let _ = c.output_of_run();
        // Nothing was created or mounted in the real host directory.
        assert!(
            fs::read_dir(outside.path()).unwrap().next().is_none(),
            "[{}] the mount escaped into {}",
            rt.name,
            outside.path().display()
        );
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts.contains(outside.path().to_str().unwrap()),
            "[{}]",
            rt.name
        );
        c.finish();
    }
}

#[test]
fn cgroup_mount_shows_the_hierarchies_read_only() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "cgmount");
        c.script(
            "ls /sys/fs/cgroup | sort | tr '\\n' ' '; echo; \
             mkdir /sys/fs/cgroup/pids/x 2>/dev/null && echo pids-writable || echo pids-ro",
        );
        let out = c.output_of_run();
        assert!(
            out.starts_with("blkio cpu cpuacct cpuset devices freezer memory pids systemd \n"),
            "[{}] {out}",
            rt.name
        );
        assert!(out.ends_with("pids-ro\n"), "[{}] {out}", rt.name);
        c.finish();
    }
}

#[test]
fn time_namespace_with_offsets() {
    for rt in runtimes() {
        if rt.name == "runc" {
            skip(
                &rt,
                "time_namespace_with_offsets",
                "runc 1.1 has no time namespace support",
            );
            continue;
        }
        let mut c = Container::new(&rt, "timens");
        c.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}));
        c.config["linux"]["timeOffsets"] = json!({"boottime": {"secs": 864000}});
        c.args(&["cat", "/proc/uptime"]);
        let out = c.output_of_run();
        let uptime: f64 = out.split_whitespace().next().unwrap().parse().unwrap();
        let host: f64 = fs::read_to_string("/proc/uptime")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            uptime >= 864000.0 && uptime - host > 863000.0,
            "[{}] {out}",
            rt.name
        );
        c.finish();
    }
}

#[test]
fn signals_start_out_default_and_unblocked() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "sigs");
        c.args(&["cat", "/proc/self/status"]);
        let status = c.output_of_run();
        // runc passes on whatever the caller ignored among signals 32 and 33 (glibc's own, which
        // Go leaves alone); berth-runtime resets every signal.
        let reserved: u64 = if rt.name == "runc" { 0b11 << 31 } else { 0 };
        for k in ["SigBlk", "SigIgn", "SigCgt"] {
            let v = u64::from_str_radix(status_field(&status, k).unwrap(), 16).unwrap();
            assert_eq!(v & !reserved, 0, "[{}] {k} = {v:#x}", rt.name);
        }
        c.finish();
    }
}

#[test]
fn cgroup_namespace_hides_the_host_path() {
    for rt in runtimes() {
        let mut c = Container::new(&rt, "cgns");
        c.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "cgroup"}));
        c.args(&["cat", "/proc/self/cgroup"]);
        let out = c.output_of_run();
        assert!(!out.is_empty(), "[{}]", rt.name);
        for line in out.lines() {
            assert!(line.ends_with(":/"), "[{}] {line} in {out}", rt.name);
        }
        c.finish();
    }
}
