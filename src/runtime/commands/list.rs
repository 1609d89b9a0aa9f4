//! `list`: the containers under --root, as runc's table (tabwriter, min width 12, padding 3) or
//! JSON.

use std::io::Write;
use std::os::unix::fs::MetadataExt;

use crate::runtime::cli::GlobalOpts;
use crate::runtime::container::{self, ContainerState};
use crate::runtime::error::RuntimeError;

fn owner(uid: u32) -> String {
    if uid == 0 {
        "root".to_string()
    } else {
        uid.to_string()
    }
}

/// Aligns columns like Go's tabwriter with minwidth 12 and padding 3.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

pub fn run(global: &GlobalOpts, json: bool, quiet: bool) -> Result<i32, RuntimeError> {
    let mut states = Vec::new();
    for id in container::list_ids(&global.root) {
        if let Ok(st) = ContainerState::load(&global.root, &id) {
            let uid = std::fs::metadata(st.dir(&global.root))
                .map(|m| m.uid())
                .unwrap_or(0);
            states.push((st, uid));
        }
    }
    let mut out = std::io::stdout().lock();
    if quiet {
        for (st, _) in &states {
            let _ = writeln!(out, "{}", st.id);
        }
        return Ok(0);
    }
    if json {
        let list: Vec<_> = states
            .iter()
            .map(|(st, uid)| {
                let mut v = serde_json::to_value(st.oci_state(&global.root))
                    .unwrap_or(serde_json::Value::Null);
                v["owner"] = serde_json::Value::String(owner(*uid));
                v
            })
            .collect();
        let _ = writeln!(out, "{}", serde_json::Value::Array(list));
        return Ok(0);
    }
    let mut rows = vec![
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ];
    for (st, uid) in &states {
        let s = st.oci_state(&global.root);
        rows.push(vec![
            s.id,
            s.pid.to_string(),
            s.status.as_str().to_string(),
            s.bundle,
            s.created,
            owner(*uid),
        ]);
    }
    let _ = out.write_all(table(&rows).as_bytes());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_like_tabwriter() {
        let rows = vec![
            vec!["ID".to_string(), "PID".to_string()],
            vec!["a-long-container-id".to_string(), "1".to_string()],
        ];
        assert_eq!(
            table(&rows),
            "ID                    PID\na-long-container-id   1\n"
        );
    }
}
