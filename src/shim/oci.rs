//! Runs the OCI runtime binary by runc's command-line contract, each call bounded in time.
//! Errors carry the runtime's own message, taken from its json log (or its stderr), bounded in
//! length: the runtime's output is read while it runs and only its start and end are kept.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// How much of the runtime's stderr (or of one log message) is kept for its error: the start and
/// the end (where the cause is), half each, with a note of what was cut between.
pub const MESSAGE_MAX: usize = 16 * 1024;
/// Stdout is data (`state`, `ps`, `events --stats`): kept whole up to this, a runaway cut.
const STDOUT_MAX: usize = 1 << 20;
/// The longest json log record parsed; a longer one is skipped (stderr has the message too).
const LOG_LINE_MAX: usize = 1 << 20;
/// How far back from the log's end a call's records are looked for.
const LOG_SCAN_MAX: u64 = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("starting {binary}: {source}")]
    Spawn { binary: PathBuf, source: io::Error },
    /// The runtime's message, as dockerd shows runc's.
    #[error("{0}")]
    Failed(String),
    #[error("{verb} did not finish in {after:?}")]
    Timeout { verb: String, after: Duration },
    #[error("waiting for the runtime's {verb}: {source}")]
    Wait { verb: String, source: io::Error },
}

/// The runtime binary and where it keeps its state and log.
pub struct Runtime {
    pub binary: PathBuf,
    /// Global arguments given before everything else (daemon.json `runtimeArgs`).
    pub args: Vec<String>,
    pub root: PathBuf,
    pub log: PathBuf,
}

/// Where a runtime call's standard streams go.
pub struct CallStdio<'a> {
    pub stdin: Stdio,
    /// `None`: captured (and returned); `Some`: handed to the runtime as they are.
    pub stdout: Option<Stdio>,
    pub stderr: Option<Stdio>,
    /// Read ends of the pipes handed over as `stdout`/`stderr` (the container's own, which runc
    /// passes on to the init), drained while the runtime runs: a message past a pipe's 64 KiB
    /// would otherwise block it until the deadline. Before the init runs, what arrives there is
    /// the runtime's own output, kept (bounded) as captured output is.
    pub drain_stdout: Option<BorrowedFd<'a>>,
    pub drain_stderr: Option<BorrowedFd<'a>>,
}

impl Default for CallStdio<'_> {
    fn default() -> Self {
        CallStdio {
            stdin: Stdio::null(),
            stdout: None,
            stderr: None,
            drain_stdout: None,
            drain_stderr: None,
        }
    }
}

impl Runtime {
    /// `<runtime> --root R --log L --log-format json <verb> <args...>`.
    fn command(&self, verb: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.args(&self.args)
            .arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg(&self.log)
            .arg("--log-format")
            .arg("json")
            .arg(verb)
            .args(args);
        cmd
    }

