//! Harness for the OCI runtime tests: bundles built from the busybox test image with a
//! Docker-like config.json, driven through the runtime binary's runc-compatible command line.
//! Every test runs against each runtime of `runtimes()` (berth-runtime and /usr/sbin/runc by
//! default; `BERTH_TEST_RUNTIME=berth|runc|/path/to/bin` picks one), so any difference shows as
//! a failure naming the runtime.
//!
//! Cleanup: `Container::finish` deletes the container with --force and checks that nothing is
//! left: no state directory, no mount mentioning the bundle, no cgroup directory, no process.
#![allow(dead_code)]

#[path = "../common/mod.rs"]
mod common;

use std::fs::{self, File};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// Bound on any single runtime command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
pub const RUNC: &str = "/usr/sbin/runc";

#[derive(Debug, Clone)]
pub struct Runtime {
    pub name: &'static str,
    pub bin: PathBuf,
}

impl Runtime {
    pub fn is_berth(&self) -> bool {
        self.name == "berth-runtime"
    }
}

pub fn berth() -> Runtime {
    Runtime {
        name: "berth-runtime",
        bin: PathBuf::from(env!("CARGO_BIN_EXE_berth-runtime")),
    }
}

/// The runtimes every test runs against.
pub fn runtimes() -> Vec<Runtime> {
    let runc = Runtime {
        name: "runc",
        bin: PathBuf::from(RUNC),
    };
    match std::env::var("BERTH_TEST_RUNTIME").ok().as_deref() {
        Some("berth") | Some("berth-runtime") => vec![berth()],
        Some("runc") => vec![runc],
        Some(path) if !path.is_empty() => vec![Runtime {
            name: "custom",
            bin: PathBuf::from(path),
        }],
        _ => {
            let mut v = vec![berth()];
            if Path::new(RUNC).exists() {
                v.push(runc);
            } else {
                eprintln!("note: {RUNC} not found; running against berth-runtime only");
            }
            v
        }
    }
}

/// Prints why a test is skipped for one runtime, in a form easy to grep for.
pub fn skip(rt: &Runtime, test: &str, why: &str) {
    eprintln!("SKIP [{}] {test}: {why}", rt.name);
}

/// Whether `runtime::cgroups` is implemented in this build (it is a stub until the cgroups
/// branch is merged). Probed by creating and destroying a throwaway cgroup.
pub fn berth_cgroups_implemented() -> bool {
    static ANSWER: OnceLock<bool> = OnceLock::new();
    *ANSWER.get_or_init(|| {
        let path = format!("/berth-test-probe-{}", std::process::id());
        match berth::runtime::cgroups::Manager::new(Path::new("/sys/fs/cgroup"), &path, "probe") {
            Ok(m) => {
                let _ = m.destroy();
                true
            }
            Err(e) => !e.to_string().contains("not implemented"),
        }
    })
}

pub fn cgroups_available(rt: &Runtime) -> bool {
    !rt.is_berth() || berth_cgroups_implemented()
}

pub const CGROUPS_PENDING: &str = "runtime::cgroups is still the stub (cgroups are not implemented yet); un-skipped automatically once the cgroups branch is merged";
pub const SECCOMP_PENDING: &str = "runtime::seccomp is still the stub (seccomp is not implemented yet); un-skipped automatically once the seccomp branch is merged";

/// Docker's default capability set (moby oci/caps/defaults.go), as CapEff shows it.
pub const DOCKER_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];
pub const DOCKER_CAPS_MASK: u64 = 0x0000_0000_a804_25fb;

/// Extracts the busybox test image's layer into `rootfs`.
pub fn extract_busybox(rootfs: &Path) {
    let archive = common::test_image("busybox.tar");
    let mut outer = tar::Archive::new(File::open(&archive).expect("open busybox.tar"));
    for entry in outer.entries().expect("read busybox.tar") {
        let entry = entry.expect("tar entry");
        let is_layer = entry
            .path()
            .map(|p| p.ends_with("layer.tar"))
            .unwrap_or(false);
        if is_layer {
            let mut layer = tar::Archive::new(entry);
            layer.set_preserve_permissions(true);
            layer.unpack(rootfs).expect("unpack layer");
            return;
        }
    }
    panic!("no layer.tar in {}", archive.display());
}

