//! One request on a shim's socket: connect, send a frame, read a frame, all async and bounded.
//! To a shim that has a protocol version, `Hello` goes first, in the same write as the request:
//! its answer is read and checked before the request's.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::error::TaskError;
use crate::shim::proto::{
    self, ErrorKind, PROTO_LEGACY, PROTO_VERSION, ProtoVersion, Request, Response,
};

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

/// Whether a connection to the shim starts with the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hello {
    /// A shim with a protocol version: `Hello` first, its answer checked.
    Yes,
    /// A shim of protocol 0: the request alone, as it knows it.
    Legacy,
}

impl Hello {
    pub(super) fn for_version(v: ProtoVersion) -> Hello {
        if v == PROTO_LEGACY {
            Hello::Legacy
        } else {
            Hello::Yes
        }
    }
}

fn encode(req: &Request) -> Result<Vec<u8>, TaskError> {
    proto::encode(req).map_err(|e| TaskError::Shim(e.to_string()))
}

/// Connects and sends `req` (behind a `Hello`, whose answer is then checked), within `bound`.
pub(super) async fn open(
    socket: &Path,
    op: &'static str,
    req: &Request,
    bound: Duration,
    hello: Hello,
) -> Result<UnixStream, TaskError> {
    let mut frame = match hello {
        Hello::Yes => encode(&Request::Hello {
            version: PROTO_VERSION,
        })?,
        Hello::Legacy => Vec::new(),
    };
    frame.extend_from_slice(&encode(req)?);
    let fut = async {
        let mut s = connect(socket).await.map_err(gone(socket))?;
        s.write_all(&frame).await.map_err(gone(socket))?;
        if hello == Hello::Yes {
            check_hello(recv(&mut s, socket).await?)?;
        }
        Ok(s)
    };
    tokio::time::timeout(bound, fut)
        .await
        .map_err(|_| TaskError::Timeout { op, after: bound })?
}

/// The shim's answer to our `Hello`: its version if we speak it.
fn check_hello(resp: Response) -> Result<ProtoVersion, TaskError> {
    match resp {
        Response::Hello { version } if PROTO_VERSION.speaks(version) => Ok(version),
        Response::Hello { version } => Err(TaskError::version(version)),
        Response::Error {
            kind: ErrorKind::Version,
            message,
        } => Err(TaskError::Version(message)),
        Response::Error { kind, message } => Err(TaskError::from_reply(kind, message, "hello")),
        other => Err(unexpected("hello", other)),
    }
}

/// Learns the shim's protocol version on a connection of its own: a shim of protocol 0 does
/// not know `Hello` and answers it as a request it cannot decode.
pub(super) async fn handshake(socket: &Path, bound: Duration) -> Result<ProtoVersion, TaskError> {
    let op = "hello";
    let frame = encode(&Request::Hello {
        version: PROTO_VERSION,
    })?;
    let fut = async {
        let mut s = connect(socket).await.map_err(gone(socket))?;
        s.write_all(&frame).await.map_err(gone(socket))?;
        recv(&mut s, socket).await
    };
    let resp = tokio::time::timeout(bound, fut)
        .await
        .map_err(|_| TaskError::Timeout { op, after: bound })??;
    match resp {
        Response::Error {
            kind: ErrorKind::BadRequest,
            ..
        } => Ok(PROTO_LEGACY),
        other => check_hello(other),
    }
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
    hello: Hello,
) -> Result<Response, TaskError> {
    let fut = async {
        let mut s = open(socket, op, req, bound, hello).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_answers_are_checked() {
        let same = ProtoVersion::new(PROTO_VERSION.major, PROTO_VERSION.minor + 3);
        assert_eq!(
            check_hello(Response::Hello { version: same }).unwrap(),
            same
        );
        let future = ProtoVersion::new(PROTO_VERSION.major + 1, 0);
        let err = check_hello(Response::Hello { version: future }).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, TaskError::Version(_)));
        assert!(
            msg.contains(&future.to_string()) && msg.contains(&PROTO_VERSION.to_string()),
            "{msg}"
        );
        let refused = check_hello(Response::Error {
            kind: ErrorKind::Version,
            message: "no".into(),
        });
        assert!(matches!(refused, Err(TaskError::Version(m)) if m == "no"));
        assert_eq!(Hello::for_version(PROTO_LEGACY), Hello::Legacy);
        assert_eq!(Hello::for_version(PROTO_VERSION), Hello::Yes);
    }
}