    fn log_len(&self) -> u64 {
        File::open(&self.log)
            .and_then(|f| f.metadata())
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Runs `verb` to its end (bounded) and returns its stdout. For use before the event loop
    /// runs: it waits for its own child, which the loop's reaper would otherwise take.
    pub fn call(
        &self,
        verb: &str,
        args: &[&str],
        stdio: CallStdio<'_>,
        timeout: Duration,
    ) -> Result<Vec<u8>, OciError> {
        let log_start = self.log_len();
        let mut cmd = self.command(verb, args);
        let drains = [
            stdio.drain_stdout.filter(|_| stdio.stdout.is_some()),
            stdio.drain_stderr.filter(|_| stdio.stderr.is_some()),
        ];
        cmd.stdin(stdio.stdin)
            .stdout(stdio.stdout.unwrap_or_else(Stdio::piped))
            .stderr(stdio.stderr.unwrap_or_else(Stdio::piped));
        let mut child = cmd.spawn().map_err(|source| OciError::Spawn {
            binary: self.binary.clone(),
            source,
        })?;
        // The command holds our copies of handed-over write ends; they go before the wait.
        drop(cmd);
        let out = wait_bounded(&mut child, drains, verb, timeout);
        let (status, stdout, stderr) = match out {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        if status.success() {
            return Ok(stdout.head);
        }
        Err(self.failure(verb, log_start, &stderr, &status.to_string()))
    }

    /// Starts `verb` without waiting for it: the event loop reads its output through
    /// [`Running`], reaps it with everything else, and then calls [`Runtime::finish`].
    /// `stdout`/`stderr` given are handed to the runtime (an exec's own pipes); the others are
    /// captured.
    pub fn spawn(
        &self,
        verb: &'static str,
        args: &[&str],
        stdin: Stdio,
        stdout: Option<Stdio>,
        stderr: Option<Stdio>,
    ) -> Result<Running, OciError> {
        let log_start = self.log_len();
        let mut cmd = self.command(verb, args);
        let (cap_out, cap_err) = (stdout.is_none(), stderr.is_none());
        cmd.stdin(stdin)
            .stdout(stdout.unwrap_or_else(Stdio::piped))
            .stderr(stderr.unwrap_or_else(Stdio::piped));
        let mut child = cmd.spawn().map_err(|source| OciError::Spawn {
            binary: self.binary.clone(),
            source,
        })?;
        drop(cmd);
        let werr = |source| OciError::Wait {
            verb: verb.to_string(),
            source,
        };
        let out = child.stdout.take().map(OwnedFd::from).filter(|_| cap_out);
        let err = child.stderr.take().map(OwnedFd::from).filter(|_| cap_err);
        let pid = child.id() as i32;
        // Not waited for here: the loop's reaper takes it, and `Child` does not wait on drop.
        drop(child);
        for fd in [&out, &err].into_iter().flatten() {
            if let Err(e) = set_nonblocking(fd.as_fd()) {
                // SAFETY: kill(2) of our own unreaped child: the pid cannot have been reused.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return Err(werr(e));
            }
        }
        Ok(Running {
            verb,
            pid,
            out,
            err,
            out_buf: Capture::for_stdout(),
            err_buf: Capture::for_stderr(),
            log_start,
        })
    }

    /// The result of a spawned call, once its process was reaped with `code`.
    pub fn finish(&self, mut r: Running, code: i32) -> Result<Vec<u8>, OciError> {
        // It has exited, so whatever it wrote is in the pipes already.
        r.drain();
        if code == 0 {
            return Ok(r.out_buf.head);
        }
        let how = if code > 128 {
            format!("signal {}", code - 128)
        } else {
            format!("exit status {code}")
        };
        Err(self.failure(r.verb, r.log_start, &r.err_buf, &how))
    }

    fn failure(&self, verb: &str, log_start: u64, stderr: &Capture, how: &str) -> OciError {
        let message = last_log_error(&self.log, log_start)
            .or_else(|| stderr.last_line())
            .unwrap_or_else(|| format!("{} {verb} failed: {how}", self.binary.display()));
        OciError::Failed(message)
    }
}

/// A runtime call in flight: its pid, and its captured output so far.
pub struct Running {
    pub verb: &'static str,
    pub pid: i32,
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    out_buf: Capture,
    err_buf: Capture,
    log_start: u64,
}

impl Running {
    /// The captured streams still open, to poll: (0 stdout, 1 stderr).
    pub fn fds(&self) -> impl Iterator<Item = (usize, BorrowedFd<'_>)> {
        [&self.out, &self.err]
            .into_iter()
            .enumerate()
            .filter_map(|(i, fd)| fd.as_ref().map(|fd| (i, fd.as_fd())))
    }

    /// Reads what is there on both captured streams (bounded copies); closes them at EOF.
    pub fn drain(&mut self) {
        if self
            .out
            .as_ref()
            .is_some_and(|fd| drain(fd.as_fd(), &mut self.out_buf))
        {
            self.out = None;
        }
        if self
            .err
            .as_ref()
            .is_some_and(|fd| drain(fd.as_fd(), &mut self.err_buf))
        {
            self.err = None;
        }
    }

    /// Kills the runtime (at its deadline). Safe by pid: it is our child and not reaped yet.
    pub fn kill(&self) {
        // SAFETY: kill(2) with a pid and a signal number.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }

    pub fn timeout(&self, after: Duration) -> OciError {
        OciError::Timeout {
            verb: self.verb.to_string(),
            after,
        }
    }
}

/// A bounded copy of a stream: its first `head_max` bytes, its last `tail_max`, and how many
/// were cut between.
#[derive(Debug)]
struct Capture {
    head_max: usize,
    tail_max: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    cut: u64,
}

impl Capture {
    fn new(head_max: usize, tail_max: usize) -> Capture {
        Capture {
            head_max,
            tail_max,
            head: Vec::new(),
            tail: VecDeque::new(),
            cut: 0,
        }
    }

    fn for_stdout() -> Capture {
        Capture::new(STDOUT_MAX, 0)
    }

    fn for_stderr() -> Capture {
        Capture::new(MESSAGE_MAX / 2, MESSAGE_MAX / 2)
    }

    fn push(&mut self, data: &[u8]) {
        let room = self.head_max.saturating_sub(self.head.len());
        let (to_head, rest) = data.split_at(room.min(data.len()));
        self.head.extend_from_slice(to_head);
        if rest.is_empty() {
            return;
        }
        // What overflows the tail lay between head and tail: cut.
        let skip = rest.len().saturating_sub(self.tail_max);
        self.tail.extend(&rest[skip..]);
        let over = self.tail.len().saturating_sub(self.tail_max);
        self.tail.drain(..over);
        self.cut += (skip + over) as u64;
    }

    /// The last non-empty line, the cut marked where it was made (so a single huge line keeps
    /// its start and its end).
    fn last_line(&self) -> Option<String> {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.cut > 0 {
            text.push_str(&cut_note(self.cut));
        }
        let (a, b) = self.tail.as_slices();
        text.push_str(&String::from_utf8_lossy(&[a, b].concat()));
        last_line(&text)
    }
}

fn cut_note(bytes: u64) -> String {
    format!(" [... {bytes} bytes cut ...] ")
}

/// `msg` in at most [`MESSAGE_MAX`] bytes (plus the note): its start and its end.
fn bound_message(msg: String) -> String {
    if msg.len() <= MESSAGE_MAX {
        return msg;
    }
    let half = MESSAGE_MAX / 2;
    let mut head_end = half;
    while !msg.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = msg.len() - half;
    while !msg.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    let cut = (tail_start - head_end) as u64;
    format!(
        "{}{}{}",
        &msg[..head_end],
        cut_note(cut),
        &msg[tail_start..]
    )
}

type Finished = (std::process::ExitStatus, Capture, Capture);

/// Collects the child's output until it exits (seen on a pidfd, so a grandchild that keeps a
/// pipe open cannot hold us), or fails at the deadline (the caller kills it). `drains` stand in
/// for stdout and stderr when those were handed over rather than captured.
fn wait_bounded(
    child: &mut Child,
    drains: [Option<BorrowedFd<'_>>; 2],
    verb: &str,
    timeout: Duration,
) -> Result<Finished, OciError> {
    let werr = |source| OciError::Wait {
        verb: verb.to_string(),
        source,
    };
    let pidfd = pidfd_open(child.id() as i32).map_err(werr)?;
    let own_out = child.stdout.take().map(OwnedFd::from);
    let own_err = child.stderr.take().map(OwnedFd::from);
    let mut out = own_out.as_ref().map(|o| o.as_fd()).or(drains[0]);
    let mut err = own_err.as_ref().map(|e| e.as_fd()).or(drains[1]);
    for fd in [out, err].into_iter().flatten() {
        set_nonblocking(fd).map_err(werr)?;
    }
    let (mut out_buf, mut err_buf) = (Capture::for_stdout(), Capture::for_stderr());
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(OciError::Timeout {
                verb: verb.to_string(),
                after: timeout,
            });
        }
        let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        fds.extend(
            [out, err]
                .into_iter()
                .flatten()
                .map(|fd| PollFd::new(fd, PollFlags::POLLIN)),
        );
        match poll(&mut fds, poll_timeout(left)) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(werr(e.into())),
        }
        let exited = fds[0].any().unwrap_or(false);
        drop(fds);
        if out.is_some_and(|fd| drain(fd, &mut out_buf)) {
            out = None;
        }
        if err.is_some_and(|fd| drain(fd, &mut err_buf)) {
            err = None;
        }
        if exited {
            let status = child.wait().map_err(werr)?;
            return Ok((status, out_buf, err_buf));
        }
    }
}

/// Reads what is there into `buf` (which keeps a bounded part); true at end of stream (or on an
/// error, which ends it too).
fn drain(fd: BorrowedFd<'_>, buf: &mut Capture) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        match nix::unistd::read(fd, &mut chunk) {
            Ok(0) => return true,
            Ok(n) => buf.push(&chunk[..n]),
            Err(nix::errno::Errno::EAGAIN) => return false,
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return true,
        }
    }
}

