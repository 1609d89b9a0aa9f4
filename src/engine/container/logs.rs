//! `docker logs`: the json-file log the shim writes (with its rotated files), filtered, and
//! followed with inotify until the container stops. Reads run on blocking threads a block at a
//! time, so memory is bounded by what is being sent, whatever the size of the log.

mod files;

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use serde::Deserialize;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use self::files::Cursor;
use crate::engine::{Engine, Error, Result};
use crate::util::time::parse_rfc3339;

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    /// Unix nanos; entries before are skipped.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Only the last N lines of the log; as dockerd, counted before the stream and time
    /// filters pick among them.
    pub tail: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// 1 = stdout, 2 = stderr (stdcopy's numbering).
    pub stream: u8,
    pub bytes: Vec<u8>,
    /// Unix nanos.
    pub time: i64,
}

#[derive(Deserialize)]
struct Line {
    log: String,
    stream: String,
    time: String,
}

fn parse_line(line: &[u8]) -> Option<LogEntry> {
    let l: Line = serde_json::from_slice(line).ok()?;
    Some(LogEntry {
        stream: if l.stream == "stderr" { 2 } else { 1 },
        bytes: l.log.into_bytes(),
        time: parse_rfc3339(&l.time).unwrap_or(0),
    })
}

impl LogOptions {
    fn wants(&self, e: &LogEntry) -> bool {
        (if e.stream == 2 {
            self.stderr
        } else {
            self.stdout
        }) && self.since.is_none_or(|s| e.time >= s)
            && self.until.is_none_or(|u| e.time <= u)
    }
}

/// What one step of reading gave.
enum Step {
    /// The entries of one block (maybe none); more may follow at once.
    Entries(Vec<LogEntry>),
    /// At the end of the current file: nothing more until it grows or is rotated.
    Idle,
    /// Nothing more will come: a one-shot read is done, or `until` is passed.
    Done,
}

/// Reads the log's files in order from where `tail` puts the start, then (following) the
/// current file across rotations. Blocking: each step runs on a blocking thread.
struct Reader {
    log: PathBuf,
    opts: LogOptions,
    follow: bool,
    /// Files still to read, oldest first; the last is the current file.
    files: VecDeque<Cursor>,
    done: bool,
}

impl Reader {
    fn open(log: &Path, opts: LogOptions, follow: bool) -> io::Result<Reader> {
        let mut opened = files::open_files(log, None)?;
        // A one-shot read ends where the log ended when it began.
        let limit = |f: &files::LogFile| (!follow).then_some(f.size);
        let mut cursors = VecDeque::new();
        match opts.tail {
            None => {
                let last = opened.len().saturating_sub(1);
                for (i, f) in opened.into_iter().enumerate() {
                    let l = if i == last { limit(&f) } else { None };
                    cursors.push_back(Cursor::new(f, 0, l));
                }
            }
            // As dockerd: backwards from the end of the newest file, into older files only as
            // far as the count needs.
            Some(n) => {
                let mut left = n;
                while let Some(f) = opened.pop() {
                    let newest = cursors.is_empty();
                    if left == 0 && !newest {
                        break;
                    }
                    let span = files::tail_span(&f.file, f.size, left)?;
                    left -= span.lines;
                    let l = if newest { limit(&f) } else { None };
                    cursors.push_front(Cursor::new(f, span.start, l));
                }
            }
        }
        Ok(Reader {
            log: log.to_path_buf(),
            opts,
            follow,
            files: cursors,
            done: false,
        })
    }

    fn step(&mut self) -> io::Result<Step> {
        if self.done {
            return Ok(Step::Done);
        }
        loop {
            let Some(cur) = self.files.front_mut() else {
                if !self.follow {
                    return Ok(Step::Done);
                }
                // No log file yet: it appears with the first output.
                let found = files::open_files(&self.log, None)?;
                if found.is_empty() {
                    return Ok(Step::Idle);
                }
                self.files
                    .extend(found.into_iter().map(|f| Cursor::new(f, 0, None)));
                continue;
            };
            let mut entries = Vec::new();
            let opts = &self.opts;
            let mut past_until = false;
            let read = cur.read_lines(&mut |line| {
                let Some(e) = parse_line(line) else { return };
                // As dockerd: the first entry after `until` ends the read.
                past_until |= opts.until.is_some_and(|u| e.time > u);
                if !past_until && opts.wants(&e) {
                    entries.push(e);
                }
            })?;
            if past_until {
                self.done = true;
                return Ok(Step::Entries(entries));
            }
            if read > 0 {
                if self.follow {
                    // Pin new files as soon as they appear, not only at the end of ours: a
                    // file the shim deletes three rotations later is then still ours to read.
                    self.pin_successors()?;
                }
                return Ok(Step::Entries(entries));
            }
            if self.files.len() > 1 {
                self.files.pop_front();
                continue;
            }
            if !self.follow || !self.pin_successors()? {
                return Ok(if self.follow { Step::Idle } else { Step::Done });
            }
        }
    }

