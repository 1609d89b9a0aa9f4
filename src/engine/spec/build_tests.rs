//! `build` end to end on small inputs: the shape of the JSON, the errors, the options that the
//! golden recordings do not cover.

use std::path::Path;

use serde_json::{Value, json};

use std::collections::HashMap;

use super::*;

struct Fixture {
    rootfs: tempfile::TempDir,
    config: ContainerConfig,
    host: HostConfig,
    network: &'static str,
    daemon_caps: Vec<String>,
    cgroup_version: u8,
    init_path: Option<&'static Path>,
}

fn fixture() -> Fixture {
    let rootfs = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let etc = rootfs.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(etc.join("group"), "root:x:0:\nnobody:x:65534:\n")
        .unwrap_or_else(|e| panic!("{e}"));
    Fixture {
        rootfs,
        config: ContainerConfig {
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        },
        host: HostConfig::default(),
        network: "sandbox",
        daemon_caps: vec![],
        cgroup_version: 1,
        init_path: None,
    }
}

impl Fixture {
    fn build(&self) -> Result<Spec, SpecError> {
        let netns = Path::new("/run/netns/x");
        build(&SpecInput {
            id: "abc",
            config: &self.config,
            host: &self.host,
            rootfs: self.rootfs.path(),
            hostname: "abc123",
            network: match self.network {
                "host" => NetworkMode::Host,
                "none" => NetworkMode::None_(netns),
                _ => NetworkMode::Sandbox(netns),
            },
            etc_files: EtcFiles::default(),
            cgroups_path: "/berth/abc",
            daemon_caps: &self.daemon_caps,
            daemon_nofile_hard: 20000,
            cgroup_version: self.cgroup_version,
            init_path: self.init_path,
        })
    }

    fn json(&self) -> Value {
        match self.build() {
            Ok(s) => serde_json::to_value(&s).unwrap_or_else(|e| panic!("{e}")),
            Err(e) => panic!("build: {e}"),
        }
    }

    fn err(&self) -> String {
        match self.build() {
            Ok(_) => panic!("build unexpectedly succeeded"),
            Err(e) => e.to_string(),
        }
    }
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn only_the_keys_dockerd_writes() {
    let s = fixture().json();
    assert_eq!(
        keys(&s),
        [
            "hostname",
            "linux",
            "mounts",
            "ociVersion",
            "process",
            "root"
        ]
    );
    assert_eq!(
        keys(&s["process"]),
        ["args", "capabilities", "cwd", "env", "oomScoreAdj", "user"]
    );
    assert_eq!(
        keys(&s["process"]["capabilities"]),
        ["bounding", "effective", "permitted"]
    );
    assert_eq!(
        keys(&s["linux"]),
        [
            "cgroupsPath",
            "maskedPaths",
            "namespaces",
            "readonlyPaths",
            "resources",
            "seccomp",
            "sysctl"
        ]
    );
    assert_eq!(
        keys(&s["linux"]["resources"]),
        ["blockIO", "devices", "memory"]
    );
    assert_eq!(keys(&s["root"]), ["path"]);
    assert_eq!(s["ociVersion"], "1.0.2-dev");
    assert_eq!(s["linux"]["cgroupsPath"], "/berth/abc");
    assert_eq!(s["hostname"], "abc123");
}

#[test]
fn defaults_of_process() {
    let s = fixture().json();
    let p = &s["process"];
    assert_eq!(p["args"], json!(["sh"]));
    assert_eq!(p["cwd"], "/");
    assert_eq!(
        strings(&p["env"]),
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOSTNAME=abc123"
        ]
    );
    assert_eq!(
        p["user"],
        json!({"uid": 0, "gid": 0, "additionalGids": [0]})
    );
    assert_eq!(p["oomScoreAdj"], 0);
    assert_eq!(strings(&p["capabilities"]["bounding"]).len(), 14);
}

#[test]
fn args_entrypoint_then_cmd() {
    let mut f = fixture();
    f.config.entrypoint = Some(vec!["/bin/sh".into(), "-c".into()]);
    f.config.cmd = Some(vec!["echo hi".into()]);
    assert_eq!(
        f.json()["process"]["args"],
        json!(["/bin/sh", "-c", "echo hi"])
    );
}

#[test]
fn no_command() {
    let mut f = fixture();
    f.config.cmd = None;
    assert_eq!(f.err(), "no command specified");
    f.config.entrypoint = Some(vec![]);
    f.config.cmd = Some(vec![]);
    assert_eq!(f.err(), "no command specified");
}