/// Docker's default devices cgroup rules (deny all, then the usual character devices).
fn docker_device_rules() -> Value {
    json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
        {"allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
        {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
        {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"}
    ])
}

/// config.json as `runc spec` writes it plus what Docker adds by default.
pub fn docker_like_config(id: &str, cgroups: bool) -> Value {
    let caps = json!(DOCKER_CAPS);
    let mut cfg = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sleep", "3600"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                format!("HOSTNAME={}", &id[..id.len().min(12)])
            ],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": false,
            "oomScoreAdj": 0
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": &id[..id.len().min(12)],
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["ro", "nosuid", "noexec", "nodev"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]}
        ],
        "linux": {
            "resources": {"devices": docker_device_rules()},
            "namespaces": [
                {"type": "mount"}, {"type": "network"}, {"type": "uts"}, {"type": "pid"},
                {"type": "ipc"}
            ],
            "maskedPaths": [
                "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                "/sys/devices/virtual/powercap"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    });
    if cgroups {
        cfg["linux"]["cgroupsPath"] = json!(cgroups_path(id));
    }
    cfg
}

/// A flat path, so deleting the container leaves no parent directory behind.
pub fn cgroups_path(id: &str) -> String {
    format!("/berth-test-{id}")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Runs a command with a bound; panics (after killing it) if it overruns.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> Output {
    let desc = format!("{cmd:?}");
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(r) => r.unwrap_or_else(|e| panic!("wait {desc}: {e}")),
        Err(_) => {
            // SAFETY: killing the child we spawned.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{desc} did not finish within {timeout:?}");
        }
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A pidfd, to wait for a process that is not our child.
pub fn pidfd(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: fresh descriptor.
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Waits for `pid` to exit, at most `timeout`. True if it is gone.
pub fn wait_pid_gone(pid: i32, timeout: Duration) -> bool {
    let Some(fd) = pidfd(pid) else {
        return true;
    };
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, timeout.as_millis() as i32) > 0 }
}

/// The process's cmdline once it equals `want`, or its last value after `bound`. No event
/// tells another process's execve apart, so this re-reads (test-only, bounded).
pub fn settled_cmdline(pid: i32, want: &str, bound: Duration) -> String {
    let deadline = std::time::Instant::now() + bound;
    loop {
        let now = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if now == want || std::time::Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub struct Container {
    pub rt: Runtime,
    pub id: String,
    pub state_root: tempfile::TempDir,
    pub bundle: tempfile::TempDir,
    pub config: Value,
    pub cgroups: bool,
    finished: bool,
}

impl Container {
    /// A bundle with the busybox rootfs and a Docker-like config running `sleep 3600`.
    pub fn new(rt: &Runtime, name: &str) -> Container {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let short = if rt.is_berth() { "b" } else { "r" };
        let id = format!("{name}-{short}{}-{n}", std::process::id());
        let bundle = tempfile::Builder::new()
            .prefix("berth-rt-bundle-")
            .tempdir()
            .expect("bundle dir");
        let state_root = tempfile::Builder::new()
            .prefix("berth-rt-state-")
            .tempdir()
            .expect("state dir");
        extract_busybox(&bundle.path().join("rootfs"));
        let cgroups = cgroups_available(rt);
        let config = docker_like_config(&id, cgroups);
        Container {
            rt: rt.clone(),
            id,
            state_root,
            bundle,
            config,
            cgroups,
            finished: false,
        }
    }

    pub fn rootfs(&self) -> PathBuf {
        self.bundle.path().join("rootfs")
    }

    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = json!(args);
        self
    }

    /// `sh -c script`.
    pub fn script(&mut self, script: &str) -> &mut Self {
        self.args(&["sh", "-c", script])
    }

    pub fn write_config(&self) {
        fs::write(
            self.bundle.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).expect("config json"),
        )
        .expect("write config.json");
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.rt.bin);
        c.arg("--root").arg(self.state_root.path());
        c.args(args);
        c
    }

    /// Runs a runtime command that does not hand its stdio to a container.
    pub fn runtime(&self, args: &[&str]) -> Output {
        let mut c = self.command(args);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        run_bounded(c, COMMAND_TIMEOUT)
    }

    pub fn runtime_ok(&self, args: &[&str]) -> String {
        let out = self.runtime(args);
        assert!(
            out.status.success(),
            "[{}] {args:?} failed ({}): {}",
            self.rt.name,
            out.status,
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Asserts the command fails and its stderr mentions `needle`; returns stderr.
    pub fn runtime_err(&self, args: &[&str], needle: &str) -> String {
        let out = self.runtime(args);
        let err = text(&out.stderr);
        assert!(
            !out.status.success(),
            "[{}] {args:?} should have failed; stdout {}",
            self.rt.name,
            text(&out.stdout)
        );
        assert!(
            err.contains(needle),
            "[{}] {args:?}: stderr should mention {needle:?}: {err}",
            self.rt.name
        );
        err
    }

    pub fn out_path(&self) -> PathBuf {
        self.bundle.path().join("container.out")
    }

    pub fn err_path(&self) -> PathBuf {
        self.bundle.path().join("container.err")
    }

    /// `create` with the container's stdout/stderr going to files (a pipe would keep
    /// `wait_with_output` waiting for the container, as it holds the write end).
    pub fn create_with(&self, extra: &[&str]) -> Output {
        self.write_config();
        let bundle = self.bundle.path().to_str().expect("utf8 path").to_string();
        let mut args = vec!["create", "--bundle", bundle.as_str()];
        args.extend_from_slice(extra);
        args.push(&self.id);
        let mut c = self.command(&args);
        c.stdin(Stdio::null())
            .stdout(File::create(self.out_path()).expect("out file"))
            .stderr(File::create(self.err_path()).expect("err file"));
        run_bounded(c, COMMAND_TIMEOUT)
    }

    pub fn create(&self) {
        let out = self.create_with(&[]);
        assert!(
            out.status.success(),
            "[{}] create failed ({}): {}",
            self.rt.name,
            out.status,
            self.stderr()
        );
    }

    pub fn start(&self) {
        self.runtime_ok(&["start", &self.id]);
    }

    /// create + start.
    pub fn launch(&self) {
        self.create();
        self.start();
    }

    pub fn state(&self) -> Value {
        let out = self.runtime_ok(&["state", &self.id]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("state json {out:?}: {e}"))
    }

    pub fn status(&self) -> String {
        self.state()["status"].as_str().unwrap_or("").to_string()
    }

    pub fn pid(&self) -> i32 {
        self.state()["pid"].as_i64().unwrap_or(0) as i32
    }

    /// Waits (bounded) for the init to exit on its own.
    pub fn wait_exit(&self, pid: i32) {
        assert!(
            wait_pid_gone(pid, Duration::from_secs(20)),
            "[{}] init {pid} did not exit",
            self.rt.name
        );
    }

    /// What the container wrote to its stdout so far.
    pub fn stdout(&self) -> String {
        fs::read_to_string(self.out_path()).unwrap_or_default()
    }

    /// Waits (bounded) until the container's stdout satisfies `pred`, woken by inotify.
    pub fn wait_stdout(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let watch = Inotify::new(&self.out_path());
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let out = self.stdout();
            if pred(&out) {
                return out;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(
                !left.is_zero(),
                "[{}] timed out waiting for container output; got {out:?}",
                self.rt.name
            );
            watch.wait(left);
        }
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(self.err_path()).unwrap_or_default()
    }

    /// Runs the configured process to completion (create, start, wait) and returns its stdout.
    pub fn output_of_run(&self) -> String {
        self.create();
        let pid = self.pid();
        self.start();
        self.wait_exit(pid);
        self.stdout()
    }

    /// `exec` without --detach; returns (exit code, stdout, stderr).
    pub fn exec(&self, flags: &[&str], cmd: &[&str]) -> (i32, String, String) {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.push(&self.id);
        args.extend_from_slice(cmd);
        let out = self.runtime(&args);
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    }

    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(rd) = fs::read_dir("/sys/fs/cgroup") {
            for e in rd.flatten() {
                let p = e
                    .path()
                    .join(cgroups_path(&self.id).trim_start_matches('/'));
                if p.exists() {
                    out.push(p);
                }
            }
        }
        out
    }

    /// delete --force, then checks that nothing of the container is left anywhere.
    pub fn finish(mut self) {
        self.finished = true;
        let pid = self.state_pid_if_any();
        let out = self.runtime(&["delete", "--force", &self.id]);
        assert!(
            out.status.success(),
            "[{}] delete --force failed: {}",
            self.rt.name,
            text(&out.stderr)
        );
        if let Some(pid) = pid {
            assert!(
                wait_pid_gone(pid, Duration::from_secs(10)),
                "[{}] init {pid} still alive after delete",
                self.rt.name
            );
        }
        assert!(
            !self.state_root.path().join(&self.id).exists(),
            "[{}] state dir left behind",
            self.rt.name
        );
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let bundle = self.bundle.path().to_string_lossy().into_owned();
        assert!(
            !mounts.contains(&bundle),
            "[{}] mounts left behind: {}",
            self.rt.name,
            mounts
                .lines()
                .filter(|l| l.contains(&bundle))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let dirs = self.cgroup_dirs();
        assert!(
            dirs.is_empty(),
            "[{}] cgroup dirs left behind: {dirs:?}",
            self.rt.name
        );
    }

    fn state_pid_if_any(&self) -> Option<i32> {
        let out = self.runtime(&["state", &self.id]);
        if !out.status.success() {
            return None;
        }
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v["pid"].as_i64().filter(|p| *p > 0).map(|p| p as i32)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort after a failed assertion.
            let _ = self.runtime(&["delete", "--force", &self.id]);
        }
    }
}

/// An inotify watch for modifications of one file.
pub struct Inotify(OwnedFd);

impl Inotify {
    pub fn new(path: &Path) -> Inotify {
        // SAFETY: inotify_init1 returns a new descriptor or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        assert!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: fresh descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let c = std::ffi::CString::new(path.to_str().expect("utf8 path")).expect("path");
        // SAFETY: valid descriptor and C string.
        let wd = unsafe {
            libc::inotify_add_watch(
                fd.as_raw_fd(),
                c.as_ptr(),
                libc::IN_MODIFY | libc::IN_CLOSE_WRITE,
            )
        };
        assert!(
            wd >= 0,
            "inotify_add_watch: {}",
            std::io::Error::last_os_error()
        );
        Inotify(fd)
    }

    /// Waits for an event (or the timeout), then drains the queue.
    pub fn wait(&self, timeout: Duration) {
        let mut p = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, timeout.as_millis().max(1) as i32) };
        let mut buf = [0u8; 4096];
        // SAFETY: non-blocking read into our buffer.
        while unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }
}

