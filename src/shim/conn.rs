//! One client connection on the control socket: a request frame in, replies and (for attach)
//! output frames out through a bounded buffer, never a blocking write.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use super::proto::{self, Request, Response};

/// Output an attached client may fall behind by before it is dropped.
pub const ATTACH_BACKLOG: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the request frame.
    Request,
    /// A parked `Wait` on the process in that slot, answered at its exit.
    Waiting { slot: usize },
    /// A parked `Delete`, answered once the runtime deleted the exited container.
    Deleting,
    /// Answered when the runtime call it started finishes.
    Calling,
    /// An attach stream to the process in that slot.
    Attached {
        slot: usize,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    /// Flushing its last bytes, then closed.
    Closing,
}

pub struct Conn {
    pub sock: UnixStream,
    /// Tells this connection from a later one in the same slot (a runtime call's answer must
    /// not reach the wrong client).
    pub serial: u64,
    pub phase: Phase,
    /// Request bytes so far (and, for attach, stdin bytes that came with the request).
    pub input: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    /// Drop the connection if it is still around then (request not complete, close not flushed).
    pub deadline: Option<Instant>,
    /// The client shut down its sending side; for attach this is not a stdin close.
    pub read_eof: bool,
}

pub enum ReadOutcome {
    /// Bytes were appended to `input`.
    Data,
    /// Nothing now.
    Idle,
    /// The client closed its side (or the socket failed).
    Eof,
}

impl Conn {
    pub fn new(sock: UnixStream, serial: u64, deadline: Instant) -> Conn {
        Conn {
            sock,
            serial,
            phase: Phase::Request,
            input: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            deadline: Some(deadline),
            read_eof: false,
        }
    }

    /// Reads what is available into `input`, up to `limit` bytes held.
    pub fn read_some(&mut self, limit: usize) -> ReadOutcome {
        let mut got = false;
        let mut chunk = [0u8; 4096];
        while self.input.len() < limit {
            let want = chunk.len().min(limit - self.input.len());
            match self.sock.read(&mut chunk[..want]) {
                Ok(0) => {
                    self.read_eof = true;
                    return ReadOutcome::Eof;
                }
                Ok(n) => {
                    self.input.extend_from_slice(&chunk[..n]);
                    got = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.read_eof = true;
                    return ReadOutcome::Eof;
                }
            }
        }
        if got {
            ReadOutcome::Data
        } else {
            ReadOutcome::Idle
        }
    }

    /// The request, once its whole frame is in; the bytes after it stay in `input`.
    pub fn take_request(&mut self) -> Option<Result<Request, proto::FrameError>> {
        let prefix: [u8; 4] = self.input.get(..4)?.try_into().ok()?;
        let len = match proto::frame_len(prefix) {
            Ok(len) => len,
            Err(e) => return Some(Err(e)),
        };
        let body = self.input.get(4..4 + len)?;
        let req = proto::decode(body);
        self.input.drain(..4 + len);
        Some(req)
    }

    /// Queues a reply; a client that is gone shows up as a hangup on the next poll.
    pub fn reply(&mut self, resp: &Response) {
        match proto::encode(resp) {
            Ok(bytes) => {
                self.queue(&bytes);
            }
            Err(e) => {
                let fallback = Response::Error {
                    kind: proto::ErrorKind::Internal,
                    message: e.to_string(),
                };
                if let Ok(bytes) = proto::encode(&fallback) {
                    self.queue(&bytes);
                }
            }
        }
    }

    /// Appends and tries to send at once. False if the client fell too far behind (or is gone):
    /// the caller drops it, so one slow reader never holds the container or the others.
    pub fn queue(&mut self, bytes: &[u8]) -> bool {
        if self.pending() + bytes.len() > ATTACH_BACKLOG {
            return false;
        }
        self.out.extend_from_slice(bytes);
        self.flush()
    }

    /// Queues one stdcopy frame.
    pub fn frame(&mut self, stream: u8, payload: &[u8]) -> bool {
        if self.pending() + payload.len() + proto::FRAME_HEADER > ATTACH_BACKLOG {
            return false;
        }
        self.out
            .extend_from_slice(&proto::stdcopy_header(stream, payload.len()));
        self.out.extend_from_slice(payload);
        self.flush()
    }

    pub fn pending(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Writes what the socket takes now; false when the client is gone.
    pub fn flush(&mut self) -> bool {
        while self.out_pos < self.out.len() {
            match self.sock.write(&self.out[self.out_pos..]) {
                Ok(0) => return false,
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return false,
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            // An idle attach client should not pin a burst's worth of buffer.
            if self.out.capacity() > 64 * 1024 {
                self.out = Vec::new();
            }
        } else if self.out_pos > self.out.len() / 2 {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
        true
    }

    pub fn wants(&self, stream: u8) -> bool {
        match self.phase {
            Phase::Attached { stdout, stderr, .. } => {
                (stream == proto::STREAM_STDOUT && stdout)
                    || (stream == proto::STREAM_STDERR && stderr)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Conn, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        (Conn::new(a, 0, Instant::now()), b)
    }

    #[test]
    fn request_is_taken_once_whole_and_leaves_the_rest() {
        let (mut c, mut peer) = pair();
        let frame = proto::encode(&Request::Attach {
            stdin: true,
            stdout: true,
            stderr: false,
        })
        .unwrap();
        peer.write_all(&frame[..3]).unwrap();
        assert!(matches!(c.read_some(1 << 20), ReadOutcome::Data));
        assert!(c.take_request().is_none());
        peer.write_all(&frame[3..]).unwrap();
        peer.write_all(b"stdin!").unwrap();
        c.read_some(1 << 20);
        let req = c.take_request().unwrap().unwrap();
        assert!(matches!(req, Request::Attach { stdin: true, .. }));
        assert_eq!(c.input, b"stdin!");
        drop(peer);
        assert!(matches!(c.read_some(1 << 20), ReadOutcome::Eof));
        assert!(c.read_eof);
    }

    #[test]
    fn oversized_request_is_an_error() {
        let (mut c, mut peer) = pair();
        peer.write_all(&u32::MAX.to_be_bytes()).unwrap();
        c.read_some(1 << 20);
        assert!(matches!(c.take_request(), Some(Err(_))));
    }

    #[test]
    fn a_client_that_does_not_read_is_cut_off_at_the_backlog() {
        let (mut c, peer) = pair();
        c.phase = Phase::Attached {
            slot: 0,
            stdin: false,
            stdout: true,
            stderr: false,
        };
        assert!(c.wants(proto::STREAM_STDOUT) && !c.wants(proto::STREAM_STDERR));
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while c.frame(proto::STREAM_STDOUT, &chunk) {
            sent += chunk.len();
            assert!(sent < 64 << 20, "never cut off");
        }
        // What was accepted is the socket buffer plus at most the backlog.
        assert!(c.pending() <= ATTACH_BACKLOG);
        drop(peer);
    }

    #[test]
    fn frames_arrive_with_stdcopy_headers() {
        let (mut c, mut peer) = pair();
        assert!(c.frame(proto::STREAM_STDERR, b"hey"));
        let mut got = [0u8; 11];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"\x02\x00\x00\x00\x00\x00\x00\x03hey");
        assert_eq!(c.pending(), 0);
    }
}
