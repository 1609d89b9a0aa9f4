//! bollard 0.21 (the Rust Docker SDK, which testcontainers-rs uses) against berthd. bollard sends
//! `/v1.53/...` without negotiating, so this also proves the newest version path end to end.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{
    ImportImageOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder,
    TagImageOptionsBuilder,
};
use common::{Daemon, test_image, test_image_id};
use futures_util::{StreamExt, TryStreamExt};

fn client(d: &Daemon) -> Docker {
    Docker::connect_with_unix(&d.host(), 60, bollard::API_DEFAULT_VERSION).expect("bollard client")
}

async fn load(docker: &Docker, archive: &str) -> Vec<String> {
    let bytes = tokio::fs::read(test_image(archive)).await.unwrap();
    docker
        .import_image(
            ImportImageOptionsBuilder::new().quiet(true).build(),
            bollard::body_full(bytes.into()),
            None,
        )
        .map_ok(|info| info.stream.unwrap_or_default())
        .try_collect()
        .await
        .expect("load through bollard")
}

#[tokio::test(flavor = "multi_thread")]
async fn system_calls_decode() {
    let d = Daemon::start();
    let docker = client(&d);
    assert_eq!(docker.ping().await.unwrap(), "OK");
    let v = docker.version().await.unwrap();
    assert_eq!(v.api_version.as_deref(), Some("1.53"));
    assert_eq!(v.os.as_deref(), Some("linux"));
    let info = docker.info().await.unwrap();
    assert_eq!(info.images, Some(0));
    assert_eq!(info.driver.as_deref(), Some("overlay2"));
    assert_eq!(
        info.swarm.and_then(|s| s.local_node_state),
        Some(bollard::models::LocalNodeState::INACTIVE)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn images_lifecycle() {
    let d = Daemon::start();
    let docker = client(&d);
    let out = load(&docker, "busybox.tar").await;
    assert_eq!(out, vec!["Loaded image: busybox:latest\n"]);
    load(&docker, "busybox-labels.tar").await;

    let all = docker
        .list_images(Some(ListImagesOptionsBuilder::new().all(true).build()))
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let labelled = docker
        .list_images(Some(
            ListImagesOptionsBuilder::new()
                .filters(&HashMap::from([("label", vec!["tier=base"])]))
                .build(),
        ))
        .await
        .unwrap();
    assert_eq!(labelled.len(), 1);
    assert_eq!(labelled[0].id, test_image_id("busybox-labels.tar"));
    assert_eq!(labelled[0].repo_tags, vec!["berth-test/labelled:1.0"]);
    assert_eq!(
        labelled[0].labels.get("tier").map(String::as_str),
        Some("base")
    );

    let inspect = docker.inspect_image("busybox").await.unwrap();
    assert_eq!(
        inspect.id.as_deref(),
        Some(test_image_id("busybox.tar").as_str())
    );
    assert_eq!(
        inspect.config.and_then(|c| c.cmd),
        Some(vec!["sh".to_string()])
    );

    docker
        .tag_image(
            "busybox",
            Some(
                TagImageOptionsBuilder::new()
                    .repo("localhost:5000/mine")
                    .tag("v1")
                    .build(),
            ),
        )
        .await
        .unwrap();
    let tagged = docker
        .inspect_image("localhost:5000/mine:v1")
        .await
        .unwrap();
    assert_eq!(tagged.id, inspect.id);

    // export (docker save) and import (docker load) round trip into a second daemon.
    let archive: Vec<u8> = docker
        .export_image("localhost:5000/mine:v1")
        .try_fold(Vec::new(), |mut acc, chunk| async move {
            acc.extend_from_slice(&chunk);
            Ok(acc)
        })
        .await
        .unwrap();
    let d2 = Daemon::start();
    let docker2 = client(&d2);
    let out: Vec<String> = docker2
        .import_image(
            ImportImageOptionsBuilder::new().build(),
            bollard::body_full(archive.into()),
            None,
        )
        .map(|r| r.unwrap().stream.unwrap_or_default())
        .collect()
        .await;
    assert_eq!(out, vec!["Loaded image: localhost:5000/mine:v1\n"]);

    let removed = docker
        .remove_image(
            "localhost:5000/mine:v1",
            Some(RemoveImageOptionsBuilder::new().build()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(
        removed[0].untagged.as_deref(),
        Some("localhost:5000/mine:v1")
    );

    let err = docker.inspect_image("nope").await.unwrap_err();
    match err {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => {
            assert_eq!(status_code, 404);
            assert_eq!(message, "No such image: nope:latest");
        }
        other => panic!("unexpected error {other:?}"),
    }
}
