//! One-way typed channels over a unix socketpair: each message is a little-endian u64 length
//! followed by that many bytes of JSON; descriptors ride along as SCM_RIGHTS on the first byte.
//! Receiving has a deadline, and a peer that exits shows up as `Closed`, never as a hang.

use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest message we accept; protects against a confused peer.
const MAX_MESSAGE: u64 = 16 << 20;
/// At most this many descriptors per message.
const MAX_FDS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("cannot create socketpair: {0}")]
    Socketpair(io::Error),
    #[error("cannot send message: {0}")]
    Send(io::Error),
    #[error("cannot receive message: {0}")]
    Receive(io::Error),
    #[error("the other process closed the channel")]
    Closed,
    #[error("timed out after {0:?} waiting for the other process")]
    Timeout(Duration),
    #[error("malformed message: {0}")]
    Malformed(String),
}

pub struct Sender<T> {
    fd: OwnedFd,
    _t: PhantomData<fn(T)>,
}

pub struct Receiver<T> {
    fd: OwnedFd,
    _t: PhantomData<fn() -> T>,
}

/// A connected pair; both ends are close-on-exec.
pub fn channel<T>() -> Result<(Sender<T>, Receiver<T>), ChannelError> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: socketpair writes two descriptors into the array.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(ChannelError::Socketpair(io::Error::last_os_error()));
    }
    // SAFETY: both descriptors are fresh and owned by nobody else.
    let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((
        Sender {
            fd: a,
            _t: PhantomData,
        },
        Receiver {
            fd: b,
            _t: PhantomData,
        },
    ))
}

impl<T: Serialize> Sender<T> {
    pub fn send(&self, msg: &T) -> Result<(), ChannelError> {
        self.send_with_fds(msg, &[])
    }

    pub fn send_with_fds(&self, msg: &T, fds: &[RawFd]) -> Result<(), ChannelError> {
        let body = serde_json::to_vec(msg).map_err(|e| ChannelError::Malformed(e.to_string()))?;
        let mut frame = Vec::with_capacity(8 + body.len());
        frame.extend_from_slice(&(body.len() as u64).to_le_bytes());
        frame.extend_from_slice(&body);
        let sent = send_fds(self.fd.as_raw_fd(), &frame, fds).map_err(ChannelError::Send)?;
        write_all(self.fd.as_raw_fd(), &frame[sent..]).map_err(ChannelError::Send)
    }
}

impl<T: DeserializeOwned> Receiver<T> {
    /// Waits for the next message, at most `timeout`.
    pub fn recv(&self, timeout: Duration) -> Result<T, ChannelError> {
        self.recv_with_fds(timeout).map(|(m, _)| m)
    }

    pub fn recv_with_fds(&self, timeout: Duration) -> Result<(T, Vec<OwnedFd>), ChannelError> {
        let deadline = Instant::now() + timeout;
        wait_readable(self.fd.as_raw_fd(), deadline, timeout)?;
        let mut header = [0u8; 8];
        let (n, fds) = recv_fds(self.fd.as_raw_fd(), &mut header).map_err(ChannelError::Receive)?;
        if n == 0 {
            return Err(ChannelError::Closed);
        }
        self.read_exact(&mut header[n..], deadline, timeout)?;
        let len = u64::from_le_bytes(header);
        if len > MAX_MESSAGE {
            return Err(ChannelError::Malformed(format!("length {len} too large")));
        }
        let mut body = vec![0u8; len as usize];
        self.read_exact(&mut body, deadline, timeout)?;
        let msg =
            serde_json::from_slice(&body).map_err(|e| ChannelError::Malformed(e.to_string()))?;
        Ok((msg, fds))
    }

