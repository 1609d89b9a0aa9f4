//! `docker attach` (and the attach half of `docker run`): a stream from the container's shim.
//! Before the container runs, the request waits and is connected at start, before the process
//! execs, so no output is lost. The session then pumps bytes both ways: the container's output
//! to the client (encoded as the API says: frames, or raw with a terminal), the client's input
//! to the container, watching for the detach keys.

use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use super::detach_keys::{self, Detector};
use super::live::PendingAttach;
use crate::engine::{Engine, Error, Result};
use crate::task::{AttachOptions, AttachStream, read_output};

pub struct AttachSession {
    engine: Engine,
    /// The container's id.
    pub id: String,
    /// An exec's streams rather than the container's.
    exec_id: Option<String>,
    /// Resolves once the process's exit is recorded: the client's stream ends after it, so a
    /// client inspecting right after the end sees the exit code (`docker exec` does).
    settled: Option<BoxFuture<'static, ()>>,
    pub tty: bool,
    /// Closing the client's stdin closes the container's (`docker run -i` without a terminal).
    pub stdin_once: bool,
    pub stdin: bool,
    /// The detach keys (`detachKeys`, else ctrl-p,ctrl-q); watched for with a terminal only.
    detach_keys: Vec<u8>,
    /// Resolves to the shim's stream (output frames out, raw stdin in); none when the client
    /// did not ask for the live streams (`stream=0`).
    stream: Option<oneshot::Receiver<Result<AttachStream>>>,
}

