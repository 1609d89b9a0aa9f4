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

/// A terminal attach ends on the detach keys (here ctrl-x,q), the keys never reach the
/// container, and the container keeps running; bad keys are a 400.
#[tokio::test(flavor = "multi_thread")]
async fn detach_keys_end_a_terminal_attach() {
    use tokio::io::AsyncWriteExt;
    let d = Daemon::start();
    d.load("busybox.tar");
    let docker = client(&d);
    let created = docker
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            ContainerCreateBody {
                image: Some("busybox".into()),
                // Echoes each byte it gets as a number, so a leaked key would show.
                cmd: Some(vec![
                    "sh".into(),
                    "-c".into(),
                    "stty raw -echo; while true; do c=$(dd bs=1 count=1 2>/dev/null | od -An -tu1); echo got$c; done".into(),
                ]),
                tty: Some(true),
                open_stdin: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    docker.start_container(&created.id, None).await.unwrap();

    let bad = docker
        .attach_container(
            &created.id,
            Some(
                AttachContainerOptionsBuilder::new()
                    .stdin(true)
                    .stream(true)
                    .detach_keys("ctrl-1")
                    .build(),
            ),
        )
        .await;
    assert!(
        matches!(
            bad,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 400,
                ..
            })
        ),
        "{:?}",
        bad.err()
    );

    let mut attached = docker
        .attach_container(
            &created.id,
            Some(
                AttachContainerOptionsBuilder::new()
                    .stdin(true)
                    .stdout(true)
                    .stream(true)
                    .detach_keys("ctrl-x,q")
                    .build(),
            ),
        )
        .await
        .unwrap();
    let bound = std::time::Duration::from_secs(20);
    let mut out = String::new();
    // Reads output until `needle` shows up; false if the stream ends first.
    async fn read_until(
        output: &mut std::pin::Pin<
            Box<dyn futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
        >,
        out: &mut String,
        needle: &str,
    ) -> bool {
        while !out.contains(needle) {
            match output.next().await {
                Some(Ok(o)) => out.push_str(&String::from_utf8_lossy(&o.into_bytes())),
                _ => return false,
            }
        }
        true
    }
    // "a"; then ctrl-x followed by something else, forwarded as typed; then the sequence.
    attached.input.write_all(b"a").await.unwrap();
    let seen = tokio::time::timeout(bound, read_until(&mut attached.output, &mut out, "got 97"));
    assert!(seen.await.unwrap(), "{out:?}");
    attached.input.write_all(b"\x18b").await.unwrap();
    let seen = tokio::time::timeout(bound, read_until(&mut attached.output, &mut out, "got 98"));
    assert!(seen.await.unwrap(), "{out:?}");
    attached.input.write_all(b"\x18q").await.unwrap();
    let ended = tokio::time::timeout(bound, read_until(&mut attached.output, &mut out, "never"));
    assert_eq!(
        ended.await.ok(),
        Some(false),
        "the attach did not end on the keys: {out:?}"
    );
    let got: Vec<String> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("got"))
        .map(|n| n.trim().to_string())
        .collect();
    assert_eq!(got, vec!["97", "24", "98"], "{out:?}");
    let state = docker
        .inspect_container(&created.id, None)
        .await
        .unwrap()
        .state
        .unwrap();
    assert_eq!(state.running, Some(true), "detaching stopped the container");
    docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptionsBuilder::new().force(true).build()),
        )
        .await
        .unwrap();
}

/// `logs=1` replays what the log holds before the live output; `stream=0` ends after it, as in
/// dockerd (docker-py's `attach(logs=True)`).
#[tokio::test(flavor = "multi_thread")]
async fn attach_replays_logs_and_stream_zero_ends() {
    use tokio::io::AsyncWriteExt;
    let d = Daemon::start();
    d.load("busybox.tar");
    let docker = client(&d);
    let created = docker
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            ContainerCreateBody {
                image: Some("busybox".into()),
                cmd: Some(vec![
                    "sh".into(),
                    "-c".into(),
                    "echo before; echo err-before >&2; read x; echo after-$x".into(),
                ]),
                open_stdin: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Live from the start, to know when "before" is in the log.
    let mut first = docker
        .attach_container(
            &created.id,
            Some(
                AttachContainerOptionsBuilder::new()
                    .stdout(true)
                    .stream(true)
                    .build(),
            ),
        )
        .await
        .unwrap();
    docker.start_container(&created.id, None).await.unwrap();
    let bound = std::time::Duration::from_secs(20);
    let seen = tokio::time::timeout(bound, first.output.next())
        .await
        .unwrap();
    assert_eq!(
        seen.unwrap().unwrap(),
        LogOutput::StdOut {
            message: "before\n".into()
        }
    );

    // logs=1, stream=0: the log so far (stdout only, as asked), then the end.
    let replay_only = docker
        .attach_container(
            &created.id,
            Some(
                AttachContainerOptionsBuilder::new()
                    .stdout(true)
                    .logs(true)
                    .stream(false)
                    .build(),
            ),
        )
        .await
        .unwrap();
    let got: Vec<LogOutput> = tokio::time::timeout(bound, replay_only.output.collect::<Vec<_>>())
        .await
        .expect("a stream=0 attach must end")
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        got,
        vec![LogOutput::StdOut {
            message: "before\n".into()
        }]
    );

    // logs=1, stream=1 with stdin: the replay, then live output for our input.
    let mut both = docker
        .attach_container(
            &created.id,
            Some(
                AttachContainerOptionsBuilder::new()
                    .stdin(true)
                    .stdout(true)
                    .stderr(true)
                    .logs(true)
                    .stream(true)
                    .build(),
            ),
        )
        .await
        .unwrap();
    both.input.write_all(b"now\n").await.unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(bound, async {
        while let Some(Ok(o)) = both.output.next().await {
            got.push(o);
        }
    });
    read.await.expect("the attach ends with the container");
    let outs: Vec<String> = got
        .iter()
        .filter_map(|o| match o {
            LogOutput::StdOut { message } | LogOutput::StdErr { message } => {
                Some(String::from_utf8_lossy(message).into_owned())
            }
            _ => None,
        })
        .collect();
    assert_eq!(outs.len(), 3, "{got:?}");
    assert!(outs[..2].contains(&"before\n".to_string()), "{got:?}");
    assert!(outs[..2].contains(&"err-before\n".to_string()), "{got:?}");
    assert_eq!(outs[2], "after-now\n", "{got:?}");
    docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptionsBuilder::new().force(true).build()),
        )
        .await
        .unwrap();
}
