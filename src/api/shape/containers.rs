//! `GET /containers/{id}/json` as dockerd writes it for each API version. The engine's model
//! leaves out what is unset; dockerd's Go structs always carry most keys (`null`, `0`, `""`),
//! and clients decode by them, so every key dockerd sends is filled in here.

use serde_json::{Map, Value, json};

use crate::api::version::ApiVersion;

/// HostConfig keys dockerd always sends, with their zero values (moby api/types/container
/// HostConfig and Resources, the fields without `omitempty`).
const HOST_CONFIG_KEYS: &[(&str, Z)] = &[
    ("Binds", Z::Null),
    ("ContainerIDFile", Z::Str),
    ("NetworkMode", Z::Str),
    ("AutoRemove", Z::False),
    ("VolumeDriver", Z::Str),
    ("VolumesFrom", Z::Null),
    ("CapAdd", Z::Null),
    ("CapDrop", Z::Null),
    ("CgroupnsMode", Z::Str),
    ("Dns", Z::Null),
    ("DnsOptions", Z::Null),
    ("DnsSearch", Z::Null),
    ("ExtraHosts", Z::Null),
    ("GroupAdd", Z::Null),
    ("IpcMode", Z::Str),
    ("Cgroup", Z::Str),
    ("Links", Z::Null),
    ("OomScoreAdj", Z::Num),
    ("PidMode", Z::Str),
    ("Privileged", Z::False),
    ("PublishAllPorts", Z::False),
    ("ReadonlyRootfs", Z::False),
    ("SecurityOpt", Z::Null),
    ("UTSMode", Z::Str),
    ("UsernsMode", Z::Str),
    ("ShmSize", Z::Num),
    ("Isolation", Z::Str),
    ("CpuShares", Z::Num),
    ("Memory", Z::Num),
    ("NanoCpus", Z::Num),
    ("CgroupParent", Z::Str),
    ("BlkioWeight", Z::Num),
    ("BlkioWeightDevice", Z::Null),
    ("BlkioDeviceReadBps", Z::Null),
    ("BlkioDeviceWriteBps", Z::Null),
    ("BlkioDeviceReadIOps", Z::Null),
    ("BlkioDeviceWriteIOps", Z::Null),
    ("CpuPeriod", Z::Num),
    ("CpuQuota", Z::Num),
    ("CpuRealtimePeriod", Z::Num),
    ("CpuRealtimeRuntime", Z::Num),
    ("CpusetCpus", Z::Str),
    ("CpusetMems", Z::Str),
    ("Devices", Z::Null),
    ("DeviceCgroupRules", Z::Null),
    ("DeviceRequests", Z::Null),
    ("MemoryReservation", Z::Num),
    ("MemorySwap", Z::Num),
    ("MemorySwappiness", Z::Null),
    ("OomKillDisable", Z::Null),
    ("PidsLimit", Z::Null),
    ("Ulimits", Z::Null),
    ("CpuCount", Z::Num),
    ("CpuPercent", Z::Num),
    ("IOMaximumIOps", Z::Num),
    ("IOMaximumBandwidth", Z::Num),
    ("MaskedPaths", Z::Null),
    ("ReadonlyPaths", Z::Null),
];

/// Config keys dockerd always sends (moby api/types/container Config without `omitempty`).
const CONFIG_KEYS: &[(&str, Z)] = &[
    ("Hostname", Z::Str),
    ("Domainname", Z::Str),
    ("User", Z::Str),
    ("AttachStdin", Z::False),
    ("AttachStdout", Z::False),
    ("AttachStderr", Z::False),
    ("Tty", Z::False),
    ("OpenStdin", Z::False),
    ("StdinOnce", Z::False),
    ("Env", Z::Null),
    ("Cmd", Z::Null),
    ("Image", Z::Str),
    ("Volumes", Z::Null),
    ("WorkingDir", Z::Str),
    ("Entrypoint", Z::Null),
    ("Labels", Z::Null),
];

