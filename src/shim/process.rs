//! One entry of the shim's process table, as containerd's shim holds `Process`es: the init or
//! an exec process, each with its own stdio ends, stdin backlog, exit record and terminal.

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixListener;
use std::time::Instant;

use nix::errno::Errno;

use super::proto::{self, ExitStatus, Status, TaskState};
use super::stdio::ShimEnds;

/// Exec output framed for its first attacher, held until that attach; beyond this it is dropped
/// (a client attaches before it starts an exec, as the docker CLI does, and loses nothing).
pub const EARLY_MAX: usize = 256 * 1024;

/// A process's output streams, as the shim reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Tty,
    Stdout,
    Stderr,
}

impl Stream {
    /// The stdcopy stream id its bytes go out as (a terminal's are stdout's).
    pub fn id(self) -> u8 {
        match self {
            Stream::Stderr => proto::STREAM_STDERR,
            _ => proto::STREAM_STDOUT,
        }
    }
}

/// A reaped status, before the process's output is drained and the record written.
pub struct Reaped {
    pub code: i32,
    pub at: i64,
    pub drain_until: Instant,
}

pub struct Process {
    /// `None` for the init.
    pub exec_id: Option<String>,
    /// 0 until known (an exec before its start completed).
    pub pid: i32,
    pub status: Status,
    pub tty: bool,
    pub stdin: bool,
    /// Whether stdout and stderr go to attachers (an exec created without them discards them).
    keep: [bool; 2],
    pub ends: ShimEnds,
    pub stdin_buf: Vec<u8>,
    /// CloseStdin was asked: close the pipe once the backlog is written; forward nothing more.
    pub stdin_closing: bool,
    pub reaped: Option<Reaped>,
    pub exit: Option<ExitStatus>,
    /// Exec output before its first attach (stdcopy framed); `None` once somebody attached.
    pub early: Option<Vec<u8>>,
    /// The exec's OCI process JSON, until it is started.
    pub spec: Option<Vec<u8>>,
    /// A lifecycle runtime call (start, pause, resume, delete) in flight for it.
    pub busy: Option<&'static str>,
    /// Where the runtime sends an exec's pty master while its start runs.
    pub console: Option<UnixListener>,
}

impl Process {
    pub fn init(pid: i32, tty: bool, stdin: bool, ends: ShimEnds) -> Process {
        Process {
            exec_id: None,
            pid,
            status: Status::Created,
            tty,
            stdin,
            keep: [true, true],
            ends,
            stdin_buf: Vec::new(),
            stdin_closing: false,
            reaped: None,
            exit: None,
            early: None,
            spec: None,
            busy: None,
            console: None,
        }
    }

    pub fn exec(id: String, spec: Vec<u8>, tty: bool, stdio: [bool; 3]) -> Process {
        let [stdin, stdout, stderr] = stdio;
        Process {
            exec_id: Some(id),
            pid: 0,
            status: Status::Created,
            tty,
            stdin,
            // A terminal has one stream, stream 1: it carries stderr too.
            keep: [stdout || (tty && stderr), stderr],
            ends: ShimEnds::default(),
            stdin_buf: Vec::new(),
            stdin_closing: false,
            reaped: None,
            exit: None,
            early: Some(Vec::new()),
            spec: Some(spec),
            busy: None,
            console: None,
        }
    }

    /// Whether output of stdcopy stream `stream` goes to attachers at all.
    pub fn keeps(&self, stream: u8) -> bool {
        if stream == proto::STREAM_STDERR {
            self.keep[1]
        } else {
            self.keep[0]
        }
    }

    pub fn state(&self, task_id: &str) -> TaskState {
        TaskState {
            id: self.exec_id.clone().unwrap_or_else(|| task_id.to_string()),
            pid: self.pid,
            status: self.status,
            exit: self.exit,
            tty: self.tty,
            stdin: self.stdin,
        }
    }

