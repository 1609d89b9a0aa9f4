//! The shim's event loop: one thread, one `poll`, no allocation at rest. It pumps every
//! process's output (the init's into the json log and to its attachers, an exec's to its
//! attachers only, as dockerd does not log exec output), feeds stdin, reaps, records exits,
//! answers the control socket, and follows the runtime calls it started: those run beside the
//! loop (see `calls`), so output keeps flowing and requests keep being answered meanwhile.

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, poll};

use super::calls::Call;
use super::conn::{Conn, Phase, ReadOutcome};
use super::jsonlog::{JsonLog, LineSplitter};
use super::oci::{Runtime, poll_timeout};
use super::oom::OomCounter;
use super::process::{Process, Reaped, Stream};
use super::proto::{self, ErrorKind, ExitStatus, LaunchArgs, PROTO_VERSION, Request, Response};
use super::reaper::Reaper;
use super::requests::Outcome;
use super::stdio::ShimEnds;
use super::{footprint, setup};
use crate::util::fsutil::replace_file;
use crate::util::time::now_nanos;

/// A client must send its whole request within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// After a process exits, how long output from stragglers (a process outside its pid namespace
/// still holding the pipes) may delay the exit record.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);
/// How long a closing connection may take to read its last bytes.
pub(super) const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Bound on the time the shim lingers to flush replies once it is told to go.
const QUIT_GRACE: Duration = Duration::from_secs(2);
/// Connections beyond this are refused at once.
const MAX_CONNS: usize = 256;
/// Stdin bytes held for a process that does not read; attached writers wait beyond it.
const STDIN_BACKLOG: usize = 64 * 1024;
/// Reads per output wakeup, so a flood cannot starve the control socket.
const READS_PER_WAKE: usize = 8;
/// Exits nobody claimed yet, kept a while: an exec may exit (and be reaped) before the call that
/// started it has told us its pid.
const UNCLAIMED_MAX: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Listener,
    Signal,
    /// An output end of the process in that slot (a pty master also takes stdin).
    Out(usize, Stream),
    /// The stdin pipe of the process in that slot.
    In(usize),
    Conn(usize),
    /// A captured stream of a runtime call in flight.
    Call(usize),
}

/// A connection, as a runtime call remembers whom to answer.
pub(super) type ConnId = (usize, u64);

