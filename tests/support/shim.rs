//! Fixtures for the shim suites: a busybox bundle with a runc-style config.json, Debian's runc as
//! the runtime, and a guard that leaves no shim, container, cgroup or zombie behind.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use berth::task::{Task, TaskConfig, Tasks};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;

pub const RUNC: &str = "/usr/sbin/runc";
pub const BUSYBOX_TAR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/target/test-images/busybox.tar"
);

/// The busybox image: under `BERTH_TEST_IMAGES` when set (worktrees share one build of the test
/// images), else in this checkout's target dir.
pub fn busybox_tar() -> PathBuf {
    match std::env::var_os("BERTH_TEST_IMAGES") {
        Some(dir) if !dir.is_empty() => Path::new(&dir).join("busybox.tar"),
        _ => PathBuf::from(BUSYBOX_TAR),
    }
}

/// The runtime the shim runs: runc, or `BERTH_TEST_RUNTIME` (`berth`, `runc` or a path).
pub fn test_runtime() -> PathBuf {
    match std::env::var("BERTH_TEST_RUNTIME").ok().as_deref() {
        Some("berth") | Some("berth-runtime") => PathBuf::from(env!("CARGO_BIN_EXE_berth-runtime")),
        Some(path) if !path.is_empty() && path != "runc" => PathBuf::from(path),
        _ => PathBuf::from(RUNC),
    }
}

/// The shim under test: this build's, or `BERTH_TEST_SHIM` (another build, e.g. an older one).
pub fn shim_bin() -> PathBuf {
    match std::env::var_os("BERTH_TEST_SHIM") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_berth-shim")),
    }
}

pub fn tasks() -> Tasks {
    Tasks::new(shim_bin())
}

/// Orphaned shims (their launcher exits) and, after a shim's death, containers are reparented to
/// the test process, which must reap them: this machine's pid 1 does not.
pub fn become_subreaper() {
    nix::sys::prctl::set_child_subreaper(true).expect("subreaper");
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub id: String,
    pub bundle: PathBuf,
    pub runtime_root: PathBuf,
    pub log: PathBuf,
    pub tty: bool,
    pub stdin: bool,
    pub log_max_size: Option<u64>,
    pub log_max_files: u32,
    /// The runtime binary the shim is given (and the fixture cleans up with).
    pub runtime: PathBuf,
    /// Shim and init pids seen, killed and reaped at drop if still around.
    pids: std::sync::Mutex<Vec<i32>>,
}

/// A runc-spec-like config: the namespaces, mounts and masks `runc spec` writes.
pub fn spec(args: &[&str], tty: bool) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": tty,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "shimtest",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                           {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                            "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"]
        }
    })
}

impl Fixture {
    pub fn new(args: &[&str], tty: bool, stdin: bool) -> Fixture {
        Self::with_spec(spec(args, tty), stdin)
    }

    pub fn with_spec(spec: Value, stdin: bool) -> Fixture {
        become_subreaper();
        let dir = tempfile::Builder::new()
            .prefix("berth-shim-")
            .tempdir()
            .expect("tempdir");
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("berthshim-{}-{n}", std::process::id());
        let bundle = dir.path().join("bundle");
        fs::create_dir_all(bundle.join("rootfs")).unwrap();
        unpack_busybox(&bundle.join("rootfs"));
        fs::write(
            bundle.join("config.json"),
            serde_json::to_vec_pretty(&spec).unwrap(),
        )
        .unwrap();
        let tty = spec["process"]["terminal"].as_bool().unwrap_or(false);
        Fixture {
            id,
            bundle,
            runtime_root: dir.path().join("runc"),
            log: dir.path().join("container-json.log"),
            dir,
            tty,
            stdin,
            log_max_size: None,
            log_max_files: 1,
            runtime: test_runtime(),
            pids: Default::default(),
        }
    }

    pub fn config(&self) -> TaskConfig {
        TaskConfig {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            // As the engine does: the bundle is the shim's state dir.
            state_dir: self.bundle.clone(),
            runtime: self.runtime.clone(),
            runtime_root: self.runtime_root.clone(),
            runtime_args: Vec::new(),
            tty: self.tty,
            stdin: self.stdin,
            log_path: self.log.clone(),
            log_max_size: self.log_max_size,
            log_max_files: self.log_max_files,
        }
    }

    pub fn state_dir(&self) -> &Path {
        &self.bundle
    }

    /// Creates the task and remembers its processes for cleanup.
    pub async fn create(&self) -> Task {
        let task = tasks().create(&self.config()).await.expect("create");
        self.track(&task);
        task
    }

    pub fn track(&self, task: &Task) {
        let mut p = self.pids.lock().unwrap();
        p.push(task.shim_pid());
        p.push(task.pid());
    }

    /// The json-file log's records, oldest first.
    pub fn log_records(&self) -> Vec<Value> {
        read_log(&self.log)
    }

    /// Runs the fixture's runtime (runc unless told otherwise) on its root.
    pub fn runc(&self, args: &[&str]) -> Output {
        Command::new(&self.runtime)
            .arg("--root")
            .arg(&self.runtime_root)
            .args(args)
            .output()
            .expect("runc")
    }

