//! Image summaries and inspect documents for older API versions.

use serde_json::{Value, json};

use crate::api::version::ApiVersion;

/// `GET /images/json` items.
pub fn summary(v: ApiVersion, mut item: Value) -> Value {
    let Some(obj) = item.as_object_mut() else {
        return item;
    };
    // 1.51 started counting containers; before, dockerd always sent -1 here.
    if v < ApiVersion(1, 51) {
        obj.insert("Containers".into(), json!(-1));
    }
    // VirtualSize went away in 1.44; it always equalled Size.
    if v < ApiVersion(1, 44) {
        let size = obj.get("Size").cloned().unwrap_or(json!(0));
        obj.insert("VirtualSize".into(), size);
    }
    // Before 1.43, untagged images had placeholder entries instead of empty lists.
    if v < ApiVersion(1, 43) {
        for (key, placeholder) in [
            ("RepoTags", "<none>:<none>"),
            ("RepoDigests", "<none>@<none>"),
        ] {
            if obj
                .get(key)
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                obj.insert(key.into(), json!([placeholder]));
            }
        }
    }
    item
}

/// The container-config keys image inspect carried before 1.50 made `Config` OCI-shaped.
fn full_container_config(config: Option<&Value>) -> Value {
    let mut full = json!({
        "Hostname": "", "Domainname": "", "User": "", "AttachStdin": false,
        "AttachStdout": false, "AttachStderr": false, "Tty": false, "OpenStdin": false,
        "StdinOnce": false, "Env": null, "Cmd": null, "Image": "", "Volumes": null,
        "WorkingDir": "", "Entrypoint": null, "OnBuild": null, "Labels": null,
    });
    if let (Some(full), Some(Value::Object(given))) = (full.as_object_mut(), config) {
        for (k, val) in given {
            full.insert(k.clone(), val.clone());
        }
    }
    full
}

/// `GET /images/{name}/json`.
pub fn inspect(v: ApiVersion, mut doc: Value) -> Value {
    let Some(obj) = doc.as_object_mut() else {
        return doc;
    };
    // 1.52 began omitting these when empty.
    if v < ApiVersion(1, 52) {
        for key in ["Parent", "Comment", "DockerVersion", "Author"] {
            obj.entry(key).or_insert(json!(""));
        }
    }
    if v < ApiVersion(1, 50) {
        let full = full_container_config(obj.get("Config"));
        obj.insert("Config".into(), full);
    }
    // 1.45 dropped the legacy builder's container fields.
    if v < ApiVersion(1, 45) {
        obj.entry("Container").or_insert(json!(""));
        obj.entry("ContainerConfig")
            .or_insert_with(|| full_container_config(None));
    }
    if v < ApiVersion(1, 44) {
        let size = obj.get("Size").cloned().unwrap_or(json!(0));
        obj.insert("VirtualSize".into(), size);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_versions() {
        let item =
            json!({"Id": "x", "RepoTags": [], "RepoDigests": [], "Size": 5, "Containers": 2});
        let new = summary(ApiVersion(1, 53), item.clone());
        assert_eq!(new, item);
        let old = summary(ApiVersion(1, 41), item.clone());
        assert_eq!(old["VirtualSize"], 5);
        assert_eq!(old["Containers"], -1);
        assert_eq!(old["RepoTags"], json!(["<none>:<none>"]));
        let mid = summary(ApiVersion(1, 44), item);
        assert!(mid.get("VirtualSize").is_none());
        assert_eq!(mid["RepoTags"], json!([]));
    }

    #[test]
    fn inspect_versions() {
        let doc = json!({"Id": "x", "Size": 7, "Config": {"Cmd": ["sh"]}});
        assert_eq!(inspect(ApiVersion(1, 53), doc.clone()), doc);
        let old = inspect(ApiVersion(1, 41), doc);
        assert_eq!(old["VirtualSize"], 7);
        assert_eq!(old["Parent"], "");
        assert_eq!(old["Config"]["Cmd"], json!(["sh"]));
        assert_eq!(old["Config"]["Hostname"], "");
        assert_eq!(old["ContainerConfig"]["Cmd"], Value::Null);
        assert_eq!(old["Container"], "");
    }
}