pub fn poll_timeout(d: Duration) -> PollTimeout {
    // Rounded up so a wait for 0.4 ms does not become a busy loop of zero-timeout polls.
    let ms = d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
}

pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The last error message the runtime wrote to its json log after `from`, bounded. Read line by
/// line, so a huge record is skipped rather than held whole.
fn last_log_error(log: &Path, from: u64) -> Option<String> {
    let mut f = File::open(log).ok()?;
    let len = f.metadata().ok()?.len();
    let start = from.max(len.saturating_sub(LOG_SCAN_MAX)).min(len);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut r = BufReader::new(f.take(len - start));
    let mut line = Vec::new();
    let mut found = None;
    loop {
        line.clear();
        let n = (&mut r)
            .take(LOG_LINE_MAX as u64)
            .read_until(b'\n', &mut line)
            .ok()?;
        if n == 0 {
            break;
        }
        if n == LOG_LINE_MAX && line.last() != Some(&b'\n') {
            skip_line(&mut r).ok()?;
            continue;
        }
        if let Some(msg) = error_record(&line) {
            found = Some(msg);
        }
    }
    found.map(bound_message)
}

/// Reads through the rest of a line without keeping it.
fn skip_line(r: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            r.consume(i + 1);
            return Ok(());
        }
        let n = buf.len();
        r.consume(n);
    }
}