/// Endpoint keys dockerd always sends (moby api/types/network EndpointSettings).
const ENDPOINT_KEYS: &[(&str, Z)] = &[
    ("IPAMConfig", Z::Null),
    ("Links", Z::Null),
    ("Aliases", Z::Null),
    ("MacAddress", Z::Str),
    ("DriverOpts", Z::Null),
    ("GwPriority", Z::Num),
    ("NetworkID", Z::Str),
    ("EndpointID", Z::Str),
    ("Gateway", Z::Str),
    ("IPAddress", Z::Str),
    ("IPPrefixLen", Z::Num),
    ("IPv6Gateway", Z::Str),
    ("GlobalIPv6Address", Z::Str),
    ("GlobalIPv6PrefixLen", Z::Num),
    ("DNSNames", Z::Null),
];

/// The default bridge's endpoint fields that API < 1.52 also shows at the top of
/// `NetworkSettings` (zero values when the container is not on the bridge).
const LEGACY_BRIDGE_KEYS: &[&str] = &[
    "EndpointID",
    "Gateway",
    "GlobalIPv6Address",
    "GlobalIPv6PrefixLen",
    "IPAddress",
    "IPPrefixLen",
    "IPv6Gateway",
    "MacAddress",
];

/// A Go zero value as dockerd encodes it.
#[derive(Clone, Copy)]
enum Z {
    Null,
    Str,
    False,
    Num,
}

impl Z {
    fn value(self) -> Value {
        match self {
            Z::Null => Value::Null,
            Z::Str => json!(""),
            Z::False => json!(false),
            Z::Num => json!(0),
        }
    }
}

fn fill(obj: &mut Map<String, Value>, keys: &[(&str, Z)]) {
    for (k, z) in keys {
        obj.entry(*k).or_insert_with(|| z.value());
    }
}

fn object<'a>(obj: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    obj.get_mut(key).and_then(Value::as_object_mut)
}