pub struct Server {
    pub(super) id: String,
    pub(super) state_dir: PathBuf,
    pub(super) rt: Runtime,
    reaper: Reaper,
    listener: Option<UnixListener>,
    log: JsonLog,
    split: [LineSplitter; 2],
    conns: Vec<Option<Conn>>,
    serial: u64,
    /// Slot 0 of the process table.
    pub(super) init: Process,
    /// Slots 1.. of the process table; a deleted exec leaves a free slot.
    pub(super) execs: Vec<Option<Process>>,
    pub(super) calls: Vec<Option<Call>>,
    /// (pid, code, when) of exits no process or call claimed.
    unclaimed: VecDeque<(i32, i32, i64)>,
    /// How many such exits (orphans reparented to us, mostly) were reaped.
    orphans_reaped: u64,
    oom: Option<OomCounter>,
    /// Delete was asked before the exit was recorded; it completes at the record.
    pub(super) delete_requested: bool,
    /// The runtime delete of the exited container is in flight.
    pub(super) deleting: bool,
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
            rt,
            reaper,
            listener: Some(listener),
            log,
            split: Default::default(),
            conns: Vec::new(),
            serial: 0,
            init: Process::init(pid, args.tty, args.stdin, ends),
            execs: Vec::new(),
            calls: Vec::new(),
            unclaimed: VecDeque::new(),
            orphans_reaped: 0,
            oom,
            delete_requested: false,
            deleting: false,
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
            self.finish_calls();
            self.maybe_record_exits();
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
        self.abandon_calls();
        setup::cleanup(&self.state_dir);
    }

    pub(super) fn proc(&self, slot: usize) -> Option<&Process> {
        match slot {
            0 => Some(&self.init),
            n => self.execs.get(n - 1)?.as_ref(),
        }
    }

    pub(super) fn proc_mut(&mut self, slot: usize) -> Option<&mut Process> {
        match slot {
            0 => Some(&mut self.init),
            n => self.execs.get_mut(n - 1)?.as_mut(),
        }
    }

    fn slots(&self) -> impl Iterator<Item = (usize, &Process)> {
        std::iter::once((0, &self.init)).chain(
            self.execs
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.as_ref().map(|p| (i + 1, p))),
        )
    }

    pub(super) fn find_exec(&self, id: &str) -> Option<usize> {
        self.execs
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.exec_id.as_deref() == Some(id)))
            .map(|i| i + 1)
    }

    /// One poll over everything that can make progress now.
    fn wait_events(&mut self) -> Result<Vec<(Token, PollFlags)>, Errno> {
        // Quiet for a while: give memory back before this (likely long) wait.
        let trim = self.trim_at.is_some_and(|t| Instant::now() >= t);
        if trim {
            self.trim_at = None;
            footprint::trim_heap();
        }
        let cap = 8 + self.conns.len() + 4 * self.execs.len() + 2 * self.calls.len();
        let mut toks = Vec::with_capacity(cap);
        let mut fds = Vec::with_capacity(cap);
        let mut add = |tok, fd, ev| {
            toks.push(tok);
            fds.push(PollFd::new(fd, ev));
        };
        if let Some(l) = &self.listener {
            add(Token::Listener, l.as_fd(), PollFlags::POLLIN);
        }
        add(Token::Signal, self.reaper.fd(), PollFlags::POLLIN);
        for (slot, p) in self.slots() {
            let want_stdin = if p.stdin_buf.is_empty() {
                PollFlags::empty()
            } else {
                PollFlags::POLLOUT
            };
            if let Some(t) = &p.ends.tty {
                add(
                    Token::Out(slot, Stream::Tty),
                    t.as_fd(),
                    PollFlags::POLLIN | want_stdin,
                );
            }
            if let Some(o) = &p.ends.stdout {
                add(
                    Token::Out(slot, Stream::Stdout),
                    o.as_fd(),
                    PollFlags::POLLIN,
                );
            }
            if let Some(e) = &p.ends.stderr {
                add(
                    Token::Out(slot, Stream::Stderr),
                    e.as_fd(),
                    PollFlags::POLLIN,
                );
            }
            if let Some(i) = &p.ends.stdin
                && !want_stdin.is_empty()
            {
                add(Token::In(slot), i.as_fd(), want_stdin);
            }
        }
        for (i, c) in self.calls.iter().enumerate() {
            let Some(c) = c else { continue };
            for (_, fd) in c.run.fds() {
                add(Token::Call(i), fd, PollFlags::POLLIN);
            }
        }
        for (i, c) in self.conns.iter().enumerate() {
            let Some(c) = c else { continue };
            let mut ev = PollFlags::empty();
            let reads = match c.phase {
                Phase::Attached { slot, stdin, .. } => {
                    !c.read_eof
                        && match self.proc(slot) {
                            Some(p) if stdin && p.stdin_open() => p.stdin_buf.len() < STDIN_BACKLOG,
                            _ => true,
                        }
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
            .map(|d| poll_timeout(d.saturating_duration_since(Instant::now())))
            .unwrap_or(nix::poll::PollTimeout::NONE);
        let n = if trim {
            footprint::unmap_code_and_poll(&mut fds, i32::from(timeout))
        } else {
            poll(&mut fds, timeout)
        };
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
        let drains = self
            .slots()
            .filter(|(_, p)| p.exit.is_none())
            .filter_map(|(_, p)| p.reaped.as_ref().map(|r| r.drain_until));
        let calls = self.calls.iter().flatten().map(|c| c.deadline);
        conns
            .chain(drains)
            .chain(calls)
            .chain(self.quit)
            .chain(self.trim_at)
            .min()
    }

    fn dispatch(&mut self, tok: Token, rev: PollFlags) {
        let readable = rev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR);
        match tok {
            Token::Listener => self.accept(),
            Token::Signal => self.on_sigchld(),
            Token::Out(slot, s) => {
                if s == Stream::Tty
                    && rev.contains(PollFlags::POLLOUT)
                    && let Some(p) = self.proc_mut(slot)
                {
                    p.write_stdin();
                }
                if readable {
                    self.read_output(slot, s);
                }
            }
            Token::In(slot) => {
                if let Some(p) = self.proc_mut(slot) {
                    p.write_stdin();
                }
            }
            Token::Call(i) => {
                if let Some(Some(c)) = self.calls.get_mut(i) {
                    c.run.drain();
                }
            }
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
            self.serial += 1;
            let conn = Conn::new(sock, self.serial, Instant::now() + REQUEST_TIMEOUT);
            match self.conns.iter().position(Option::is_none) {
                Some(i) => self.conns[i] = Some(conn),
                None => self.conns.push(Some(conn)),
            }
        }
    }

    fn on_sigchld(&mut self) {
        let mut exited: Vec<(i32, i32)> = Vec::new();
        self.reaper.reap(|pid, code| exited.push((pid, code)));
        for (pid, code) in exited {
            self.on_exit(pid, code);
        }
    }

    /// Gives a reaped exit to whoever it belongs to: a process of the table, a runtime call, or
    /// (for now) nobody.
    fn on_exit(&mut self, pid: i32, code: i32) {
        let at = now_nanos();
        let slot = self
            .slots()
            .find(|(_, p)| p.pid == pid && p.reaped.is_none() && p.exit.is_none())
            .map(|(slot, _)| slot);
        if let Some(p) = slot.and_then(|s| self.proc_mut(s)) {
            p.reaped = Some(Reaped {
                code,
                at,
                drain_until: Instant::now() + DRAIN_AFTER_EXIT,
            });
            return;
        }
        if let Some(c) = self
            .calls
            .iter_mut()
            .flatten()
            .find(|c| c.run.pid == pid && c.status.is_none())
        {
            c.status = Some(code);
            return;
        }
        self.orphans_reaped += 1;
        if self.unclaimed.len() >= UNCLAIMED_MAX {
            self.unclaimed.pop_front();
        }
        self.unclaimed.push_back((pid, code, at));
    }

    /// An exit reaped before its process's pid was known (an exec that ended at once).
    pub(super) fn claim_exit(&mut self, pid: i32) -> Option<Reaped> {
        let i = self.unclaimed.iter().position(|(p, _, _)| *p == pid)?;
        let (_, code, at) = self.unclaimed.remove(i)?;
        self.orphans_reaped -= 1;
        Some(Reaped {
            code,
            at,
            drain_until: Instant::now() + DRAIN_AFTER_EXIT,
        })
    }

    fn read_output(&mut self, slot: usize, s: Stream) {
        let mut buf = [0u8; 16 * 1024];
        for _ in 0..READS_PER_WAKE {
            let Some(fd) = self.proc(slot).and_then(|p| p.output(s)) else {
                return;
            };
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) => return self.close_output(slot, s),
                Ok(n) => self.on_output(slot, s.id(), &buf[..n]),
                Err(Errno::EAGAIN) => return,
                Err(Errno::EINTR) => {}
                // EIO: the last slave of a pty closed; anything else ends the stream as well.
                Err(_) => return self.close_output(slot, s),
            }
        }
    }

    fn on_output(&mut self, slot: usize, stream: u8, data: &[u8]) {
        if slot == 0 {
            let (idx, name) = log_stream(stream);
            let log = &mut self.log;
            // A failing disk loses log lines, never the container (as dockerd's copier).
            self.split[idx].feed(data, now_nanos(), &mut |m, nl, ts| {
                let _ = log.write(name, m, nl, ts);
            });
        } else {
            let Some(p) = self.proc_mut(slot) else { return };
            if !p.keeps(stream) {
                return;
            }
            p.hold_early(stream, data);
        }
        for c in &mut self.conns {
            if let Some(conn) = c
                && matches!(conn.phase, Phase::Attached { slot: s, .. } if s == slot)
                && conn.wants(stream)
                && !conn.frame(stream, data)
            {
                *c = None;
            }
        }
    }

    fn close_output(&mut self, slot: usize, s: Stream) {
        let Some(p) = self.proc_mut(slot) else { return };
        if p.output(s).is_none() {
            return;
        }
        p.close_output(s);
        if slot == 0 {
            let (idx, name) = log_stream(s.id());
            let log = &mut self.log;
            self.split[idx].finish(now_nanos(), &mut |m, nl, ts| {
                let _ = log.write(name, m, nl, ts);
            });
        }
    }

    fn on_conn(&mut self, i: usize, rev: PollFlags) {
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
                self.take_requests(i, matches!(outcome, ReadOutcome::Eof));
            }
            Phase::Attached { slot, stdin, .. } => {
                let (takes, room) = match self.proc(slot) {
                    Some(p) if stdin && p.stdin_open() => {
                        (true, STDIN_BACKLOG.saturating_sub(p.stdin_buf.len()))
                    }
                    _ => (false, 4096),
                };
                let Some(c) = self.conns.get_mut(i).and_then(Option::as_mut) else {
                    return;
                };
                c.read_some(room);
                let data = std::mem::take(&mut c.input);
                // POLLHUP: the client closed both ways and reads no more output. A half-close
                // (read EOF alone) keeps the stream, and is not a stdin close either.
                if hup {
                    self.conns[i] = None;
                }
                if takes && !data.is_empty() {
                    self.feed_stdin(slot, &data);
                }
            }
            Phase::Waiting { .. } | Phase::Deleting | Phase::Calling | Phase::Closing => {
                c.read_some(4096);
                c.input.clear();
                if hup {
                    self.conns[i] = None;
                }
            }
        }
        self.close_if_flushed(i);
    }

    /// Handles the frames in a connection's input: `Hello`s, then its one request.
    fn take_requests(&mut self, i: usize, eof: bool) {
        loop {
            let Some(c) = self.conns.get_mut(i).and_then(Option::as_mut) else {
                return;
            };
            if c.phase != Phase::Request {
                return;
            }
            match c.take_request() {
                Some(Ok(Request::Hello { version })) => {
                    if PROTO_VERSION.speaks(version) {
                        c.reply(&Response::Hello {
                            version: PROTO_VERSION,
                        });
                        continue;
                    }
                    c.reply(&Response::Error {
                        kind: ErrorKind::Version,
                        message: format!(
                            "this shim speaks protocol version {PROTO_VERSION}, the client \
                             speaks {version}: major versions differ"
                        ),
                    });
                    c.phase = Phase::Closing;
                    c.deadline = Some(Instant::now() + CLOSE_GRACE);
                    return;
                }
                Some(req) => {
                    c.deadline = None;
                    return self.on_request(i, req);
                }
                None if eof => {
                    self.conns[i] = None;
                    return;
                }
                None => return,
            }
        }
    }

    pub(super) fn feed_stdin(&mut self, slot: usize, data: &[u8]) {
        if let Some(p) = self.proc_mut(slot)
            && p.stdin_open()
        {
            p.stdin_buf.extend_from_slice(data);
            p.write_stdin();
        }
    }

    fn close_if_flushed(&mut self, i: usize) {
        if let Some(Some(c)) = self.conns.get(i)
            && c.phase == Phase::Closing
            && c.pending() == 0
        {
            self.conns[i] = None;
        }
    }

    /// Answers a request now, parks the connection (until an exit, or a runtime call's end), or
    /// turns it into an attach stream.
    fn on_request(&mut self, i: usize, req: Result<Request, proto::FrameError>) {
        let Some(serial) = self.conns.get(i).and_then(Option::as_ref).map(|c| c.serial) else {
            return;
        };
        let outcome = match req {
            Ok(req) => self.handle(req, (i, serial)),
            Err(e) => Outcome::Reply(Response::Error {
                kind: ErrorKind::BadRequest,
                message: e.to_string(),
            }),
        };
        self.apply(i, outcome);
    }

    /// Carries out what a request (or the runtime call it started) came to.
    pub(super) fn apply(&mut self, i: usize, outcome: Outcome) {
        let Some(c) = self.conns.get_mut(i).and_then(Option::as_mut) else {
            if matches!(outcome, Outcome::Quit(_)) {
                self.begin_quit();
            }
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
                slot,
                stdin,
                stdout,
                stderr,
            } => {
                c.reply(&Response::Attached);
                let early_stdin = std::mem::take(&mut c.input);
                let Some(p) = (match slot {
                    0 => Some(&mut self.init),
                    n => self.execs.get_mut(n - 1).and_then(Option::as_mut),
                }) else {
                    c.phase = Phase::Closing;
                    c.deadline = Some(Instant::now() + CLOSE_GRACE);
                    return;
                };
                // An exec's output from before its first attach goes to that attacher.
                if let Some(early) = p.early.take()
                    && !replay(c, &early, stdout, stderr)
                {
                    self.conns[i] = None;
                    return;
                }
                if p.exit.is_some() {
                    c.phase = Phase::Closing;
                    c.deadline = Some(Instant::now() + CLOSE_GRACE);
                } else {
                    c.phase = Phase::Attached {
                        slot,
                        stdin,
                        stdout,
                        stderr,
                    };
                    // Stdin the client sent right behind its request.
                    if stdin && !early_stdin.is_empty() {
                        self.feed_stdin(slot, &early_stdin);
                    }
                }
            }
            Outcome::Quit(resp) => {
                c.reply(&resp);
                c.phase = Phase::Closing;
                self.begin_quit();
            }
        }
        self.close_if_flushed(i);
    }

    /// The connection `id` if it is still the one that asked, waiting for its answer.
    pub(super) fn calling_conn(&self, id: ConnId) -> Option<usize> {
        let c = self.conns.get(id.0)?.as_ref()?;
        (c.serial == id.1 && c.phase == Phase::Calling).then_some(id.0)
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
        self.expire_calls(now);
    }

    /// Records every reaped process whose output is drained (or whose drain bound passed).
    fn maybe_record_exits(&mut self) {
        let now = Instant::now();
        let due: Vec<usize> = self
            .slots()
            .filter(|(_, p)| p.exit.is_none())
            .filter(|(_, p)| {
                p.reaped
                    .as_ref()
                    .is_some_and(|r| !p.outputs_open() || now >= r.drain_until)
            })
            .map(|(slot, _)| slot)
            .collect();
        for slot in due {
            self.record_exit(slot);
        }
    }

    /// Flushes the last partial lines, writes the record (the init's in exit.json), answers its
    /// waiters and ends its attach streams.
    fn record_exit(&mut self, slot: usize) {
        let Some((code, at)) = self
            .proc(slot)
            .and_then(|p| p.reaped.as_ref())
            .map(|r| (r.code, r.at))
        else {
            return;
        };
        for s in [Stream::Tty, Stream::Stdout, Stream::Stderr] {
            self.read_output(slot, s);
            self.close_output(slot, s);
        }
        let exit = ExitStatus {
            code,
            exited_at: at,
            oom_killed: slot == 0 && self.oom.as_ref().is_some_and(OomCounter::killed),
        };
        if slot == 0 {
            let path = self.state_dir.join(proto::EXIT_FILE);
            // If the record cannot be written, waiters still learn the status: the daemon can
            // act on it now, and only a restart in this window would miss it.
            if let Ok(json) = serde_json::to_vec(&exit) {
                let _ = replace_file(&path, &json);
            }
        }
        if let Some(p) = self.proc_mut(slot) {
            p.record_exit(exit);
        }
        self.end_process_conns(slot, Some(exit));
        if slot == 0 && self.delete_requested {
            self.finish_delete();
        }
    }

    /// Answers the waiters of the process in `slot` with `exit` (without one: the process's
    /// record is going) and ends its attach streams.
    pub(super) fn end_process_conns(&mut self, slot: usize, exit: Option<ExitStatus>) {
        let deadline = Instant::now() + CLOSE_GRACE;
        let answer = match exit {
            Some(exit) => Response::Exited(exit),
            None => Response::Error {
                kind: ErrorKind::NotFound,
                message: "the exec process was deleted before it ran".into(),
            },
        };
        for c in self.conns.iter_mut().flatten() {
            match c.phase {
                Phase::Waiting { slot: s } if s == slot => {
                    c.reply(&answer);
                    c.phase = Phase::Closing;
                    c.deadline = Some(deadline);
                }
                Phase::Attached { slot: s, .. } if s == slot => {
                    c.phase = Phase::Closing;
                    c.deadline = Some(deadline);
                }
                _ => {}
            }
        }
        for i in 0..self.conns.len() {
            self.close_if_flushed(i);
        }
    }

    /// Answers every parked Delete.
    pub(super) fn answer_deletes(&mut self, resp: &Response) {
        let deadline = Instant::now() + CLOSE_GRACE;
        for c in self.conns.iter_mut().flatten() {
            if c.phase == Phase::Deleting {
                c.reply(resp);
                c.phase = Phase::Closing;
                c.deadline = Some(deadline);
            }
        }
    }

    /// Stops taking connections and removes the socket at once, so nobody reaches a shim that is
    /// going away; replies still in flight get [`QUIT_GRACE`].
    pub(super) fn begin_quit(&mut self) {
        self.listener = None;
        setup::cleanup(&self.state_dir);
        for c in self.conns.iter_mut().flatten() {
            c.phase = Phase::Closing;
        }
        self.quit = Some(Instant::now() + QUIT_GRACE);
    }
}

/// The json-file stream name and line splitter of a stdcopy stream id.
fn log_stream(stream: u8) -> (usize, &'static str) {
    if stream == proto::STREAM_STDERR {
        (1, "stderr")
    } else {
        (0, "stdout")
    }
}

/// Queues the frames of `early` the attacher asked for; false if it cannot take them.
fn replay(c: &mut Conn, early: &[u8], stdout: bool, stderr: bool) -> bool {
    let mut rest = early;
    while rest.len() >= proto::FRAME_HEADER {
        let stream = rest[0];
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let end = (proto::FRAME_HEADER + len).min(rest.len());
        let wanted = (stream == proto::STREAM_STDOUT && stdout)
            || (stream == proto::STREAM_STDERR && stderr);
        if wanted && !c.queue(&rest[..end]) {
            return false;
        }
        rest = &rest[end..];
    }
    true
}