    /// After a rotation, opens the files newer than the newest one held; says if there were any.
    /// The shim renames a file only after its last write to it, so what is held is read to its
    /// end first and stays in order.
    fn pin_successors(&mut self) -> io::Result<bool> {
        let Some(newest) = self.files.back().map(|c| c.file.id) else {
            return Ok(false);
        };
        match files::current_id(&self.log) {
            Some(id) if id != newest => {
                let next = files::open_files(&self.log, Some(newest))?;
                let any = !next.is_empty();
                self.files
                    .extend(next.into_iter().map(|f| Cursor::new(f, 0, None)));
                Ok(any)
            }
            // Unchanged, or renamed away with the new file not created yet (an event comes).
            _ => Ok(false),
        }
    }
}

/// An inotify instance owned by the `AsyncFd` that polls it.
struct InotifyFd(Inotify);
impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Watches the log's directory for appends, renames and new files.
fn watch_dir(log: &Path) -> io::Result<AsyncFd<InotifyFd>> {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    let dir = log.parent().unwrap_or(Path::new("."));
    inotify.add_watch(
        dir,
        AddWatchFlags::IN_MODIFY
            | AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_DELETE,
    )?;
    // SAFETY: the descriptor belongs to the InotifyFd the AsyncFd owns, so it stays open and
    // the same for the AsyncFd's whole life.
    unsafe { AsyncFd::register_with_interest(InotifyFd(inotify), tokio::io::Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
}

/// Waits for inotify events and consumes them all (they only say "look again").
async fn wait_events(afd: &AsyncFd<InotifyFd>) -> io::Result<()> {
    let mut guard = afd.readable().await?;
    loop {
        match guard.try_io(|fd| fd.get_ref().0.read_events().map_err(io::Error::from)) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => return Ok(()),
        }
    }
}

/// Runs one reader step on a blocking thread.
async fn step(mut reader: Reader) -> Option<(Reader, io::Result<Step>)> {
    tokio::task::spawn_blocking(move || {
        let s = reader.step();
        (reader, s)
    })
    .await
    .ok()
}

impl Engine {
    /// Streams the container's log entries; with `follow`, until the container stops or the
    /// receiver goes away.
    pub async fn container_logs(
        &self,
        input: &str,
        opts: LogOptions,
    ) -> Result<(bool, mpsc::Receiver<LogEntry>)> {
        let row = self.container(input).await?;
        let tty = row.config.tty.unwrap_or(false);
        let log = self.container_paths(&row.id).log;
        // Subscribe before reading, so an exit during the read is not missed.
        let mut lifecycle = self.live().subscribe(&row.id);
        let running = row.state.is_running();
        let (tx, rx) = mpsc::channel(256);
        let follow = opts.follow && running && opts.until.is_none();
        tokio::spawn(async move {
            // Watch before the first read, so that nothing written after it goes unnoticed.
            let watch = if follow {
                match watch_dir(&log) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        tracing::debug!(error = %e, "logs: cannot watch the log");
                        None
                    }
                }
            } else {
                None
            };
            let path = log.clone();
            let mut reader = match tokio::task::spawn_blocking(move || {
                Reader::open(&path, opts, follow)
            })
            .await
            {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "logs: cannot open the log");
                    return;
                }
                Err(_) => return,
            };
            // Following ends once the container has stopped and the log is read to its end.
            let mut draining = watch.is_none();
            loop {
                let Some((r, s)) = step(reader).await else {
                    return;
                };
                reader = r;
                match s {
                    Ok(Step::Entries(entries)) => {
                        for e in entries {
                            if tx.send(e).await.is_err() {
                                return;
                            }
                        }
                    }
                    Ok(Step::Done) => return,
                    Ok(Step::Idle) => {
                        let Some(afd) = watch.as_ref().filter(|_| !draining) else {
                            return;
                        };
                        if !lifecycle.borrow_and_update().running {
                            draining = true;
                            continue;
                        }
                        tokio::select! {
                            r = wait_events(afd) => {
                                if let Err(e) = r {
                                    tracing::debug!(error = %e, "logs: inotify");
                                    return;
                                }
                            }
                            changed = lifecycle.changed() => {
                                if changed.is_err() {
                                    draining = true;
                                }
                            }
                            _ = tx.closed() => return,
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "logs: reading the log");
                        return;
                    }
                }
            }
        });
        Ok((tty, rx))
    }
}