/// The `msg` of a runc-style json log line at level error, fatal or panic.
fn error_record(line: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Record {
        level: Option<String>,
        msg: Option<String>,
    }
    let r: Record = serde_json::from_slice(line).ok()?;
    match r.level.as_deref() {
        Some("error" | "fatal" | "panic") => r.msg,
        _ => None,
    }
}

/// Picks the last `error`/`fatal` record's `msg` from runc-style json log lines.
#[cfg(test)]
fn last_error_in(text: &[u8]) -> Option<String> {
    text.split(|&b| b == b'\n')
        .filter_map(error_record)
        .next_back()
}

fn last_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_last_error_record() {
        let log = br#"{"level":"warning","msg":"w","time":"t"}
{"level":"error","msg":"first","time":"t"}
not json
{"level":"error","msg":"runc create failed: unable to start container process: exec: \"nope\": executable file not found in $PATH","time":"t"}
{"level":"info","msg":"later","time":"t"}
"#;
        assert_eq!(
            last_error_in(log).unwrap(),
            "runc create failed: unable to start container process: exec: \"nope\": executable file not found in $PATH"
        );
        assert_eq!(last_error_in(b"{\"level\":\"info\",\"msg\":\"x\"}"), None);
    }

    #[test]
    fn failing_runtime_reports_stderr_and_timeouts_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("rt");
        std::fs::write(
            &script,
            "#!/bin/sh\nfor a; do last=$a; done\nif [ \"$last\" = slow ]; then exec sleep 5; fi\necho out\necho \"boom: $last\" >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let rt = Runtime {
            binary: script,
            args: Vec::new(),
            root: dir.path().join("root"),
            log: dir.path().join("log.json"),
        };
        let err = rt
            .call("kill", &["x"], CallStdio::default(), Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(err.to_string(), "boom: x");
        let t = Instant::now();
        let err = rt
            .call(
                "kill",
                &["slow"],
                CallStdio::default(),
                Duration::from_millis(200),
            )
            .unwrap_err();
        assert!(matches!(err, OciError::Timeout { .. }), "{err}");
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    fn script(dir: &Path, body: &str) -> Runtime {
        let path = dir.join("rt");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        Runtime {
            binary: path,
            args: Vec::new(),
            root: dir.join("root"),
            log: dir.join("log.json"),
        }
    }

    /// A message of 200 KiB printed by a failing runtime: start, note, end.
    fn assert_bounded(msg: &str) {
        assert!(msg.len() < MESSAGE_MAX + 100, "{} bytes", msg.len());
        assert!(msg.starts_with("first words zzzz"), "{}", &msg[..100]);
        assert!(
            msg.ends_with("zzzz last words"),
            "{}",
            &msg[msg.len() - 100..]
        );
        assert!(msg.contains(" bytes cut ...] "), "no cut note");
    }

    const HUGE_STDERR: &str = "big=$(head -c 204800 /dev/zero | tr '\\0' z)\n\
        echo 'some warning' >&2\n\
        echo \"first words $big last words\" >&2\nexit 1";

    #[test]
    fn a_huge_stderr_is_read_while_waiting_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let rt = script(dir.path(), HUGE_STDERR);
        let t = Instant::now();
        let err = rt
            .call(
                "create",
                &["x"],
                CallStdio::default(),
                Duration::from_secs(20),
            )
            .unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        let OciError::Failed(msg) = err else {
            panic!("{err}")
        };
        assert_bounded(&msg);
    }

    #[test]
    fn handed_over_pipes_are_drained_while_waiting() {
        // As for a container without a terminal: the runtime writes into pipes whose read ends
        // the caller holds; nobody else reads them during the call.
        let dir = tempfile::tempdir().unwrap();
        let rt = script(dir.path(), HUGE_STDERR);
        let (out_r, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let (err_r, err_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let stdio = CallStdio {
            stdin: Stdio::null(),
            stdout: Some(Stdio::from(out_w)),
            stderr: Some(Stdio::from(err_w)),
            drain_stdout: Some(out_r.as_fd()),
            drain_stderr: Some(err_r.as_fd()),
        };
        let t = Instant::now();
        let err = rt
            .call("create", &["x"], stdio, Duration::from_secs(20))
            .unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        let OciError::Failed(msg) = err else {
            panic!("{err}")
        };
        assert_bounded(&msg);
    }

    #[test]
    fn a_huge_log_record_is_bounded_and_a_giant_one_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let rt = script(
            dir.path(),
            "for a; do [ \"$prev\" = --log ] && log=$a; prev=$a; done\n\
             big=$(head -c 204800 /dev/zero | tr '\\0' z)\n\
             printf '{\"level\":\"error\",\"msg\":\"first words %s last words\"}\\n' \"$big\" >>\"$log\"\n\
             echo short >&2\nexit 1",
        );
        let err = rt
            .call(
                "create",
                &["x"],
                CallStdio::default(),
                Duration::from_secs(20),
            )
            .unwrap_err();
        assert_bounded(&err.to_string());
        // A record over the line limit is passed over, never held; the one after it counts.
        let mut text = Vec::new();
        text.extend_from_slice(br#"{"level":"error","msg":""#);
        text.resize(text.len() + LOG_LINE_MAX + 10, b'q');
        text.extend_from_slice(b"\"}\n{\"level\":\"error\",\"msg\":\"after\"}\n");
        let log = dir.path().join("giant.json");
        std::fs::write(&log, &text).unwrap();
        assert_eq!(last_log_error(&log, 0).as_deref(), Some("after"));
        assert_eq!(last_log_error(&log, text.len() as u64), None);
    }

    /// Waits for `pid` as the shim's loop would (here: directly), then finishes the call.
    fn reap_and_finish(rt: &Runtime, r: Running) -> Result<Vec<u8>, OciError> {
        let st = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(r.pid), None).unwrap();
        let code = crate::shim::reaper::exit_code(st).unwrap();
        rt.finish(r, code)
    }

    #[test]
    fn spawned_calls_return_stdout_or_the_runtime_message() {
        let dir = tempfile::tempdir().unwrap();
        let rt = script(
            dir.path(),
            "for a; do last=$a; done\n[ \"$last\" = ok ] && { echo '[1,2]'; exit 0; }\n\
             echo \"no good: $last\" >&2; exit 3",
        );
        let r = rt.spawn("ps", &["ok"], Stdio::null(), None, None).unwrap();
        assert_eq!(r.fds().count(), 2);
        assert_eq!(reap_and_finish(&rt, r).unwrap(), b"[1,2]\n");
        let r = rt.spawn("kill", &["x"], Stdio::null(), None, None).unwrap();
        let err = reap_and_finish(&rt, r).unwrap_err();
        assert_eq!(err.to_string(), "no good: x");
        // Handed-over streams are not captured: nothing to poll.
        let r = rt
            .spawn(
                "kill",
                &["x"],
                Stdio::null(),
                Some(Stdio::null()),
                Some(Stdio::null()),
            )
            .unwrap();
        assert_eq!(r.fds().count(), 0);
        let err = reap_and_finish(&rt, r).unwrap_err();
        assert!(
            err.to_string().contains("kill failed: exit status 3"),
            "{err}"
        );
    }

    #[test]
    fn capture_keeps_head_and_tail_and_counts_the_cut() {
        let mut c = Capture::new(4, 4);
        c.push(b"ab");
        c.push(b"cdefghij");
        c.push(b"kl");
        assert_eq!(c.head, b"abcd");
        assert_eq!(c.tail.iter().copied().collect::<Vec<_>>(), b"ijkl");
        assert_eq!(c.cut, 4);
        assert_eq!(c.last_line().unwrap(), "abcd [... 4 bytes cut ...] ijkl");
        let mut c = Capture::new(4, 0);
        c.push(b"abcdef");
        assert_eq!((c.head.as_slice(), c.cut), (&b"abcd"[..], 2));
        let mut c = Capture::new(100, 100);
        c.push(b"one\ntwo\n\n");
        assert_eq!(c.last_line().unwrap(), "two");
    }

    #[test]
    fn messages_are_cut_on_char_boundaries() {
        let short = "é".repeat(10);
        assert_eq!(bound_message(short.clone()), short);
        let long = "é".repeat(MESSAGE_MAX);
        let cut = bound_message(long);
        assert!(cut.len() <= MESSAGE_MAX + 40);
        assert!(cut.starts_with('é') && cut.ends_with('é'));
        assert!(cut.contains(&format!("[... {} bytes cut ...]", MESSAGE_MAX)));
    }
}
