//! `docker attach` (and the attach half of `docker run`): a stream from the container's shim.
//! Before the container runs, the request waits and is connected at start, before the process
//! execs, so no output is lost.

use tokio::sync::oneshot;

use super::live::PendingAttach;
use super::state::ContainerState;
use crate::engine::{Engine, Error, Result};
use crate::models::ContainerConfig;
use crate::task::AttachOptions;

pub struct AttachSession {
    pub id: String,
    pub tty: bool,
    /// Closing the client's stdin closes the container's (`docker run -i` without a terminal).
    pub stdin_once: bool,
    pub stdin: bool,
    /// Resolves to the shim's stream (stdcopy frames out, raw stdin in).
    pub stream: oneshot::Receiver<Result<tokio::net::UnixStream>>,
}

impl Engine {
    pub async fn attach_container(
        &self,
        input: &str,
        opts: AttachOptions,
    ) -> Result<AttachSession> {
        let row = self.resolve_container(input).await?;
        let config: ContainerConfig = serde_json::from_str(&row.config).unwrap_or_default();
        let stdin = opts.stdin && config.open_stdin.unwrap_or(false);
        let opts = AttachOptions { stdin, ..opts };
        let (tx, rx) = oneshot::channel();
        // Under the operation lock, so a start in progress either sees this request or has
        // already registered its task.
        let lock = self.live().op_lock(&row.id);
        let _op = lock.lock().await;
        let running = self
            .store()
            .container(&row.id)
            .await?
            .is_some_and(|r| ContainerState::parse(&r.state).is_running());
        match self.live().task(&row.id).filter(|_| running) {
            Some(task) => {
                let stream = task
                    .attach(opts)
                    .await
                    .map_err(|e| Error::internal(format!("cannot attach: {e}")));
                let _ = tx.send(stream);
            }
            None => self
                .live()
                .add_pending(&row.id, PendingAttach { opts, reply: tx }),
        }
        Ok(AttachSession {
            id: row.id,
            tty: config.tty.unwrap_or(false),
            stdin_once: config.stdin_once.unwrap_or(false),
            stdin,
            stream: rx,
        })
    }

    pub async fn close_container_stdin(&self, id: &str) -> Result<()> {
        if let Some(task) = self.live().task(id) {
            task.close_stdin()
                .await
                .map_err(|e| Error::internal(e.to_string()))?;
        }
        Ok(())
    }

    pub async fn resize_container(&self, input: &str, height: u16, width: u16) -> Result<()> {
        let row = self.resolve_container(input).await?;
        let task = self
            .live()
            .task(&row.id)
            .ok_or_else(|| Error::conflict(format!("Container {} is not running", row.id)))?;
        task.resize(width, height)
            .await
            .map_err(|e| Error::internal(e.to_string()))
    }
}
