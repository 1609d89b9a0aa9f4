//! The API router over an engine whose tasks are in-memory fakes (`task::fake`) and whose host
//! side only makes directories: the container state machine, driven with `oneshot` requests,
//! without root, shims, mounts or namespaces. The end-to-end suites remain the proof that the
//! real shims behave the same.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use berth::config::Config;
use berth::engine::Engine;
use berth::engine::host::DirsOnly;
use berth::task::fake::{FakeTasks, Script};
use http_body_util::BodyExt;
use sha2::Digest;
use tower::ServiceExt;

/// Every request is bounded: a hang is a failure, not a stuck test.
const BOUND: Duration = Duration::from_secs(20);

struct Fixture {
    fake: FakeTasks,
    engine: Engine,
    // Dropped last: the engine's files live here.
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("berth-router-")
            .tempdir()
            .expect("tempdir");
        let config = Config::for_paths(
            &dir.path().join("sock"),
            &dir.path().join("data"),
            &dir.path().join("exec"),
        );
        let fake = FakeTasks::new();
        let engine = Engine::open_with(config, Arc::new(fake.clone()), Arc::new(DirsOnly))
            .await
            .expect("engine over the fake");
        let f = Fixture {
            fake,
            engine,
            _dir: dir,
        };
        let (status, body) = f.call(Method::POST, "/images/load", tiny_image()).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        f
    }

    async fn call(&self, method: Method, uri: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request");
        let app = berth::api::app(self.engine.clone());
        let fut = async {
            let resp = app.oneshot(req).await.expect("infallible");
            let status = resp.status();
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            (status, bytes.to_vec())
        };
        tokio::time::timeout(BOUND, fut)
            .await
            .unwrap_or_else(|_| panic!("{uri} did not answer within {BOUND:?}"))
    }

    async fn json(&self, method: Method, uri: &str, body: &str) -> (StatusCode, serde_json::Value) {
        let (status, bytes) = self.call(method, uri, body.as_bytes().to_vec()).await;
        let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, v)
    }

    async fn create(&self) -> String {
        let (status, v) = self
            .json(
                Method::POST,
                "/containers/create",
                r#"{"Image":"fake:latest"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v["Id"].as_str().expect("Id").to_string()
    }

    async fn status(&self, method: Method, uri: &str) -> StatusCode {
        self.call(method, uri, Vec::new()).await.0
    }

    async fn inspect(&self, id: &str) -> serde_json::Value {
        let (status, v) = self
            .json(Method::GET, &format!("/containers/{id}/json"), "")
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }
}

