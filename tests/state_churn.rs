//! Many clients at once, as a busy CI machine: parallel `docker run --rm` and API
//! create/start/wait/remove cycles for a bounded time. Every operation must succeed (SQLite
//! contention is never an error), every `--rm` container must be removed (no hung CLI), and
//! nothing may be left: no container, no shim, no mount, no bundle.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{DOCKER, Daemon, mounts_under};

const CLIENTS: usize = 20;
const RUN_FOR: Duration = Duration::from_secs(20);
/// One cycle may take this long before it counts as hung (a debug build on 2 cores is slow).
const CYCLE_BOUND: Duration = Duration::from_secs(60);

/// `docker run --rm`, bounded: a CLI still waiting after `CYCLE_BOUND` is killed and counted.
fn run_rm(d: &Daemon) -> Result<(), String> {
    let mut child = Command::new(DOCKER)
        .args(["run", "--rm", "busybox", "true"])
        .env("DOCKER_HOST", d.host())
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take();
    let waiter = std::thread::spawn(move || {
        let mut err = String::new();
        if let Some(mut s) = stderr {
            use std::io::Read;
            let _ = s.read_to_string(&mut err);
        }
        let _ = tx.send((child.wait(), err));
    });
    match rx.recv_timeout(CYCLE_BOUND) {
        Ok((Ok(st), _)) if st.success() => {
            let _ = waiter.join();
            Ok(())
        }
        Ok((st, err)) => {
            let _ = waiter.join();
            Err(format!("docker run --rm: {st:?}: {err}"))
        }
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = waiter.join();
            Err("docker run --rm hung".into())
        }
    }
}

/// create, start, wait, DELETE through the API, as SDKs do.
fn api_cycle(d: &Daemon) -> Result<(), String> {
    let body = br#"{"Image":"busybox","Cmd":["true"]}"#;
    let r = d.http(
        "POST",
        "/v1.45/containers/create",
        Some(("application/json", body)),
    );
    if r.status != 201 {
        return Err(format!("create: {} {}", r.status, r.text()));
    }
    let id = r.json()["Id"].as_str().unwrap_or_default().to_string();
    let steps = [
        ("POST", format!("/v1.45/containers/{id}/start"), 204),
        ("POST", format!("/v1.45/containers/{id}/wait"), 200),
        ("DELETE", format!("/v1.45/containers/{id}"), 204),
    ];
    for (method, path, want) in steps {
        let r = d.http(method, &path, None);
        if r.status != want {
            return Err(format!("{method} {path}: {} {}", r.status, r.text()));
        }
    }
    Ok(())
}

#[test]
fn parallel_clients_churn_without_errors_or_leftovers() {
    let d = Arc::new(Daemon::start());
    d.load("busybox.tar");
    let cycles = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let deadline = Instant::now() + RUN_FOR;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (d, cycles, errors) = (d.clone(), cycles.clone(), errors.clone());
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    let r = if n % 2 == 0 {
                        run_rm(&d)
                    } else {
                        api_cycle(&d)
                    };
                    match r {
                        Ok(()) => {
                            cycles.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => errors.lock().unwrap().push(e),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let errors = errors.lock().unwrap().clone();
    let cycles = cycles.load(Ordering::Relaxed);
    eprintln!("{cycles} cycles in {RUN_FOR:?} with {CLIENTS} clients");
    assert!(
        errors.is_empty(),
        "{} of {} cycles failed; first: {:?}\ndaemon log:\n{}",
        errors.len(),
        cycles + errors.len(),
        &errors[..errors.len().min(5)],
        common::tail(&d.log(), 30)
    );
    assert!(cycles >= CLIENTS, "only {cycles} cycles ran");
    assert!(
        d.log().find("database is locked").is_none(),
        "SQLite contention in the log"
    );

    // Nothing left: every --rm container was removed, so was every API one.
    assert_eq!(d.ok(&["ps", "-aq"]).trim(), "", "containers left");
    let dir = d.dir.path().display().to_string();
    let shims = Command::new("pgrep")
        .args(["-f", &format!("berth-shim.*{dir}")])
        .output()
        .expect("pgrep");
    assert!(
        shims.stdout.is_empty(),
        "shims left: {}",
        String::from_utf8_lossy(&shims.stdout)
    );
    let mut mounts = mounts_under(&d.data_root());
    mounts.extend(mounts_under(&d.exec_root()));
    assert!(mounts.is_empty(), "mounts left: {mounts:?}");
    let bundles = std::fs::read_dir(d.exec_root().join("containers"))
        .map(|e| e.count())
        .unwrap_or(0);
    assert_eq!(bundles, 0, "bundles left under the exec root");
}