/// A unix socket listener for --console-socket, and receiving the pty master from it.
pub struct ConsoleSocket {
    pub dir: tempfile::TempDir,
    pub listener: std::os::unix::net::UnixListener,
}

impl ConsoleSocket {
    pub fn new() -> ConsoleSocket {
        let dir = tempfile::Builder::new()
            .prefix("berth-rt-console-")
            .tempdir()
            .expect("console dir");
        let listener = std::os::unix::net::UnixListener::bind(dir.path().join("console.sock"))
            .expect("bind console socket");
        ConsoleSocket { dir, listener }
    }

    pub fn path(&self) -> String {
        self.dir
            .path()
            .join("console.sock")
            .to_string_lossy()
            .into_owned()
    }

    /// Accepts the runtime's connection and takes the pty master it sends (SCM_RIGHTS).
    pub fn receive_master(&self) -> File {
        self.listener
            .set_nonblocking(false)
            .expect("blocking listener");
        let (conn, _) = self.listener.accept().expect("accept console connection");
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut buf = [0u8; 4096];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut cbuf = [0u64; 16];
        // SAFETY: plain data.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
        // SAFETY: msg points at live buffers.
        let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
        // SAFETY: reading the first control message the kernel filled in.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            assert!(!cmsg.is_null(), "no descriptor in the console message");
            assert_eq!((*cmsg).cmsg_type, libc::SCM_RIGHTS);
            let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>());
            File::from(OwnedFd::from_raw_fd(fd))
        }
    }
}

/// Reads from a pty master until `needle` shows up (or EOF/EIO/timeout); returns what was read.
pub fn read_pty_until(master: &mut File, needle: &str, timeout: Duration) -> String {
    let deadline = std::time::Instant::now() + timeout;
    let mut out = String::new();
    let mut buf = [0u8; 4096];
    while !out.contains(needle) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        let mut p = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut p, 1, left.as_millis() as i32) } <= 0 {
            break;
        }
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    out
}

/// The value of a `Key:\tvalue` line of /proc/<pid>/status-like text.
pub fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
}
