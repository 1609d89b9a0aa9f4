//! `start`: releases the init blocked in `create` by writing one byte into the exec fifo.

use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::runtime::cli::GlobalOpts;
use crate::runtime::container::{self, ContainerState, EXEC_FIFO, Status};
use crate::runtime::error::{RuntimeError, io_err};
use crate::runtime::hooks::{self, HookKind};
use crate::runtime::procfs;

/// Opens the fifo for writing without blocking: ENXIO means no reader, i.e. the init is gone.
fn open_fifo_writer(path: &Path) -> Result<fs::File, RuntimeError> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|e| RuntimeError::Io {
        action: "open",
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, e),
    })?;
    // SAFETY: open with a valid C string.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::ENXIO) | Some(libc::ENOENT) => {
                RuntimeError::CannotStart("cannot start a container that has stopped")
            }
            _ => io_err("open", path)(e),
        });
    }
    // SAFETY: fresh descriptor.
    Ok(fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Starts a created container; shared by `start` and `run`.
pub fn start_container(root: &Path, st: &ContainerState) -> Result<(), RuntimeError> {
    match st.status(root) {
        Status::Created => {}
        Status::Stopped => {
            return Err(RuntimeError::CannotStart(
                "cannot start a container that has stopped",
            ));
        }
        Status::Running => {
            return Err(RuntimeError::CannotStart(
                "cannot start an already running container",
            ));
        }
        Status::Paused => {
            return Err(RuntimeError::CannotStart(
                "cannot start a container in the paused state",
            ));
        }
    }
    let fifo = st.dir(root).join(EXEC_FIFO);
    let mut w = open_fifo_writer(&fifo)?;
    w.write_all(b"0").map_err(io_err("write", &fifo))?;
    drop(w);
    fs::remove_file(&fifo).map_err(io_err("remove", &fifo))?;

    let poststart = hooks::of_kind(st.spec.hooks().as_ref(), HookKind::Poststart);
    if !poststart.is_empty() {
        let state = container::hook_state(st, Status::Running.as_str(), st.init_pid);
        if let Err(e) = hooks::run_all(&poststart, HookKind::Poststart, &state) {
            // As runc: a failed poststart hook takes the container down.
            if let Ok(fd) = procfs::pidfd_for(st.init_pid, st.init_start_time) {
                let _ = procfs::pidfd_signal(&fd, libc::SIGKILL);
            }
            return Err(e.into());
        }
    }
    Ok(())
}

pub fn run(global: &GlobalOpts, id: &str) -> Result<i32, RuntimeError> {
    let st = ContainerState::load(&global.root, id)?;
    start_container(&global.root, &st)?;
    Ok(0)
}