/// `GET /containers/{id}/json`.
pub fn inspect(v: ApiVersion, mut doc: Value) -> Value {
    let Some(obj) = doc.as_object_mut() else {
        return doc;
    };
    // Null when the container has no exec processes.
    obj.entry("ExecIDs").or_insert(Value::Null);
    obj.entry("Mounts").or_insert(json!([]));
    if let Some(host) = object(obj, "HostConfig") {
        fill(host, HOST_CONFIG_KEYS);
        host.entry("LogConfig")
            .or_insert_with(|| json!({"Type": "", "Config": null}));
        host.entry("PortBindings").or_insert(Value::Null);
        host.entry("RestartPolicy")
            .or_insert_with(|| json!({"Name": "", "MaximumRetryCount": 0}));
        host.entry("ConsoleSize").or_insert_with(|| json!([0, 0]));
        // Reported (as 0: never set) until 1.42 began omitting them when unset.
        if v < ApiVersion(1, 42) {
            host.entry("KernelMemory").or_insert(json!(0));
            host.entry("KernelMemoryTCP").or_insert(json!(0));
        }
    }
    if let Some(config) = object(obj, "Config") {
        fill(config, CONFIG_KEYS);
        // 1.52 began omitting an empty OnBuild.
        if v < ApiVersion(1, 52) {
            config.entry("OnBuild").or_insert(Value::Null);
        } else if config
            .get("OnBuild")
            .is_some_and(|o| o.as_array().is_none_or(Vec::is_empty))
        {
            config.remove("OnBuild");
        }
    }
    // Added in 1.48.
    if v < ApiVersion(1, 48) {
        obj.remove("ImageManifestDescriptor");
    }
    if let Some(ns) = object(obj, "NetworkSettings") {
        ns.entry("SandboxID").or_insert(json!(""));
        ns.entry("SandboxKey").or_insert(json!(""));
        ns.entry("Ports").or_insert_with(|| json!({}));
        let networks = ns
            .entry("Networks")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        for ep in networks.into_iter().flat_map(|n| n.values_mut()) {
            if let Some(ep) = ep.as_object_mut() {
                fill(ep, ENDPOINT_KEYS);
            }
        }
        // Deprecated since 1.21 (and 1.44), gone in 1.52.
        if v < ApiVersion(1, 52) {
            let bridge = ns
                .get("Networks")
                .and_then(|n| n.get("bridge"))
                .cloned()
                .unwrap_or_else(|| {
                    let mut zero = Map::new();
                    fill(&mut zero, ENDPOINT_KEYS);
                    Value::Object(zero)
                });
            for (k, zero) in [
                ("Bridge", json!("")),
                ("HairpinMode", json!(false)),
                ("LinkLocalIPv6Address", json!("")),
                ("LinkLocalIPv6PrefixLen", json!(0)),
                ("SecondaryIPAddresses", Value::Null),
                ("SecondaryIPv6Addresses", Value::Null),
            ] {
                ns.entry(k).or_insert(zero);
            }
            for k in LEGACY_BRIDGE_KEYS {
                let value = bridge.get(*k).cloned().unwrap_or(Value::Null);
                ns.entry(*k).or_insert(value);
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine_doc() -> Value {
        json!({
            "Id": "x",
            "HostConfig": {"NetworkMode": "default", "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}},
            "Config": {"Image": "busybox", "Labels": {}},
            "ImageManifestDescriptor": {"mediaType": "m"},
            "NetworkSettings": {
                "SandboxID": "", "SandboxKey": "", "Ports": {},
                "Networks": {"bridge": {"NetworkID": "", "IPAddress": "10.0.0.2", "IPPrefixLen": 16}}
            }
        })
    }

    #[test]
    fn newest_fills_nulls_and_drops_legacy_fields() {
        let doc = inspect(ApiVersion(1, 53), engine_doc());
        assert_eq!(doc["ExecIDs"], Value::Null);
        assert_eq!(doc["HostConfig"]["Binds"], Value::Null);
        assert_eq!(doc["HostConfig"]["ShmSize"], 0);
        assert_eq!(doc["HostConfig"]["RestartPolicy"]["Name"], "no");
        assert_eq!(doc["HostConfig"]["ConsoleSize"], json!([0, 0]));
        assert!(doc["HostConfig"].get("KernelMemory").is_none());
        assert!(doc["HostConfig"].get("KernelMemoryTCP").is_none());
        assert_eq!(doc["Config"]["Env"], Value::Null);
        assert_eq!(doc["Config"]["Labels"], json!({}));
        assert!(doc["Config"].get("OnBuild").is_none());
        let ep = &doc["NetworkSettings"]["Networks"]["bridge"];
        assert_eq!(ep["Aliases"], Value::Null);
        assert_eq!(ep["DNSNames"], Value::Null);
        assert_eq!(ep["IPAddress"], "10.0.0.2");
        for k in ["Bridge", "HairpinMode", "IPAddress", "SecondaryIPAddresses"] {
            assert!(doc["NetworkSettings"].get(k).is_none(), "{k}");
        }
        assert!(doc.get("ImageManifestDescriptor").is_some());
    }

    #[test]
    fn before_1_52_the_bridge_shows_at_the_top() {
        let doc = inspect(ApiVersion(1, 51), engine_doc());
        let ns = &doc["NetworkSettings"];
        assert_eq!(ns["IPAddress"], "10.0.0.2");
        assert_eq!(ns["IPPrefixLen"], 16);
        assert_eq!(ns["Gateway"], "");
        assert_eq!(ns["HairpinMode"], false);
        assert_eq!(ns["SecondaryIPv6Addresses"], Value::Null);
        assert_eq!(doc["Config"]["OnBuild"], Value::Null);
        assert!(doc["HostConfig"].get("KernelMemory").is_none());
        assert!(doc.get("ImageManifestDescriptor").is_some());
        // Not on the bridge: zero values.
        let mut none = engine_doc();
        none["NetworkSettings"]["Networks"] = json!({"none": {}});
        let doc = inspect(ApiVersion(1, 44), none);
        assert_eq!(doc["NetworkSettings"]["IPAddress"], "");
        assert_eq!(doc["NetworkSettings"]["IPPrefixLen"], 0);
        assert_eq!(doc["NetworkSettings"]["Networks"]["none"]["GwPriority"], 0);
    }

    #[test]
    fn api_1_41_has_kernel_memory_and_no_manifest() {
        let doc = inspect(ApiVersion(1, 41), engine_doc());
        assert_eq!(doc["HostConfig"]["KernelMemory"], 0);
        assert_eq!(doc["HostConfig"]["KernelMemoryTCP"], 0);
        assert!(doc.get("ImageManifestDescriptor").is_none());
        assert_eq!(doc["NetworkSettings"]["Bridge"], "");
        // What the engine set is kept.
        assert_eq!(doc["HostConfig"]["NetworkMode"], "default");
        assert_eq!(doc["Config"]["Image"], "busybox");
    }

    #[test]
    fn not_an_object_passes_through() {
        assert_eq!(inspect(ApiVersion(1, 41), json!(null)), json!(null));
    }
}
