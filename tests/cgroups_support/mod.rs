//! Shared pieces of the real-cgroup tests: unique names, child processes with bounded waits, and a
//! guard that kills the children and removes the cgroup even when a test fails.
#![allow(dead_code)]

use std::io::Read;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use berth::runtime::cgroups::Manager;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// Real-cgroup tests of one binary run one at a time: they share the hierarchy roots.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    format!("{prefix}-{}", hex::encode(bytes))
}

/// Owns a cgroup and the processes put in it; Drop kills, reaps, thaws and destroys.
pub struct Scratch {
    pub manager: Manager,
    pub children: Vec<Child>,
}

impl Scratch {
    pub fn new(root: &Path, name: &str) -> Scratch {
        let manager = Manager::new(root, &format!("/{name}"), "unused").unwrap();
        Scratch {
            manager,
            children: Vec::new(),
        }
    }

    /// Starts `/bin/sh -c script` with piped stdio; the script usually begins with `read x` so
    /// it does nothing until it is in the cgroup and the test writes a line.
    pub fn spawn(&mut self, script: &str) -> usize {
        let child = Command::new("/bin/sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.children.push(child);
        self.children.len() - 1
    }

    pub fn pid(&self, i: usize) -> i32 {
        self.children[i].id() as i32
    }

    pub fn go(&mut self, i: usize) {
        use std::io::Write;
        let stdin = self.children[i].stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    pub fn dirs(&self) -> Vec<PathBuf> {
        self.manager.dirs()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A frozen task cannot die: thaw first.
        let _ = self.manager.thaw();
        for child in &mut self.children {
            let _ = child.kill();
            let _ = wait_timeout(child, Duration::from_secs(10));
        }
        let result = self.manager.destroy();
        let left: Vec<_> = self
            .manager
            .dirs()
            .into_iter()
            .filter(|d| d.exists())
            .collect();
        if !std::thread::panicking() {
            result.unwrap();
            assert!(left.is_empty(), "left behind: {left:?}");
        }
    }
}

fn pidfd(child: &Child) -> OwnedFd {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: the kernel just handed us this descriptor.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// Waits for the child on its pidfd, at most `limit`; None if it is still running.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    let fd = pidfd(child);
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    let ms = PollTimeout::try_from(limit).unwrap_or(PollTimeout::MAX);
    match poll(&mut fds, ms) {
        Ok(n) if n > 0 => child.wait().ok(),
        _ => None,
    }
}

/// Whether the pipe has data within `limit`.
pub fn readable_within(out: &ChildStdout, limit: Duration) -> bool {
    let mut fds = [PollFd::new(out.as_fd(), PollFlags::POLLIN)];
    let ms = PollTimeout::try_from(limit).unwrap_or(PollTimeout::MAX);
    matches!(poll(&mut fds, ms), Ok(n) if n > 0)
}

/// Reads what is available now (one read), after waiting at most `limit` for something.
pub fn read_some(out: &mut ChildStdout, limit: Duration) -> Vec<u8> {
    if !readable_within(out, limit) {
        return Vec::new();
    }
    let mut buf = vec![0u8; 65536];
    let n = out.read(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Reads until `want` appears or `limit` passes.
pub fn read_until(out: &mut ChildStdout, want: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut text = String::new();
    while !text.contains(want) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let chunk = read_some(out, left);
        if chunk.is_empty() {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

pub fn read_file(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
