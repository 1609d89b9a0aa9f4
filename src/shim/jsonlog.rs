//! Docker's `json-file` log: one `{"log","stream","time"}` line per message, lines split as
//! dockerd's copier splits them, files rotated as its `loggerutils.LogFile` rotates them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::util::time::rfc3339_nano;

/// dockerd's copier buffer: a line longer than this is logged in pieces of this size.
pub const LINE_BUF: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("opening log {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("writing log {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("rotating log {path}: {source}")]
    Rotate { path: PathBuf, source: io::Error },
}

/// The log file of one container, open for appending.
pub struct JsonLog {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: Option<u64>,
    max_files: u32,
    line: Vec<u8>,
}

impl JsonLog {
    pub fn open(path: &Path, max_size: Option<u64>, max_files: u32) -> Result<JsonLog, LogError> {
        let file = open_append(path, false)?;
        let size = file
            .metadata()
            .map_err(|source| LogError::Open {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        Ok(JsonLog {
            path: path.to_path_buf(),
            file,
            size,
            max_size,
            max_files: max_files.max(1),
            line: Vec::new(),
        })
    }

    /// Writes one message; `newline` adds the `\n` a complete line had (partials have none).
    pub fn write(
        &mut self,
        stream: &str,
        msg: &[u8],
        newline: bool,
        nanos: i64,
    ) -> Result<(), LogError> {
        // As dockerd: rotate before a write once the file has reached max-size.
        if self.max_size.is_some_and(|max| self.size >= max) {
            self.rotate()?;
        }
        self.line.clear();
        self.line.extend_from_slice(b"{\"log\":\"");
        escape_json(&mut self.line, msg);
        if newline {
            self.line.extend_from_slice(b"\\n");
        }
        self.line.extend_from_slice(b"\",\"stream\":\"");
        self.line.extend_from_slice(stream.as_bytes());
        self.line.extend_from_slice(b"\",\"time\":\"");
        self.line.extend_from_slice(rfc3339_nano(nanos).as_bytes());
        self.line.extend_from_slice(b"\"}\n");
        self.file
            .write_all(&self.line)
            .map_err(|source| LogError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.size += self.line.len() as u64;
        // A burst of long lines must not keep a big buffer alive in an idle shim.
        if self.line.capacity() > 4 * LINE_BUF {
            self.line = Vec::new();
        }
        Ok(())
    }

    /// `L.(n-2)` -> `L.(n-1)` ... `L` -> `L.1`, then a fresh `L`; with one file, just a fresh `L`.
    fn rotate(&mut self) -> Result<(), LogError> {
        let err = |source| LogError::Rotate {
            path: self.path.clone(),
            source,
        };
        let name = |i: u32| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{i}"));
            PathBuf::from(p)
        };
        if self.max_files >= 2 {
            ignore_missing(fs::remove_file(name(self.max_files - 1))).map_err(err)?;
            for i in (2..self.max_files).rev() {
                ignore_missing(fs::rename(name(i - 1), name(i))).map_err(err)?;
            }
            ignore_missing(fs::rename(&self.path, name(1))).map_err(err)?;
        } else {
            ignore_missing(fs::remove_file(&self.path)).map_err(err)?;
        }
        self.file = open_append(&self.path, true)?;
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path, truncate: bool) -> Result<File, LogError> {
    let mut o = OpenOptions::new();
    o.create(true).mode(0o640);
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    o.open(path).map_err(|source| LogError::Open {
        path: path.to_path_buf(),
        source,
    })
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// One stream's bytes cut into log messages the way dockerd's copier cuts them: at `\n`
/// (which is dropped and re-added by the writer), or at [`LINE_BUF`] bytes as a partial message
/// that shares its timestamp with the rest of the line, or at end of stream.
#[derive(Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
    partial_ts: Option<i64>,
}

/// A message cut from a stream: its bytes, whether a `\n` ended it, its timestamp.
pub type Emit<'a> = dyn FnMut(&[u8], bool, i64) + 'a;

impl LineSplitter {
    pub fn feed(&mut self, mut data: &[u8], now: i64, emit: &mut Emit<'_>) {
        while !data.is_empty() {
            let room = LINE_BUF - self.buf.len();
            let (take, rest) = data.split_at(room.min(data.len()));
            data = rest;
            let mut start = 0;
            if self.buf.is_empty() {
                // Lines wholly inside this chunk go out without touching the buffer.
                while let Some(i) = take[start..].iter().position(|&b| b == b'\n') {
                    let ts = self.partial_ts.take().unwrap_or(now);
                    emit(&take[start..start + i], true, ts);
                    start += i + 1;
                }
                self.buf.extend_from_slice(&take[start..]);
            } else {
                self.buf.extend_from_slice(take);
                let mut p = 0;
                while let Some(i) = self.buf[p..].iter().position(|&b| b == b'\n') {
                    let ts = self.partial_ts.take().unwrap_or(now);
                    emit(&self.buf[p..p + i], true, ts);
                    p += i + 1;
                }
                self.buf.drain(..p);
            }
            if self.buf.len() == LINE_BUF {
                let ts = *self.partial_ts.get_or_insert(now);
                emit(&self.buf, false, ts);
                self.buf.clear();
            }
        }
        if self.buf.is_empty() && self.buf.capacity() > 0 {
            self.buf = Vec::new();
        }
    }

    /// End of stream: what is left goes out as a partial message.
    pub fn finish(&mut self, now: i64, emit: &mut Emit<'_>) {
        if !self.buf.is_empty() {
            let ts = self.partial_ts.take().unwrap_or(now);
            emit(&self.buf, false, ts);
        }
        self.buf = Vec::new();
        self.partial_ts = None;
    }
}

/// JSON string escaping as Go's encoder does it for json-file: HTML characters and U+2028/9
/// escaped, each invalid UTF-8 byte replaced by U+FFFD.
pub fn escape_json(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&') => {
                    let b = c as u8;
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(b >> 4) as usize]);
                    out.push(HEX[(b & 0xf) as usize]);
                }
                '\u{2028}' => out.extend_from_slice(b"\\u2028"),
                '\u{2029}' => out.extend_from_slice(b"\\u2029"),
                c => {
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
        for _ in chunk.invalid() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], finish: bool) -> Vec<(Vec<u8>, bool, i64)> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            s.feed(c, i as i64, &mut |m, nl, ts| out.push((m.to_vec(), nl, ts)));
        }
        if finish {
            s.finish(99, &mut |m, nl, ts| out.push((m.to_vec(), nl, ts)));
        }
        out
    }

    #[test]
    fn splits_at_newlines_across_chunks() {
        let out = split(&[b"a\nb", b"c\n\nd"], true);
        assert_eq!(
            out,
            vec![
                (b"a".to_vec(), true, 0),
                (b"bc".to_vec(), true, 1),
                (b"".to_vec(), true, 1),
                (b"d".to_vec(), false, 99),
            ]
        );
    }

    #[test]
    fn long_lines_are_partials_sharing_a_timestamp() {
        let long = vec![b'x'; LINE_BUF * 2 + 10];
        let mut data = long.clone();
        data.push(b'\n');
        let out = split(&[&data[..LINE_BUF + 5], &data[LINE_BUF + 5..]], false);
        assert_eq!(out.len(), 3);
        assert_eq!((out[0].0.len(), out[0].1, out[0].2), (LINE_BUF, false, 0));
        assert_eq!((out[1].0.len(), out[1].1, out[1].2), (LINE_BUF, false, 0));
        assert_eq!((out[2].0.len(), out[2].1, out[2].2), (10, true, 0));
    }

    #[test]
    fn nothing_left_means_nothing_at_finish() {
        assert_eq!(split(&[b"x\n"], true).len(), 1);
        assert!(split(&[], true).is_empty());
    }

    #[test]
    fn escapes_like_go() {
        let mut out = Vec::new();
        escape_json(&mut out, b"a\"b\\c\n\t\x01<&>\xff\xe2\x80\xa8\xc3\xa9");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"a\"b\\c\n\t\u0001\u003c\u0026\u003e\ufffd\u2028é"#
        );
    }

    #[test]
    fn writes_docker_lines_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c-json.log");
        let mut log = JsonLog::open(&p, Some(100), 3).unwrap();
        for i in 0..12 {
            log.write("stdout", format!("line {i}").as_bytes(), true, 0)
                .unwrap();
        }
        let first = fs::read_to_string(&p).unwrap();
        let line: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
        assert_eq!(line["stream"], "stdout");
        assert_eq!(line["time"], "1970-01-01T00:00:00Z");
        assert!(line["log"].as_str().unwrap().ends_with('\n'));
        assert!(dir.path().join("c-json.log.1").exists());
        assert!(dir.path().join("c-json.log.2").exists());
        assert!(!dir.path().join("c-json.log.3").exists());
        // Oldest first: .2, .1, current hold consecutive lines ending with the last one.
        let all: Vec<String> = ["c-json.log.2", "c-json.log.1", "c-json.log"]
            .iter()
            .flat_map(|n| {
                fs::read_to_string(dir.path().join(n))
                    .unwrap()
                    .lines()
                    .map(|l| {
                        let v: serde_json::Value = serde_json::from_str(l).unwrap();
                        v["log"].as_str().unwrap().trim_end().to_string()
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(all.last().unwrap(), "line 11");
        let n = all.len();
        for (k, l) in all.iter().enumerate() {
            assert_eq!(*l, format!("line {}", 12 - n + k));
        }
    }

    #[test]
    fn one_file_rotation_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        let mut log = JsonLog::open(&p, Some(10), 1).unwrap();
        log.write("stderr", b"first", true, 0).unwrap();
        log.write("stderr", b"second", false, 0).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "{\"log\":\"second\",\"stream\":\"stderr\",\"time\":\"1970-01-01T00:00:00Z\"}\n"
        );
        assert!(!dir.path().join("l.1").exists());
    }
}
