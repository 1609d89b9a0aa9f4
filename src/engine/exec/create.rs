//! `POST /containers/{id}/exec`: registers an exec in a running container; nothing runs until
//! its start. dockerd's checks and messages: a running, unpaused container, a command, a user
//! that exists in the container, valid detach keys.

use super::{ExecPhase, ExecRecord};
use crate::engine::container::Status;
use crate::engine::container::detach_keys;
use crate::engine::{Engine, Error, Result};
use crate::models::ExecConfig;

impl Engine {
    /// Returns the new exec's ID.
    pub async fn create_exec(&self, input: &str, req: ExecConfig) -> Result<String> {
        let c = self.container(input).await?;
        match c.state.status {
            Status::Paused => {
                return Err(Error::conflict(format!(
                    "Container {input} is paused, unpause the container before exec"
                )));
            }
            Status::Restarting => {
                return Err(Error::conflict(format!(
                    "Container {} is restarting, wait until the container is running",
                    c.id
                )));
            }
            Status::Running => {}
            _ => {
                return Err(Error::conflict(format!(
                    "container {} is not running",
                    c.id
                )));
            }
        }
        let cmd = req.cmd.unwrap_or_default();
        if cmd.is_empty() {
            return Err(Error::invalid("No exec command specified"));
        }
        let detach_keys = req.detach_keys.unwrap_or_default();
        if !detach_keys.is_empty() && detach_keys::parse(&detach_keys).is_err() {
            return Err(Error::invalid(format!(
                "Invalid escape keys ({detach_keys}) provided"
            )));
        }
        let user = req
            .user
            .filter(|u| !u.is_empty())
            .or_else(|| c.config.user.clone())
            .unwrap_or_default();
        if !user.is_empty() {
            // Early, as dockerd: a user missing from the container's /etc/passwd is a 400 now
            // rather than a failed start.
            let rootfs = self.container_paths(&c.id).rootfs;
            let (name, groups) = (user.clone(), c.host.group_add.clone().unwrap_or_default());
            tokio::task::spawn_blocking(move || {
                crate::engine::spec::resolve_exec_user(&rootfs, &name, &groups)
            })
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
        }
        let console_size = super::console_size(req.console_size.as_deref())?;
        let record = ExecRecord {
            id: crate::util::ids::random_id(),
            container_id: c.id.clone(),
            cmd,
            env: req.env.unwrap_or_default(),
            tty: req.tty.unwrap_or(false),
            privileged: req.privileged.unwrap_or(false),
            user,
            working_dir: req
                .working_dir
                .filter(|w| !w.is_empty())
                .or_else(|| c.config.working_dir.clone())
                .unwrap_or_default(),
            open_stdin: req.attach_stdin.unwrap_or(false),
            open_stdout: req.attach_stdout.unwrap_or(false),
            open_stderr: req.attach_stderr.unwrap_or(false),
            detach_keys,
            console_size,
            phase: ExecPhase::Created,
        };
        let id = record.id.clone();
        let action = format!("exec_create: {}", record.command_line());
        self.execs().insert(record);
        self.events()
            .publish(c.event(&action).with("execID", id.clone()));
        Ok(id)
    }
}

impl ExecRecord {
    /// As dockerd's events name it: the entrypoint, a space, the arguments.
    pub fn command_line(&self) -> String {
        let (first, rest) = self
            .cmd
            .split_first()
            .map_or(("", &[][..]), |(f, r)| (f, r));
        format!("{first} {}", rest.join(" "))
    }
}
