//! The shim's event loop: one thread, one `poll`, no allocation at rest. It pumps the
//! container's output into the json log and to attached clients, feeds stdin, reaps, records
//! the exit and answers the control socket.

use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, poll};

use super::conn::{Conn, Phase, ReadOutcome};
use super::jsonlog::{JsonLog, LineSplitter};
use super::oci::{Runtime, poll_timeout};
use super::oom::OomCounter;
use super::proto::{self, ExitStatus, LaunchArgs, Response, Status};
use super::reaper::Reaper;
use super::requests::Outcome;
use super::stdio::ShimEnds;
use super::{footprint, setup};
use crate::util::fsutil::replace_file;
use crate::util::time::now_nanos;

/// A client must send its whole request within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// After the init exits, how long output from stragglers (a process outside its pid namespace
/// still holding the pipes) may delay the exit record.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);
/// How long a closing connection may take to read its last bytes.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Bound on the time the shim lingers to flush replies once it is told to go.
const QUIT_GRACE: Duration = Duration::from_secs(2);
/// Connections beyond this are refused at once.
const MAX_CONNS: usize = 256;
/// Stdin bytes held for a container that does not read; attached writers wait beyond it.
const STDIN_BACKLOG: usize = 64 * 1024;
/// Reads per output wakeup, so a flood cannot starve the control socket.
const READS_PER_WAKE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Listener,
    Signal,
    Tty,
    Stdout,
    Stderr,
    Stdin,
    Conn(usize),
}

/// The init's reaped status, before its output is drained and the record written.
struct Reaped {
    code: i32,
    at: i64,
    drain_until: Instant,
}

pub struct Server {
    pub(super) id: String,
    pub(super) state_dir: PathBuf,
    pub(super) tty: bool,
    pub(super) stdin: bool,
    pub(super) rt: Runtime,
    reaper: Reaper,
    listener: Option<UnixListener>,
    pub(super) ends: ShimEnds,
    log: JsonLog,
    split: [LineSplitter; 2],
    conns: Vec<Option<Conn>>,
    pub(super) pid: i32,
    pub(super) status: Status,
    reaped: Option<Reaped>,
    pub(super) exit: Option<ExitStatus>,
    oom: Option<OomCounter>,
    stdin_buf: Vec<u8>,
    /// CloseStdin was asked: close the pipe once the backlog is written; forward nothing more.
    pub(super) stdin_closing: bool,
    /// Delete was asked before the exit was recorded; it completes at the record.
    pub(super) delete_requested: bool,
    /// The runtime has already deleted the container.
    pub(super) deleted: bool,
    quit: Option<Instant>,
    /// When to give back memory if nothing happens before (see `footprint`).
    trim_at: Option<Instant>,
}

