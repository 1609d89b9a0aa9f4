//! Builders for fake cgroup trees and the write journal.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use crate::runtime::cgroups::fsio::JOURNAL;

/// What `docker run -m 256m --memory-reservation 128m --memory-swap 512m --memory-swappiness 10
/// --oom-kill-disable --cpu-shares 512 --cpus 1.5 --cpuset-cpus 0 --cpuset-mems 0
/// --pids-limit 100 --blkio-weight 300 --device-read-bps /dev/vda:1mb
/// --device-write-iops /dev/vda:100` puts in the spec, with runc's default device rules.
pub const DOCKER_LIKE: &str = r#"{
  "devices": [
    {"allow": false, "access": "rwm"},
    {"allow": true, "type": "c", "access": "m"},
    {"allow": true, "type": "b", "access": "m"},
    {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    {"allow": true, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
    {"allow": true, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
    {"allow": true, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
    {"allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
    {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
    {"allow": true, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
    {"allow": true, "type": "c", "major": 136, "access": "rwm"},
    {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"}
  ],
  "memory": {
    "limit": 268435456, "reservation": 134217728, "swap": 536870912, "kernel": 67108864,
    "swappiness": 10, "disableOOMKiller": true
  },
  "cpu": {"shares": 512, "quota": 150000, "period": 100000, "cpus": "0", "mems": "0"},
  "pids": {"limit": 100},
  "blockIO": {
    "weight": 300,
    "throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}],
    "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 100}]
  },
  "hugepageLimits": [{"pageSize": "2MB", "limit": 1073741824}]
}"#;

pub fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

/// Creates `dir` with the given files and contents.
pub fn files(dir: &Path, entries: &[(&str, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (name, content) in entries {
        fs::write(dir.join(name), content).unwrap();
    }
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

/// Empties the journal and returns what it held, with paths relative to `base`.
pub fn take_journal(base: &Path) -> Vec<(String, String)> {
    JOURNAL.with(|j| {
        j.borrow_mut()
            .drain(..)
            .map(|(p, v)| {
                let rel: PathBuf = p.strip_prefix(base).map(Path::to_path_buf).unwrap_or(p);
                (rel.display().to_string(), v)
            })
            .collect()
    })
}

pub fn clear_journal() {
    JOURNAL.with(|j| j.borrow_mut().clear());
}

/// Shorthand for expected journal entries.
pub fn writes(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(p, v)| (p.to_string(), v.to_string()))
        .collect()
}
