//! `docker logs`: the json-file log the shim writes (with its rotated files), filtered, and
//! followed with inotify until the container stops.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use serde::Deserialize;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

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
    /// Only the last N entries (of the selected streams).
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

fn parse_line(line: &str) -> Option<LogEntry> {
    let l: Line = serde_json::from_str(line).ok()?;
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

/// Log files oldest first: `log.N` ... `log.1`, then `log`.
fn log_files(log: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<(u32, PathBuf)> = Vec::new();
    let Some(name) = log.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return vec![log.to_path_buf()];
    };
    if let Some(dir) = log.parent()
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        for e in entries.flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = f
                .strip_prefix(&format!("{name}."))
                .and_then(|n| n.parse().ok())
            {
                rotated.push((n, e.path()));
            }
        }
    }
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    files.push(log.to_path_buf());
    files
}

/// Reads what is logged so far; returns the entries and the offset reached in the current file.
fn read_existing(log: &Path, opts: &LogOptions) -> (Vec<LogEntry>, u64) {
    let mut entries = Vec::new();
    let mut offset = 0;
    for file in log_files(log) {
        let Ok(f) = std::fs::File::open(&file) else {
            continue;
        };
        let mut reader = BufReader::new(f);
        let mut line = String::new();
        let mut pos = 0u64;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    // A line without its newline is being written: leave it for the follower.
                    if !line.ends_with('\n') {
                        break;
                    }
                    pos += n as u64;
                    if let Some(e) = parse_line(line.trim_end())
                        && opts.wants(&e)
                    {
                        entries.push(e);
                    }
                }
            }
        }
        if file == log {
            offset = pos;
        }
    }
    if let Some(n) = opts.tail {
        let skip = entries.len().saturating_sub(n);
        entries.drain(..skip);
    }
    (entries, offset)
}

/// An inotify instance owned by the `AsyncFd` that polls it.
struct InotifyFd(Inotify);
impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
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
            let log2 = log.clone();
            let o = opts.clone();
            let Ok((entries, mut offset)) =
                tokio::task::spawn_blocking(move || read_existing(&log2, &o)).await
            else {
                return;
            };
            for e in entries {
                if tx.send(e).await.is_err() {
                    return;
                }
            }
            if !follow {
                return;
            }
            let Ok(inotify) = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) else {
                return;
            };
            let Some(dir) = log.parent() else { return };
            if inotify
                .add_watch(
                    dir,
                    AddWatchFlags::IN_MODIFY
                        | AddWatchFlags::IN_CREATE
                        | AddWatchFlags::IN_MOVED_TO,
                )
                .is_err()
            {
                return;
            }
            // SAFETY: the descriptor belongs to the InotifyFd the AsyncFd owns, so it stays open
            // and the same for the AsyncFd's whole life.
            let Ok(afd) = (unsafe {
                AsyncFd::register_with_interest(InotifyFd(inotify), tokio::io::Interest::READABLE)
            }) else {
                return;
            };
            loop {
                // Drain what was appended since the last look (handles rotation: a shorter file
                // means it was replaced, so start it from the top).
                let (entries, new_offset) = read_from(&log, offset, &opts);
                offset = new_offset;
                for e in entries {
                    if tx.send(e).await.is_err() {
                        return;
                    }
                }
                if !lifecycle.borrow().running {
                    let (entries, _) = read_from(&log, offset, &opts);
                    for e in entries {
                        let _ = tx.send(e).await;
                    }
                    return;
                }
                tokio::select! {
                    ready = afd.readable() => {
                        if let Ok(mut guard) = ready {
                            let _ = guard.get_inner().0.read_events();
                            guard.clear_ready();
                        }
                    }
                    changed = lifecycle.changed() => {
                        if changed.is_err() {
                            let (entries, _) = read_from(&log, offset, &opts);
                            for e in entries {
                                let _ = tx.send(e).await;
                            }
                            return;
                        }
                    }
                    _ = tx.closed() => return,
                }
            }
        });
        Ok((tty, rx))
    }
}

/// Complete lines of the current log file from `offset` on.
fn read_from(log: &Path, offset: u64, opts: &LogOptions) -> (Vec<LogEntry>, u64) {
    let Ok(mut f) = std::fs::File::open(log) else {
        return (Vec::new(), offset);
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = if len < offset { 0 } else { offset };
    if f.seek(SeekFrom::Start(start)).is_err() {
        return (Vec::new(), offset);
    }
    let mut reader = BufReader::new(f);
    let mut entries = Vec::new();
    let mut pos = start;
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !line.ends_with('\n') {
                    break;
                }
                pos += n as u64;
                if let Some(e) = parse_line(line.trim_end())
                    && opts.wants(&e)
                {
                    entries.push(e);
                }
            }
        }
    }
    (entries, pos)
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
        let all = LogOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let (e, off) = read_existing(&log, &all);
        assert_eq!(
            e.iter().map(|e| e.bytes.clone()).collect::<Vec<_>>(),
            vec![b"a\n".to_vec(), b"b\n".to_vec(), b"c\n".to_vec()]
        );
        assert_eq!(off, std::fs::metadata(&log).unwrap().len());
        let (e, _) = read_existing(
            &log,
            &LogOptions {
                stdout: true,
                ..Default::default()
            },
        );
        assert_eq!(e.len(), 2);
        let (e, _) = read_existing(
            &log,
            &LogOptions {
                tail: Some(1),
                ..all.clone()
            },
        );
        assert_eq!(e[0].bytes, b"c\n");
        let since = parse_time_bound("1704067202").unwrap();
        let (e, _) = read_existing(
            &log,
            &LogOptions {
                since: Some(since),
                ..all.clone()
            },
        );
        assert_eq!(e.len(), 2);
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
        let all = LogOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let (e, off) = read_existing(&log, &all);
        assert_eq!(e.len(), 1);
        let (more, off2) = read_from(&log, off, &all);
        assert!(more.is_empty());
        assert_eq!(off2, off);
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
