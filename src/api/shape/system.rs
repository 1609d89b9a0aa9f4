//! `GET /info` for older API versions.

use serde_json::{Value, json};

use crate::api::version::ApiVersion;

pub fn info(v: ApiVersion, mut doc: Value) -> Value {
    let Some(obj) = doc.as_object_mut() else {
        return doc;
    };
    // Omitted from 1.50 on.
    if v < ApiVersion(1, 50) {
        let read = |p: &str| std::fs::read_to_string(p).is_ok_and(|s| s.trim() == "1");
        obj.insert(
            "BridgeNfIptables".into(),
            json!(read("/proc/sys/net/bridge/bridge-nf-call-iptables")),
        );
        obj.insert(
            "BridgeNfIp6tables".into(),
            json!(read("/proc/sys/net/bridge/bridge-nf-call-ip6tables")),
        );
    }
    // Omitted from 1.49 on.
    if v < ApiVersion(1, 49) {
        for key in ["ContainerdCommit", "RuncCommit", "InitCommit"] {
            if let Some(Value::Object(c)) = obj.get_mut(key) {
                c.entry("Expected").or_insert(json!(""));
            }
        }
        if let Some(Value::Object(reg)) = obj.get_mut("RegistryConfig") {
            reg.entry("AllowNondistributableArtifactsCIDRs")
                .or_insert(json!([]));
            reg.entry("AllowNondistributableArtifactsHostnames")
                .or_insert(json!([]));
        }
    }
    // Kernel memory accounting was reported until 1.42 (false: we never offer it).
    if v < ApiVersion(1, 42) {
        obj.entry("KernelMemory").or_insert(json!(false));
        obj.entry("KernelMemoryTCP").or_insert(json!(false));
    }
    // Older clients decode these as always present.
    if v < ApiVersion(1, 44) {
        obj.entry("GenericResources").or_insert(Value::Null);
        obj.entry("Isolation").or_insert(json!(""));
        if let Some(Value::Object(s)) = obj.get_mut("Swarm") {
            s.entry("RemoteManagers").or_insert(Value::Null);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_info_gains_legacy_keys() {
        let doc = json!({"RuncCommit": {"ID": ""}, "RegistryConfig": {}, "Swarm": {}});
        let old = info(ApiVersion(1, 41), doc.clone());
        assert_eq!(old["KernelMemory"], false);
        assert_eq!(old["RuncCommit"]["Expected"], "");
        assert!(old["RegistryConfig"]["AllowNondistributableArtifactsCIDRs"].is_array());
        assert!(old.get("BridgeNfIptables").is_some());
        assert!(old["Swarm"].get("RemoteManagers").is_some());
        assert_eq!(info(ApiVersion(1, 53), doc.clone()), doc);
    }
}
