//! The shim as a process table, against a real runtime (runc, or `BERTH_TEST_RUNTIME`): exec
//! processes with their own stdio, attach, exit codes, terminals, stdin and signals; runtime
//! calls that run beside the event loop; and the protocol's version handshake, old shims
//! included.

#[path = "support/shim.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use berth::shim::proto::{self, ErrorKind, PROTO_VERSION, ProtoVersion, Request, Response};
use berth::task::{AttachOptions, ExecConfig, Task, TaskError, TaskStatus, Tasks};
use support::{Fixture, exec_process, read_all_frames, read_until, stream_bytes, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

const BOUND: Duration = Duration::from_secs(30);

const OUT_ERR: AttachOptions = AttachOptions {
    stdin: false,
    stdout: true,
    stderr: true,
};

/// A running container that does nothing but wait to be exec'd into.
async fn running(fx: &Fixture) -> Task {
    let task = within(BOUND, fx.create()).await;
    within(BOUND, task.start()).await.unwrap();
    task
}

fn exec(id: &str, args: &[&str], tty: bool, stdin: bool) -> ExecConfig {
    ExecConfig {
        exec_id: id.into(),
        process: exec_process(args, tty),
        stdin,
        stdout: true,
        stderr: true,
    }
}

async fn finish(task: &Task) {
    task.kill(libc::SIGKILL, true).await.unwrap();
    within(BOUND, task.wait()).await.unwrap();
    within(BOUND, task.delete()).await.unwrap();
    assert!(support::wait_exit(task.shim_pid(), Duration::from_secs(5)));
}

#[tokio::test]
async fn exec_output_is_attached_by_stream_and_its_exit_waited() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = running(&fx).await;
    let cfg = exec(
        "e1",
        &["sh", "-c", "echo out; echo err >&2; echo more; exit 3"],
        false,
        false,
    );
    within(BOUND, task.exec_create(&cfg)).await.unwrap();
    let st = task.exec_state("e1").await.unwrap();
    assert_eq!(
        (st.id.as_str(), st.status, st.pid),
        ("e1", TaskStatus::Created, 0)
    );
    // As docker exec does: attach first, then start, so nothing is lost.
    let mut a = task.exec_attach("e1", OUT_ERR).await.unwrap();
    let pid = within(BOUND, task.exec_start("e1")).await.unwrap();
    assert!(pid > 0 && pid != task.pid());
    let frames = read_all_frames(&mut a, BOUND).await;
    assert_eq!(stream_bytes(&frames, 1), b"out\nmore\n");
    assert_eq!(stream_bytes(&frames, 2), b"err\n");
    let exit = within(BOUND, task.exec_wait("e1")).await.unwrap();
    assert_eq!(exit.code, 3);
    let st = task.exec_state("e1").await.unwrap();
    assert_eq!(
        (st.status, st.pid, st.exit),
        (TaskStatus::Stopped, pid, Some(exit))
    );
    // The container goes on; exec output is not the container's log (as in dockerd).
    assert_eq!(task.state().await.unwrap().status, TaskStatus::Running);
    assert!(fx.log_records().is_empty(), "{:?}", fx.log_records());
    // A second start is refused; the record goes on delete, and then is unknown.
    let again = task.exec_start("e1").await.unwrap_err();
    assert!(matches!(again, TaskError::Precondition(_)), "{again:?}");
    task.exec_delete("e1").await.unwrap();
    let gone = task.exec_state("e1").await.unwrap_err();
    assert!(matches!(gone, TaskError::NoSuchProcess(_)), "{gone:?}");
    assert!(gone.to_string().contains("e1"), "{gone}");
    // The id is free again.
    within(BOUND, task.exec_create(&cfg)).await.unwrap();
    finish(&task).await;
}

#[tokio::test]
async fn output_before_the_first_attach_is_kept_for_it() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = running(&fx).await;
    let cfg = exec(
        "early",
        &["sh", "-c", "echo early; echo late >&2"],
        false,
        false,
    );
    task.exec_create(&cfg).await.unwrap();
    within(BOUND, task.exec_start("early")).await.unwrap();
    assert_eq!(
        within(BOUND, task.exec_wait("early")).await.unwrap().code,
        0
    );
    let mut a = task.exec_attach("early", OUT_ERR).await.unwrap();
    let frames = read_all_frames(&mut a, BOUND).await;
    assert_eq!(stream_bytes(&frames, 1), b"early\n");
    assert_eq!(stream_bytes(&frames, 2), b"late\n");
    finish(&task).await;
}