impl Server {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        args: LaunchArgs,
        rt: Runtime,
        reaper: Reaper,
        listener: UnixListener,
        ends: ShimEnds,
        log: JsonLog,
        pid: i32,
        oom: Option<OomCounter>,
    ) -> Server {
        Server {
            id: args.id,
            state_dir: args.state_dir,
            tty: args.tty,
            stdin: args.stdin,
            rt,
            reaper,
            listener: Some(listener),
            ends,
            log,
            split: Default::default(),
            conns: Vec::new(),
            pid,
            status: Status::Created,
            reaped: None,
            exit: None,
            oom,
            stdin_buf: Vec::new(),
            stdin_closing: false,
            delete_requested: false,
            deleted: false,
            quit: None,
            trim_at: Some(Instant::now() + footprint::IDLE_TRIM_AFTER),
        }
    }

    /// Serves until Delete or Shutdown.
    pub fn run(mut self) {
        // The init may have died while we were still setting up.
        self.on_sigchld();
        loop {
            self.maybe_record_exit();
            if let Some(until) = self.quit
                && (Instant::now() >= until
                    || self.conns.iter().flatten().all(|c| c.pending() == 0))
            {
                break;
            }
            let ready = match self.wait_events() {
                Ok(r) => r,
                Err(_) => continue,
            };
            if !ready.is_empty() {
                self.trim_at = Some(Instant::now() + footprint::IDLE_TRIM_AFTER);
            }
            for (tok, rev) in ready {
                self.dispatch(tok, rev);
            }
            self.expire();
        }
        setup::cleanup(&self.state_dir);
    }

    /// One poll over everything that can make progress now.
    fn wait_events(&mut self) -> Result<Vec<(Token, PollFlags)>, Errno> {
        // Quiet for a while: give memory back before this (likely long) wait.
        let trim = self.trim_at.is_some_and(|t| Instant::now() >= t);
        if trim {
            self.trim_at = None;
            footprint::trim_heap();
        }
        let mut toks = Vec::with_capacity(8 + self.conns.len());
        let mut fds = Vec::with_capacity(8 + self.conns.len());
        let mut add = |tok, fd, ev| {
            toks.push(tok);
            fds.push(PollFd::new(fd, ev));
        };
        if let Some(l) = &self.listener {
            add(Token::Listener, l.as_fd(), PollFlags::POLLIN);
        }
        add(Token::Signal, self.reaper.fd(), PollFlags::POLLIN);
        let want_stdin = if self.stdin_buf.is_empty() {
            PollFlags::empty()
        } else {
            PollFlags::POLLOUT
        };
        if let Some(t) = &self.ends.tty {
            add(Token::Tty, t.as_fd(), PollFlags::POLLIN | want_stdin);
        }
        if let Some(o) = &self.ends.stdout {
            add(Token::Stdout, o.as_fd(), PollFlags::POLLIN);
        }
        if let Some(e) = &self.ends.stderr {
            add(Token::Stderr, e.as_fd(), PollFlags::POLLIN);
        }
        if let Some(i) = &self.ends.stdin
            && !want_stdin.is_empty()
        {
            add(Token::Stdin, i.as_fd(), want_stdin);
        }
        let stdin_room = self.stdin_buf.len() < STDIN_BACKLOG;
        for (i, c) in self.conns.iter().enumerate() {
            let Some(c) = c else { continue };
            let mut ev = PollFlags::empty();
            let reads = match c.phase {
                Phase::Attached { stdin, .. } => {
                    !c.read_eof && (!(stdin && self.stdin_open()) || stdin_room)
                }
                _ => !c.read_eof,
            };
            if reads {
                ev |= PollFlags::POLLIN;
            }
            if c.pending() > 0 {
                ev |= PollFlags::POLLOUT;
            }
            add(Token::Conn(i), c.sock.as_fd(), ev);
        }
        let timeout = self
            .next_deadline()
            .map(|d| d.saturating_duration_since(Instant::now()));
        if trim {
            footprint::unmap_code();
        }
        let n = poll(
            &mut fds,
            timeout
                .map(poll_timeout)
                .unwrap_or(nix::poll::PollTimeout::NONE),
        );
        match n {
            Ok(0) => Ok(Vec::new()),
            Ok(_) => Ok(toks
                .into_iter()
                .zip(fds.iter())
                .filter_map(|(t, f)| f.revents().filter(|r| !r.is_empty()).map(|r| (t, r)))
                .collect()),
            Err(e) => Err(e),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let conns = self.conns.iter().flatten().filter_map(|c| c.deadline);
        let drain = self
            .reaped
            .as_ref()
            .filter(|_| self.exit.is_none())
            .map(|r| r.drain_until);
        conns
            .chain(drain)
            .chain(self.quit)
            .chain(self.trim_at)
            .min()
    }

    fn dispatch(&mut self, tok: Token, rev: PollFlags) {
        let readable = rev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR);
        match tok {
            Token::Listener => self.accept(),
            Token::Signal => self.on_sigchld(),
            Token::Tty => {
                if rev.contains(PollFlags::POLLOUT) {
                    self.write_stdin();
                }
                if readable {
                    self.read_output(Token::Tty);
                }
            }
            Token::Stdout | Token::Stderr => self.read_output(tok),
            Token::Stdin => self.write_stdin(),
            Token::Conn(i) => self.on_conn(i, rev),
        }
    }

    fn accept(&mut self) {
        let Some(l) = &self.listener else { return };
        loop {
            let sock = match l.accept() {
                Ok((s, _)) => s,
                Err(_) => return,
            };
            let live = self.conns.iter().flatten().count();
            if live >= MAX_CONNS || sock.set_nonblocking(true).is_err() {
                continue;
            }
            let conn = Conn::new(sock, Instant::now() + REQUEST_TIMEOUT);
            match self.conns.iter().position(Option::is_none) {
                Some(i) => self.conns[i] = Some(conn),
                None => self.conns.push(Some(conn)),
            }
        }
    }

    fn on_sigchld(&mut self) {
        let init = (self.reaped.is_none() && self.exit.is_none()).then_some(self.pid);
        if let Some(code) = self.reaper.reap(init) {
            self.reaped = Some(Reaped {
                code,
                at: now_nanos(),
                drain_until: Instant::now() + DRAIN_AFTER_EXIT,
            });
        }
    }

    pub(super) fn init_reaped(&self) -> bool {
        self.reaped.is_some()
    }

    fn outputs_open(&self) -> bool {
        self.ends.tty.is_some() || self.ends.stdout.is_some() || self.ends.stderr.is_some()
    }

    fn read_output(&mut self, tok: Token) {
        let mut buf = [0u8; 16 * 1024];
        for _ in 0..READS_PER_WAKE {
            let fd = match tok {
                Token::Tty => self.ends.tty.as_ref(),
                Token::Stdout => self.ends.stdout.as_ref(),
                _ => self.ends.stderr.as_ref(),
            };
            let Some(fd) = fd else { return };
            let stream = if tok == Token::Stderr {
                proto::STREAM_STDERR
            } else {
                proto::STREAM_STDOUT
            };
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) => return self.close_output(tok),
                Ok(n) => self.on_output(stream, &buf[..n]),
                Err(Errno::EAGAIN) => return,
                Err(Errno::EINTR) => {}
                // EIO: the last slave of a pty closed; anything else ends the stream as well.
                Err(_) => return self.close_output(tok),
            }
        }
    }

    fn on_output(&mut self, stream: u8, data: &[u8]) {
        let (idx, name) = if stream == proto::STREAM_STDERR {
            (1, "stderr")
        } else {
            (0, "stdout")
        };
        let log = &mut self.log;
        // A failing disk loses log lines, never the container (as dockerd's copier).
        self.split[idx].feed(data, now_nanos(), &mut |m, nl, ts| {
            let _ = log.write(name, m, nl, ts);
        });
        for slot in &mut self.conns {
            if let Some(c) = slot
                && c.wants(stream)
                && !c.frame(stream, data)
            {
                *slot = None;
            }
        }
    }

    fn close_output(&mut self, tok: Token) {
        let (idx, name) = match tok {
            Token::Stderr => {
                self.ends.stderr = None;
                (1, "stderr")
            }
            Token::Stdout => {
                self.ends.stdout = None;
                (0, "stdout")
            }
            _ => {
                self.ends.tty = None;
                (0, "stdout")
            }
        };
        let log = &mut self.log;
        self.split[idx].finish(now_nanos(), &mut |m, nl, ts| {
            let _ = log.write(name, m, nl, ts);
        });
    }

    /// Whether stdin from attached clients still goes anywhere.
    pub(super) fn stdin_open(&self) -> bool {
        if self.stdin_closing || !self.stdin {
            return false;
        }
        if self.tty {
            self.ends.tty.is_some()
        } else {
            self.ends.stdin.is_some()
        }
    }

    fn write_stdin(&mut self) {
        let fd = if self.tty {
            self.ends.tty.as_ref()
        } else {
            self.ends.stdin.as_ref()
        };
        let Some(fd) = fd else {
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
                // The container closed its stdin (EPIPE): what is left has nowhere to go.
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
    pub(super) fn close_stdin(&mut self) {
        self.stdin_closing = true;
        if self.stdin_buf.is_empty() && !self.tty {
            self.ends.stdin = None;
        }
    }

    fn on_conn(&mut self, i: usize, rev: PollFlags) {
        let stdin_open = self.stdin_open();
        let stdin_room = STDIN_BACKLOG.saturating_sub(self.stdin_buf.len());
        let Some(c) = self.conns.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        if rev.contains(PollFlags::POLLOUT) && !c.flush() {
            self.conns[i] = None;
            return;
        }
        let hup = rev.intersects(PollFlags::POLLHUP | PollFlags::POLLERR);
        if !hup && !rev.contains(PollFlags::POLLIN) {
            self.close_if_flushed(i);
            return;
        }
        match c.phase {
            Phase::Request => {
                let outcome = c.read_some(4 + proto::MAX_FRAME);
                match c.take_request() {
                    Some(req) => {
                        c.deadline = None;
                        self.on_request(i, req);
                    }
                    None if matches!(outcome, ReadOutcome::Eof) => self.conns[i] = None,
                    None => {}
                }
            }
            Phase::Attached { stdin, .. } => {
                let takes = stdin && stdin_open;
                c.read_some(if takes { stdin_room } else { 4096 });
                let data = std::mem::take(&mut c.input);
                // POLLHUP: the client closed both ways and reads no more output. A half-close
                // (read EOF alone) keeps the stream, and is not a stdin close either.
                if hup {
                    self.conns[i] = None;
                }
                if takes && !data.is_empty() {
                    self.stdin_buf.extend_from_slice(&data);
                    self.write_stdin();
                }
            }
            Phase::Waiting | Phase::Deleting | Phase::Closing => {
                c.read_some(4096);
                c.input.clear();
                if hup {
                    self.conns[i] = None;
                }
            }
        }
        self.close_if_flushed(i);
    }

    fn close_if_flushed(&mut self, i: usize) {
        if let Some(Some(c)) = self.conns.get(i)
            && c.phase == Phase::Closing
            && c.pending() == 0
        {
            self.conns[i] = None;
        }
    }

    /// Answers a request now, or parks the connection until the exit.
    fn on_request(&mut self, i: usize, req: Result<proto::Request, proto::FrameError>) {
        let outcome = match req {
            Ok(req) => self.handle(req),
            Err(e) => Outcome::Reply(Response::Error {
                kind: proto::ErrorKind::BadRequest,
                message: e.to_string(),
            }),
        };
        let finished = self.exit.is_some();
        let stdin_open = self.stdin_open();
        let Some(c) = self.conns.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        match outcome {
            Outcome::Reply(resp) => {
                c.reply(&resp);
                c.phase = Phase::Closing;
                c.deadline = Some(Instant::now() + CLOSE_GRACE);
            }
            Outcome::Park(phase) => c.phase = phase,
            Outcome::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                c.reply(&Response::Attached);
                if finished {
                    c.phase = Phase::Closing;
                    c.deadline = Some(Instant::now() + CLOSE_GRACE);
                } else {
                    c.phase = Phase::Attached {
                        stdin,
                        stdout,
                        stderr,
                    };
                    // Stdin the client sent right behind its request.
                    let early = std::mem::take(&mut c.input);
                    if stdin && stdin_open && !early.is_empty() {
                        self.stdin_buf.extend_from_slice(&early);
                        self.write_stdin();
                    }
                }
            }
            Outcome::Quit(resp) => {
                c.reply(&resp);
                c.phase = Phase::Closing;
                self.begin_quit();
            }
        }
    }

    fn expire(&mut self) {
        let now = Instant::now();
        for slot in &mut self.conns {
            if slot
                .as_ref()
                .and_then(|c| c.deadline)
                .is_some_and(|d| now >= d)
            {
                *slot = None;
            }
        }
    }

    /// Once the init is reaped and its output drained (or the drain bound passed): flush the
    /// last partial lines, write exit.json, answer Wait, end attach streams.
    fn maybe_record_exit(&mut self) {
        let Some(r) = &self.reaped else { return };
        if self.exit.is_some() || (self.outputs_open() && Instant::now() < r.drain_until) {
            return;
        }
        let (code, at) = (r.code, r.at);
        for tok in [Token::Tty, Token::Stdout, Token::Stderr] {
            self.read_output(tok);
            self.close_output(tok);
        }
        self.ends.stdin = None;
        self.stdin_buf = Vec::new();
        let exit = ExitStatus {
            code,
            exited_at: at,
            oom_killed: self.oom.as_ref().is_some_and(OomCounter::killed),
        };
        let path = self.state_dir.join(proto::EXIT_FILE);
        // If the record cannot be written, waiters still learn the status: the daemon can act
        // on it now, and only a restart in this window would miss it.
        if let Ok(json) = serde_json::to_vec(&exit) {
            let _ = replace_file(&path, &json);
        }
        self.exit = Some(exit);
        self.status = Status::Stopped;
        let deadline = Instant::now() + CLOSE_GRACE;
        for c in self.conns.iter_mut().flatten() {
            match c.phase {
                Phase::Waiting => {
                    c.reply(&Response::Exited(exit));
                    c.phase = Phase::Closing;
                    c.deadline = Some(deadline);
                }
                Phase::Attached { .. } => {
                    c.phase = Phase::Closing;
                    c.deadline = Some(deadline);
                }
                _ => {}
            }
        }
        for i in 0..self.conns.len() {
            self.close_if_flushed(i);
        }
        if self.delete_requested {
            let resp = self.delete_stopped();
            let ok = resp == Response::Ok;
            for c in self.conns.iter_mut().flatten() {
                if c.phase == Phase::Deleting {
                    c.reply(&resp);
                    c.phase = Phase::Closing;
                    c.deadline = Some(deadline);
                }
            }
            if ok {
                self.begin_quit();
            }
        }
    }

    /// Stops taking connections and removes the socket at once, so nobody reaches a shim that is
    /// going away; replies still in flight get [`QUIT_GRACE`].
    fn begin_quit(&mut self) {
        self.listener = None;
        setup::cleanup(&self.state_dir);
        for c in self.conns.iter_mut().flatten() {
            c.phase = Phase::Closing;
        }
        self.quit = Some(Instant::now() + QUIT_GRACE);
    }
}