/// A `docker save` archive of one image with one empty layer: loads without root (nothing to
/// chown), and a fake task never looks into it.
fn tiny_image() -> Vec<u8> {
    let mut layer = tar::Builder::new(Vec::new());
    layer.finish().expect("layer");
    let layer = layer.into_inner().expect("layer");
    let diff_id = hex::encode(sha2::Sha256::digest(&layer));
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Cmd": ["sh"], "Env": ["PATH=/bin"] },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{diff_id}")] },
    })
    .to_string();
    let config_id = hex::encode(sha2::Sha256::digest(config.as_bytes()));
    let manifest = serde_json::json!([{
        "Config": format!("{config_id}.json"),
        "RepoTags": ["fake:latest"],
        "Layers": [format!("{diff_id}/layer.tar")],
    }])
    .to_string();
    let mut archive = tar::Builder::new(Vec::new());
    for (name, data) in [
        (format!("{config_id}.json"), config.into_bytes()),
        (format!("{diff_id}/layer.tar"), layer),
        ("manifest.json".to_string(), manifest.into_bytes()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        archive
            .append_data(&mut h, name, data.as_slice())
            .expect("append");
    }
    archive.into_inner().expect("archive")
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[tokio::test]
async fn lifecycle_through_the_router() {
    let f = Fixture::new().await;
    // Dying takes a while, so a kill that returned before the exit was recorded shows.
    f.fake.set_script(Script {
        dies_after: Some(Duration::from_millis(300)),
        ..Script::default()
    });
    let id = f.create().await;
    assert_eq!(f.inspect(&id).await["State"]["Status"], "created");

    let start = format!("/containers/{id}/start");
    assert_eq!(f.status(Method::POST, &start).await, StatusCode::NO_CONTENT);
    let state = f.inspect(&id).await["State"].clone();
    assert_eq!(state["Running"], true, "{state}");
    let pid = state["Pid"].as_i64().expect("Pid");
    assert!(pid >= 10_000, "the fake's pid: {state}");
    assert_eq!(f.fake.running_tasks(), std::slice::from_ref(&id));

    // A second start is not an error, only nothing to do.
    assert_eq!(
        f.status(Method::POST, &start).await,
        StatusCode::NOT_MODIFIED
    );
    let (status, v) = f
        .json(Method::DELETE, &format!("/containers/{id}"), "")
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("container is running")),
        "{v}"
    );

    // SIGKILL returns once the exit is recorded.
    let kill = format!("/containers/{id}/kill");
    assert_eq!(f.status(Method::POST, &kill).await, StatusCode::NO_CONTENT);
    let state = f.inspect(&id).await["State"].clone();
    assert_eq!(state["Running"], false, "{state}");
    assert_eq!(state["ExitCode"], 137, "{state}");
    assert_eq!(state["Pid"], 0, "{state}");
    assert_eq!(f.fake.live_tasks(), 0, "the exit deleted the task");
    // Killing a stopped container is dockerd's 409.
    assert_eq!(f.status(Method::POST, &kill).await, StatusCode::CONFLICT);

    let (status, v) = f
        .json(Method::POST, &format!("/containers/{id}/wait"), "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["StatusCode"], 137, "{v}");

    // Restartable; then a forced removal kills and removes it.
    assert_eq!(f.status(Method::POST, &start).await, StatusCode::NO_CONTENT);
    let rm = format!("/containers/{id}?force=1");
    assert_eq!(f.status(Method::DELETE, &rm).await, StatusCode::NO_CONTENT);
    assert_eq!(f.fake.live_tasks(), 0);
    assert_eq!(f.status(Method::POST, &start).await, StatusCode::NOT_FOUND);
    assert_eq!(
        f.status(Method::GET, &format!("/containers/{id}/json"))
            .await,
        StatusCode::NOT_FOUND
    );
    let calls = f.fake.calls();
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("create ")).count(),
        2,
        "{calls:?}"
    );
}