#[test]
fn working_dir_user_env_tty() {
    let mut f = fixture();
    f.config.working_dir = Some("/srv".into());
    f.config.user = Some("nobody".into());
    f.config.env = Some(vec!["A=1".into()]);
    f.config.tty = Some(true);
    let s = f.json();
    let p = &s["process"];
    assert_eq!(p["cwd"], "/srv");
    assert_eq!(
        p["user"],
        json!({"uid": 65534, "gid": 65534, "additionalGids": [65534]})
    );
    assert_eq!(&strings(&p["env"])[2..], ["TERM=xterm", "A=1"]);
    assert_eq!(p["terminal"], true);
}

#[test]
fn unknown_user() {
    let mut f = fixture();
    f.config.user = Some("ghost".into());
    assert_eq!(
        f.err(),
        "unable to find user ghost: no matching entries in passwd file"
    );
}

#[test]
fn readonly_root_nnp_oom_score() {
    let mut f = fixture();
    f.host.readonly_rootfs = Some(true);
    f.host.security_opt = Some(vec!["no-new-privileges".into()]);
    f.host.oom_score_adj = Some(-500);
    let s = f.json();
    assert_eq!(s["root"]["readonly"], true);
    assert_eq!(s["process"]["noNewPrivileges"], true);
    assert_eq!(s["process"]["oomScoreAdj"], -500);
}

#[test]
fn privileged_gets_everything_the_daemon_has() {
    let mut f = fixture();
    f.host.privileged = Some(true);
    f.daemon_caps = vec!["CAP_CHOWN".into(), "CAP_SYS_ADMIN".into()];
    let s = f.json();
    let mut caps = strings(&s["process"]["capabilities"]["bounding"]);
    caps.sort();
    assert_eq!(caps, ["CAP_CHOWN", "CAP_SYS_ADMIN"]);
    assert!(s["linux"].get("maskedPaths").is_none());
    assert!(s["linux"].get("readonlyPaths").is_none());
    assert!(s["linux"].get("seccomp").is_none());
    assert_eq!(
        s["linux"]["resources"]["devices"],
        json!([{"allow": true, "access": "rwm"}])
    );
    let devices = s["linux"]["devices"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(devices.iter().any(|d| d["path"] == "/dev/null"));
}

#[test]
fn masked_and_readonly_paths_from_host_config() {
    let mut f = fixture();
    f.host.masked_paths = Some(vec!["/proc/x".into()]);
    f.host.readonly_paths = Some(vec![]);
    let s = f.json();
    assert_eq!(s["linux"]["maskedPaths"], json!(["/proc/x"]));
    assert!(s["linux"].get("readonlyPaths").is_none());
    f.host.privileged = Some(true);
    assert_eq!(f.json()["linux"]["maskedPaths"], json!(["/proc/x"]));
}

#[test]
fn default_masked_paths_are_current_dockers() {
    let s = fixture().json();
    let masked = strings(&s["linux"]["maskedPaths"]);
    assert!(masked.contains(&"/proc/interrupts".to_string()));
    assert!(masked.contains(&"/sys/devices/virtual/powercap".to_string()));
    assert_eq!(strings(&s["linux"]["readonlyPaths"]).len(), 5);
}

#[test]
fn seccomp_choices() {
    let mut f = fixture();
    f.host.security_opt = Some(vec!["seccomp=unconfined".into()]);
    assert!(f.json()["linux"].get("seccomp").is_none());
    f.host.security_opt = Some(vec!["seccomp={}".into()]);
    assert_eq!(f.err(), "custom seccomp profiles are not supported yet");
    f.host.security_opt = Some(vec!["seccomp=builtin".into()]);
    assert!(f.json()["linux"].get("seccomp").is_some());
}

#[test]
fn init_needs_a_binary_and_a_private_pid_namespace() {
    let mut f = fixture();
    f.host.init = Some(true);
    assert_eq!(
        f.err(),
        "--init needs docker-init, and the daemon has none configured"
    );
    f.init_path = Some(Path::new("/usr/bin/docker-init"));
    let s = f.json();
    assert_eq!(
        s["process"]["args"],
        json!(["/sbin/docker-init", "--", "sh"])
    );
    f.host.pid_mode = Some("host".into());
    f.init_path = None;
    assert_eq!(f.json()["process"]["args"], json!(["sh"]));
}

#[test]
fn network_modes_and_sysctls() {
    let mut f = fixture();
    f.network = "host";
    let s = f.json();
    assert!(s["linux"].get("sysctl").is_none());
    assert!(
        !s["linux"]["namespaces"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n["type"] == "network"))
    );
    f.network = "none";
    f.host.sysctls = Some(HashMap::from([(
        "net.ipv4.ip_unprivileged_port_start".to_string(),
        "1024".to_string(),
    )]));
    let s = f.json();
    assert_eq!(
        s["linux"]["sysctl"]["net.ipv4.ip_unprivileged_port_start"],
        "1024"
    );
    assert_eq!(
        s["linux"]["sysctl"]["net.ipv4.ping_group_range"],
        "0 2147483647"
    );
    f.host.network_mode = Some("container:other".into());
    f.host.sysctls = None;
    assert!(f.json()["linux"].get("sysctl").is_none());
}

