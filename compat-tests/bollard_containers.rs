//! bollard 0.21 running containers: create, attach before start, wait, logs, stop, remove.

#[path = "../tests/common/mod.rs"]
mod common;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use common::Daemon;
use futures_util::StreamExt;

fn client(d: &Daemon) -> Docker {
    Docker::connect_with_unix(&d.host(), 60, bollard::API_DEFAULT_VERSION).expect("bollard client")
}

#[tokio::test(flavor = "multi_thread")]
async fn run_like_testcontainers_does() {
    let d = Daemon::start();
    d.load("busybox.tar");
    let docker = client(&d);
    let created = docker
        .create_container(
            Some(
                CreateContainerOptionsBuilder::new()
                    .name("bollard-run")
                    .build(),
            ),
            ContainerCreateBody {
                image: Some("busybox".into()),
                cmd: Some(vec![
                    "sh".into(),
                    "-c".into(),
                    "echo out; echo err >&2; exit 5".into(),
                ]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(created.id.len(), 64);

    // Attach before start, as testcontainers' log consumers do.
    let mut attached = docker
        .attach_container(
            &created.id,
            Some(
                AttachContainerOptionsBuilder::new()
                    .stdout(true)
                    .stderr(true)
                    .stream(true)
                    .build(),
            ),
        )
        .await
        .unwrap();
    let wait = docker.wait_container(
        &created.id,
        Some(
            WaitContainerOptionsBuilder::new()
                .condition("next-exit")
                .build(),
        ),
    );
    docker.start_container(&created.id, None).await.unwrap();
    let mut out = Vec::new();
    while let Some(item) = attached.output.next().await {
        out.push(item.unwrap());
    }
    assert!(
        out.contains(&LogOutput::StdOut {
            message: "out\n".into()
        }),
        "{out:?}"
    );
    assert!(
        out.contains(&LogOutput::StdErr {
            message: "err\n".into()
        }),
        "{out:?}"
    );
    let waited: Vec<_> = wait.collect().await;
    match &waited[0] {
        Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => assert_eq!(*code, 5),
        other => panic!("unexpected wait result {other:?}"),
    }

    let logs: Vec<LogOutput> = docker
        .logs(
            &created.id,
            Some(LogsOptionsBuilder::new().stdout(true).stderr(true).build()),
        )
        .map(|l| l.unwrap())
        .collect()
        .await;
    assert_eq!(
        logs,
        vec![
            LogOutput::StdOut {
                message: "out\n".into()
            },
            LogOutput::StdErr {
                message: "err\n".into()
            }
        ]
    );
    let inspect = docker.inspect_container(&created.id, None).await.unwrap();
    let state = inspect.state.unwrap();
    assert_eq!(state.exit_code, Some(5));
    assert_eq!(state.running, Some(false));

    docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptionsBuilder::new().force(true).build()),
        )
        .await
        .unwrap();
    let err = docker
        .inspect_container(&created.id, None)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    ));
}
