//! The shim's task lifecycle against Debian's runc: create, start, wait, kill, pause/resume, pids,
//! stats, delete, and runtime failures, with real containers.

#[path = "support/shim.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use berth::task::{AttachOptions, TaskError, TaskStatus, Tasks};
use support::{Fixture, within};

const BOUND: Duration = Duration::from_secs(20);

/// After delete: runc has no state, the socket and pid file are gone, the shim has exited.
fn assert_cleaned(fx: &Fixture, shim_pid: i32) {
    assert!(!fx.runc_knows(), "runc still knows {}", fx.id);
    assert!(
        support::wait_exit(shim_pid, Duration::from_secs(5)),
        "shim did not exit"
    );
    assert!(
        !fx.state_dir().join("shim.sock").exists(),
        "socket left behind"
    );
    assert!(
        !fx.state_dir().join("shim.pid").exists(),
        "pid file left behind"
    );
}

#[tokio::test]
async fn exit_code_is_recorded_before_wait_returns() {
    let fx = Fixture::new(&["sh", "-c", "exit 3"], false, false);
    let task = within(BOUND, fx.create()).await;
    assert!(task.pid() > 0);
    let st = task.state().await.unwrap();
    assert_eq!(st.status, TaskStatus::Created);
    assert_eq!(st.pid, task.pid());
    let pid = within(BOUND, task.start()).await.unwrap();
    assert_eq!(pid, task.pid());
    let exit = within(BOUND, task.wait()).await.unwrap();
    assert_eq!(exit.code, 3);
    assert!(!exit.oom_killed);
    // On disk before wait returned.
    assert_eq!(Tasks::exit_status(fx.state_dir()), Some(exit));
    // Wait again answers at once with the same record.
    assert_eq!(within(BOUND, task.wait()).await.unwrap(), exit);
    let st = task.state().await.unwrap();
    assert_eq!(st.status, TaskStatus::Stopped);
    assert_eq!(st.exit, Some(exit));
    within(BOUND, task.delete()).await.unwrap();
    assert_cleaned(&fx, task.shim_pid());
    // The record outlives the shim; a call on the dead handle says the shim is gone.
    assert_eq!(Tasks::exit_status(fx.state_dir()), Some(exit));
    assert!(task.state().await.unwrap_err().is_gone());
    assert_eq!(within(BOUND, task.wait()).await.unwrap(), exit);
}

#[tokio::test]
async fn sigkill_is_137_and_kill_after_exit_is_refused() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = within(BOUND, fx.create()).await;
    within(BOUND, task.start()).await.unwrap();
    assert_eq!(task.state().await.unwrap().status, TaskStatus::Running);
    task.kill(libc::SIGKILL, false).await.unwrap();
    let exit = within(BOUND, task.wait()).await.unwrap();
    assert_eq!(exit.code, 137);
    let err = task.kill(libc::SIGTERM, false).await.unwrap_err();
    assert!(matches!(err, TaskError::Precondition(_)), "{err:?}");
    within(BOUND, task.delete()).await.unwrap();
    assert_cleaned(&fx, task.shim_pid());
}

/// Attaches before start and returns once the container printed "ready".
async fn start_until_ready(task: &berth::task::Task) {
    let mut s = task
        .attach(AttachOptions {
            stdin: false,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap();
    within(BOUND, task.start()).await.unwrap();
    support::read_until(&mut s, "ready", BOUND).await;
}

#[tokio::test]
async fn sigterm_is_delivered_to_the_init() {
    // A shell as pid 1 ignores SIGTERM unless it traps it.
    let fx = Fixture::new(
        &[
            "sh",
            "-c",
            "trap 'exit 42' TERM; echo ready; while true; do sleep 0.1; done",
        ],
        false,
        false,
    );
    let task = within(BOUND, fx.create()).await;
    start_until_ready(&task).await;
    task.kill(libc::SIGTERM, false).await.unwrap();
    assert_eq!(within(BOUND, task.wait()).await.unwrap().code, 42);
    within(BOUND, task.delete()).await.unwrap();
}

#[tokio::test]
async fn pause_resume_pids_and_stats() {
    let fx = Fixture::new(&["sh", "-c", "sleep 1000 & echo ready; wait"], false, false);
    let task = within(BOUND, fx.create()).await;
    start_until_ready(&task).await;
    let pids = task.pids().await.unwrap();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&task.pid()), "{pids:?} lacks {}", task.pid());
    task.pause().await.unwrap();
    assert_eq!(task.state().await.unwrap().status, TaskStatus::Paused);
    let runc_state = fx.runc(&["state", &fx.id]);
    let v: serde_json::Value = serde_json::from_slice(&runc_state.stdout).unwrap();
    assert_eq!(v["status"], "paused");
    // Pausing twice is a state error, checked before the runtime is asked.
    assert!(matches!(
        task.pause().await.unwrap_err(),
        TaskError::Precondition(_)
    ));
    let err = task.delete().await.unwrap_err();
    assert!(matches!(err, TaskError::Precondition(_)), "{err:?}");
    task.resume().await.unwrap();
    assert_eq!(task.state().await.unwrap().status, TaskStatus::Running);
    let v: serde_json::Value = serde_json::from_slice(&fx.runc(&["state", &fx.id]).stdout).unwrap();
    assert_eq!(v["status"], "running");
    let stats = task.stats().await.unwrap();
    assert_eq!(stats["type"], "stats", "{stats}");
    assert_eq!(
        stats["data"]["pids"]["current"].as_u64(),
        Some(2),
        "{stats}"
    );
    task.kill(libc::SIGKILL, true).await.unwrap();
    assert_eq!(within(BOUND, task.wait()).await.unwrap().code, 137);
    within(BOUND, task.delete()).await.unwrap();
    assert_cleaned(&fx, task.shim_pid());
}

