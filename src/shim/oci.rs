//! Runs the OCI runtime binary by runc's command-line contract, each call bounded in time.
//! Errors carry the runtime's own message, taken from its json log (or its stderr).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

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
pub struct CallStdio {
    pub stdin: Stdio,
    /// `None`: captured (and returned); `Some`: handed to the runtime as they are.
    pub stdout: Option<Stdio>,
    pub stderr: Option<Stdio>,
}

impl Default for CallStdio {
    fn default() -> Self {
        CallStdio {
            stdin: Stdio::null(),
            stdout: None,
            stderr: None,
        }
    }
}

impl Runtime {
    /// `<runtime> --root R --log L --log-format json <verb> <args...>`; returns its stdout.
    pub fn call(
        &self,
        verb: &str,
        args: &[&str],
        stdio: CallStdio,
        timeout: Duration,
    ) -> Result<Vec<u8>, OciError> {
        let log_start = File::open(&self.log)
            .and_then(|f| f.metadata())
            .map(|m| m.len())
            .unwrap_or(0);
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
        let capture_out = stdio.stdout.is_none();
        let capture_err = stdio.stderr.is_none();
        cmd.stdin(stdio.stdin)
            .stdout(stdio.stdout.unwrap_or_else(Stdio::piped))
            .stderr(stdio.stderr.unwrap_or_else(Stdio::piped));
        let mut child = cmd.spawn().map_err(|source| OciError::Spawn {
            binary: self.binary.clone(),
            source,
        })?;
        let out = wait_bounded(&mut child, verb, timeout);
        let (status, stdout, stderr) = match out {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        debug_assert!(capture_out || stdout.is_empty());
        debug_assert!(capture_err || stderr.is_empty());
        if status.success() {
            return Ok(stdout);
        }
        let message = last_log_error(&self.log, log_start)
            .or_else(|| last_line(&stderr))
            .unwrap_or_else(|| format!("{} {verb} failed: {status}", self.binary.display()));
        Err(OciError::Failed(message))
    }
}

type Finished = (std::process::ExitStatus, Vec<u8>, Vec<u8>);

/// Collects the child's captured output until it exits (seen on a pidfd, so a grandchild that
/// keeps a pipe open cannot hold us), or fails at the deadline (the caller kills it).
fn wait_bounded(child: &mut Child, verb: &str, timeout: Duration) -> Result<Finished, OciError> {
    let werr = |source| OciError::Wait {
        verb: verb.to_string(),
        source,
    };
    let pidfd = pidfd_open(child.id() as i32).map_err(werr)?;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    for fd in [
        out.as_ref().map(|o| o.as_fd()),
        err.as_ref().map(|e| e.as_fd()),
    ]
    .into_iter()
    .flatten()
    {
        set_nonblocking(fd).map_err(werr)?;
    }
    let (mut out_buf, mut err_buf) = (Vec::new(), Vec::new());
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
        if let Some(o) = &out {
            fds.push(PollFd::new(o.as_fd(), PollFlags::POLLIN));
        }
        if let Some(e) = &err {
            fds.push(PollFd::new(e.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, poll_timeout(left)) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(werr(e.into())),
        }
        let exited = fds[0].any().unwrap_or(false);
        drop(fds);
        if drain(&mut out, &mut out_buf) {
            out = None;
        }
        if drain(&mut err, &mut err_buf) {
            err = None;
        }
        if exited {
            let status = child.wait().map_err(werr)?;
            return Ok((status, out_buf, err_buf));
        }
    }
}

/// Reads what is there; true at end of stream (or on an error, which ends it too).
fn drain<R: Read>(src: &mut Option<R>, buf: &mut Vec<u8>) -> bool {
    let Some(r) = src else { return false };
    let mut chunk = [0u8; 4096];
    loop {
        match r.read(&mut chunk) {
            Ok(0) => return true,
            // Runtime output is small; a runaway one is cut rather than held.
            Ok(n) if buf.len() < (1 << 20) => buf.extend_from_slice(&chunk[..n]),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
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

/// The last error message the runtime wrote to its json log after `from`.
fn last_log_error(log: &Path, from: u64) -> Option<String> {
    let mut f = File::open(log).ok()?;
    let len = f.metadata().ok()?.len();
    // Only the tail matters; a chatty runtime must not make us read megabytes.
    let start = from.max(len.saturating_sub(64 * 1024));
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut text = Vec::new();
    f.read_to_end(&mut text).ok()?;
    last_error_in(&text)
}

/// Picks the last `error`/`fatal` record's `msg` from runc-style json log lines.
pub fn last_error_in(text: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Record {
        level: Option<String>,
        msg: Option<String>,
    }
    text.split(|&b| b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Record>(l).ok())
        .filter(|r| matches!(r.level.as_deref(), Some("error" | "fatal" | "panic")))
        .filter_map(|r| r.msg)
        .next_back()
}

fn last_line(text: &[u8]) -> Option<String> {
    String::from_utf8_lossy(text)
        .lines()
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
}