impl Engine {
    /// `live`: connect to the container's streams (now, or at its next start); without it the
    /// session only describes the container (for a `logs=1` replay). `detach_keys` in moby's
    /// notation (none or empty: the default).
    pub async fn attach_container(
        &self,
        input: &str,
        opts: AttachOptions,
        live: bool,
        detach_keys: Option<&str>,
    ) -> Result<AttachSession> {
        let detach_keys = match detach_keys.filter(|k| !k.is_empty()) {
            Some(k) => detach_keys::parse(k).map_err(Error::invalid)?,
            None => detach_keys::DEFAULT_KEYS.to_vec(),
        };
        let c = self.container(input).await?;
        let config = &c.config;
        let stdin = opts.stdin && config.open_stdin.unwrap_or(false) && live;
        let opts = AttachOptions { stdin, ..opts };
        let session = |stream| AttachSession {
            engine: self.clone(),
            exec_id: None,
            settled: None,
            detach_keys: detach_keys.clone(),
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

    async fn close_container_stdin(&self, id: &str, exec_id: Option<&str>) -> Result<()> {
        if let Some(task) = self.live().task(id) {
            match exec_id {
                Some(exec) => task.exec_close_stdin(exec).await,
                None => task.close_stdin().await,
            }
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

/// What an exec's session is made of (engine/exec/start.rs).
pub struct ExecStreams {
    pub container_id: String,
    pub exec_id: String,
    pub tty: bool,
    pub stdin: bool,
    pub detach_keys: Vec<u8>,
    pub stream: AttachStream,
    pub settled: BoxFuture<'static, ()>,
}

impl AttachSession {
    /// A session on an exec's streams; closing the client's stdin closes the exec's, as dockerd.
    pub(crate) fn exec(engine: &Engine, s: ExecStreams) -> AttachSession {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Ok(s.stream));
        AttachSession {
            engine: engine.clone(),
            id: s.container_id,
            exec_id: Some(s.exec_id),
            settled: Some(s.settled),
            tty: s.tty,
            stdin_once: true,
            stdin: s.stdin,
            detach_keys: s.detach_keys,
            stream: Some(rx),
        }
    }

    /// Waits for the container's streams (connected at its start); none when the client did
    /// not ask for them, or the attach ended first (the container was removed).
    async fn connect(&mut self) -> Option<AttachStream> {
        match self.stream.take()?.await {
            Ok(Ok(s)) => Some(s),
            Ok(Err(e)) => {
                tracing::debug!(container = %self.id, error = %e, "attach ended before the container ran");
                None
            }
            Err(_) => None,
        }
    }

    /// The live output alone (an attach without upgrade, which reads no input): each chunk
    /// as `encode(stream, bytes)`, until the container's output ends.
    pub fn output<E>(self, encode: E) -> impl futures_util::Stream<Item = Vec<u8>> + Send
    where
        E: Fn(u8, Vec<u8>) -> Vec<u8> + Send + 'static,
    {
        enum St {
            Waiting(AttachSession),
            Reading(AttachStream, Option<BoxFuture<'static, ()>>),
        }
        futures_util::stream::unfold(
            (Some(St::Waiting(self)), encode),
            |(st, encode)| async move {
                let (mut shim, settled) = match st? {
                    St::Waiting(mut session) => {
                        let settled = session.settled.take();
                        (session.connect().await?, settled)
                    }
                    St::Reading(s, settled) => (s, settled),
                };
                match read_output(&mut shim).await.ok().flatten() {
                    Some((stream, bytes)) => Some((
                        encode(stream, bytes),
                        (Some(St::Reading(shim, settled)), encode),
                    )),
                    None => {
                        if let Some(settled) = settled {
                            settled.await;
                        }
                        None
                    }
                }
            },
        )
    }

    /// Copies the container's output to the client (each chunk as `encode(stream, bytes)`)
    /// and the client's input to the container, until the output ends or the client types
    /// the detach keys (terminal attaches only, as dockerd). Then closes the client's side.
    pub async fn pump<C, E>(mut self, client: C, encode: E)
    where
        C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        E: Fn(u8, Vec<u8>) -> Vec<u8> + Send,
    {
        let (mut client_r, mut client_w) = tokio::io::split(client);
        let Some(shim) = self.connect().await else {
            let _ = client_w.shutdown().await;
            return;
        };
        let (mut shim_r, mut shim_w) = tokio::io::split(shim);
        let mut detach = self.tty.then(|| Detector::new(self.detach_keys.clone()));
        let (engine, id, exec_id) = (self.engine.clone(), self.id.clone(), self.exec_id.clone());
        let settled = self.settled.take();
        let (stdin, stdin_once) = (self.stdin, self.stdin_once);
        // Resolves to true when the client typed the detach keys.
        let input = async move {
            if !stdin {
                let _ = shim_w.shutdown().await;
                return false;
            }
            let mut buf = vec![0u8; 32 * 1024];
            let mut forward = Vec::with_capacity(buf.len());
            loop {
                let n = match client_r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                forward.clear();
                let detached = match &mut detach {
                    Some(d) => d.feed(&buf[..n], &mut forward),
                    None => {
                        forward.extend_from_slice(&buf[..n]);
                        false
                    }
                };
                if shim_w.write_all(&forward).await.is_err() {
                    return false;
                }
                if detached {
                    tracing::debug!(container = %id, "attach detached by the client's keys");
                    return true;
                }
            }
            if stdin_once
                && let Err(e) = engine.close_container_stdin(&id, exec_id.as_deref()).await
            {
                tracing::debug!(container = %id, error = %e, "cannot close stdin");
            }
            // The shim reads the half-close as this attacher's end of input (a split stream
            // does not half-close on drop).
            let _ = shim_w.shutdown().await;
            false
        };
        let output = async move {
            while let Ok(Some((stream, bytes))) = read_output(&mut shim_r).await {
                if client_w.write_all(&encode(stream, bytes)).await.is_err() {
                    return;
                }
                let _ = client_w.flush().await;
            }
            if let Some(settled) = settled {
                settled.await;
            }
            let _ = client_w.shutdown().await;
        };
        tokio::pin!(output);
        tokio::select! {
            _ = &mut output => {}
            detached = input => {
                // Input over without a detach: the output still runs to its end.
                if !detached {
                    output.await;
                }
            }
        }
    }
}
