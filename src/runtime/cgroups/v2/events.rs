//! Waiting for a value in cgroup.events ("frozen 1", "populated 0"). The kernel signals changes
//! to that file as inotify IN_MODIFY, so the wait sleeps on the inotify fd, re-reading the file
//! after each event, until the value shows up or the bound passes.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::os::fd::AsFd;

use crate::runtime::cgroups::error::CgroupError;
use crate::runtime::cgroups::fsio;

/// Returns whether `key` reached `want` within `timeout`.
pub(crate) fn wait_for(
    dir: &Path,
    key: &str,
    want: u64,
    timeout: Duration,
) -> Result<bool, CgroupError> {
    let path = dir.join("cgroup.events");
    let io_err = |op: &'static str| {
        let path = path.clone();
        move |e: nix::Error| CgroupError::Io {
            op,
            path,
            source: e.into(),
        }
    };
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
        .map_err(io_err("inotify_init"))?;
    // Watch first, then read: a change between the two still wakes us.
    inotify
        .add_watch(&path, AddWatchFlags::IN_MODIFY)
        .map_err(io_err("inotify_add_watch"))?;
    let deadline = Instant::now() + timeout;
    loop {
        if fsio::read_keyed(dir, "cgroup.events")?.get(key) == Some(&want) {
            return Ok(true);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(left.as_millis().max(1)).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, ms) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => return Err(io_err("poll")(e)),
        }
        // Drain; the content is re-read at the top of the loop anyway.
        match inotify.read_events() {
            Ok(_) | Err(nix::Error::EAGAIN) => {}
            Err(e) => return Err(io_err("read inotify")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::thread;

    #[test]
    fn wakes_on_change_and_times_out_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("cgroup.events");
        fs::write(&events, "populated 1\nfrozen 0\n").unwrap();

        let started = Instant::now();
        assert!(!wait_for(dir.path(), "frozen", 1, Duration::from_millis(150)).unwrap());
        assert!(started.elapsed() >= Duration::from_millis(150));

        let writer = {
            let events = events.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(100));
                fs::write(&events, "populated 1\nfrozen 1\n").unwrap();
            })
        };
        let started = Instant::now();
        assert!(wait_for(dir.path(), "frozen", 1, Duration::from_secs(10)).unwrap());
        // Woken by the write, not by the bound.
        assert!(started.elapsed() < Duration::from_secs(5));
        writer.join().unwrap();
    }
}
