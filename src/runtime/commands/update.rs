//! `update`: new cgroup limits for a running container, from `-r FILE|-` (an OCI
//! LinuxResources document) and/or single flags. Only what is given is applied; the stored
//! config is updated with it (a deep merge) so later commands see the new values.

use std::io::Read;

use oci_spec::runtime::LinuxResources;
use serde_json::{Map, Value, json};

use crate::runtime::cgroup;
use crate::runtime::cli::{GlobalOpts, UpdateOpts};
use crate::runtime::container::ContainerState;
use crate::runtime::error::{RuntimeError, io_err};

/// The update as a JSON object in LinuxResources' shape.
pub fn update_document(o: &UpdateOpts, from_file: Option<Value>) -> Value {
    let mut doc = from_file.unwrap_or_else(|| json!({}));
    let mut set = |section: &str, key: &str, v: Value| {
        if let Some(obj) = doc.as_object_mut() {
            let s = obj
                .entry(section.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(s) = s.as_object_mut() {
                s.insert(key.to_string(), v);
            }
        }
    };
    if let Some(v) = o.memory {
        set("memory", "limit", json!(v));
    }
    if let Some(v) = o.memory_reservation {
        set("memory", "reservation", json!(v));
    }
    if let Some(v) = o.memory_swap {
        set("memory", "swap", json!(v));
    }
    if let Some(v) = o.cpu_shares {
        set("cpu", "shares", json!(v));
    }
    if let Some(v) = o.cpu_quota {
        set("cpu", "quota", json!(v));
    }
    if let Some(v) = o.cpu_period {
        set("cpu", "period", json!(v));
    }
    if let Some(v) = &o.cpuset_cpus {
        set("cpu", "cpus", json!(v));
    }
    if let Some(v) = &o.cpuset_mems {
        set("cpu", "mems", json!(v));
    }
    if let Some(v) = o.pids_limit {
        set("pids", "limit", json!(v));
    }
    if let Some(v) = o.blkio_weight {
        set("blockIO", "weight", json!(v));
    }
    doc
}

/// Objects merge key by key; anything else is replaced.
pub fn merge(base: &mut Value, update: &Value) {
    match (base, update) {
        (Value::Object(b), Value::Object(u)) => {
            for (k, v) in u {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, u) => *b = u.clone(),
    }
}

pub fn run(global: &GlobalOpts, o: &UpdateOpts) -> Result<i32, RuntimeError> {
    let mut st = ContainerState::load(&global.root, &o.id)?;
    let from_file = match &o.resources {
        None => None,
        Some(p) => {
            let mut data = Vec::new();
            if p.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_end(&mut data)
                    .map_err(io_err("read", "stdin"))?;
            } else {
                data = std::fs::read(p).map_err(io_err("read", p))?;
            }
            Some(serde_json::from_slice::<Value>(&data).map_err(|source| {
                RuntimeError::Resources {
                    path: p.clone(),
                    source,
                }
            })?)
        }
    };
    let doc = update_document(o, from_file);
    let path = o.resources.clone().unwrap_or_else(|| "flags".into());
    let update: LinuxResources =
        serde_json::from_value(doc.clone()).map_err(|source| RuntimeError::Resources {
            path: path.clone(),
            source,
        })?;
    let cg =
        cgroup::for_container(&st)?.ok_or_else(|| RuntimeError::NoCgroup { id: st.id.clone() })?;
    cg.apply(&update)?;

    let mut linux = st.spec.linux().clone().unwrap_or_default();
    let mut current =
        serde_json::to_value(linux.resources().clone().unwrap_or_default()).map_err(|source| {
            RuntimeError::Resources {
                path: path.clone(),
                source,
            }
        })?;
    merge(&mut current, &doc);
    let merged: LinuxResources = serde_json::from_value(current)
        .map_err(|source| RuntimeError::Resources { path, source })?;
    linux.set_resources(Some(merged));
    st.spec.set_linux(Some(linux));
    st.save(&global.root)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_build_a_resources_document() {
        let o = UpdateOpts {
            memory: Some(1 << 20),
            pids_limit: Some(5),
            cpuset_cpus: Some("0".into()),
            ..Default::default()
        };
        let doc = update_document(&o, Some(json!({"memory": {"swap": 7}})));
        assert_eq!(
            doc,
            json!({"memory": {"swap": 7, "limit": 1048576}, "pids": {"limit": 5}, "cpu": {"cpus": "0"}})
        );
        let r: LinuxResources = serde_json::from_value(doc).unwrap();
        assert_eq!(r.pids().as_ref().unwrap().limit(), 5);
    }

    #[test]
    fn merge_is_deep() {
        let mut base = json!({"memory": {"limit": 1, "swap": 2}, "pids": {"limit": 3}});
        merge(
            &mut base,
            &json!({"memory": {"limit": 10}, "cpu": {"shares": 5}}),
        );
        assert_eq!(
            base,
            json!({"memory": {"limit": 10, "swap": 2}, "pids": {"limit": 3}, "cpu": {"shares": 5}})
        );
    }
}
