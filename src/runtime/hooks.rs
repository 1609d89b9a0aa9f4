//! OCI hooks: each runs with the container state as JSON on stdin, bounded by its `timeout`
//! (killed when it runs over). Output goes to memfds rather than pipes, so a chatty hook can
//! never block us while we wait for it, and its output can go into the error.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::Duration;

use oci_spec::runtime::{Hook, Hooks};

use crate::runtime::procfs;

/// A hook without a timeout may still not hang the runtime forever.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("error running {kind} hook #{index} ({path}): {source}")]
    Spawn {
        kind: &'static str,
        index: usize,
        path: String,
        source: io::Error,
    },
    #[error(
        "error running {kind} hook #{index} ({path}): {status}, stdout: {stdout}, stderr: {stderr}"
    )]
    Failed {
        kind: &'static str,
        index: usize,
        path: String,
        status: String,
        stdout: String,
        stderr: String,
    },
    #[error("error running {kind} hook #{index} ({path}): timeout after {secs}s")]
    Timeout {
        kind: &'static str,
        index: usize,
        path: String,
        secs: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl HookKind {
    pub fn name(self) -> &'static str {
        match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        }
    }
}

/// The hooks of one kind, or none.
pub fn of_kind(hooks: Option<&Hooks>, kind: HookKind) -> Vec<Hook> {
    let Some(h) = hooks else {
        return Vec::new();
    };
    #[allow(deprecated)] // prestart is deprecated in the spec but still honoured, as runc does
    let list = match kind {
        HookKind::Prestart => h.prestart(),
        HookKind::CreateRuntime => h.create_runtime(),
        HookKind::CreateContainer => h.create_container(),
        HookKind::StartContainer => h.start_container(),
        HookKind::Poststart => h.poststart(),
        HookKind::Poststop => h.poststop(),
    };
    list.clone().unwrap_or_default()
}

fn memfd(name: &std::ffi::CStr) -> io::Result<File> {
    // SAFETY: memfd_create with a valid C string.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

fn read_back(mut f: File) -> String {
    let mut s = String::new();
    let _ = f.seek(SeekFrom::Start(0));
    let _ = f.take(4096).read_to_string(&mut s);
    s.trim_end().to_string()
}

/// Runs every hook in order; the first failure stops the rest.
pub fn run_all(hooks: &[Hook], kind: HookKind, state: &str) -> Result<(), HookError> {
    for (index, hook) in hooks.iter().enumerate() {
        run_one(hook, kind, index, state)?;
    }
    Ok(())
}

fn run_one(hook: &Hook, kind: HookKind, index: usize, state: &str) -> Result<(), HookError> {
    let path = hook.path().display().to_string();
    let spawn_err = |source| HookError::Spawn {
        kind: kind.name(),
        index,
        path: path.clone(),
        source,
    };
    let mut stdin = memfd(c"hook-stdin").map_err(spawn_err)?;
    stdin.write_all(state.as_bytes()).map_err(spawn_err)?;
    stdin.seek(SeekFrom::Start(0)).map_err(spawn_err)?;
    let stdout = memfd(c"hook-stdout").map_err(spawn_err)?;
    let stderr = memfd(c"hook-stderr").map_err(spawn_err)?;
    let mut cmd = Command::new(hook.path());
    let args = hook.args().clone().unwrap_or_default();
    // args[0] is the hook's argv[0], as in execve.
    if let Some((argv0, rest)) = args.split_first() {
        std::os::unix::process::CommandExt::arg0(&mut cmd, argv0);
        cmd.args(rest);
    }
    if let Some(env) = hook.env() {
        cmd.env_clear();
        for kv in env {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    // A group of its own, so a timeout takes down whatever the hook started too.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout.try_clone().map_err(spawn_err)?))
        .stderr(Stdio::from(stderr.try_clone().map_err(spawn_err)?));
    let mut child = cmd.spawn().map_err(spawn_err)?;
    let timeout = match hook.timeout() {
        Some(t) if t > 0 => Duration::from_secs(t as u64),
        _ => DEFAULT_TIMEOUT,
    };
    let pid = child.id() as i32;
    let exited = match procfs::read_stat(pid).and_then(|st| procfs::pidfd_for(pid, st.start_time)) {
        Ok(fd) => procfs::wait_pidfd(&fd, timeout),
        // Already gone (and not yet reaped): it has exited.
        Err(_) => true,
    };
    if !exited {
        // SAFETY: signalling the process group of the hook we spawned.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = child.wait();
        return Err(HookError::Timeout {
            kind: kind.name(),
            index,
            path,
            secs: timeout.as_secs(),
        });
    }
    let status = child.wait().map_err(spawn_err)?;
    if status.success() {
        return Ok(());
    }
    Err(HookError::Failed {
        kind: kind.name(),
        index,
        path,
        status: status.to_string(),
        stdout: read_back(stdout),
        stderr: read_back(stderr),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(args: &[&str], timeout: Option<i64>) -> Hook {
        let mut h = Hook::default();
        h.set_path("/bin/sh".into());
        h.set_args(Some(args.iter().map(|s| s.to_string()).collect()));
        h.set_timeout(timeout);
        h
    }

    #[test]
    fn state_arrives_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!("cat > {}", out.display());
        run_all(
            &[hook(&["sh", "-c", &script], None)],
            HookKind::Poststart,
            "{\"id\":\"x\"}",
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(out).unwrap(), "{\"id\":\"x\"}");
    }

    #[test]
    fn failure_carries_output() {
        let e = run_all(
            &[hook(&["sh", "-c", "echo out; echo err >&2; exit 3"], None)],
            HookKind::Prestart,
            "{}",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("prestart hook #0"), "{e}");
        assert!(e.contains("exit status: 3"), "{e}");
        assert!(e.contains("stdout: out"), "{e}");
        assert!(e.contains("stderr: err"), "{e}");
    }

    #[test]
    fn timeout_kills_the_hook_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("child.pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let start = std::time::Instant::now();
        let e = run_all(
            &[hook(&["sh", "-c", &script], Some(1))],
            HookKind::CreateRuntime,
            "{}",
        )
        .unwrap_err();
        assert!(matches!(e, HookError::Timeout { secs: 1, .. }), "{e}");
        assert!(start.elapsed() < Duration::from_secs(10));
        let child: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The hook's own child was killed with it.
        let gone = match procfs::read_stat(child) {
            Ok(st) => procfs::pidfd_for(child, st.start_time)
                .map(|fd| procfs::wait_pidfd(&fd, Duration::from_secs(5)))
                .unwrap_or(true),
            Err(_) => true,
        };
        assert!(gone, "hook child {child} survived the timeout");
    }

    #[test]
    fn hooks_by_kind() {
        let mut h = Hooks::default();
        h.set_poststop(Some(vec![hook(&["sh"], None)]));
        assert_eq!(of_kind(Some(&h), HookKind::Poststop).len(), 1);
        assert!(of_kind(Some(&h), HookKind::Poststart).is_empty());
        assert!(of_kind(None, HookKind::Poststop).is_empty());
    }
}
