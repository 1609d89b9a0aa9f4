//! One request on a shim's socket: connect, send a frame, read a frame, all async and bounded.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::error::TaskError;
use crate::shim::proto::{self, Request, Response};

/// Longest path `connect(2)` takes (sun_path less its NUL).
const SUN_PATH_MAX: usize = 107;

fn gone(socket: &Path) -> impl Fn(io::Error) -> TaskError + '_ {
    move |source| TaskError::ShimGone {
        socket: socket.to_path_buf(),
        source,
    }
}

/// Connects to a shim socket; a path too long for sun_path goes through its directory's
/// descriptor (`/proc/self/fd/N/shim.sock`), as the shim binds it relative to that directory.
pub(super) async fn connect(socket: &Path) -> io::Result<UnixStream> {
    if socket.as_os_str().len() <= SUN_PATH_MAX {
        return UnixStream::connect(socket).await;
    }
    let (Some(dir), Some(name)) = (socket.parent(), socket.file_name()) else {
        return UnixStream::connect(socket).await;
    };
    // O_PATH open of a directory: a lookup, not I/O that could stall the runtime.
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(dir)?;
    let short = Path::new("/proc/self/fd")
        .join(std::os::fd::AsRawFd::as_raw_fd(&dir).to_string())
        .join(name);
    UnixStream::connect(short).await
}

/// Connects and sends `req`, within `bound`.
pub(super) async fn open(
    socket: &Path,
    op: &'static str,
    req: &Request,
    bound: Duration,
) -> Result<UnixStream, TaskError> {
    let frame = proto::encode(req).map_err(|e| TaskError::Shim(e.to_string()))?;
    let fut = async {
        let mut s = connect(socket).await.map_err(gone(socket))?;
        s.write_all(&frame).await.map_err(gone(socket))?;
        Ok(s)
    };
    tokio::time::timeout(bound, fut)
        .await
        .map_err(|_| TaskError::Timeout { op, after: bound })?
}

/// Reads one reply frame, and nothing past it (an attach stream follows its reply).
pub(super) async fn recv(s: &mut UnixStream, socket: &Path) -> Result<Response, TaskError> {
    let mut prefix = [0u8; 4];
    s.read_exact(&mut prefix).await.map_err(gone(socket))?;
    let len = proto::frame_len(prefix).map_err(|e| TaskError::Shim(e.to_string()))?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.map_err(gone(socket))?;
    proto::decode(&body).map_err(|e| TaskError::Shim(e.to_string()))
}

/// A whole control call within `bound`; an error reply becomes the matching [`TaskError`].
pub(super) async fn call(
    socket: &Path,
    op: &'static str,
    req: &Request,
    bound: Duration,
) -> Result<Response, TaskError> {
    let fut = async {
        let mut s = open(socket, op, req, bound).await?;
        recv(&mut s, socket).await
    };
    let resp = tokio::time::timeout(bound, fut)
        .await
        .map_err(|_| TaskError::Timeout { op, after: bound })??;
    match resp {
        Response::Error { kind, message } => Err(TaskError::from_reply(kind, message, op)),
        other => Ok(other),
    }
}

/// A reply that is not the one the request calls for.
pub(super) fn unexpected(op: &'static str, resp: Response) -> TaskError {
    TaskError::Shim(format!("unexpected reply to {op}: {resp:?}"))
}