#[tokio::test]
async fn delete_refused_while_running_and_allowed_when_created() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = within(BOUND, fx.create()).await;
    // Never started: delete kills the init and the exit is still recorded.
    within(BOUND, task.delete()).await.unwrap();
    assert_cleaned(&fx, task.shim_pid());
    let exit = Tasks::exit_status(fx.state_dir()).expect("exit recorded");
    assert_eq!(exit.code, 137);
    assert!(!Path::new(&format!("/proc/{}", task.pid())).exists());

    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = within(BOUND, fx.create()).await;
    within(BOUND, task.start()).await.unwrap();
    let err = task.delete().await.unwrap_err();
    assert!(matches!(err, TaskError::Precondition(_)), "{err:?}");
    // Still serving, still running.
    assert_eq!(task.state().await.unwrap().status, TaskStatus::Running);
    assert!(matches!(
        task.start().await.unwrap_err(),
        TaskError::Precondition(_)
    ));
    task.kill(libc::SIGKILL, false).await.unwrap();
    within(BOUND, task.wait()).await.unwrap();
    within(BOUND, task.delete()).await.unwrap();
    assert_cleaned(&fx, task.shim_pid());
}

#[tokio::test]
async fn runtime_errors_carry_the_runtime_message() {
    let fx = Fixture::new(&["/no/such/binary"], false, false);
    let err = within(BOUND, support::tasks().create(&fx.config()))
        .await
        .inspect(|t| fx.track(t));
    let msg = match err {
        // runc 1.1 finds the missing binary at create...
        Err(TaskError::Runtime { message, .. }) => message,
        // ...or, for runtimes that look later, at start.
        Ok(task) => {
            let e = within(BOUND, task.start()).await.unwrap_err();
            within(BOUND, task.delete()).await.unwrap();
            match e {
                TaskError::Runtime { message, .. } => message,
                other => panic!("not a runtime error: {other:?}"),
            }
        }
        Err(other) => panic!("not a runtime error: {other:?}"),
    };
    eprintln!("runtime said: {msg}");
    assert!(msg.contains("no such file or directory"), "{msg}");
    assert!(!fx.runc_knows());
    assert!(!fx.state_dir().join("shim.sock").exists());
    // Nothing the runtime said went into the container's log.
    assert!(fx.log_records().is_empty(), "{:?}", fx.log_records());
}

#[tokio::test]
async fn a_runtime_that_does_not_exist_is_a_shim_error() {
    let fx = Fixture::new(&["true"], false, false);
    let mut cfg = fx.config();
    cfg.runtime = "/no/such/runtime".into();
    let err = within(BOUND, support::tasks().create(&cfg))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TaskError::Shim(ref m) if m.contains("/no/such/runtime")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_shim_dying_during_create_does_not_hang_the_daemon() {
    let fx = Fixture::new(&["true"], false, false);
    // A "runtime" that kills the shim that ran it.
    let rt = fx.dir.path().join("killer-runtime");
    let pid_file = fx.dir.path().join("killer.pid");
    std::fs::write(
        &rt,
        format!(
            "#!/bin/sh\necho $$ > {}\nkill -9 $PPID\nexit 1\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&rt, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cfg = fx.config();
    cfg.runtime = rt;
    let started = std::time::Instant::now();
    let err = within(BOUND, support::tasks().create(&cfg))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(err, TaskError::Shim(ref m) if m.contains("before reporting")),
        "{err:?}"
    );
    // The script outlived the shim and was handed to us; reap it.
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    support::reap(pid, true);
}

#[tokio::test]
async fn connect_to_nothing_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let err = support::tasks().connect(dir.path()).await.unwrap_err();
    assert!(matches!(err, TaskError::NotFound), "{err:?}");
    assert_eq!(Tasks::exit_status(dir.path()), None);
}

#[tokio::test]
async fn oom_kill_is_reported() {
    let mut spec = support::spec(&["sh", "-c", "x=a; while true; do x=$x$x; done"], false);
    spec["linux"]["resources"]["memory"] =
        serde_json::json!({"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024});
    let fx = Fixture::with_spec(spec, false);
    let task = within(BOUND, fx.create()).await;
    within(BOUND, task.start()).await.unwrap();
    let exit = within(BOUND, task.wait()).await.unwrap();
    assert_eq!(exit.code, 137);
    assert!(exit.oom_killed, "{exit:?}");
    within(BOUND, task.delete()).await.unwrap();
    assert_cleaned(&fx, task.shim_pid());
}

#[tokio::test]
async fn a_state_dir_deeper_than_sun_path_works() {
    let fx = Fixture::new(&["sh", "-c", "echo deep"], false, false);
    let deep = fx.dir.path().join("d".repeat(60)).join("e".repeat(60));
    std::fs::create_dir_all(&deep).unwrap();
    let mut cfg = fx.config();
    cfg.state_dir = deep.clone();
    assert!(deep.join("shim.sock").as_os_str().len() > 108);
    let task = within(BOUND, support::tasks().create(&cfg)).await.unwrap();
    fx.track(&task);
    let again = within(BOUND, support::tasks().connect(&deep))
        .await
        .unwrap();
    assert_eq!(again.pid(), task.pid());
    within(BOUND, again.start()).await.unwrap();
    assert_eq!(within(BOUND, task.wait()).await.unwrap().code, 0);
    within(BOUND, task.delete()).await.unwrap();
    assert!(support::wait_exit(task.shim_pid(), Duration::from_secs(5)));
    assert!(!deep.join("shim.sock").exists());
    assert_eq!(fx.log_records()[0]["log"], "deep\n");
}
