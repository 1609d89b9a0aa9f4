//! `berth-shim start`: re-executes itself as the detached server (`serve`: own session, stdio on
//! /dev/null, cwd = state dir) and relays the server's one-line report. The report travels on a
//! pipe that only the server holds, so if the server dies early the launcher reads end-of-file
//! and says so: the daemon never hangs on a dead shim.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use nix::fcntl::OFlag;

use super::proto::{self, ErrorKind, LaunchArgs, StartReport};
use super::setup;

/// The descriptor number the server finds its report pipe on.
pub const READY_FD: i32 = 3;

pub fn start(args: LaunchArgs) -> ExitCode {
    let report = launch(args);
    let ok = matches!(report, StartReport::Ready { .. });
    let line = serde_json::to_string(&report).unwrap_or_else(|_| "{}".into());
    let mut out = io::stdout().lock();
    // Flushed before exit: a daemon must never read an empty report from a started shim.
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn failed(message: String) -> StartReport {
    StartReport::Failed {
        kind: ErrorKind::Internal,
        message,
    }
}

fn launch(mut args: LaunchArgs) -> StartReport {
    // The server runs in the state dir; relative paths would change meaning.
    let cwd = match std::env::current_dir() {
        Ok(c) => c,
        Err(e) => return failed(format!("current directory: {e}")),
    };
    for p in [
        &mut args.bundle,
        &mut args.state_dir,
        &mut args.runtime_root,
        &mut args.log,
    ] {
        *p = absolute(&cwd, p);
    }
    // A bare runtime name is looked up on PATH, as a shell would.
    if args.runtime.components().count() > 1 {
        args.runtime = absolute(&cwd, &args.runtime);
    }
    if let Err(e) = std::fs::create_dir_all(&args.state_dir) {
        return failed(format!("creating {}: {e}", args.state_dir.display()));
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return failed(format!("finding our own binary: {e}")),
    };
    let (read_end, write_end) = match nix::unistd::pipe2(OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => return failed(format!("report pipe: {e}")),
    };
    let mut cmd = Command::new(&exe);
    cmd.arg("serve")
        .args(args.to_args())
        .arg("--ready-fd")
        .arg(READY_FD.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir(&args.state_dir);
    let w = write_end.as_raw_fd();
    // SAFETY: only async-signal-safe calls (setsid, dup2, fcntl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            let rc = if w == READY_FD {
                libc::fcntl(w, libc::F_SETFD, 0)
            } else {
                libc::dup2(w, READY_FD)
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("starting {}: {e}", exe.display())),
    };
    drop(write_end);
    let mut text = Vec::new();
    let read = File::from(read_end).read_to_end(&mut text);
    let report = std::str::from_utf8(&text)
        .ok()
        .and_then(|t| serde_json::from_str::<StartReport>(t.trim()).ok());
    match (read, report) {
        (Ok(_), Some(r @ StartReport::Ready { .. })) => r,
        (_, Some(r)) => {
            let _ = child.wait();
            r
        }
        (_, None) => {
            let status = child.wait();
            let how = status
                .map(|s| s.to_string())
                .unwrap_or_else(|e| e.to_string());
            failed(format!("the shim exited before reporting ({how})"))
        }
    }
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// `berth-shim serve`: the server. Creates the container, reports, serves until deleted.
pub fn serve(args: LaunchArgs, ready_fd: Option<i32>) -> ExitCode {
    let mut ready = ready_fd.and_then(take_fd).map(File::from);
    let socket = args.state_dir.join(proto::SOCKET_NAME);
    match setup::create(args) {
        Ok(server) => {
            let report = StartReport::Ready {
                socket: socket.to_string_lossy().into_owned(),
                pid: server.pid,
                shim_pid: std::process::id() as i32,
            };
            send(ready.take(), &report);
            server.run();
            ExitCode::SUCCESS
        }
        Err(e) => {
            let report = StartReport::Failed {
                kind: e.kind(),
                message: e.to_string(),
            };
            send(ready.take(), &report);
            ExitCode::FAILURE
        }
    }
}

/// Takes ownership of the inherited report descriptor and keeps it from the runtime's children:
/// a copy held by the container would keep the launcher waiting after our death.
fn take_fd(fd: i32) -> Option<OwnedFd> {
    // SAFETY: F_GETFD/F_SETFD only inspect and flag a descriptor number.
    let ok = fd > 2 && unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } == 0;
    // SAFETY: the launcher passed this descriptor for us alone; fcntl just proved it open.
    ok.then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

fn send(ready: Option<File>, report: &StartReport) {
    let line = serde_json::to_string(report).unwrap_or_else(|_| "{}".into());
    match ready {
        Some(mut f) => {
            let _ = writeln!(f, "{line}");
        }
        None => eprintln!("{line}"),
    }
}

/// Splits `serve`'s own flag from the shared ones.
pub fn parse_serve(args: Vec<OsString>) -> Result<(LaunchArgs, Option<i32>), proto::ArgsError> {
    let mut ready = None;
    let parsed = LaunchArgs::parse(args, |flag, next| {
        if flag != "--ready-fd" {
            return Ok(false);
        }
        let v = next().ok_or(proto::ArgsError::MissingValue("--ready-fd"))?;
        let s = v.to_string_lossy();
        ready = Some(s.parse().map_err(|_| proto::ArgsError::BadValue {
            flag: "--ready-fd",
            value: s.to_string(),
        })?);
        Ok(true)
    })?;
    Ok((parsed, ready))
}