#[tokio::test]
async fn wait_returns_the_scripted_exit() {
    let f = Fixture::new().await;
    f.fake.set_script(Script {
        exit_after: Some(Duration::from_millis(200)),
        exit_code: 3,
        ..Script::default()
    });
    let id = f.create().await;
    let start = format!("/containers/{id}/start");
    assert_eq!(f.status(Method::POST, &start).await, StatusCode::NO_CONTENT);
    let (status, v) = f
        .json(Method::POST, &format!("/containers/{id}/wait"), "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["StatusCode"], 3, "{v}");
    let state = f.inspect(&id).await["State"].clone();
    assert_eq!(state["Status"], "exited", "{state}");
    assert_eq!(state["ExitCode"], 3, "{state}");
}

#[tokio::test]
async fn a_failed_create_leaves_the_container_created_with_the_error() {
    let f = Fixture::new().await;
    f.fake.set_script(Script {
        fail_create: Some("exec: \"nope\": executable file not found in $PATH".into()),
        ..Script::default()
    });
    let id = f.create().await;
    let (status, v) = f
        .json(Method::POST, &format!("/containers/{id}/start"), "")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let state = f.inspect(&id).await["State"].clone();
    assert_eq!(state["Status"], "created", "{state}");
    assert_eq!(state["ExitCode"], 127, "{state}");
    assert_eq!(f.fake.live_tasks(), 0);
}

#[tokio::test]
async fn events_list_the_lifecycle_in_order() {
    let f = Fixture::new().await;
    let since = now_secs();
    let id = f.create().await;
    assert_eq!(
        f.status(Method::POST, &format!("/containers/{id}/start"))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        f.status(Method::DELETE, &format!("/containers/{id}?force=1"))
            .await,
        StatusCode::NO_CONTENT
    );
    let until = now_secs() + 1;
    let uri = format!(
        "/events?since={since}&until={until}&filters=%7B%22type%22%3A%5B%22container%22%5D%7D"
    );
    let (status, body) = f.call(Method::GET, &uri, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<String> = String::from_utf8_lossy(&body)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["Actor"]["ID"] == id.as_str())
        .filter_map(|e| e["Action"].as_str().map(str::to_string))
        .collect();
    let wanted = ["create", "start", "die", "destroy"];
    let seen: Vec<&str> = actions
        .iter()
        .map(String::as_str)
        .filter(|a| wanted.contains(a))
        .collect();
    assert_eq!(seen, wanted, "all actions: {actions:?}");
}

#[tokio::test]
async fn version_prefixes() {
    let f = Fixture::new().await;
    let id = f.create().await;
    let (status, v) = f
        .json(Method::GET, &format!("/v1.45/containers/{id}/json"), "")
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["Id"], id.as_str());
    let (status, v) = f
        .json(Method::GET, &format!("/v1.12/containers/{id}/json"), "")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("too old")),
        "{v}"
    );
    let (status, v) = f
        .json(Method::GET, &format!("/v9.0/containers/{id}/json"), "")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("too new")),
        "{v}"
    );
}

/// Concurrent starts and forced removals of one container: whatever wins, no task runs for a
/// container that is gone, and a container that stays has at most its one task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_start_and_rm_leave_no_orphan_task() {
    let f = Arc::new(Fixture::new().await);
    // A kill that takes a moment opens the window between a removal's kill and its delete.
    f.fake.set_script(Script {
        dies_after: Some(Duration::from_millis(20)),
        ..Script::default()
    });
    for round in 0..8 {
        let id = f.create().await;
        let mut jobs = tokio::task::JoinSet::new();
        for i in 0..12 {
            let (f, id) = (f.clone(), id.clone());
            jobs.spawn(async move {
                let (method, uri) = if i % 3 == 2 {
                    (Method::DELETE, format!("/containers/{id}?force=1"))
                } else {
                    (Method::POST, format!("/containers/{id}/start"))
                };
                let status = f.status(method, &uri).await;
                assert!(
                    !status.is_server_error(),
                    "round {round}: {uri} answered {status}"
                );
            });
        }
        while let Some(done) = jobs.join_next().await {
            done.expect("a request panicked");
        }
        let exists = f
            .status(Method::GET, &format!("/containers/{id}/json"))
            .await;
        if exists == StatusCode::NOT_FOUND {
            assert_eq!(
                f.fake.live_tasks(),
                0,
                "round {round}: a task outlived its container: {:?}",
                f.fake.running_tasks()
            );
        } else {
            assert_eq!(exists, StatusCode::OK);
            assert!(f.fake.live_tasks() <= 1, "round {round}");
            let rm = format!("/containers/{id}?force=1");
            assert_eq!(f.status(Method::DELETE, &rm).await, StatusCode::NO_CONTENT);
            assert_eq!(f.fake.live_tasks(), 0, "round {round}");
        }
    }
}

