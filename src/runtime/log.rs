//! Log lines as runc writes them: logrus text (`time="..." level=error msg="..."`) or JSON
//! (`{"level":"error","msg":"...","time":"..."}`), to `--log FILE` or stderr. A shim reads the
//! last error line of the log file to explain a failed command, so the shape matters.
//!
//! The runtime is single-threaded and forks; a plain global behind a Mutex is fork-safe here
//! because no lock can be held by another thread at fork time.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use crate::runtime::cli::LogFormat;
use crate::util::time::now_nanos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

struct Logger {
    file: Option<File>,
    format: LogFormat,
    min: Level,
}

static LOGGER: Mutex<Logger> = Mutex::new(Logger {
    file: None,
    format: LogFormat::Text,
    min: Level::Info,
});

#[derive(Debug, thiserror::Error)]
#[error("cannot open log file {path}: {source}")]
pub struct LogError {
    path: String,
    source: std::io::Error,
}

/// Points logging at `path` (or stderr when `None`) in `format`.
pub fn init(path: Option<&Path>, format: LogFormat, debug: bool) -> Result<(), LogError> {
    let file = match path {
        None => None,
        Some(p) => Some(
            OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o644)
                .custom_flags(libc::O_CLOEXEC)
                .open(p)
                .map_err(|source| LogError {
                    path: p.display().to_string(),
                    source,
                })?,
        ),
    };
    let mut l = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    l.file = file;
    l.format = format;
    l.min = if debug { Level::Debug } else { Level::Info };
    Ok(())
}

/// Whether log lines already reach stderr (then a fatal error is not printed twice).
pub fn goes_to_stderr() -> bool {
    LOGGER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .file
        .is_none()
}

pub fn log(level: Level, msg: &str) {
    let mut l = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    if level < l.min {
        return;
    }
    let line = format_line(l.format, level, msg, now_nanos());
    // One write per line: appends from several processes do not interleave.
    let _ = match l.file.as_mut() {
        Some(f) => f.write_all(line.as_bytes()),
        None => std::io::stderr().write_all(line.as_bytes()),
    };
}

pub fn warn(msg: &str) {
    log(Level::Warning, msg);
}

pub fn error(msg: &str) {
    log(Level::Error, msg);
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg);
}

/// Seconds precision in UTC, as logrus' default RFC 3339 timestamps.
fn timestamp(nanos: i64) -> String {
    crate::util::time::rfc3339_nano(nanos - nanos.rem_euclid(1_000_000_000))
}

fn format_line(format: LogFormat, level: Level, msg: &str, nanos: i64) -> String {
    let time = timestamp(nanos);
    match format {
        LogFormat::Json => {
            let v = serde_json::json!({"level": level.name(), "msg": msg, "time": time});
            format!("{v}\n")
        }
        LogFormat::Text => format!(
            "time={} level={} msg={}\n",
            quote(&time),
            level.name(),
            quote(msg)
        ),
    }
}

/// Double-quoted with Go-style escapes for `"`, `\` and control characters.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_like_logrus() {
        let l = format_line(
            LogFormat::Json,
            Level::Error,
            "container \"x\" does not exist",
            1_700_000_000_123_000_000,
        );
        assert_eq!(
            l,
            "{\"level\":\"error\",\"msg\":\"container \\\"x\\\" does not exist\",\"time\":\"2023-11-14T22:13:20Z\"}\n"
        );
    }

    #[test]
    fn text_lines_like_logrus() {
        let l = format_line(LogFormat::Text, Level::Warning, "a \"b\"\nc", 0);
        assert_eq!(
            l,
            "time=\"1970-01-01T00:00:00Z\" level=warning msg=\"a \\\"b\\\"\\nc\"\n"
        );
    }
}
