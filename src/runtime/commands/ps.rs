//! `ps [--format table|json] ID [ps args]`: json is the list of pids; table is the host's
//! `ps` output (default `-ef`) filtered to the container's processes, as runc prints it.

use std::io::Write;
use std::process::Command;

use crate::runtime::cgroup;
use crate::runtime::cli::{GlobalOpts, PsFormat};
use crate::runtime::commands::kill::container_pids;
use crate::runtime::container::ContainerState;
use crate::runtime::error::RuntimeError;

pub fn run(
    global: &GlobalOpts,
    id: &str,
    format: PsFormat,
    ps_args: &[String],
) -> Result<i32, RuntimeError> {
    let st = ContainerState::load(&global.root, id)?;
    let cg = cgroup::for_container(&st)?;
    let pids = container_pids(&st, cg.as_ref())?;
    let mut out = std::io::stdout().lock();
    match format {
        PsFormat::Json => {
            let s = serde_json::to_string(&pids).map_err(|e| RuntimeError::Ps(e.to_string()))?;
            let _ = writeln!(out, "{s}");
        }
        PsFormat::Table => {
            let args: Vec<String> = if ps_args.is_empty() {
                vec!["-ef".to_string()]
            } else {
                ps_args.to_vec()
            };
            let output = Command::new("ps")
                .args(&args)
                .output()
                .map_err(|e| RuntimeError::Ps(format!("ps {}: {e}", args.join(" "))))?;
            if !output.status.success() {
                return Err(RuntimeError::Ps(format!(
                    "ps {}: {}: {}",
                    args.join(" "),
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
            let text = String::from_utf8_lossy(&output.stdout);
            let _ = out.write_all(filter_table(&text, &pids)?.as_bytes());
        }
    }
    Ok(0)
}

/// Keeps the header and the lines whose PID column is one of `pids`.
pub fn filter_table(text: &str, pids: &[i32]) -> Result<String, RuntimeError> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let idx = header
        .split_whitespace()
        .position(|c| c == "PID")
        .ok_or_else(|| RuntimeError::Ps("couldn't find PID field in ps output".to_string()))?;
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(idx)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_filtered_by_pid_column() {
        let text = "UID PID PPID CMD\nroot 1 0 init\nroot 42 1 sleep\nroot 43 1 other\n";
        assert_eq!(
            filter_table(text, &[42]).unwrap(),
            "UID PID PPID CMD\nroot 42 1 sleep\n"
        );
        assert!(filter_table("NOPE\n1\n", &[1]).is_err());
    }
}