    pub fn output(&self, s: Stream) -> Option<BorrowedFd<'_>> {
        match s {
            Stream::Tty => self.ends.tty.as_ref(),
            Stream::Stdout => self.ends.stdout.as_ref(),
            Stream::Stderr => self.ends.stderr.as_ref(),
        }
        .map(|fd| fd.as_fd())
    }

    pub fn close_output(&mut self, s: Stream) {
        match s {
            Stream::Tty => self.ends.tty = None,
            Stream::Stdout => self.ends.stdout = None,
            Stream::Stderr => self.ends.stderr = None,
        }
    }

    pub fn outputs_open(&self) -> bool {
        self.ends.tty.is_some() || self.ends.stdout.is_some() || self.ends.stderr.is_some()
    }

    /// Whether stdin from attached clients still goes anywhere.
    pub fn stdin_open(&self) -> bool {
        if self.stdin_closing || !self.stdin {
            return false;
        }
        if self.tty {
            self.ends.tty.is_some()
        } else {
            self.ends.stdin.is_some()
        }
    }

    /// Where stdin bytes are written: the pty master or the stdin pipe.
    pub fn stdin_fd(&self) -> Option<BorrowedFd<'_>> {
        if self.tty {
            self.ends.tty.as_ref()
        } else {
            self.ends.stdin.as_ref()
        }
        .map(|fd| fd.as_fd())
    }

    /// Writes what the process takes of the backlog now.
    pub fn write_stdin(&mut self) {
        let Some(fd) = self.stdin_fd() else {
            self.stdin_buf = Vec::new();
            return;
        };
        let mut written = 0;
        let mut gone = false;
        while written < self.stdin_buf.len() {
            match nix::unistd::write(fd, &self.stdin_buf[written..]) {
                Ok(n) => written += n,
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => break,
                // The process closed its stdin (EPIPE): what is left has nowhere to go.
                Err(_) => {
                    gone = true;
                    break;
                }
            }
        }
        self.stdin_buf.drain(..written);
        if gone {
            self.stdin_buf = Vec::new();
            if !self.tty {
                self.ends.stdin = None;
            }
        }
        if self.stdin_buf.is_empty() {
            self.stdin_buf = Vec::new();
            if self.stdin_closing && !self.tty {
                self.ends.stdin = None;
            }
        }
    }

    /// CloseStdin: the pipe closes once what clients already sent is written. A terminal has no
    /// separate stdin to close, so only forwarding stops.
    pub fn close_stdin(&mut self) {
        self.stdin_closing = true;
        if self.stdin_buf.is_empty() && !self.tty {
            self.ends.stdin = None;
        }
    }

    /// Holds framed output for the first attacher, within [`EARLY_MAX`].
    pub fn hold_early(&mut self, stream: u8, data: &[u8]) {
        if let Some(buf) = &mut self.early
            && buf.len() + data.len() + proto::FRAME_HEADER <= EARLY_MAX
        {
            buf.extend_from_slice(&proto::stdcopy_header(stream, data.len()));
            buf.extend_from_slice(data);
        }
    }

    /// The process has ended for good: its stdio goes, the record is written.
    pub fn record_exit(&mut self, exit: ExitStatus) {
        self.ends = ShimEnds::default();
        self.stdin_buf = Vec::new();
        self.console = None;
        self.exit = Some(exit);
        self.status = Status::Stopped;
    }
}

/// The exit code an exec that could not be started gets, as dockerd words it from the error:
/// 127 for a command that is not there, else 126.
pub fn start_failure_code(message: &str) -> i32 {
    if message.contains("executable file not found") || message.contains("no such file") {
        127
    } else {
        126
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_output_is_framed_and_bounded() {
        let mut p = Process::exec("e".into(), Vec::new(), false, [false, true, true]);
        p.hold_early(proto::STREAM_STDERR, b"hey");
        assert_eq!(
            p.early.as_deref(),
            Some(&b"\x02\x00\x00\x00\x00\x00\x00\x03hey"[..])
        );
        let big = vec![b'x'; EARLY_MAX];
        p.hold_early(proto::STREAM_STDOUT, &big);
        assert_eq!(p.early.as_ref().map(Vec::len), Some(11));
        p.early = None;
        p.hold_early(proto::STREAM_STDOUT, b"after");
        assert!(p.early.is_none());
    }

    #[test]
    fn streams_not_asked_for_are_not_kept() {
        let p = Process::exec("e".into(), Vec::new(), false, [false, true, false]);
        assert!(p.keeps(proto::STREAM_STDOUT) && !p.keeps(proto::STREAM_STDERR));
        let init = Process::init(1, false, false, ShimEnds::default());
        assert!(init.keeps(proto::STREAM_STDERR) && init.exec_id.is_none());
        assert_eq!(init.state("c1").id, "c1");
        assert_eq!(p.state("c1").id, "e");
    }

    #[test]
    fn start_failures_get_dockerds_codes() {
        assert_eq!(
            start_failure_code("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(start_failure_code("permission denied"), 126);
    }
}
