//! Integration-test harness: a real `berthd` on its own socket, data root and exec root, driven
//! by the stock docker CLI, raw HTTP, or bollard. Everything is removed when the test ends.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const DOCKER: &str = "/usr/local/bin/docker";

/// How long a daemon may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
    extra_args: Vec<String>,
}

impl Daemon {
    /// Starts a daemon in a fresh temporary directory.
    pub fn start() -> Daemon {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Daemon {
        Self::start_with_config(args, "{}")
    }

    /// Starts a daemon with `daemon_json` as its configuration file.
    pub fn start_with_config(args: &[&str], daemon_json: &str) -> Daemon {
        let mut d = Self::prepare(args, daemon_json);
        d.spawn().expect("berthd did not become ready");
        d
    }

    /// A daemon's directory and configuration, not started yet (`spawn` starts it), for tests
    /// that set up its data root first. Mounts made under its directory go when it drops.
    pub fn prepare(args: &[&str], daemon_json: &str) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("berth-test-")
            .tempdir()
            .expect("tempdir");
        fs::write(dir.path().join("daemon.json"), daemon_json).expect("write daemon.json");
        Daemon {
            dir,
            child: None,
            extra_args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("berthd.sock")
    }
    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    pub fn exec_root(&self) -> PathBuf {
        self.dir.path().join("exec")
    }
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    /// The command line a daemon on this test's paths is started with.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berthd"));
        cmd.arg("-H")
            .arg(self.host())
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.exec_root())
            .arg("--config-file")
            .arg(self.dir.path().join("daemon.json"))
            .args(&self.extra_args);
        // The whole suite can run on another runc-compatible runtime (differential testing).
        if let Ok(rt) = std::env::var("BERTH_TEST_RUNTIME")
            && !self.extra_args.iter().any(|a| a == "--default-runtime")
        {
            cmd.arg("--default-runtime").arg(rt);
        }
        if !self.dir.path().join("daemon.json").exists() {
            fs::write(self.dir.path().join("daemon.json"), "{}").expect("write daemon.json");
        }
        cmd
    }

    /// Starts the daemon process and waits for its readiness notification.
    pub fn spawn(&mut self) -> Result<(), String> {
        let notify_path = self.dir.path().join("notify.sock");
        let _ = fs::remove_file(&notify_path);
        let notify = UnixDatagram::bind(&notify_path).map_err(|e| e.to_string())?;
        notify
            .set_read_timeout(Some(READY_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("berthd.log"))
            .map_err(|e| e.to_string())?;
        let child = self
            .command()
            .env("NOTIFY_SOCKET", &notify_path)
            .env("BERTH_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| e.to_string())?;
        self.child = Some(child);
        let mut buf = [0u8; 256];
        match notify.recv(&mut buf) {
            Ok(n) if String::from_utf8_lossy(&buf[..n]).contains("READY=1") => Ok(()),
            other => {
                let status = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten());
                Err(format!(
                    "no readiness ({other:?}, exit {status:?}); log:\n{}",
                    self.log()
                ))
            }
        }
    }

    /// SIGKILL, as a crash: nothing is cleaned up by the daemon.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (bounded) for a clean exit; returns the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(c.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                panic!(
                    "berthd did not stop within 20s of SIGTERM; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn().expect("restart");
    }

    /// Runs the docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_stdin(args, None)
    }

    pub fn docker_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut cmd = Command::new(DOCKER);
        cmd.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_CONTEXT")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run docker CLI");
        if let Some(input) = stdin {
            let mut si = child.stdin.take().expect("stdin");
            si.write_all(input).expect("write stdin");
        }
        child.wait_with_output().expect("docker CLI output")
    }

    /// Runs docker and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}\nstdout: {}\ndaemon log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
            tail(&self.log(), 40)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs docker and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            !out.status.success(),
            "docker {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Loads one of the test image archives.
    pub fn load(&self, archive: &str) -> String {
        let path = test_image(archive);
        self.ok(&["load", "-i", path.to_str().expect("utf-8 path")])
    }

    /// A raw HTTP/1.1 request on the daemon's socket.
    pub fn http(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> HttpResponse {
        http(&self.socket(), method, path, &[], body)
    }

    pub fn http_json(&self, method: &str, path: &str) -> (u16, serde_json::Value) {
        let r = self.http(method, path, None);
        let v = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e}): {:?}", r.text()));
        (r.status, v)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Containers outlive the daemon by design: remove them first, through the daemon.
        if self.child.is_some() {
            let ids = self.docker(&["ps", "-aq"]);
            let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids.iter().map(String::as_str));
                let _ = self.docker(&args);
            }
            self.stop();
        }
        // Whatever a failed test left: shims of this daemon, then mounts under its directory.
        let dir = self.dir.path().display().to_string();
        let _ = Command::new("pkill")
            .args(["-9", "-f", &format!("berth-shim.*{dir}")])
            .status();
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut targets: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&dir))
            .collect();
        targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
        for t in targets {
            let _ = nix::mount::umount2(t, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// Mounts under `dir` still present (a leak when the test thinks it cleaned up).
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let d = dir.display().to_string();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&d))
        .map(str::to_string)
        .collect()
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }
}

/// A minimal HTTP/1.1 client over a unix socket (Connection: close, chunked bodies decoded).
pub fn http(
    socket: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> HttpResponse {
    let mut s = UnixStream::connect(socket).expect("connect to daemon socket");
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some((ct, b)) = body {
        req.push_str(&format!(
            "Content-Type: {ct}\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send request");
    if let Some((_, b)) = body {
        s.write_all(b).expect("send body");
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    parse_response(&raw, method == "HEAD")
}

fn parse_response(raw: &[u8], head: bool) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete response head");
    let head_text = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head_text.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked && !head {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    out
}

/// The directory holding the test image archives, built once (under a lock, since test binaries
/// run in parallel) by scripts/build-test-images.sh.
pub fn test_images_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("BERTH_TEST_IMAGES") {
        return PathBuf::from(dir);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target").join("test-images");
    fs::create_dir_all(&dir).expect("create test image dir");
    let lock = File::create(root.join("target").join("test-images.lock")).expect("lock file");
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor owned by `lock`, released when it is dropped.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    if !dir.join("busybox.tar").exists() {
        let st = Command::new(root.join("scripts").join("build-test-images.sh"))
            .arg(&dir)
            .status()
            .expect("run scripts/build-test-images.sh");
        assert!(st.success(), "building test images failed");
    }
    dir
}

pub fn test_image(name: &str) -> PathBuf {
    test_images_dir().join(name)
}

/// The ID the test image archives were built with (from the IDS file).
pub fn test_image_id(archive: &str) -> String {
    let ids = fs::read_to_string(test_images_dir().join("IDS")).expect("IDS file");
    ids.lines()
        .find_map(|l| {
            let mut parts = l.split_whitespace();
            (parts.next() == Some(archive)).then(|| parts.next().map(str::to_string))?
        })
        .unwrap_or_else(|| panic!("{archive} not in IDS"))
}