#[test]
fn uts_host_has_no_hostname_but_keeps_the_env() {
    let mut f = fixture();
    f.host.uts_mode = Some("host".into());
    let s = f.json();
    assert!(s.get("hostname").is_none());
    assert_eq!(strings(&s["process"]["env"])[1], "HOSTNAME=abc123");
}

#[test]
fn cgroup_v2_unshares_the_cgroup_namespace() {
    let mut f = fixture();
    f.cgroup_version = 2;
    let s = f.json();
    let last = s["linux"]["namespaces"]
        .as_array()
        .and_then(|n| n.last().cloned());
    assert_eq!(last, Some(json!({"type": "cgroup"})));
}

#[test]
fn host_config_defaults_are_applied() {
    let mut f = fixture();
    f.host.memory = Some(64 << 20);
    let s = f.json();
    assert_eq!(s["linux"]["resources"]["memory"]["swap"], 128 << 20);
    let shm = s["mounts"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["destination"] == "/dev/shm").cloned())
        .unwrap_or_default();
    assert!(strings(&shm["options"]).contains(&"size=67108864".to_string()));
}

#[test]
fn shm_size() {
    let mut f = fixture();
    f.host.shm_size = Some(128 << 20);
    let s = f.json();
    let shm = s["mounts"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["destination"] == "/dev/shm").cloned())
        .unwrap_or_default();
    assert_eq!(
        strings(&shm["options"]).last().map(String::as_str),
        Some("size=134217728")
    );
}

#[test]
fn invalid_inputs_are_errors_with_dockers_messages() {
    type Patch = Box<dyn Fn(&mut Fixture)>;
    let cases: Vec<(Patch, &str)> = vec![
        (
            Box::new(|f| f.host.memory = Some(1 << 20)),
            "Minimum memory limit allowed is 6MB",
        ),
        (
            Box::new(|f| f.host.cap_add = Some(vec!["CAP_FOO".into()])),
            "invalid CapAdd: unknown capability: \"CAP_FOO\"",
        ),
        (
            Box::new(|f| {
                f.host.tmpfs = Some(HashMap::from([(
                    "/t".to_string(),
                    "exec,bogus=1".to_string(),
                )]))
            }),
            "invalid tmpfs option \"bogus\"",
        ),
        (
            Box::new(|f| {
                f.host.ulimits = Some(vec![crate::models::ResourcesUlimits {
                    name: Some("nofile".into()),
                    soft: Some(2048),
                    hard: Some(1024),
                }])
            }),
            "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024",
        ),
        (
            Box::new(|f| f.host.binds = Some(vec!["data:/data".into()])),
            "volumes are not supported yet (mount \"data:/data\"): use a bind mount or tmpfs",
        ),
        (
            Box::new(|f| f.host.ipc_mode = Some("container:x".into())),
            "joining another container's IPC namespace is not supported yet",
        ),
        (
            Box::new(|f| {
                f.host.device_requests = Some(vec![crate::models::DeviceRequest::default()])
            }),
            "device requests (--gpus) is not supported yet",
        ),
        (
            Box::new(|f| f.host.device_cgroup_rules = Some(vec!["c 1:1".into()])),
            "invalid device cgroup rule format: 'c 1:1'",
        ),
        (
            Box::new(|f| f.host.group_add = Some(vec!["staff".into()])),
            "unable to find group staff: no matching entries in group file",
        ),
    ];
    for (patch, want) in cases {
        let mut f = fixture();
        patch(&mut f);
        assert_eq!(f.err(), want);
    }
}

#[test]
fn cap_add_all_is_what_the_daemon_holds() {
    let mut f = fixture();
    f.host.cap_add = Some(vec!["all".into()]);
    f.host.cap_drop = Some(vec!["kill".into()]);
    f.daemon_caps = vec!["CAP_KILL".into(), "CAP_NET_ADMIN".into()];
    assert_eq!(
        f.json()["process"]["capabilities"]["bounding"],
        json!(["CAP_NET_ADMIN"])
    );
}

#[test]
fn devices_add_nodes_and_rules() {
    let mut f = fixture();
    f.host.devices = Some(vec![crate::models::DeviceMapping {
        path_on_host: Some("/dev/zero".into()),
        path_in_container: Some("/dev/z".into()),
        cgroup_permissions: Some("rw".into()),
    }]);
    let s = f.json();
    assert_eq!(s["linux"]["devices"][0]["path"], "/dev/z");
    let rules = s["linux"]["resources"]["devices"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rules.len(), 9);
    assert_eq!(
        rules[8],
        json!({"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rw"})
    );
}
