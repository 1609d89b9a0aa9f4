//! testcontainers-rs's blocking runner (`SyncRunner::start`, feature `blocking`), from a plain
//! #[test]: start with a wait strategy, env and a command, exec, logs; removed on drop.

mod common;

use common::{text, STARTUP};
use testcontainers::{
    core::{CmdWaitFor, ExecCommand, WaitFor},
    runners::SyncRunner,
    GenericImage, ImageExt,
};

#[test]
fn start_exec_and_logs() {
    let container = GenericImage::new("busybox", "latest")
        .with_wait_for(WaitFor::message_on_stdout("sync-ready"))
        .with_env_var("TCRS_SYNC", "sync-env")
        .with_cmd(["sh", "-c", "echo sync-ready $TCRS_SYNC; exec sleep 60"])
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .expect("start busybox with the sync runner");
    assert!(container.is_running().expect("is_running"));
    let out = text(&container.stdout_to_vec().expect("stdout"));
    assert_eq!(out, "sync-ready sync-env\n");
    let mut result = container
        .exec(ExecCommand::new(["cat", "/etc/hostname"]).with_cmd_ready_condition(CmdWaitFor::exit_code(0)))
        .expect("exec cat /etc/hostname");
    let hostname = text(&result.stdout_to_vec().expect("exec stdout"));
    assert!(!hostname.trim().is_empty(), "empty /etc/hostname");
    container.rm().expect("remove the container");
}
