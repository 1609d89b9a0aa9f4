//! OCI `unified`: raw v2 key/value writes, one line at a time (io.max takes one device a write).

use std::collections::HashMap;
use std::path::Path;

use super::set;
use crate::runtime::cgroups::error::CgroupError;

pub(super) fn apply(dir: &Path, unified: &HashMap<String, String>) -> Result<(), CgroupError> {
    // Sorted, so the writes do not depend on hash order.
    let mut keys: Vec<&String> = unified.keys().collect();
    keys.sort();
    for key in keys {
        if key.contains('/') || key.starts_with('.') || !key.contains('.') {
            return Err(CgroupError::Resource {
                what: "unified key",
                reason: format!("{key:?} is not a file name like \"memory.high\""),
            });
        }
        let value = &unified[key];
        for line in value.lines().filter(|l| !l.trim().is_empty()) {
            set(dir, key, line)?;
        }
        if value.trim().is_empty() {
            set(dir, key, value)?;
        }
    }
    Ok(())
}