    /// A runtime that runs the fixture's own, after sleeping `secs` when asked `verb`: a slow
    /// runtime call, for what the shim does meanwhile.
    pub fn slow_runtime(&self, verb: &str, secs: u32) -> PathBuf {
        let path = self.dir.path().join(format!("slow-{verb}"));
        let script = format!(
            "#!/bin/sh\nfor a; do if [ \"$a\" = {verb} ]; then sleep {secs}; break; fi; done\n\
             exec {} \"$@\"\n",
            self.runtime.display()
        );
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path
    }

    /// Whether runc still has state for the container.
    pub fn runc_knows(&self) -> bool {
        self.runc(&["state", &self.id]).status.success()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let pids = self.pids.lock().map(|p| p.clone()).unwrap_or_default();
        // The container first (runc kills and deletes what the shim left), then the processes.
        let _ = self.runc(&["kill", "--all", &self.id, "KILL"]);
        let _ = self.runc(&["delete", "--force", &self.id]);
        for pid in pids.into_iter().filter(|p| *p > 1) {
            reap(pid, true);
        }
    }
}

/// An OCI process for an exec: the fixture spec's process with these args.
pub fn exec_process(args: &[&str], tty: bool) -> oci_spec::runtime::Process {
    serde_json::from_value(spec(args, tty)["process"].clone()).expect("exec process")
}

/// Kills (if asked and if it is our child) and reaps `pid`, waiting at most a few seconds.
pub fn reap(pid: i32, kill: bool) {
    if !is_our_child(pid) {
        return;
    }
    if kill {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    wait_exit(pid, Duration::from_secs(5));
}

/// Waits (on a pidfd) until our child `pid` exits, and reaps it; false if it did not in time.
pub fn wait_exit(pid: i32, within: Duration) -> bool {
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};

    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use nix::sys::wait::{WaitPidFlag, waitpid};
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return true;
    }
    // SAFETY: a fresh descriptor from the kernel, owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    let ms = PollTimeout::try_from(within.as_millis() as i32).unwrap();
    if poll(&mut fds, ms).unwrap_or(0) == 0 {
        return false;
    }
    let _ = waitpid(nix::unistd::Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
    true
}

pub fn is_our_child(pid: i32) -> bool {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse::<u32>().ok())
        == Some(std::process::id())
}

pub fn read_log(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
        .collect()
}

fn unpack_busybox(rootfs: &Path) {
    let tar = busybox_tar();
    let f = fs::File::open(&tar).unwrap_or_else(|e| panic!("busybox test image {tar:?}: {e}"));
    let mut outer = tar::Archive::new(f);
    for entry in outer.entries().unwrap() {
        let entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        if path.file_name().is_some_and(|n| n == "layer.tar") {
            let mut inner = tar::Archive::new(entry);
            inner.set_preserve_permissions(true);
            inner.unpack(rootfs).expect("unpack layer");
            return;
        }
    }
    panic!("no layer.tar in {tar:?}");
}

/// One stdcopy frame from an attach stream; `None` at end of stream.
pub async fn read_frame(s: &mut UnixStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 8];
    if s.read_exact(&mut h).await.is_err() {
        return None;
    }
    assert_eq!(&h[1..4], &[0, 0, 0], "frame header {h:?}");
    let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.expect("frame body");
    Some((h[0], body))
}

/// Frames until the stream ends, within `bound`.
pub async fn read_all_frames(s: &mut UnixStream, bound: Duration) -> Vec<(u8, Vec<u8>)> {
    tokio::time::timeout(bound, async {
        let mut out = Vec::new();
        while let Some(f) = read_frame(s).await {
            out.push(f);
        }
        out
    })
    .await
    .expect("attach stream did not end in time")
}

/// Concatenated payloads of one stream.
pub fn stream_bytes(frames: &[(u8, Vec<u8>)], stream: u8) -> Vec<u8> {
    frames
        .iter()
        .filter(|(s, _)| *s == stream)
        .flat_map(|(_, b)| b.iter().copied())
        .collect()
}

/// Reads frames until the stdout payload so far contains `needle`.
pub async fn read_until(s: &mut UnixStream, needle: &str, bound: Duration) -> String {
    tokio::time::timeout(bound, async {
        let mut seen = Vec::new();
        loop {
            match read_frame(s).await {
                Some((_, b)) => {
                    seen.extend_from_slice(&b);
                    if String::from_utf8_lossy(&seen).contains(needle) {
                        return String::from_utf8_lossy(&seen).into_owned();
                    }
                }
                None => panic!(
                    "stream ended before {needle:?}: {:?}",
                    String::from_utf8_lossy(&seen)
                ),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} in time"))
}

/// Runs `fut` with a bound, so a hang fails the test instead of stalling the suite.
pub async fn within<T>(bound: Duration, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(bound, fut)
        .await
        .expect("operation did not finish in time")
}

pub fn shim_rss_kib(pid: i32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("shim status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// The shim's proportional set size (its private pages plus its share of shared ones).
pub fn shim_pss_kib(pid: i32) -> u64 {
    let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).expect("smaps_rollup");
    rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("Pss")
}
