//! `GET /exec/{id}/json`: dockerd's ExecInspect.

use super::ExecPhase;
use crate::engine::{Engine, Error, Result};
use crate::models::{ExecInspectResponse, ProcessConfig};

impl Engine {
    pub fn inspect_exec(&self, id: &str) -> Result<ExecInspectResponse> {
        let r = self
            .execs()
            .get(id)
            .ok_or_else(|| Error::not_found(format!("No such exec instance: {id}")))?;
        let (running, exit_code, pid) = match r.phase {
            ExecPhase::Created => (false, None, 0),
            ExecPhase::Starting => (true, None, 0),
            ExecPhase::Running { pid } => (true, None, pid),
            ExecPhase::Exited { pid, code } => (false, Some(code), pid),
        };
        let (entrypoint, arguments) = match r.cmd.split_first() {
            Some((first, rest)) => (first.clone(), rest.to_vec()),
            None => (String::new(), Vec::new()),
        };
        Ok(ExecInspectResponse {
            id: Some(r.id.clone()),
            running: Some(running),
            exit_code,
            process_config: Some(ProcessConfig {
                privileged: Some(r.privileged),
                user: Some(r.user.clone()),
                tty: Some(r.tty),
                entrypoint: Some(entrypoint),
                arguments: Some(arguments),
            }),
            open_stdin: Some(r.open_stdin),
            open_stderr: Some(r.open_stderr),
            open_stdout: Some(r.open_stdout),
            can_remove: Some(false),
            container_id: Some(r.container_id.clone()),
            detach_keys: Some(r.detach_keys.clone()),
            pid: Some(i64::from(pid)),
        })
    }
}