/// `since`/`until` as dockerd takes them: Unix seconds with an optional fraction, or RFC 3339.
pub fn parse_time_bound(v: &str) -> Result<i64> {
    if let Some(t) = parse_rfc3339(v) {
        return Ok(t);
    }
    let (secs, frac) = v.split_once('.').unwrap_or((v, "0"));
    let secs: i64 = secs
        .parse()
        .map_err(|_| Error::invalid(format!("invalid value for since/until: {v}")))?;
    let mut f = frac.to_string();
    f.truncate(9);
    while f.len() < 9 {
        f.push('0');
    }
    let nanos: i64 = f
        .parse()
        .map_err(|_| Error::invalid(format!("invalid value for since/until: {v}")))?;
    secs.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(nanos))
        .ok_or_else(|| Error::invalid(format!("invalid value for since/until: {v}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shim::jsonlog::JsonLog;

    fn write_log(path: &Path, lines: &[(&str, &str, &str)]) {
        let mut s = String::new();
        for (log, stream, time) in lines {
            s.push_str(
                &serde_json::json!({"log": log, "stream": stream, "time": time}).to_string(),
            );
            s.push('\n');
        }
        std::fs::write(path, s).unwrap();
    }

    fn all() -> LogOptions {
        LogOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        }
    }

    /// Steps until the reader is idle or done; says which.
    fn drain(r: &mut Reader, out: &mut Vec<LogEntry>) -> bool {
        loop {
            match r.step().unwrap() {
                Step::Entries(e) => out.extend(e),
                Step::Idle => return false,
                Step::Done => return true,
            }
        }
    }

    fn read(log: &Path, opts: LogOptions) -> Vec<String> {
        let mut r = Reader::open(log, opts, false).unwrap();
        let mut out = Vec::new();
        assert!(drain(&mut r, &mut out), "a one-shot read ends");
        text(&out)
    }

    fn text(entries: &[LogEntry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.bytes).trim_end().to_string())
            .collect()
    }

    #[test]
    fn reads_rotated_files_in_order_with_filters() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c-json.log");
        write_log(
            &dir.path().join("c-json.log.1"),
            &[("a\n", "stdout", "2024-01-01T00:00:01Z")],
        );
        write_log(
            &log,
            &[
                ("b\n", "stderr", "2024-01-01T00:00:02Z"),
                ("c\n", "stdout", "2024-01-01T00:00:03Z"),
            ],
        );
        assert_eq!(read(&log, all()), ["a", "b", "c"]);
        let stdout = LogOptions {
            stdout: true,
            ..Default::default()
        };
        assert_eq!(read(&log, stdout.clone()), ["a", "c"]);
        let since = parse_time_bound("1704067202").unwrap();
        let since = LogOptions {
            since: Some(since),
            ..all()
        };
        assert_eq!(read(&log, since), ["b", "c"]);
        let until = parse_time_bound("1704067202").unwrap();
        let until = LogOptions {
            until: Some(until),
            ..all()
        };
        assert_eq!(read(&log, until), ["a", "b"]);
        // As dockerd, the tail counts lines before the stream filter.
        let tail_stdout = LogOptions {
            tail: Some(2),
            ..stdout
        };
        assert_eq!(read(&log, tail_stdout), ["c"]);
        assert!(read(&dir.path().join("missing"), all()).is_empty());
    }

    #[test]
    fn tail_across_rotated_files() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c-json.log");
        let t = "2024-01-01T00:00:01Z";
        write_log(
            &dir.path().join("c-json.log.2"),
            &[
                ("1\n", "stdout", t),
                ("2\n", "stdout", t),
                ("3\n", "stdout", t),
            ],
        );
        write_log(
            &dir.path().join("c-json.log.1"),
            &[("4\n", "stdout", t), ("5\n", "stderr", t)],
        );
        write_log(&log, &[("6\n", "stdout", t), ("7\n", "stdout", t)]);
        let tail = |n| {
            read(
                &log,
                LogOptions {
                    tail: Some(n),
                    ..all()
                },
            )
        };
        assert_eq!(tail(1), ["7"]);
        assert_eq!(tail(2), ["6", "7"]);
        assert_eq!(tail(3), ["5", "6", "7"]);
        assert_eq!(tail(5), ["3", "4", "5", "6", "7"]);
        assert_eq!(tail(7).len(), 7);
        assert_eq!(tail(100).len(), 7);
        assert!(tail(0).is_empty());
        // An empty current file (just rotated) takes its lines from the older ones.
        std::fs::write(&log, "").unwrap();
        assert_eq!(tail(2), ["4", "5"]);
    }

    #[test]
    fn tail_of_a_huge_log_is_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c-json.log");
        let f = std::fs::File::create(&log).unwrap();
        // 200 MB of hole before the lines: reading it all would take a while and be zeros.
        f.set_len(200 * 1024 * 1024).unwrap();
        drop(f);
        let mut w = JsonLog::open(&log, None, 1).unwrap();
        for i in 0..100 {
            w.write("stdout", format!("n{i}").as_bytes(), true, 0)
                .unwrap();
        }
        let got = read(
            &log,
            LogOptions {
                tail: Some(5),
                ..all()
            },
        );
        assert_eq!(got, ["n95", "n96", "n97", "n98", "n99"]);
    }

    #[test]
    fn one_shot_read_stops_at_the_end_it_began_with() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("l");
        let mut w = JsonLog::open(&log, None, 1).unwrap();
        w.write("stdout", b"before", true, 0).unwrap();
        let mut r = Reader::open(
            &log,
            LogOptions {
                tail: Some(1),
                ..all()
            },
            false,
        )
        .unwrap();
        w.write("stdout", b"after", true, 0).unwrap();
        let mut out = Vec::new();
        assert!(drain(&mut r, &mut out));
        assert_eq!(text(&out), ["before"]);
    }

    #[test]
    fn partial_lines_wait() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("l");
        std::fs::write(
            &log,
            "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-01T00:00:00Z\"}\n{\"log\":",
        )
        .unwrap();
        let mut r = Reader::open(&log, all(), true).unwrap();
        let mut out = Vec::new();
        assert!(!drain(&mut r, &mut out));
        assert_eq!(text(&out), ["x"]);
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        std::io::Write::write_all(
            &mut f,
            b"\"y\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-01T00:00:00Z\"}\n",
        )
        .unwrap();
        assert!(!drain(&mut r, &mut out));
        assert_eq!(text(&out), ["x", "y"]);
        assert_eq!(out[1].stream, 2);
    }

    #[test]
    fn follow_across_rotations_loses_and_repeats_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c-json.log");
        // About three lines per file, three files.
        let mut w = JsonLog::open(&log, Some(150), 3).unwrap();
        let mut n = 0;
        let mut write = |w: &mut JsonLog, k: usize| {
            for _ in 0..k {
                w.write("stdout", format!("line {n:04}").as_bytes(), true, 0)
                    .unwrap();
                n += 1;
            }
        };
        write(&mut w, 2);
        let mut r = Reader::open(&log, all(), true).unwrap();
        let mut out = Vec::new();
        // Between two looks: nothing, a few lines, one rotation, two, and three (the file
        // being read is then deleted, but still open).
        for k in [0, 1, 3, 4, 7, 10, 1, 0, 8] {
            write(&mut w, k);
            assert!(!drain(&mut r, &mut out), "following never ends by itself");
        }
        let expected: Vec<String> = (0..n).map(|i| format!("line {i:04}")).collect();
        assert_eq!(text(&out), expected);
        assert!(dir.path().join("c-json.log.2").exists(), "rotated");
    }

    #[test]
    fn follow_pins_new_files_while_reading_a_backlog() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c-json.log");
        // Files larger than one read block, so that one step does not finish a file.
        let mut w = JsonLog::open(&log, Some(40_000), 3).unwrap();
        let mut n = 0;
        let mut write_files = |w: &mut JsonLog, files: usize| {
            let pad = "x".repeat(60);
            let start = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
            let target = 40_000 * files as u64 - start;
            let mut written = 0;
            while written < target {
                w.write("stdout", format!("line {n:06} {pad}").as_bytes(), true, 0)
                    .unwrap();
                written += 100;
                n += 1;
            }
        };
        write_files(&mut w, 2);
        let mut r = Reader::open(&log, all(), true).unwrap();
        let mut out = Vec::new();
        let one_step = |r: &mut Reader, out: &mut Vec<LogEntry>| match r.step().unwrap() {
            Step::Entries(e) => out.extend(e),
            _ => panic!("a backlog to read"),
        };
        one_step(&mut r, &mut out);
        write_files(&mut w, 1);
        one_step(&mut r, &mut out);
        // Three more rotations delete the file created by the first one, unless it is held.
        write_files(&mut w, 3);
        assert!(!drain(&mut r, &mut out));
        let got = text(&out);
        assert_eq!(got.len(), n);
        for (i, l) in got.iter().enumerate() {
            assert!(l.starts_with(&format!("line {i:06} ")), "{i}: {l}");
        }
    }

    #[test]
    fn follow_of_a_log_that_appears_later() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("l");
        let mut r = Reader::open(&log, all(), true).unwrap();
        let mut out = Vec::new();
        assert!(!drain(&mut r, &mut out));
        let mut w = JsonLog::open(&log, None, 1).unwrap();
        w.write("stdout", b"hi", true, 0).unwrap();
        assert!(!drain(&mut r, &mut out));
        assert_eq!(text(&out), ["hi"]);
    }

    #[test]
    fn time_bounds() {
        assert_eq!(parse_time_bound("1.5").unwrap(), 1_500_000_000);
        assert_eq!(
            parse_time_bound("1970-01-01T00:00:02Z").unwrap(),
            2_000_000_000
        );
        assert!(parse_time_bound("x").is_err());
    }
}
