//! `berth-shim start`: forks the detached server (own session, stdio on /dev/null, cwd = state
//! dir) and relays the server's one-line report. The report travels on a pipe that only the
//! server holds, so if the server dies early the launcher reads end-of-file and says so: the
//! daemon never hangs on a dead shim. A fork, not a second exec: the launcher is single-threaded,
//! and an exec would cost a millisecond of every container start for nothing.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nix::fcntl::OFlag;
use nix::unistd::ForkResult;

use super::proto::{self, ErrorKind, LaunchArgs, StartReport};
use super::setup;

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
    let (read_end, write_end) = match nix::unistd::pipe2(OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => return failed(format!("report pipe: {e}")),
    };
    // SAFETY: the launcher is single-threaded, so the child is a complete copy; it never returns
    // into this function (serve ends in _exit).
    let child = match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Child) => {
            drop(read_end);
            let code = detach(&args.state_dir).map_or(1, |()| {
                let ok = serve(args, Some(File::from(write_end))) == ExitCode::SUCCESS;
                if ok { 0 } else { 1 }
            });
            // SAFETY: ends the server without running the launcher's exit handlers.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => return failed(format!("forking the shim server: {e}")),
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
            let _ = nix::sys::wait::waitpid(child, None);
            r
        }
        (_, None) => {
            let how = match nix::sys::wait::waitpid(child, None) {
                Ok(status) => format!("{status:?}"),
                Err(e) => e.to_string(),
            };
            failed(format!("the shim exited before reporting ({how})"))
        }
    }
}

/// The server's own session (so the daemon's death or a terminal hangup does not reach it),
/// stdio on /dev/null, and the state dir as working directory.
fn detach(state_dir: &Path) -> io::Result<()> {
    nix::unistd::setsid().map_err(io::Error::from)?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    for fd in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors of this (forked, single-threaded) process.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    std::env::set_current_dir(state_dir)
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// The server: creates the container, reports on `ready`, serves until deleted.
fn serve(args: LaunchArgs, ready: Option<File>) -> ExitCode {
    let mut ready = ready;
    let socket = args.state_dir.join(proto::SOCKET_NAME);
    match setup::create(args) {
        Ok(server) => {
            let report = StartReport::Ready {
                socket: socket.to_string_lossy().into_owned(),
                pid: server.init.pid,
                shim_pid: std::process::id() as i32,
                version: Some(proto::PROTO_VERSION),
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

fn send(ready: Option<File>, report: &StartReport) {
    let line = serde_json::to_string(report).unwrap_or_else(|_| "{}".into());
    if let Some(mut f) = ready {
        let _ = writeln!(f, "{line}");
    }
}
