//! The shim's handling of container I/O against runc: the json-file log (streams, line splitting,
//! rotation), attach streams (stdcopy frames, tty), stdin, pty resize, and slow clients.

#[path = "support/shim.rs"]
mod support;

use std::time::{Duration, Instant};

use berth::task::{AttachOptions, Task};
use support::{Fixture, read_all_frames, read_until, stream_bytes, within};
use tokio::io::AsyncWriteExt;

const BOUND: Duration = Duration::from_secs(30);

const ALL: AttachOptions = AttachOptions {
    stdin: false,
    stdout: true,
    stderr: true,
};

async fn finish(fx: &Fixture, task: &Task) -> i32 {
    let code = within(BOUND, task.wait()).await.unwrap().code;
    within(BOUND, task.delete()).await.unwrap();
    assert!(support::wait_exit(task.shim_pid(), Duration::from_secs(5)));
    assert!(!fx.runc_knows());
    code
}

fn logs(fx: &Fixture) -> Vec<(String, String)> {
    fx.log_records()
        .into_iter()
        .map(|r| {
            assert!(
                berth::util::time::parse_rfc3339(r["time"].as_str().unwrap()).is_some(),
                "{r}"
            );
            (
                r["stream"].as_str().unwrap().to_string(),
                r["log"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn log_has_streams_lines_and_partials() {
    let fx = Fixture::new(
        &[
            "sh",
            "-c",
            "echo out1; echo err1 >&2; printf 'a\\nb'; sleep 0.2; printf 'c\\n\\n'; printf tail",
        ],
        false,
        false,
    );
    let task = within(BOUND, fx.create()).await;
    within(BOUND, task.start()).await.unwrap();
    assert_eq!(finish(&fx, &task).await, 0);
    let mut out: Vec<_> = logs(&fx);
    // stdout and stderr are separate pipes: order only holds within a stream.
    let err: Vec<_> = out.iter().filter(|(s, _)| s == "stderr").cloned().collect();
    out.retain(|(s, _)| s == "stdout");
    assert_eq!(err, vec![("stderr".into(), "err1\n".into())]);
    let lines: Vec<&str> = out.iter().map(|(_, l)| l.as_str()).collect();
    // "b" waits for its newline across writes; the last line has none and stays partial.
    assert_eq!(lines, vec!["out1\n", "a\n", "bc\n", "\n", "tail"]);
}

#[tokio::test]
async fn long_lines_are_split_as_dockerd_does() {
    // 40000 bytes without a newline, then a newline: 16 KiB, 16 KiB, rest + "\n".
    let fx = Fixture::new(
        &["sh", "-c", "head -c 40000 /dev/zero | tr '\\0' x; echo"],
        false,
        false,
    );
    let task = within(BOUND, fx.create()).await;
    within(BOUND, task.start()).await.unwrap();
    finish(&fx, &task).await;
    let recs = fx.log_records();
    let lens: Vec<usize> = recs
        .iter()
        .map(|r| r["log"].as_str().unwrap().len())
        .collect();
    assert_eq!(lens, vec![16384, 16384, 40000 - 32768 + 1]);
    // The pieces of one line share its first timestamp.
    assert!(recs.iter().all(|r| r["time"] == recs[0]["time"]));
}

#[tokio::test]
async fn attach_before_start_sees_everything_framed() {
    let fx = Fixture::new(
        &[
            "sh",
            "-c",
            "echo first; echo oops >&2; i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); done",
        ],
        false,
        false,
    );
    let task = within(BOUND, fx.create()).await;
    let mut all = task.attach(ALL).await.unwrap();
    let mut only_err = task
        .attach(AttachOptions {
            stdin: false,
            stdout: false,
            stderr: true,
        })
        .await
        .unwrap();
    within(BOUND, task.start()).await.unwrap();
    let frames = read_all_frames(&mut all, BOUND).await;
    let out = String::from_utf8(stream_bytes(&frames, 1)).unwrap();
    let mut expected = String::from("first\n");
    for i in 0..100 {
        expected.push_str(&format!("line-{i}\n"));
    }
    assert_eq!(out, expected);
    assert_eq!(stream_bytes(&frames, 2), b"oops\n");
    assert!(frames.iter().all(|(s, _)| *s == 1 || *s == 2));
    let err_frames = read_all_frames(&mut only_err, BOUND).await;
    assert!(err_frames.iter().all(|(s, _)| *s == 2), "{err_frames:?}");
    assert_eq!(stream_bytes(&err_frames, 2), b"oops\n");
    // The stream ended after the exit was recorded.
    assert!(berth::task::Tasks::exit_status(fx.state_dir()).is_some());
    assert_eq!(finish(&fx, &task).await, 0);
}

#[tokio::test]
async fn attach_after_exit_ends_at_once() {
    let fx = Fixture::new(&["true"], false, false);
    let task = within(BOUND, fx.create()).await;
    within(BOUND, task.start()).await.unwrap();
    within(BOUND, task.wait()).await.unwrap();
    let mut s = task.attach(ALL).await.unwrap();
    assert!(read_all_frames(&mut s, BOUND).await.is_empty());
    finish(&fx, &task).await;
}

#[tokio::test]
async fn tty_output_is_raw_on_stream_one() {
    let fx = Fixture::new(&["sh", "-c", "echo hello; echo world >&2"], true, false);
    let task = within(BOUND, fx.create()).await;
    let mut s = task.attach(ALL).await.unwrap();
    within(BOUND, task.start()).await.unwrap();
    let frames = read_all_frames(&mut s, BOUND).await;
    assert!(frames.iter().all(|(st, _)| *st == 1), "{frames:?}");
    assert_eq!(stream_bytes(&frames, 1), b"hello\r\nworld\r\n");
    assert_eq!(finish(&fx, &task).await, 0);
    let lines = logs(&fx);
    assert_eq!(
        lines,
        vec![
            ("stdout".into(), "hello\r\n".into()),
            ("stdout".into(), "world\r\n".into())
        ]
    );
}

#[tokio::test]
async fn stdin_is_forwarded_and_closed_only_on_request() {
    let fx = Fixture::new(&["cat"], false, true);
    let task = within(BOUND, fx.create()).await;
    let mut a = task
        .attach(AttachOptions {
            stdin: true,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap();
    within(BOUND, task.start()).await.unwrap();
    a.write_all(b"hello\n").await.unwrap();
    read_until(&mut a, "hello\n", BOUND).await;
    // A half-close of the attach stream is not a stdin close: cat keeps reading...
    a.shutdown().await.unwrap();
    let mut b = task
        .attach(AttachOptions {
            stdin: true,
            stdout: false,
            stderr: false,
        })
        .await
        .unwrap();
    b.write_all(b"again\n").await.unwrap();
    // ...and the first stream, still open for reading, sees the echo.
    read_until(&mut a, "again\n", BOUND).await;
    assert_eq!(
        task.state().await.unwrap().status,
        berth::task::TaskStatus::Running
    );
    task.close_stdin().await.unwrap();
    assert_eq!(within(BOUND, task.wait()).await.unwrap().code, 0);
    assert!(read_all_frames(&mut a, BOUND).await.is_empty());
    finish(&fx, &task).await;
    let lines: Vec<String> = logs(&fx).into_iter().map(|(_, l)| l).collect();
    assert_eq!(lines, vec!["hello\n", "again\n"]);
}

#[tokio::test]
async fn tty_stdin_and_resize() {
    let fx = Fixture::new(&["sh", "-c", "read x; stty size; echo got-$x"], true, true);
    let task = within(BOUND, fx.create()).await;
    let mut a = task
        .attach(AttachOptions {
            stdin: true,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap();
    within(BOUND, task.start()).await.unwrap();
    task.resize(123, 45).await.unwrap();
    a.write_all(b"abc\r").await.unwrap();
    let seen = read_until(&mut a, "got-abc", BOUND).await;
    assert!(seen.contains("45 123\r\n"), "{seen:?}");
    assert_eq!(within(BOUND, task.wait()).await.unwrap().code, 0);
    finish(&fx, &task).await;
}

#[tokio::test]
async fn resize_without_a_tty_is_a_no_op() {
    let fx = Fixture::new(&["true"], false, false);
    let task = within(BOUND, fx.create()).await;
    task.resize(80, 24).await.unwrap();
    within(BOUND, task.start()).await.unwrap();
    finish(&fx, &task).await;
}

#[tokio::test]
async fn log_rotates_by_size_and_count() {
    let mut fx = Fixture::new(
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done",
        ],
        false,
        false,
    );
    fx.log_max_size = Some(10_000);
    fx.log_max_files = 3;
    let task = within(BOUND, fx.create()).await;
    within(BOUND, task.start()).await.unwrap();
    finish(&fx, &task).await;
    let name = |suffix: &str| {
        let mut p = fx.log.clone().into_os_string();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    assert!(name(".1").exists() && name(".2").exists());
    assert!(!name(".3").exists());
    let mut lines = Vec::new();
    for f in [name(".2"), name(".1"), fx.log.clone()] {
        let size = std::fs::metadata(&f).unwrap().len();
        // Rotation happens before the write that follows reaching max-size.
        assert!(size < 10_000 + 200, "{} is {size} bytes", f.display());
        for r in support::read_log(&f) {
            lines.push(r["log"].as_str().unwrap().trim_end().to_string());
        }
    }
    assert_eq!(lines.last().unwrap(), "line-2999");
    let first: usize = lines[0].strip_prefix("line-").unwrap().parse().unwrap();
    assert!(first > 0, "nothing was rotated away");
    for (k, l) in lines.iter().enumerate() {
        assert_eq!(*l, format!("line-{}", first + k));
    }
}

#[tokio::test]
async fn a_slow_attacher_does_not_block_the_container_or_others() {
    const LINES: usize = 400_000;
    let script = format!("yes 0123456789abcdef | head -n {LINES}");
    let fx = Fixture::new(&["sh", "-c", &script], false, false);
    let task = within(BOUND, fx.create()).await;
    // Never read: its backlog fills and the shim drops it.
    let mut slow = task.attach(ALL).await.unwrap();
    let mut fast = task.attach(ALL).await.unwrap();
    let started = Instant::now();
    within(BOUND, task.start()).await.unwrap();
    let frames = read_all_frames(&mut fast, BOUND).await;
    assert_eq!(stream_bytes(&frames, 1).len(), LINES * 17);
    let exit = within(BOUND, task.wait()).await.unwrap();
    assert_eq!(exit.code, 0);
    eprintln!("{LINES} lines through the shim in {:?}", started.elapsed());
    // The slow one got at most its backlog and then an end of stream.
    let slow_frames = read_all_frames(&mut slow, BOUND).await;
    let got = stream_bytes(&slow_frames, 1).len();
    assert!(got < LINES * 17, "the slow client got everything ({got})");
    finish(&fx, &task).await;
    assert_eq!(fx.log_records().len(), LINES);
}

#[tokio::test]
async fn an_idle_shim_gives_memory_back_and_keeps_serving() {
    let fx = Fixture::new(&["cat"], false, true);
    let task = within(BOUND, fx.create()).await;
    let mut a = task
        .attach(AttachOptions {
            stdin: true,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap();
    within(BOUND, task.start()).await.unwrap();
    a.write_all(b"before\n").await.unwrap();
    read_until(&mut a, "before\n", BOUND).await;
    let busy = support::shim_rss_kib(task.shim_pid());
    // Idleness is the condition under test, so this waits it out: the shim trims itself after
    // berth::shim's IDLE_TRIM_AFTER (1 s) without events.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let idle = support::shim_rss_kib(task.shim_pid());
    eprintln!("shim VmRSS: {busy} KiB busy, {idle} KiB idle");
    assert!(idle < busy, "no trim: {busy} KiB busy, {idle} KiB idle");
    // Everything still works: stdin, attach output, the log, stdin close and the exit.
    a.write_all(b"after\n").await.unwrap();
    read_until(&mut a, "after\n", BOUND).await;
    task.close_stdin().await.unwrap();
    assert_eq!(within(BOUND, task.wait()).await.unwrap().code, 0);
    finish(&fx, &task).await;
    let lines: Vec<String> = logs(&fx).into_iter().map(|(_, l)| l).collect();
    assert_eq!(lines, vec!["before\n", "after\n"]);
}
