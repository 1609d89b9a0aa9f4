//! `docker attach` (and the attach half of `docker run`): a stream from the container's shim.
//! Before the container runs, the request waits and is connected at start, before the process
//! execs, so no output is lost.

use tokio::sync::oneshot;

use super::live::PendingAttach;
use crate::engine::{Engine, Error, Result};
use crate::task::{AttachOptions, AttachStream};

pub struct AttachSession {
    pub id: String,
    pub tty: bool,
    /// Closing the client's stdin closes the container's (`docker run -i` without a terminal).
    pub stdin_once: bool,
    pub stdin: bool,
    /// Resolves to the shim's stream (stdcopy frames out, raw stdin in); none when the client
    /// did not ask for the live streams (`stream=0`).
    pub stream: Option<oneshot::Receiver<Result<AttachStream>>>,
}

impl Engine {
    /// `live`: connect to the container's streams (now, or at its next start); without it the
    /// session only describes the container (for a `logs=1` replay).
    pub async fn attach_container(
        &self,
        input: &str,
        opts: AttachOptions,
        live: bool,
    ) -> Result<AttachSession> {
        let c = self.container(input).await?;
        let config = &c.config;
        let stdin = opts.stdin && config.open_stdin.unwrap_or(false) && live;
        let opts = AttachOptions { stdin, ..opts };
        let session = |stream| AttachSession {
            id: c.id.clone(),
            tty: config.tty.unwrap_or(false),
            stdin_once: config.stdin_once.unwrap_or(false),
            stdin,
            stream,
        };
        if !live {
            return Ok(session(None));
        }
        let (tx, rx) = oneshot::channel();
        // Under the operation lock, so a start in progress either sees this request or has
        // already registered its task.
        let lock = self.live().op_lock(&c.id);
        let _op = lock.lock().await;
        let running = self
            .container_by_id(&c.id)
            .await?
            .is_some_and(|now| now.state.is_running());
        self.events().publish(c.event("attach"));
        match self.live().task(&c.id).filter(|_| running) {
            Some(task) => {
                let stream = task
                    .attach(opts)
                    .await
                    .map_err(|e| Error::internal(format!("cannot attach: {e}")));
                let _ = tx.send(stream);
            }
            None => self
                .live()
                .add_pending(&c.id, PendingAttach { opts, reply: tx }),
        }
        Ok(session(Some(rx)))
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
        let c = self.container(input).await?;
        let task = self
            .live()
            .task(&c.id)
            .ok_or_else(|| Error::conflict(format!("Container {} is not running", c.id)))?;
        self.events().publish(
            c.event("resize")
                .with("height", height.to_string())
                .with("width", width.to_string()),
        );
        task.resize(width, height)
            .await
            .map_err(|e| Error::internal(e.to_string()))
    }
}
