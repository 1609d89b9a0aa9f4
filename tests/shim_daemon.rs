//! The shim's independence from the daemon: the daemon side going away and coming back, the
//! shim going away under the daemon, and what an idle shim costs.

#[path = "support/shim.rs"]
mod support;

use std::time::Duration;

use berth::task::{AttachOptions, TaskError, TaskStatus, Tasks};
use support::{Fixture, read_until, within};

const BOUND: Duration = Duration::from_secs(20);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn ticks(fx: &Fixture) -> Vec<u64> {
    fx.log_records()
        .iter()
        .filter_map(|r| {
            r["log"]
                .as_str()?
                .trim()
                .strip_prefix("tick-")?
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn the_daemon_side_can_die_and_reconnect() {
    let fx = Fixture::new(
        &[
            "sh",
            "-c",
            "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.05; done",
        ],
        false,
        false,
    );
    // First daemon: create, start, then everything of it is dropped, runtime included.
    let (pid, shim_pid) = {
        let rt = runtime();
        rt.block_on(async {
            let tasks = support::tasks();
            let task = within(BOUND, fx.create()).await;
            let mut s = task
                .attach(AttachOptions {
                    stdin: false,
                    stdout: true,
                    stderr: true,
                })
                .await
                .unwrap();
            within(BOUND, task.start()).await.unwrap();
            read_until(&mut s, "tick-1\n", BOUND).await;
            drop(tasks);
            (task.pid(), task.shim_pid())
        })
    };
    let before = ticks(&fx).last().copied().unwrap_or(0);
    // The container keeps printing while no daemon exists; the shim keeps logging.
    std::thread::sleep(Duration::from_millis(600));

    let rt = runtime();
    rt.block_on(async {
        let task = within(BOUND, support::tasks().connect(fx.state_dir()))
            .await
            .unwrap();
        assert_eq!(task.pid(), pid);
        assert_eq!(task.shim_pid(), shim_pid);
        assert_eq!(task.id(), fx.id);
        assert_eq!(task.state().await.unwrap().status, TaskStatus::Running);
        let logged = ticks(&fx);
        let after = *logged.last().unwrap();
        assert!(
            after > before + 3,
            "no ticks logged while away: {before} -> {after}"
        );
        // Nothing lost or doubled while nobody was attached.
        for (k, n) in logged.iter().enumerate() {
            assert_eq!(*n, k as u64);
        }
        let mut s = task
            .attach(AttachOptions {
                stdin: false,
                stdout: true,
                stderr: true,
            })
            .await
            .unwrap();
        let next = format!("tick-{}\n", after + 2);
        read_until(&mut s, &next, BOUND).await;
        task.kill(libc::SIGKILL, false).await.unwrap();
        assert_eq!(within(BOUND, task.wait()).await.unwrap().code, 137);
        within(BOUND, task.delete()).await.unwrap();
    });
    assert!(support::wait_exit(shim_pid, Duration::from_secs(5)));
    assert!(!fx.runc_knows());
}

#[tokio::test]
async fn a_killed_shim_is_a_clean_error_not_a_hang() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = within(BOUND, fx.create()).await;
    within(BOUND, task.start()).await.unwrap();
    let waiter = tokio::spawn({
        let task = task.clone();
        async move { task.wait().await }
    });
    let mut attached = task
        .attach(AttachOptions {
            stdin: false,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap();
    // Let the wait request reach the shim before it dies.
    assert_eq!(task.state().await.unwrap().status, TaskStatus::Running);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(task.shim_pid()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let err = within(BOUND, waiter).await.unwrap().unwrap_err();
    assert!(matches!(err, TaskError::ShimGone { .. }), "{err:?}");
    assert!(support::read_frame(&mut attached).await.is_none());
    let err = within(BOUND, task.state()).await.unwrap_err();
    assert!(err.is_gone(), "{err:?}");
    let err = within(BOUND, support::tasks().connect(fx.state_dir()))
        .await
        .unwrap_err();
    assert!(err.is_gone(), "{err:?}");
    // Nothing recorded: the daemon decides what a lost shim means.
    assert_eq!(Tasks::exit_status(fx.state_dir()), None);
    // The fixture's drop kills and deletes the orphaned container and reaps both processes.
}

#[tokio::test]
async fn idle_shim_rss() {
    let fx = Fixture::new(&["sh", "-c", "echo ready; sleep 1000"], false, true);
    let task = within(BOUND, fx.create()).await;
    let mut s = task
        .attach(AttachOptions {
            stdin: true,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap();
    within(BOUND, task.start()).await.unwrap();
    read_until(&mut s, "ready", BOUND).await;
    drop(s);
    // A few calls, so the measured state is "has served", not "fresh".
    for _ in 0..3 {
        task.state().await.unwrap();
        task.pids().await.unwrap();
    }
    let running = support::shim_rss_kib(task.shim_pid());
    // Detached as asked: its own session, stdio on /dev/null, cwd the state dir, a subreaper
    // that is the init's parent.
    let shim = task.shim_pid();
    let stat = std::fs::read_to_string(format!("/proc/{shim}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    assert_eq!(fields[3], shim.to_string(), "session id");
    for fd in 0..3 {
        let target = std::fs::read_link(format!("/proc/{shim}/fd/{fd}")).unwrap();
        assert_eq!(target, std::path::Path::new("/dev/null"));
    }
    assert_eq!(
        std::fs::read_link(format!("/proc/{shim}/cwd")).unwrap(),
        fx.state_dir()
    );
    let init_stat = std::fs::read_to_string(format!("/proc/{}/stat", task.pid())).unwrap();
    let ppid = init_stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap();
    assert_eq!(ppid, shim.to_string());
    task.kill(libc::SIGKILL, false).await.unwrap();
    within(BOUND, task.wait()).await.unwrap();
    let exited = support::shim_rss_kib(task.shim_pid());
    eprintln!("idle shim VmRSS: {running} KiB running, {exited} KiB after the exit");
    assert!(running < 4096, "idle shim uses {running} KiB");
    assert!(exited < 4096, "exited shim uses {exited} KiB");
    within(BOUND, task.delete()).await.unwrap();
}