/// Every verb at once on a few containers (start, stop, kill, restart, forced rm, list): no
/// request fails on the daemon's side (a restart that loses to a removal fails as dockerd's
/// does, naming it), and once settled the list (the in-memory view), inspect (the store) and
/// the tasks agree on every container.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_verbs_leave_list_inspect_and_tasks_in_agreement() {
    let f = Arc::new(Fixture::new().await);
    f.fake.set_script(Script {
        dies_after: Some(Duration::from_millis(5)),
        ..Script::default()
    });
    for round in 0..6 {
        let ids: Vec<String> = futures_util::future::join_all((0..4).map(|_| f.create())).await;
        let mut jobs = tokio::task::JoinSet::new();
        for i in 0..48usize {
            let (f, id) = (f.clone(), ids[(i * 7 + round) % ids.len()].clone());
            jobs.spawn(async move {
                let (method, uri) = match (i + round) % 7 {
                    0 | 1 => (Method::POST, format!("/containers/{id}/start")),
                    2 => (Method::POST, format!("/containers/{id}/stop?t=0")),
                    3 => (Method::POST, format!("/containers/{id}/kill")),
                    4 => (Method::POST, format!("/containers/{id}/restart?t=0")),
                    5 => (Method::GET, "/containers/json?all=1".to_string()),
                    _ if i % 3 == 0 => (Method::DELETE, format!("/containers/{id}?force=1")),
                    _ => (Method::POST, format!("/containers/{id}/start")),
                };
                let (status, body) = f.call(method, &uri, Vec::new()).await;
                let text = String::from_utf8_lossy(&body);
                let lost_to_removal = uri.ends_with("restart?t=0")
                    && text.contains("Cannot restart container")
                    && (text.contains("No such container") || text.contains("removal"));
                assert!(
                    !status.is_server_error() || lost_to_removal,
                    "round {round}: {uri} answered {status}: {text}"
                );
            });
        }
        while let Some(done) = jobs.join_next().await {
            done.expect("a request panicked");
        }
        // Exits are recorded by the monitors, after the requests: wait (bounded) for calm.
        let deadline = tokio::time::Instant::now() + BOUND;
        loop {
            let disagreement = disagreement(&f, &ids).await;
            match disagreement {
                None => break,
                Some(what) if tokio::time::Instant::now() > deadline => {
                    panic!("round {round}: {what}")
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        for id in &ids {
            let rm = format!("/containers/{id}?force=1");
            let status = f.status(Method::DELETE, &rm).await;
            assert!(matches!(status.as_u16(), 204 | 404), "{status}");
        }
        assert_eq!(f.fake.live_tasks(), 0, "round {round}");
    }
}

/// What the list, inspect and the fake's tasks disagree on, if anything.
async fn disagreement(f: &Fixture, ids: &[String]) -> Option<String> {
    let (_, list) = f.json(Method::GET, "/containers/json?all=1", "").await;
    let listed: std::collections::HashMap<String, String> = list
        .as_array()?
        .iter()
        .map(|c| {
            (
                c["Id"].as_str().unwrap_or("").to_string(),
                c["State"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let running_tasks = f.fake.running_tasks();
    let mut running = 0;
    for id in ids {
        let (status, v) = f
            .json(Method::GET, &format!("/containers/{id}/json"), "")
            .await;
        if status == StatusCode::NOT_FOUND {
            if listed.contains_key(id) || running_tasks.contains(id) {
                return Some(format!("{id} is gone but listed or running"));
            }
            continue;
        }
        let state = v["State"]["Status"].as_str().unwrap_or("").to_string();
        if listed.get(id) != Some(&state) {
            return Some(format!(
                "{id}: inspect says {state}, the list {:?}",
                listed.get(id)
            ));
        }
        let has_task = running_tasks.iter().filter(|t| *t == id).count();
        if (state == "running") != (has_task == 1) || has_task > 1 {
            return Some(format!("{id}: {state} with {has_task} running tasks"));
        }
        running += usize::from(state == "running");
    }
    (f.fake.live_tasks() != running).then(|| {
        format!(
            "{} live tasks for {running} running containers",
            f.fake.live_tasks()
        )
    })
}
