//! The byte plumbing of an attach: the `logs=1` replay, the live output (stdcopy frames, or raw
//! bytes with a terminal), the client's input with the detach keys, on a hijacked connection or
//! as a response body.

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::api::stream::{escape, stdcopy};
use crate::engine::container::AttachStream;
use crate::engine::container::logs::LogEntry;

type LiveStream = tokio::sync::oneshot::Receiver<crate::engine::Result<AttachStream>>;

/// What an attach does with the client's input.
pub struct Input {
    pub stdin: bool,
    /// Closing the client's input closes the container's stdin.
    pub stdin_once: bool,
    /// Ends the attach on the detach keys.
    pub detach: Option<escape::Detector>,
}

/// Copies container output to the client (frames, or raw bytes with a terminal) and client
/// input to the container, until the container's output ends or the client detaches.
pub async fn pump<C>(
    engine: crate::engine::Engine,
    id: String,
    tty: bool,
    mut how: Input,
    client: C,
    shim: AttachStream,
) where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut client_r, mut client_w) = tokio::io::split(client);
    let (mut shim_r, mut shim_w) = tokio::io::split(shim);
    // Resolves to true when the client typed the detach keys.
    let input = async move {
        if !how.stdin {
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
            let detached = match &mut how.detach {
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
        if how.stdin_once
            && let Err(e) = engine.close_container_stdin(&id).await
        {
            tracing::debug!(container = %id, error = %e, "cannot close stdin");
        }
        // The shim reads the half-close as this attacher's end of input (a split stream does
        // not half-close on drop).
        let _ = shim_w.shutdown().await;
        false
    };
    let output = async move {
        while let Ok(Some((stream, payload))) = stdcopy::read_frame(&mut shim_r).await {
            let bytes = attach_bytes(stream, payload, tty);
            if client_w.write_all(&bytes).await.is_err() {
                return;
            }
            let _ = client_w.flush().await;
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

/// A log entry as attach output: a stdcopy frame, or the raw bytes with a terminal.
fn attach_bytes(stream: u8, payload: Vec<u8>, tty: bool) -> Vec<u8> {
    if tty {
        payload
    } else {
        stdcopy::frame(stream, &payload)
    }
}

/// The `logs=1` replay of an attach, if asked for.
pub fn replay_stream(
    replay: Option<tokio::sync::mpsc::Receiver<LogEntry>>,
    tty: bool,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send {
    let entries = replay.map(tokio_stream_from);
    futures_util::stream::iter(entries)
        .flatten()
        .map(move |e| Ok(attach_bytes(e.stream, e.bytes, tty)))
}

/// Live output of an attach without upgrade: waits for the shim's stream, then forwards frames
/// (or raw bytes with a terminal) until it ends.
pub fn live_stream(
    rx: Option<LiveStream>,
    tty: bool,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send {
    enum St {
        Waiting(LiveStream),
        Reading(AttachStream),
    }
    futures_util::stream::unfold(rx.map(St::Waiting), move |st| async move {
        let mut shim = match st? {
            St::Waiting(rx) => match rx.await {
                Ok(Ok(s)) => s,
                _ => return None,
            },
            St::Reading(s) => s,
        };
        match stdcopy::read_frame(&mut shim).await {
            Ok(Some((stream, payload))) => Some((
                Ok(attach_bytes(stream, payload, tty)),
                Some(St::Reading(shim)),
            )),
            _ => None,
        }
    })
}

/// An mpsc receiver as a Stream.
pub fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
