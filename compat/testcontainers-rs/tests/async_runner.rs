//! testcontainers-rs's async runner (`AsyncRunner::start`) as its users write it: GenericImage
//! with env, labels and a command, wait strategies, logs, exec, an exposed port, a health check,
//! copy-to-container, a user-defined network, and the removal on drop that stands in for a reaper.
//! Each container is removed when its ContainerAsync drops (also when the case panics).

mod common;

use std::time::Duration;

use common::{bounded, docker, text, unique, STARTUP};
use testcontainers::{
    bollard::query_parameters::{InspectContainerOptions, InspectNetworkOptions},
    core::{CmdWaitFor, ExecCommand, IntoContainerPort, WaitFor},
    runners::AsyncRunner,
    CopyTargetOptions, GenericImage, Healthcheck, ImageExt,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn busybox() -> GenericImage {
    GenericImage::new("busybox", "latest")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_image_with_env_labels_cmd() {
    let container = busybox()
        .with_env_var("BERTH_CASE", "env-value")
        .with_label("org.berth.compat", "testcontainers-rs")
        .with_cmd(["sleep", "60"])
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .await
        .expect("start busybox");
    assert!(bounded("is_running", container.is_running()).await.expect("is_running"));

    let info = bounded("inspect", docker().inspect_container(container.id(), None::<InspectContainerOptions>))
        .await
        .expect("inspect the container");
    let config = info.config.expect("Config");
    let labels = config.labels.unwrap_or_default();
    assert_eq!(labels.get("org.berth.compat").map(String::as_str), Some("testcontainers-rs"));
    assert_eq!(labels.get("org.testcontainers.managed-by").map(String::as_str), Some("testcontainers"));
    assert!(config.env.unwrap_or_default().iter().any(|e| e == "BERTH_CASE=env-value"));
    assert_eq!(config.cmd.unwrap_or_default(), ["sleep", "60"]);
    bounded("rm", container.rm()).await.expect("remove the container");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_message_on_stdout() {
    let container = busybox()
        .with_wait_for(WaitFor::message_on_stdout("tcrs-ready"))
        .with_cmd(["sh", "-c", "echo starting; sleep 1; echo tcrs-ready; exec sleep 60"])
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .await
        .expect("start busybox and see tcrs-ready on its stdout");
    let out = bounded("stdout_to_vec", container.stdout_to_vec()).await.expect("stdout");
    assert!(text(&out).contains("starting\ntcrs-ready\n"), "stdout: {:?}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_stdout_and_stderr() {
    let container = busybox()
        .with_wait_for(WaitFor::message_on_stderr("to-stderr"))
        .with_cmd(["sh", "-c", "echo to-stdout; echo to-stderr >&2; exec sleep 60"])
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .await
        .expect("start busybox and see to-stderr on its stderr");
    let out = text(&bounded("stdout_to_vec", container.stdout_to_vec()).await.expect("stdout"));
    let err = text(&bounded("stderr_to_vec", container.stderr_to_vec()).await.expect("stderr"));
    assert_eq!(out, "to-stdout\n");
    assert_eq!(err, "to-stderr\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_command() {
    let container = busybox()
        .with_cmd(["sleep", "60"])
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .await
        .expect("start busybox");
    let mut result = bounded(
        "exec",
        container.exec(
            ExecCommand::new(["sh", "-c", "echo exec-out; echo exec-err >&2; echo $TCRS_EXEC; exit 3"])
                .with_env_vars([("TCRS_EXEC", "exec-env")])
                .with_cmd_ready_condition(CmdWaitFor::exit()),
        ),
    )
    .await
    .expect("exec in the container");
    let out = text(&bounded("exec stdout", result.stdout_to_vec()).await.expect("exec stdout"));
    let err = text(&bounded("exec stderr", result.stderr_to_vec()).await.expect("exec stderr"));
    assert_eq!(out, "exec-out\nexec-env\n");
    assert_eq!(err, "exec-err\n");
    assert_eq!(bounded("exec exit code", result.exit_code()).await.expect("exit code"), Some(3));
}

/// fussybeaver/uhttpd (the stand-in: busybox httpd serving "hello\n" on 80), its port published
/// on an ephemeral host port, reached from the test at get_host():get_host_port_ipv4(80).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exposed_port_reached_from_the_test() {
    let container = GenericImage::new("fussybeaver/uhttpd", "latest")
        .with_exposed_port(80.tcp())
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .await
        .expect("start fussybeaver/uhttpd");
    let port = bounded("get_host_port_ipv4", container.get_host_port_ipv4(80)).await.expect("host port of 80/tcp");
    let host = bounded("get_host", container.get_host()).await.expect("host");
    let addr = format!("{host}:{port}");
    // The server may take a moment to listen: retry, bounded.
    let body = bounded("GET / on the published port", async {
        loop {
            if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
                let req = format!("GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n");
                let mut resp = Vec::new();
                if s.write_all(req.as_bytes()).await.is_ok() && s.read_to_end(&mut resp).await.is_ok() && !resp.is_empty() {
                    return text(&resp);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(body.starts_with("HTTP/1.") && body.contains(" 200"), "response: {body:?}");
    assert!(body.ends_with("\r\n\r\nhello\n"), "response: {body:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_healthcheck() {
    let container = busybox()
        .with_wait_for(WaitFor::healthcheck())
        .with_cmd(["sh", "-c", "sleep 1; touch /tmp/healthy; exec sleep 60"])
        .with_health_check(
            Healthcheck::cmd_shell("test -f /tmp/healthy")
                .with_interval(Duration::from_millis(500))
                .with_timeout(Duration::from_secs(2))
                .with_retries(20),
        )
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .await
        .expect("start busybox and wait until it is healthy");
    let info = bounded("inspect", docker().inspect_container(container.id(), None::<InspectContainerOptions>))
        .await
        .expect("inspect the container");
    let health = info.state.and_then(|s| s.health).expect("State.Health");
    assert_eq!(health.status.map(|s| s.to_string()).as_deref(), Some("healthy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_container_before_start() {
    let container = busybox()
        .with_wait_for(WaitFor::message_on_stdout("copied: tcrs-content 640"))
        .with_copy_to(CopyTargetOptions::new("/tmp/copied.txt").with_mode(0o640), b"tcrs-content".to_vec())
        .with_cmd(["sh", "-c", "echo \"copied: $(cat /tmp/copied.txt) $(stat -c %a /tmp/copied.txt)\"; exec sleep 60"])
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .await
        .expect("start busybox with /tmp/copied.txt copied in before start");
    drop(container);
}

/// Two containers on a network testcontainers creates (with_network), one reaching the other by
/// its container name; the network goes when the last container using it drops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_with_two_containers() {
    let network = unique("net");
    let server_name = format!("{network}-server");
    let server = busybox()
        .with_network(&network)
        .with_container_name(&server_name)
        .with_cmd(["sh", "-c", "mkdir -p /www && echo tcrs-net-ok > /www/index.html && exec httpd -f -p 8080 -h /www"])
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .await
        .expect("start the server on the network");
    let script = format!(
        "for i in $(seq 1 30); do wget -q -T 2 -O - http://{server_name}:8080/ && break; sleep 0.3; done; exec sleep 60"
    );
    let client = busybox()
        .with_wait_for(WaitFor::message_on_stdout("tcrs-net-ok"))
        .with_network(&network)
        .with_cmd(["sh", "-c", script.as_str()])
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .await
        .expect("start the client on the network and see it fetch from the server by name");
    drop(client);
    drop(server);
    let gone = bounded("inspect network", docker().inspect_network(&network, None::<InspectNetworkOptions>)).await;
    assert!(gone.is_err(), "network {network} is still there after both containers dropped");
}

/// testcontainers-rs has no reaper container (no Ryuk): a container is removed (force, with its
/// volumes) when its ContainerAsync drops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_removes_container() {
    let container = busybox()
        .with_cmd(["sleep", "60"])
        .with_startup_timeout(STARTUP)
        .with_label(common::LABEL, "testcontainers-rs")
        .start()
        .await
        .expect("start busybox");
    let id = container.id().to_string();
    drop(container);
    let gone = bounded("inspect", docker().inspect_container(&id, None::<InspectContainerOptions>)).await;
    assert!(gone.is_err(), "container {id} is still there after the drop");
}