    fn read_exact(
        &self,
        mut buf: &mut [u8],
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), ChannelError> {
        while !buf.is_empty() {
            wait_readable(self.fd.as_raw_fd(), deadline, timeout)?;
            // SAFETY: reading into a live buffer of the given length.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(ChannelError::Receive(e));
            }
            if n == 0 {
                return Err(ChannelError::Closed);
            }
            buf = &mut buf[n as usize..];
        }
        Ok(())
    }

    /// Waits until the peer has closed its end (for example by exec'ing with the end marked
    /// close-on-exec), or a message arrives: `Ok(None)` for closed, `Ok(Some(msg))` otherwise.
    pub fn recv_or_closed(&self, timeout: Duration) -> Result<Option<T>, ChannelError> {
        match self.recv(timeout) {
            Ok(m) => Ok(Some(m)),
            Err(ChannelError::Closed) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn wait_readable(fd: RawFd, deadline: Instant, timeout: Duration) -> Result<(), ChannelError> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc > 0 {
            return Ok(());
        }
        if rc == 0 {
            return Err(ChannelError::Timeout(timeout));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(ChannelError::Receive(e));
        }
    }
}

fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: writing from a live buffer; MSG_NOSIGNAL so a gone peer is EPIPE, not SIGPIPE.
        let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Sends `data` (at least one byte) with `fds` attached; returns how many bytes went out.
pub fn send_fds(sock: RawFd, data: &[u8], fds: &[RawFd]) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let fd_bytes = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes as u32) } as usize;
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    // SAFETY: msghdr is plain data; zeroed is a valid starting point.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer is large enough for one header with `fds` as payload.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr().cast::<u8>(),
                libc::CMSG_DATA(cmsg),
                fd_bytes,
            );
        }
    }
    loop {
        // SAFETY: msg points at live buffers for the duration of the call.
        let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Receives into `buf`, collecting any SCM_RIGHTS descriptors (made close-on-exec).
pub fn recv_fds(sock: RawFd, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: pure size computation.
    let space =
        unsafe { libc::CMSG_SPACE((MAX_FDS * std::mem::size_of::<RawFd>()) as u32) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    // SAFETY: plain data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    let n = loop {
        // SAFETY: msg points at live buffers.
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    let mut fds = Vec::new();
    // SAFETY: walking the control messages the kernel filled in, within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg);
                let len = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for i in 0..len / std::mem::size_of::<RawFd>() {
                    let fd = std::ptr::read_unaligned(data.cast::<RawFd>().add(i));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n, fds))
}

impl<T> Sender<T> {
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl<T> Receiver<T> {
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    enum Msg {
        Hello(String),
        Num(u64),
    }

    #[test]
    fn messages_arrive_in_order() {
        let (tx, rx) = channel::<Msg>().unwrap();
        tx.send(&Msg::Hello("x".repeat(100_000)))
            .unwrap_or_else(|e| panic!("{e}"));
        tx.send(&Msg::Num(7)).unwrap();
        let t = Duration::from_secs(1);
        assert_eq!(rx.recv(t).unwrap(), Msg::Hello("x".repeat(100_000)));
        assert_eq!(rx.recv(t).unwrap(), Msg::Num(7));
        assert!(matches!(
            rx.recv(Duration::from_millis(10)),
            Err(ChannelError::Timeout(_))
        ));
        drop(tx);
        assert!(matches!(rx.recv(t), Err(ChannelError::Closed)));
    }

    #[test]
    fn descriptors_travel_with_the_message() {
        let (tx, rx) = channel::<Msg>().unwrap();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"payload").unwrap();
        tx.send_with_fds(&Msg::Num(1), &[f.as_raw_fd()]).unwrap();
        drop(f);
        let (m, fds) = rx.recv_with_fds(Duration::from_secs(1)).unwrap();
        assert_eq!(m, Msg::Num(1));
        assert_eq!(fds.len(), 1);
        let mut got = std::fs::File::from(fds.into_iter().next().unwrap());
        got.rewind().unwrap();
        let mut s = String::new();
        got.read_to_string(&mut s).unwrap();
        assert_eq!(s, "payload");
    }
}