#[tokio::test]
async fn exec_with_a_terminal_and_resize() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = running(&fx).await;
    let cfg = exec(
        "t1",
        &["sh", "-c", "tty; read x; stty size; echo done-$x"],
        true,
        true,
    );
    task.exec_create(&cfg).await.unwrap();
    let mut a = task
        .exec_attach(
            "t1",
            AttachOptions {
                stdin: true,
                stdout: true,
                stderr: true,
            },
        )
        .await
        .unwrap();
    within(BOUND, task.exec_start("t1")).await.unwrap();
    assert!(
        read_until(&mut a, "/dev/pts/", BOUND)
            .await
            .contains("/dev/pts/")
    );
    task.exec_resize("t1", 123, 45).await.unwrap();
    a.write_all(b"go\n").await.unwrap();
    let seen = read_until(&mut a, "done-go", BOUND).await;
    assert!(seen.contains("45 123"), "{seen:?}");
    assert_eq!(within(BOUND, task.exec_wait("t1")).await.unwrap().code, 0);
    // The init's terminal was not the one resized: it has none.
    assert!(!task.state().await.unwrap().tty);
    finish(&task).await;
}

#[tokio::test]
async fn two_execs_at_once_keep_their_own_streams() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = running(&fx).await;
    let script = |tag: &str| format!("for i in 1 2 3 4 5; do echo {tag}$i; sleep 0.1; done");
    let (sa, sb) = (script("A"), script("B"));
    task.exec_create(&exec("a", &["sh", "-c", &sa], false, false))
        .await
        .unwrap();
    task.exec_create(&exec("b", &["sh", "-c", &sb], false, false))
        .await
        .unwrap();
    let mut aa = task.exec_attach("a", OUT_ERR).await.unwrap();
    let mut ab = task.exec_attach("b", OUT_ERR).await.unwrap();
    let (pa, pb) = tokio::join!(task.exec_start("a"), task.exec_start("b"));
    assert_ne!(pa.unwrap(), pb.unwrap());
    let (fa, fb) = tokio::join!(
        read_all_frames(&mut aa, BOUND),
        read_all_frames(&mut ab, BOUND)
    );
    assert_eq!(stream_bytes(&fa, 1), b"A1\nA2\nA3\nA4\nA5\n");
    assert_eq!(stream_bytes(&fb, 1), b"B1\nB2\nB3\nB4\nB5\n");
    let (wa, wb) = tokio::join!(task.exec_wait("a"), task.exec_wait("b"));
    assert_eq!((wa.unwrap().code, wb.unwrap().code), (0, 0));
    finish(&task).await;
}

#[tokio::test]
async fn stdin_goes_to_the_exec_and_closes_on_request() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = running(&fx).await;
    task.exec_create(&exec("cat", &["cat"], false, true))
        .await
        .unwrap();
    let mut a = task
        .exec_attach(
            "cat",
            AttachOptions {
                stdin: true,
                stdout: true,
                stderr: true,
            },
        )
        .await
        .unwrap();
    within(BOUND, task.exec_start("cat")).await.unwrap();
    a.write_all(b"hello exec\n").await.unwrap();
    read_until(&mut a, "hello exec\n", BOUND).await;
    // cat ends only when its stdin closes.
    assert_eq!(
        task.exec_state("cat").await.unwrap().status,
        TaskStatus::Running
    );
    task.exec_close_stdin("cat").await.unwrap();
    assert_eq!(within(BOUND, task.exec_wait("cat")).await.unwrap().code, 0);
    finish(&task).await;
}

#[tokio::test]
async fn killing_an_exec_leaves_the_container_running() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = running(&fx).await;
    task.exec_create(&exec("s", &["sleep", "1000"], false, false))
        .await
        .unwrap();
    // Not started: nothing to signal, and bad requests change nothing.
    assert!(matches!(
        task.exec_kill("s", libc::SIGKILL).await,
        Err(TaskError::Precondition(_))
    ));
    within(BOUND, task.exec_start("s")).await.unwrap();
    let running = task.exec_delete("s").await.unwrap_err();
    assert!(running.to_string().contains("kill it first"), "{running}");
    assert!(matches!(
        task.exec_kill("s", 999).await,
        Err(TaskError::Shim(m)) if m.contains("invalid signal")
    ));
    task.exec_kill("s", libc::SIGKILL).await.unwrap();
    assert_eq!(within(BOUND, task.exec_wait("s")).await.unwrap().code, 137);
    assert!(matches!(
        task.exec_kill("s", libc::SIGKILL).await,
        Err(TaskError::Precondition(_))
    ));
    assert_eq!(task.state().await.unwrap().status, TaskStatus::Running);
    task.exec_delete("s").await.unwrap();
    finish(&task).await;
}

