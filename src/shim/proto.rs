//! What the daemon (`task`) and a shim say to each other: the one module both sides share.
//!
//! One request per connection on `<state-dir>/shim.sock`, framed as a u32 big-endian length and
//! serde_json. The verbs follow containerd's Task API. After an `Attach` request is answered with
//! `Attached`, the same connection becomes a raw byte stream: the shim sends docker stdcopy frames
//! (`[stream, 0, 0, 0, len u32 BE, payload]`), the client sends raw stdin bytes.
//!
//! Versions: a client opens every connection with `Hello { version }` (sent in the same write as
//! its request, so it costs no round trip); the shim answers with its own version, or refuses a
//! major version it does not speak and closes. Shims of protocol 0 (before the handshake) answer
//! `Hello` with a `BadRequest` error: that is how a client recognises them, and it then speaks
//! the verbs they had (the init's) without a handshake. A request without `Hello` is served as
//! protocol 0 asked for it, so a daemon of that version can still drive a newer shim.
//!
//! Processes: the verbs without a process (`State`, `Kill`, `Wait`, `Attach`...) address the
//! init, with their protocol-0 encoding unchanged; `Process { exec_id, op }` addresses the init
//! (`None`) or an exec process created by `ExecCreate`.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The control socket's file name inside the state directory.
pub const SOCKET_NAME: &str = "shim.sock";
/// The shim server's pid.
pub const PID_FILE: &str = "shim.pid";
/// The container's exit status, written atomically before `Wait` is answered.
pub const EXIT_FILE: &str = "exit.json";
/// Where the runtime writes its json log (`--log ... --log-format json`).
pub const RUNTIME_LOG: &str = "runtime.log";
/// The container's init pid, as the runtime's `--pid-file` writes it.
pub const INIT_PID_FILE: &str = "init.pid";
/// The socket the runtime sends a tty's master to (`--console-socket`).
pub const CONSOLE_SOCKET: &str = "console.sock";

/// Largest frame either side accepts; stats are the biggest message, a few KiB.
pub const MAX_FRAME: usize = 1 << 20;

/// stdcopy stream ids on an attach stream.
pub const STREAM_STDOUT: u8 = 1;
pub const STREAM_STDERR: u8 = 2;
/// Length of a stdcopy frame header.
pub const FRAME_HEADER: usize = 8;

/// A protocol version: clients and shims of one major version understand each other; a minor
/// version adds what older peers of the same major can do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProtoVersion {
    pub major: u16,
    pub minor: u16,
}

impl ProtoVersion {
    pub const fn new(major: u16, minor: u16) -> ProtoVersion {
        ProtoVersion { major, minor }
    }

    /// Whether a peer speaking `other` can be served (or driven) by this version.
    pub fn speaks(self, other: ProtoVersion) -> bool {
        self.major == other.major
    }
}

impl std::fmt::Display for ProtoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What this build speaks.
pub const PROTO_VERSION: ProtoVersion = ProtoVersion::new(1, 0);
/// Shims from before the handshake: the init's verbs only.
pub const PROTO_LEGACY: ProtoVersion = ProtoVersion::new(0, 0);

/// Longest exec id; ids name files in the state dir, so they are also limited in alphabet.
pub const EXEC_ID_MAX: usize = 64;

/// Whether `id` can name an exec process: 1 to [`EXEC_ID_MAX`] of `[A-Za-z0-9_.-]`, not
/// starting with a dot.
pub fn valid_exec_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= EXEC_ID_MAX
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// First on a connection: the client's version; answered with `Response::Hello`.
    Hello {
        version: ProtoVersion,
    },
    State,
    Start,
    Kill {
        signal: i32,
        all: bool,
    },
    /// Long poll: answered when the init has exited and its exit is on disk.
    Wait,
    /// Runtime delete; the shim then exits and removes its socket.
    Delete,
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    ResizePty {
        width: u16,
        height: u16,
    },
    CloseStdin,
    Pids,
    Stats,
    Pause,
    Resume,
    /// Ends a shim whose init has exited, without asking the runtime anything.
    Shutdown,
    /// Registers an exec process (not started): `process` is its OCI process (args, env, cwd,
    /// user, terminal, capabilities...), handed to the runtime's `exec --process`. `stdin` gives
    /// it a stdin pipe (else /dev/null); `stdout`/`stderr` keep those streams for attachers
    /// (else they are discarded).
    ExecCreate {
        exec_id: String,
        process: serde_json::Value,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    /// A verb for one process: the init (`exec_id: None`) or an exec.
    Process {
        exec_id: Option<String>,
        op: ProcessOp,
    },
}

