//! A runtime that fails with a huge message (over a pipe's 64 KiB) must not hang `docker start`:
//! the shim drains the runtime's output while it waits and keeps a bounded part of it, so the
//! client gets a prompt, bounded error and the daemon keeps working.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{Daemon, tail};

/// Well under the shim's 60 s create bound: a failure must be prompt, not a timeout.
const PROMPT: Duration = Duration::from_secs(15);
/// Longer than any error the daemon may send back (a 16 KiB message plus dockerd's wording).
const MESSAGE_MAX: usize = 40 * 1024;

fn timed(d: &Daemon, args: &[&str]) -> (Output, Duration) {
    let t = Instant::now();
    let out = d.docker(args);
    (out, t.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Shims of this daemon still running.
fn shims(d: &Daemon) -> String {
    let out = Command::new("pgrep")
        .args([
            "-a",
            "-f",
            &format!("berth-shim.*{}", d.dir.path().display()),
        ])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_prompt_bounded_failure(d: &Daemon, what: &str, out: &Output, took: Duration) {
    let err = stderr(out);
    let (start, end) = (err.len().min(300), err.len().saturating_sub(300));
    eprintln!(
        "{what}: {took:?}, {} bytes: {} ... {}",
        err.len(),
        &err[..start],
        &err[end.max(start)..]
    );
    assert!(
        !out.status.success(),
        "{what}: unexpectedly succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        took < PROMPT,
        "{what}: took {took:?}: {}\n{}",
        &err[..err.len().min(500)],
        tail(&d.log(), 20)
    );
    assert!(
        err.len() < MESSAGE_MAX,
        "{what}: unbounded message of {} bytes",
        err.len()
    );
    assert!(
        err.contains("Error response from daemon"),
        "{what}: no daemon error: {}",
        &err[..err.len().min(500)]
    );
}

fn assert_daemon_still_works(d: &Daemon) {
    let out = d.docker(&["run", "--rm", "busybox", "true"]);
    assert!(out.status.success(), "run after: {}", stderr(&out));
    assert!(d.ok(&["ps", "-aq"]).trim().is_empty(), "containers left");
    let left = shims(d);
    assert!(left.trim().is_empty(), "shims left:\n{left}");
}

#[test]
fn a_huge_command_fails_promptly_with_a_bounded_message() {
    let d = Daemon::start();
    d.load("busybox.tar");
    let huge = "x".repeat(70_000);
    let (out, took) = timed(&d, &["run", "--rm", "busybox", &huge]);
    assert_prompt_bounded_failure(&d, "run <70000 chars>", &out, took);
    let err = stderr(&out);
    // The runtime's own words survive the cut: the start and the cause.
    assert!(err.contains("xxxxxxxx"), "{}", &err[..err.len().min(500)]);
    assert!(
        err.contains("executable file not found"),
        "{}",
        &err[err.len().saturating_sub(500)..]
    );
    assert!(err.contains("bytes cut"), "no cut note");
    // dockerd's exit code for a missing command.
    assert_eq!(
        out.status.code(),
        Some(127),
        "{}",
        &err[..err.len().min(500)]
    );
    assert_daemon_still_works(&d);
}

#[test]
fn a_huge_cgroup_parent_fails_promptly() {
    let d = Daemon::start();
    d.load("busybox.tar");
    let parent = format!("/{}", "p".repeat(70_000));
    // Refused at create, or failed by the runtime at start: either way promptly and bounded.
    let (out, took) = timed(
        &d,
        &["run", "--rm", "--cgroup-parent", &parent, "busybox", "true"],
    );
    assert_prompt_bounded_failure(&d, "run --cgroup-parent <70000 chars>", &out, took);
    assert_daemon_still_works(&d);
}

/// A runtime that wraps the real one but fails `create` with 200 KiB of output, as a buggy or
/// chatty runtime could; `how` says where the message goes.
fn noisy_runtime(dir: &std::path::Path, name: &str, how: &str, real: &str) -> String {
    let path = dir.join(name);
    let script = format!(
        r#"#!/bin/sh
log=
for a; do
  if [ "$prev" = --log ]; then log=$a; fi
  prev=$a
  if [ "$a" = create ]; then create=1; fi
done
if [ -z "$create" ]; then exec {real} "$@"; fi
big=$(head -c 204800 /dev/zero | tr '\0' y)
case {how} in
  stderr) echo "first words $big last words" >&2 ;;
  stdout) echo "first words $big last words" ;;
  log) printf '{{"level":"error","msg":"first words %s last words","time":"t"}}\n' "$big" >>"$log"
       echo "short stderr" >&2 ;;
esac
exit 1
"#
    );
    std::fs::write(&path, script).expect("write runtime script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

#[test]
fn a_runtime_with_a_huge_error_fails_promptly_and_leaves_nothing() {
    let scripts = tempfile::tempdir().expect("tempdir");
    let real = match std::env::var("BERTH_TEST_RUNTIME").as_deref() {
        Ok("runc") => "runc".to_string(),
        _ => {
            // The daemon's own runtime, beside the daemon binary.
            let bin = std::path::Path::new(env!("CARGO_BIN_EXE_berthd"));
            bin.with_file_name("berth-runtime").display().to_string()
        }
    };
    let mut args = Vec::new();
    for how in ["stderr", "stdout", "log"] {
        let path = noisy_runtime(scripts.path(), &format!("noisy-{how}"), how, &real);
        args.push("--add-runtime".to_string());
        args.push(format!("noisy-{how}={path}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let d = Daemon::start_with(&refs);
    d.load("busybox.tar");
    for how in ["stderr", "stdout", "log"] {
        let rt = format!("noisy-{how}");
        for tty in [false, true] {
            let mut create = vec!["create", "--runtime", &rt];
            if tty {
                create.push("-t");
            }
            create.extend(["busybox", "true"]);
            let id = d.ok(&create).trim().to_string();
            let what = format!("start with {rt} (tty {tty})");
            let (out, took) = timed(&d, &["start", &id]);
            assert_prompt_bounded_failure(&d, &what, &out, took);
            let err = stderr(&out);
            if how != "stdout" {
                // The message is the runtime's, cut in the middle.
                assert!(err.contains("first words yyyy"), "{what}: {}", &err[..500]);
                assert!(err.contains("yyyy last words"), "{what}: {}", &err[..500]);
                assert!(err.contains("bytes cut"), "{what}: no cut note");
            }
            // The failure is recorded, bounded, and the container can go.
            let inspect = d.ok(&["inspect", "-f", "{{.State.Error}}", &id]);
            assert!(
                !inspect.trim().is_empty() && inspect.len() < MESSAGE_MAX,
                "{what}: State.Error of {} bytes",
                inspect.len()
            );
            d.ok(&["rm", &id]);
        }
    }
    assert_daemon_still_works(&d);
}