#[tokio::test]
async fn bad_exec_requests_are_refused_clearly() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = running(&fx).await;
    let err = task
        .exec_create(&exec("../x", &["true"], false, false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid exec id"), "{err}");
    task.exec_create(&exec("dup", &["true"], false, false))
        .await
        .unwrap();
    let err = task
        .exec_create(&exec("dup", &["true"], false, false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = task.exec_start("nobody").await.unwrap_err();
    assert!(matches!(err, TaskError::NoSuchProcess(_)), "{err:?}");
    // Deleting one that never ran answers whoever waited on it.
    let waiting = tokio::spawn({
        let task = task.clone();
        async move { task.exec_wait("dup").await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    task.exec_delete("dup").await.unwrap();
    let err = within(BOUND, waiting).await.unwrap().unwrap_err();
    assert!(matches!(err, TaskError::NoSuchProcess(_)), "{err:?}");
    // A command that is not there: the runtime's message, and dockerd's exit code for it.
    task.exec_create(&exec("missing", &["/no/such/binary"], false, false))
        .await
        .unwrap();
    let err = within(BOUND, task.exec_start("missing")).await.unwrap_err();
    assert!(matches!(err, TaskError::Runtime { .. }), "{err:?}");
    let exit = within(BOUND, task.exec_wait("missing")).await.unwrap();
    assert!(matches!(exit.code, 126 | 127), "{exit:?}");
    // No files of the failed start are left in the state dir.
    let leftovers: Vec<_> = std::fs::read_dir(fx.state_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("exec-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    finish(&task).await;
    // After the container's exit, no exec.
    let fx = Fixture::new(&["true"], false, false);
    let task = running(&fx).await;
    within(BOUND, task.wait()).await.unwrap();
    let err = task
        .exec_create(&exec("late", &["true"], false, false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("stopped container"), "{err}");
    within(BOUND, task.delete()).await.unwrap();
}

fn unix_now() -> i64 {
    berth::util::time::now_nanos()
}

#[tokio::test]
async fn output_and_requests_keep_flowing_during_a_slow_runtime_call() {
    let mut fx = Fixture::new(
        &["sh", "-c", "while true; do echo tick; sleep 0.1; done"],
        false,
        false,
    );
    // `exec` is slow: the shim must keep serving while the runtime works on it.
    fx.runtime = fx.slow_runtime("exec", 3);
    let task = running(&fx).await;
    let mut a = task.attach(OUT_ERR).await.unwrap();
    read_until(&mut a, "tick", BOUND).await;
    task.exec_create(&exec("slow", &["echo", "slow-done"], false, false))
        .await
        .unwrap();
    let mut ea = task.exec_attach("slow", OUT_ERR).await.unwrap();
    let started = unix_now();
    let t0 = Instant::now();
    let starting = tokio::spawn({
        let task = task.clone();
        async move { task.exec_start("slow").await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Other requests are answered while the runtime works, other runtime calls included.
    let asked = Instant::now();
    let st = within(BOUND, task.state()).await.unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(st.status, TaskStatus::Running);
    within(BOUND, task.pids()).await.unwrap();
    let again = task.exec_start("slow").await.unwrap_err();
    assert!(again.to_string().contains("is starting"), "{again}");
    // The init's output reaches attachers meanwhile.
    let mut seen = 0;
    let _ = tokio::time::timeout(Duration::from_millis(800), async {
        while let Some((_, b)) = support::read_frame(&mut a).await {
            seen += String::from_utf8_lossy(&b).matches("tick").count();
        }
    })
    .await;
    assert!(!starting.is_finished(), "the runtime call was not slow");
    assert!(seen > 0, "no output while the runtime ran");
    within(BOUND, starting).await.unwrap().unwrap();
    let ended = unix_now();
    assert!(t0.elapsed() >= Duration::from_secs(3));
    let frames = read_all_frames(&mut ea, BOUND).await;
    assert_eq!(stream_bytes(&frames, 1), b"slow-done\n");
    // The log got lines stamped while the call ran, not in one burst after it.
    let during = fx
        .log_records()
        .iter()
        .filter_map(|r| berth::util::time::parse_rfc3339(r["time"].as_str()?))
        .filter(|t| *t > started + 500_000_000 && *t < ended - 500_000_000)
        .count();
    assert!(during >= 5, "{during} log lines stamped during the call");
    finish(&task).await;
}

/// One raw frame exchange, for what the typed client does not send.
async fn send(s: &mut UnixStream, req: &Request) {
    s.write_all(&proto::encode(req).unwrap()).await.unwrap();
}

async fn recv(s: &mut UnixStream) -> Response {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let mut body = vec![0u8; proto::frame_len(len).unwrap()];
    s.read_exact(&mut body).await.unwrap();
    proto::decode(&body).unwrap()
}

fn socket(fx: &Fixture) -> std::path::PathBuf {
    fx.state_dir().join(proto::SOCKET_NAME)
}

#[tokio::test]
async fn the_handshake_agrees_refuses_other_majors_and_is_optional() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = running(&fx).await;
    assert_eq!(task.proto_version(), PROTO_VERSION);
    // Reconnecting (a restarted daemon) learns the version again.
    let again = within(BOUND, support::tasks().connect(fx.state_dir()))
        .await
        .unwrap();
    assert_eq!(again.proto_version(), PROTO_VERSION);
    // Hello and the request in one write: both answered, in order.
    let mut s = UnixStream::connect(socket(&fx)).await.unwrap();
    send(
        &mut s,
        &Request::Hello {
            version: ProtoVersion::new(PROTO_VERSION.major, PROTO_VERSION.minor + 1),
        },
    )
    .await;
    send(&mut s, &Request::State).await;
    assert_eq!(
        within(BOUND, recv(&mut s)).await,
        Response::Hello {
            version: PROTO_VERSION
        }
    );
    assert!(matches!(
        within(BOUND, recv(&mut s)).await,
        Response::State(_)
    ));
    // A client of a future major version is refused, both versions named, and its request is
    // not served.
    let future = ProtoVersion::new(PROTO_VERSION.major + 98, 0);
    // Both frames go in one write: the shim closes after its refusal, so a second write could
    // meet a closed socket (EPIPE) depending on scheduling.
    let mut s = UnixStream::connect(socket(&fx)).await.unwrap();
    let mut frames = proto::encode(&Request::Hello { version: future }).unwrap();
    frames.extend(
        proto::encode(&Request::Kill {
            signal: libc::SIGKILL,
            all: true,
        })
        .unwrap(),
    );
    s.write_all(&frames).await.unwrap();
    match within(BOUND, recv(&mut s)).await {
        Response::Error {
            kind: ErrorKind::Version,
            message,
        } => {
            assert!(message.contains(&future.to_string()), "{message}");
            assert!(message.contains(&PROTO_VERSION.to_string()), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let mut rest = Vec::new();
    within(BOUND, s.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty());
    assert_eq!(task.state().await.unwrap().status, TaskStatus::Running);
    // A client of protocol 0 (no Hello) is served as before.
    let mut s = UnixStream::connect(socket(&fx)).await.unwrap();
    send(&mut s, &Request::State).await;
    match within(BOUND, recv(&mut s)).await {
        Response::State(st) => assert_eq!(st.status, TaskStatus::Running),
        other => panic!("{other:?}"),
    }
    finish(&task).await;
}

/// A stand-in shim on `dir/shim.sock` answering one frame per connection with `answer`.
fn fake_shim(dir: &Path, answer: fn(serde_json::Value) -> Response) -> tokio::task::JoinHandle<()> {
    let l = UnixListener::bind(dir.join(proto::SOCKET_NAME)).unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut len = [0u8; 4];
            if s.read_exact(&mut len).await.is_err() {
                continue;
            }
            let mut body = vec![0u8; proto::frame_len(len).unwrap()];
            if s.read_exact(&mut body).await.is_err() {
                continue;
            }
            let req: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let _ = s.write_all(&proto::encode(&answer(req)).unwrap()).await;
            // One request per connection, then closed, as shims do.
        }
    })
}

/// What a shim of protocol 0 answers: it cannot decode `Hello`, and serves the rest.
fn legacy_answer(req: serde_json::Value) -> Response {
    if req.get("Hello").is_some() {
        return Response::Error {
            kind: ErrorKind::BadRequest,
            message: "decoding a frame: unknown variant `Hello`, expected one of `State`, ..."
                .into(),
        };
    }
    assert_eq!(req, serde_json::json!("State"), "a protocol-0 verb");
    Response::State(berth::task::TaskState {
        id: "old".into(),
        pid: 4242,
        status: TaskStatus::Running,
        exit: None,
        tty: false,
        stdin: false,
    })
}

fn future_answer(_: serde_json::Value) -> Response {
    Response::Hello {
        version: ProtoVersion::new(PROTO_VERSION.major + 8, 1),
    }
}

#[tokio::test]
async fn a_shim_without_the_handshake_is_driven_for_the_init_and_a_future_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = fake_shim(dir.path(), legacy_answer);
    let task = within(BOUND, support::tasks().connect(dir.path()))
        .await
        .unwrap();
    assert_eq!(task.proto_version(), proto::PROTO_LEGACY);
    assert_eq!((task.id(), task.pid()), ("old", 4242));
    // Its verbs go without Hello (the stand-in would refuse a Hello in their place).
    assert_eq!(task.state().await.unwrap().status, TaskStatus::Running);
    // What it never had is refused by the daemon side, saying why.
    let err = task
        .exec_create(&exec("e", &["true"], false, false))
        .await
        .unwrap_err();
    assert!(matches!(err, TaskError::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("restart the container"), "{err}");
    server.abort();

    let dir = tempfile::tempdir().unwrap();
    let server = fake_shim(dir.path(), future_answer);
    let err = within(BOUND, support::tasks().connect(dir.path()))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TaskError::Version(_)), "{err:?}");
    let theirs = ProtoVersion::new(PROTO_VERSION.major + 8, 1).to_string();
    assert!(
        msg.contains(&theirs) && msg.contains(&PROTO_VERSION.to_string()),
        "{msg}"
    );
    server.abort();
}

/// With `BERTH_TEST_OLD_SHIM` naming a berth-shim built before the handshake (e.g. the main
/// checkout's), a container it runs is driven by this daemon side: create, attach, start,
/// state, wait, delete.
#[tokio::test]
async fn a_real_shim_of_the_previous_protocol_still_works() {
    let Some(old) = std::env::var_os("BERTH_TEST_OLD_SHIM") else {
        eprintln!("SKIP a_real_shim_of_the_previous_protocol_still_works: no BERTH_TEST_OLD_SHIM");
        return;
    };
    let fx = Fixture::new(&["sh", "-c", "read x; echo got-$x"], false, true);
    let task = within(BOUND, Tasks::new(old.into()).create(&fx.config()))
        .await
        .unwrap();
    fx.track(&task);
    assert_eq!(task.proto_version(), proto::PROTO_LEGACY);
    let mut a = task
        .attach(AttachOptions {
            stdin: true,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap();
    within(BOUND, task.start()).await.unwrap();
    let again = within(BOUND, support::tasks().connect(fx.state_dir()))
        .await
        .unwrap();
    assert_eq!(again.proto_version(), proto::PROTO_LEGACY);
    assert_eq!(again.state().await.unwrap().status, TaskStatus::Running);
    a.write_all(b"old\n").await.unwrap();
    read_until(&mut a, "got-old", BOUND).await;
    assert_eq!(within(BOUND, again.wait()).await.unwrap().code, 0);
    within(BOUND, again.delete()).await.unwrap();
    assert!(support::wait_exit(task.shim_pid(), Duration::from_secs(5)));
}

#[tokio::test]
async fn an_idle_shim_with_execs_behind_it_gives_memory_back() {
    let fx = Fixture::new(&["sleep", "1000"], false, false);
    let task = running(&fx).await;
    for i in 0..3 {
        let id = format!("x{i}");
        task.exec_create(&exec(&id, &["echo", "hi"], false, false))
            .await
            .unwrap();
        let mut a = task.exec_attach(&id, OUT_ERR).await.unwrap();
        within(BOUND, task.exec_start(&id)).await.unwrap();
        read_all_frames(&mut a, BOUND).await;
        within(BOUND, task.exec_wait(&id)).await.unwrap();
        task.exec_delete(&id).await.unwrap();
    }
    let busy = support::shim_rss_kib(task.shim_pid());
    // Idleness is the condition under test: the shim trims itself after 1 s without events.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let idle = support::shim_rss_kib(task.shim_pid());
    let pss = support::shim_pss_kib(task.shim_pid());
    eprintln!("shim after execs: VmRSS {busy} KiB busy, {idle} KiB idle, PSS {pss} KiB");
    assert!(idle < busy, "no trim: {busy} KiB busy, {idle} KiB idle");
    assert!(idle < 4096, "idle shim uses {idle} KiB");
    finish(&task).await;
}