/// What can be asked of one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessOp {
    /// Answered with `State` (for an exec, `id` is the exec id).
    State,
    /// Answered with `Started { pid }`.
    Start,
    /// `all` only means something for the init (every process of the container).
    Kill {
        signal: i32,
        all: bool,
    },
    /// Long poll, answered with `Exited` once the process's exit is recorded.
    Wait,
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    ResizePty {
        width: u16,
        height: u16,
    },
    CloseStdin,
    /// For the init, the runtime delete (then the shim exits); for an exec that has exited (or
    /// never started), its record goes.
    Delete,
}

impl Request {
    /// The process verb a request is, whichever of its two encodings it came in: the process
    /// (`None` for the init) and the verb. `None` for the task-wide requests.
    pub fn process_op(&self) -> Option<(Option<&str>, ProcessOp)> {
        let op = match self {
            Request::State => ProcessOp::State,
            Request::Start => ProcessOp::Start,
            Request::Kill { signal, all } => ProcessOp::Kill {
                signal: *signal,
                all: *all,
            },
            Request::Wait => ProcessOp::Wait,
            Request::Delete => ProcessOp::Delete,
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => ProcessOp::Attach {
                stdin: *stdin,
                stdout: *stdout,
                stderr: *stderr,
            },
            Request::ResizePty { width, height } => ProcessOp::ResizePty {
                width: *width,
                height: *height,
            },
            Request::CloseStdin => ProcessOp::CloseStdin,
            Request::Process { exec_id, op } => return Some((exec_id.as_deref(), op.clone())),
            _ => return None,
        };
        Some((None, op))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The shim's version, in answer to the client's `Hello`.
    Hello {
        version: ProtoVersion,
    },
    Ok,
    State(TaskState),
    Started {
        pid: i32,
    },
    Exited(ExitStatus),
    Pids(Vec<i32>),
    Stats(serde_json::Value),
    /// The connection is an attach stream from the next byte on.
    Attached,
    Error {
        kind: ErrorKind,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The runtime binary failed; the message is its own.
    Runtime,
    /// The runtime did not finish in time.
    Timeout,
    /// The request does not fit the task's state (start twice, delete while running...).
    Precondition,
    /// The request could not be decoded.
    BadRequest,
    /// The shim itself failed (I/O on its own files).
    Internal,
    /// The client's protocol version is not one the shim speaks (the answer to `Hello`).
    Version,
    /// No exec process of that id.
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskState {
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub exit: Option<ExitStatus>,
    pub tty: bool,
    pub stdin: bool,
}

/// How the container's init ended; the content of `exit.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitStatus {
    /// The exit code, or 128+signal when killed by a signal.
    pub code: i32,
    /// Unix nanoseconds.
    pub exited_at: i64,
    pub oom_killed: bool,
}

/// The one line the launcher (`berth-shim start`) prints on stdout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartReport {
    Ready {
        socket: String,
        pid: i32,
        shim_pid: i32,
        /// The shim's protocol version; absent from shims before the handshake.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<ProtoVersion>,
    },
    Failed {
        kind: ErrorKind,
        message: String,
    },
}

/// The command line of `berth-shim start` (and of the `serve` it re-executes): the daemon
/// builds it, the shim parses it, so both sides live here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchArgs {
    pub id: String,
    pub bundle: PathBuf,
    pub state_dir: PathBuf,
    pub runtime: PathBuf,
    pub runtime_root: PathBuf,
    /// Extra global arguments for the runtime (daemon.json `runtimeArgs`), before the verb.
    pub runtime_args: Vec<String>,
    pub log: PathBuf,
    pub log_max_size: Option<u64>,
    pub log_max_file: u32,
    pub tty: bool,
    pub stdin: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgsError {
    #[error("unknown flag {0}")]
    Unknown(String),
    #[error("flag {0} needs a value")]
    MissingValue(&'static str),
    #[error("flag {0} is required")]
    Required(&'static str),
    #[error("bad value {value:?} for {flag}")]
    BadValue { flag: &'static str, value: String },
}

impl LaunchArgs {
    pub fn to_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::with_capacity(20);
        let mut flag = |k: &str, v: &OsStr| {
            a.push(k.into());
            a.push(v.to_owned());
        };
        flag("--id", OsStr::new(&self.id));
        flag("--bundle", self.bundle.as_os_str());
        flag("--state-dir", self.state_dir.as_os_str());
        flag("--runtime", self.runtime.as_os_str());
        flag("--runtime-root", self.runtime_root.as_os_str());
        for extra in &self.runtime_args {
            flag("--runtime-arg", OsStr::new(extra));
        }
        flag("--log", self.log.as_os_str());
        if let Some(n) = self.log_max_size {
            flag("--log-max-size", OsStr::new(&n.to_string()));
        }
        flag("--log-max-file", OsStr::new(&self.log_max_file.to_string()));
        if self.tty {
            a.push("--tty".into());
        }
        if self.stdin {
            a.push("--stdin".into());
        }
        a
    }

    /// Parses flags; `extra` sees every flag this struct does not know (and may take its value).
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<LaunchArgs, ArgsError> {
        let mut it = args.into_iter();
        let (mut id, mut bundle, mut state_dir, mut runtime, mut runtime_root, mut log) =
            (None, None, None, None, None, None);
        let mut max_size = None;
        let mut max_file = 1u32;
        let (mut tty, mut stdin) = (false, false);
        let mut runtime_args = Vec::new();
        while let Some(arg) = it.next() {
            let arg = arg.to_string_lossy().into_owned();
            let mut value = |name: &'static str| it.next().ok_or(ArgsError::MissingValue(name));
            match arg.as_str() {
                "--id" => id = Some(value("--id")?.to_string_lossy().into_owned()),
                "--bundle" => bundle = Some(PathBuf::from(value("--bundle")?)),
                "--state-dir" => state_dir = Some(PathBuf::from(value("--state-dir")?)),
                "--runtime" => runtime = Some(PathBuf::from(value("--runtime")?)),
                "--runtime-root" => runtime_root = Some(PathBuf::from(value("--runtime-root")?)),
                "--log" => log = Some(PathBuf::from(value("--log")?)),
                "--runtime-arg" => {
                    runtime_args.push(value("--runtime-arg")?.to_string_lossy().into_owned())
                }
                "--log-max-size" => {
                    max_size = Some(number(value("--log-max-size")?, "--log-max-size")?)
                }
                "--log-max-file" => {
                    let v = value("--log-max-file")?;
                    max_file =
                        u32::try_from(number(v.clone(), "--log-max-file")?).map_err(|_| {
                            ArgsError::BadValue {
                                flag: "--log-max-file",
                                value: v.to_string_lossy().into_owned(),
                            }
                        })?
                }
                "--tty" => tty = true,
                "--stdin" => stdin = true,
                other => return Err(ArgsError::Unknown(other.to_string())),
            }
        }
        Ok(LaunchArgs {
            id: id.ok_or(ArgsError::Required("--id"))?,
            bundle: bundle.ok_or(ArgsError::Required("--bundle"))?,
            state_dir: state_dir.ok_or(ArgsError::Required("--state-dir"))?,
            runtime: runtime.ok_or(ArgsError::Required("--runtime"))?,
            runtime_root: runtime_root.ok_or(ArgsError::Required("--runtime-root"))?,
            runtime_args,
            log: log.ok_or(ArgsError::Required("--log"))?,
            log_max_size: max_size,
            log_max_file: max_file,
            tty,
            stdin,
        })
    }
}

fn number(v: OsString, flag: &'static str) -> Result<u64, ArgsError> {
    let s = v.to_string_lossy();
    s.parse().map_err(|_| ArgsError::BadValue {
        flag,
        value: s.into_owned(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {0} bytes is over the {MAX_FRAME} byte limit")]
    TooLarge(usize),
    #[error("encoding a frame: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("decoding a frame: {0}")]
    Decode(#[source] serde_json::Error),
}

/// A message as it goes on the wire: length prefix then JSON.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    let mut out = vec![0u8; 4];
    serde_json::to_writer(&mut out, msg).map_err(FrameError::Encode)?;
    let len = out.len() - 4;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(out)
}

/// The body length a 4-byte prefix announces, checked against the limit.
pub fn frame_len(prefix: [u8; 4]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    Ok(len)
}

pub fn decode<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, FrameError> {
    serde_json::from_slice(body).map_err(FrameError::Decode)
}

/// The stdcopy header for `len` payload bytes of `stream`.
pub fn stdcopy_header(stream: u8, len: usize) -> [u8; FRAME_HEADER] {
    let l = (len as u32).to_be_bytes();
    [stream, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let reqs = [
            Request::State,
            Request::Kill {
                signal: 9,
                all: true,
            },
            Request::Attach {
                stdin: true,
                stdout: true,
                stderr: false,
            },
            Request::ResizePty {
                width: 80,
                height: 24,
            },
        ];
        for r in reqs {
            let wire = encode(&r).unwrap();
            let len = frame_len(wire[..4].try_into().unwrap()).unwrap();
            assert_eq!(len, wire.len() - 4);
            assert_eq!(decode::<Request>(&wire[4..]).unwrap(), r);
        }
        let resp = Response::Exited(ExitStatus {
            code: 137,
            exited_at: 5,
            oom_killed: false,
        });
        let wire = encode(&resp).unwrap();
        assert_eq!(decode::<Response>(&wire[4..]).unwrap(), resp);
    }

    #[test]
    fn init_verbs_keep_their_protocol_0_encoding() {
        // Byte for byte what a shim of protocol 0 decodes.
        let wire = |r: &Request| serde_json::to_string(r).unwrap();
        assert_eq!(wire(&Request::State), r#""State""#);
        assert_eq!(wire(&Request::Wait), r#""Wait""#);
        assert_eq!(
            wire(&Request::Kill {
                signal: 9,
                all: false
            }),
            r#"{"Kill":{"signal":9,"all":false}}"#
        );
        let ready = StartReport::Ready {
            socket: "s".into(),
            pid: 1,
            shim_pid: 2,
            version: None,
        };
        assert_eq!(
            serde_json::to_string(&ready).unwrap(),
            r#"{"Ready":{"socket":"s","pid":1,"shim_pid":2}}"#
        );
        // A report from a shim of protocol 0 still decodes, without a version.
        let old: StartReport =
            serde_json::from_str(r#"{"Ready":{"socket":"s","pid":1,"shim_pid":2}}"#).unwrap();
        assert_eq!(old, ready);
    }

    #[test]
    fn both_encodings_of_a_process_verb_agree() {
        let legacy = Request::Attach {
            stdin: true,
            stdout: false,
            stderr: true,
        };
        let op = ProcessOp::Attach {
            stdin: true,
            stdout: false,
            stderr: true,
        };
        assert_eq!(legacy.process_op(), Some((None, op.clone())));
        let addressed = Request::Process {
            exec_id: Some("e1".into()),
            op: op.clone(),
        };
        assert_eq!(addressed.process_op(), Some((Some("e1"), op)));
        assert_eq!(Request::Pids.process_op(), None);
        let wire = encode(&addressed).unwrap();
        assert_eq!(decode::<Request>(&wire[4..]).unwrap(), addressed);
    }

    #[test]
    fn versions_and_exec_ids() {
        assert!(PROTO_VERSION.speaks(ProtoVersion::new(1, 7)));
        assert!(!PROTO_VERSION.speaks(ProtoVersion::new(2, 0)));
        assert!(!PROTO_VERSION.speaks(PROTO_LEGACY));
        assert_eq!(ProtoVersion::new(3, 1).to_string(), "3.1");
        assert!(valid_exec_id("0123abcdef"));
        assert!(valid_exec_id("exec_1.a-b"));
        for bad in [
            "",
            ".hidden",
            "a/b",
            "a b",
            "..",
            &"x".repeat(EXEC_ID_MAX + 1),
        ] {
            assert!(!valid_exec_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn launch_args_round_trip() {
        let a = LaunchArgs {
            id: "c1".into(),
            bundle: "/b".into(),
            state_dir: "/s".into(),
            runtime: "/usr/sbin/runc".into(),
            runtime_root: "/r".into(),
            runtime_args: vec!["--debug".into()],
            log: "/s/c1-json.log".into(),
            log_max_size: Some(1024),
            log_max_file: 3,
            tty: true,
            stdin: false,
        };
        let parsed = LaunchArgs::parse(a.to_args()).unwrap();
        assert_eq!(parsed, a);
        let err = LaunchArgs::parse(vec!["--bogus".into()]);
        assert_eq!(err, Err(ArgsError::Unknown("--bogus".into())));
        let err = LaunchArgs::parse(vec!["--id".into()]);
        assert_eq!(err, Err(ArgsError::MissingValue("--id")));
    }

    #[test]
    fn oversized_prefix_is_refused() {
        assert!(frame_len(u32::MAX.to_be_bytes()).is_err());
        assert_eq!(frame_len(10u32.to_be_bytes()).unwrap(), 10);
    }

    #[test]
    fn stdcopy_header_is_big_endian() {
        assert_eq!(stdcopy_header(2, 0x0102), [2, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn status_serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&Status::Paused).unwrap(),
            "\"paused\""
        );
    }
}
