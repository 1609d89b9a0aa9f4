//! runc's command line, parsed by hand: Go's flag rules (`-flag`, `--flag`, `--flag=v`,
//! `--flag v`; bool flags take no separate value) and urfave/cli's habit of accepting flags after
//! positional arguments, except for `exec` and `ps`, whose trailing words belong to the command.
//! Hand-written because clap cannot read single-dash long flags, and startup stays cheap.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::runtime::signal;

pub const DEFAULT_ROOT: &str = "/run/berth-runtime";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("no command given; try --help")]
    NoCommand,
    #[error("No help topic for '{0}'")]
    UnknownCommand(String),
    #[error("flag provided but not defined: -{flag}")]
    UnknownFlag { flag: String },
    #[error("flag needs an argument: -{flag}")]
    MissingValue { flag: String },
    #[error("invalid value {value:?} for flag -{flag}: {reason}")]
    BadValue {
        flag: String,
        value: String,
        reason: String,
    },
    #[error("{command:?} requires {what}")]
    Arguments { command: String, what: String },
    #[error("{0}")]
    Signal(#[from] signal::SignalError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalOpts {
    pub root: PathBuf,
    pub log: Option<PathBuf>,
    pub log_format: LogFormat,
    pub systemd_cgroup: bool,
    pub debug: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateOpts {
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOpts {
    pub id: String,
    pub args: Vec<String>,
    pub process: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub cwd: Option<String>,
    pub env: Vec<String>,
    pub tty: bool,
    pub user: Option<String>,
    pub additional_gids: Vec<String>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub no_new_privs: bool,
    pub caps: Vec<String>,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
}

/// `update`: either a whole `LinuxResources` document (`-r FILE` or `-r -`), or single flags that
/// are merged into it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateOpts {
    pub id: String,
    pub resources: Option<PathBuf>,
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub memory_swap: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Create(CreateOpts),
    Run {
        create: CreateOpts,
        detach: bool,
        keep: bool,
    },
    Start {
        id: String,
    },
    State {
        id: String,
    },
    Kill {
        id: String,
        signal: i32,
        all: bool,
    },
    Delete {
        id: String,
        force: bool,
    },
    Exec(ExecOpts),
    Pause {
        id: String,
    },
    Resume {
        id: String,
    },
    Ps {
        id: String,
        format: PsFormat,
        ps_args: Vec<String>,
    },
    Update(UpdateOpts),
    Events {
        id: String,
        stats: bool,
        interval_secs: u64,
    },
    List {
        json: bool,
        quiet: bool,
    },
    Spec {
        bundle: PathBuf,
        rootless: bool,
    },
    Features,
    Version,
    Help,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    pub global: GlobalOpts,
    pub command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Value,
    Multi,
}

struct Flag {
    names: &'static [&'static str],
    kind: Kind,
}

const fn f(names: &'static [&'static str], kind: Kind) -> Flag {
    Flag { names, kind }
}

const GLOBAL_FLAGS: &[Flag] = &[
    f(&["root"], Kind::Value),
    f(&["log"], Kind::Value),
    f(&["log-format"], Kind::Value),
    f(&["systemd-cgroup"], Kind::Bool),
    f(&["debug"], Kind::Bool),
    // Accepted and ignored, as a runc caller may pass them.
    f(&["rootless"], Kind::Value),
    f(&["criu"], Kind::Value),
    f(&["help", "h"], Kind::Bool),
    f(&["version", "v"], Kind::Bool),
];

const CREATE_FLAGS: &[Flag] = &[
    f(&["bundle", "b"], Kind::Value),
    f(&["console-socket"], Kind::Value),
    f(&["pid-file"], Kind::Value),
    f(&["no-pivot"], Kind::Bool),
    f(&["no-new-keyring"], Kind::Bool),
    f(&["preserve-fds"], Kind::Value),
];

const RUN_FLAGS: &[Flag] = &[
    f(&["bundle", "b"], Kind::Value),
    f(&["console-socket"], Kind::Value),
    f(&["pid-file"], Kind::Value),
    f(&["no-pivot"], Kind::Bool),
    f(&["no-new-keyring"], Kind::Bool),
    f(&["preserve-fds"], Kind::Value),
    f(&["detach", "d"], Kind::Bool),
    f(&["keep"], Kind::Bool),
    f(&["no-subreaper"], Kind::Bool),
];

const EXEC_FLAGS: &[Flag] = &[
    f(&["console-socket"], Kind::Value),
    f(&["cwd"], Kind::Value),
    f(&["env", "e"], Kind::Multi),
    f(&["tty", "t"], Kind::Bool),
    f(&["user", "u"], Kind::Value),
    f(&["additional-gids", "g"], Kind::Multi),
    f(&["process", "p"], Kind::Value),
    f(&["detach", "d"], Kind::Bool),
    f(&["pid-file"], Kind::Value),
    f(&["process-label"], Kind::Value),
    f(&["apparmor"], Kind::Value),
    f(&["no-new-privs"], Kind::Bool),
    f(&["cap", "c"], Kind::Multi),
    f(&["preserve-fds"], Kind::Value),
    f(&["cgroup"], Kind::Multi),
    f(&["ignore-paused"], Kind::Bool),
];

const UPDATE_FLAGS: &[Flag] = &[
    f(&["resources", "r"], Kind::Value),
    f(&["memory"], Kind::Value),
    f(&["memory-reservation"], Kind::Value),
    f(&["memory-swap"], Kind::Value),
    f(&["kernel-memory"], Kind::Value),
    f(&["kernel-memory-tcp"], Kind::Value),
    f(&["cpu-share"], Kind::Value),
    f(&["cpu-quota"], Kind::Value),
    f(&["cpu-period"], Kind::Value),
    f(&["cpu-rt-period"], Kind::Value),
    f(&["cpu-rt-runtime"], Kind::Value),
    f(&["cpuset-cpus"], Kind::Value),
    f(&["cpuset-mems"], Kind::Value),
    f(&["pids-limit"], Kind::Value),
    f(&["blkio-weight"], Kind::Value),
];

/// Flags found, by canonical (first) name, and the positional words.
#[derive(Debug, Default)]
struct Parsed {
    flags: HashMap<&'static str, Vec<String>>,
    args: Vec<String>,
}

impl Parsed {
    fn bool(&self, name: &str) -> Result<bool, CliError> {
        match self.flags.get(name).and_then(|v| v.last()) {
            None => Ok(false),
            Some(v) => parse_go_bool(v).ok_or_else(|| CliError::BadValue {
                flag: name.to_string(),
                value: v.clone(),
                reason: "not a boolean".to_string(),
            }),
        }
    }

    fn value(&self, name: &str) -> Option<String> {
        self.flags.get(name).and_then(|v| v.last()).cloned()
    }

    fn multi(&self, name: &str) -> Vec<String> {
        self.flags.get(name).cloned().unwrap_or_default()
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, CliError> {
        self.value(name)
            .map(|v| {
                v.parse::<T>().map_err(|_| CliError::BadValue {
                    flag: name.to_string(),
                    value: v.clone(),
                    reason: "not a number".to_string(),
                })
            })
            .transpose()
    }

    fn bytes(&self, name: &str) -> Result<Option<i64>, CliError> {
        self.value(name)
            .map(|v| {
                parse_bytes(&v).ok_or_else(|| CliError::BadValue {
                    flag: name.to_string(),
                    value: v.clone(),
                    reason: "not a size (bytes, or a number with k/m/g)".to_string(),
                })
            })
            .transpose()
    }
}

/// Go's strconv.ParseBool.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A memory size as runc's `update --memory` takes it: bytes, or a number with a binary unit
/// suffix (k, m, g, t, with an optional trailing b). `-1` means unlimited.
pub fn parse_bytes(v: &str) -> Option<i64> {
    let s = v.trim().to_ascii_lowercase();
    if s == "-1" {
        return Some(-1);
    }
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1i64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let n: f64 = num.parse().ok()?;
    if n < 0.0 || !n.is_finite() {
        return None;
    }
    Some((n * mult as f64) as i64)
}

fn lookup<'a>(table: &'a [Flag], name: &str) -> Option<&'a Flag> {
    table.iter().find(|fl| fl.names.contains(&name))
}

/// Parses flags from `words` against `table`. With `interleaved`, flags may follow positional
/// words (urfave/cli's reordering); without it the first positional word ends the flags.
fn parse_flags(table: &[Flag], words: &[String], interleaved: bool) -> Result<Parsed, CliError> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if w == "--" {
            parsed.args.extend(words[i + 1..].iter().cloned());
            return Ok(parsed);
        }
        if !(w.len() > 1 && w.starts_with('-')) {
            if !interleaved {
                // Everything from here on is positional.
                parsed.args.extend(words[i..].iter().cloned());
                return Ok(parsed);
            }
            parsed.args.push(w.clone());
            i += 1;
            continue;
        }
        let body = w.strip_prefix("--").unwrap_or_else(|| &w[1..]);
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(flag) = lookup(table, name) else {
            return Err(CliError::UnknownFlag {
                flag: name.to_string(),
            });
        };
        let canonical = flag.names[0];
        let value = match (flag.kind, inline) {
            (Kind::Bool, Some(v)) => v,
            (Kind::Bool, None) => "true".to_string(),
            (_, Some(v)) => v,
            (_, None) => {
                i += 1;
                words
                    .get(i)
                    .cloned()
                    .ok_or_else(|| CliError::MissingValue {
                        flag: canonical.to_string(),
                    })?
            }
        };
        parsed.flags.entry(canonical).or_default().push(value);
        i += 1;
    }
    Ok(parsed)
}

/// Splits the global flags from the command: they end at the first word that is not a flag.
fn parse_global(words: &[String]) -> Result<(Parsed, usize), CliError> {
    let mut end = 0;
    while end < words.len() {
        let w = &words[end];
        if !(w.len() > 1 && w.starts_with('-')) {
            break;
        }
        let body = w.strip_prefix("--").unwrap_or_else(|| &w[1..]);
        let name = body.split_once('=').map_or(body, |(n, _)| n);
        let takes_value = lookup(GLOBAL_FLAGS, name).is_some_and(|fl| fl.kind != Kind::Bool);
        end += if takes_value && !body.contains('=') {
            2
        } else {
            1
        };
    }
    let end = end.min(words.len());
    Ok((parse_flags(GLOBAL_FLAGS, &words[..end], true)?, end))
}

fn exactly_one(command: &str, p: &Parsed) -> Result<String, CliError> {
    match p.args.as_slice() {
        [id] => Ok(id.clone()),
        _ => Err(CliError::Arguments {
            command: command.to_string(),
            what: "exactly 1 argument(s)".to_string(),
        }),
    }
}

fn preserve_fds(p: &Parsed) -> Result<u32, CliError> {
    Ok(p.number::<u32>("preserve-fds")?.unwrap_or(0))
}

fn create_opts(command: &str, p: &Parsed) -> Result<CreateOpts, CliError> {
    Ok(CreateOpts {
        id: exactly_one(command, p)?,
        bundle: PathBuf::from(p.value("bundle").unwrap_or_else(|| ".".to_string())),
        console_socket: p.value("console-socket").map(PathBuf::from),
        pid_file: p.value("pid-file").map(PathBuf::from),
        no_pivot: p.bool("no-pivot")?,
        no_new_keyring: p.bool("no-new-keyring")?,
        preserve_fds: preserve_fds(p)?,
    })
}

fn no_flags() -> &'static [Flag] {
    &[]
}

/// Parses `argv` (without the program name).
pub fn parse(argv: &[String]) -> Result<Cli, CliError> {
    let (gp, end) = parse_global(argv)?;
    let log_format = match gp.value("log-format").as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(CliError::BadValue {
                flag: "log-format".to_string(),
                value: other.to_string(),
                reason: "must be text or json".to_string(),
            });
        }
    };
    let global = GlobalOpts {
        root: PathBuf::from(gp.value("root").unwrap_or_else(|| DEFAULT_ROOT.to_string())),
        log: gp.value("log").filter(|l| !l.is_empty()).map(PathBuf::from),
        log_format,
        systemd_cgroup: gp.bool("systemd-cgroup")?,
        debug: gp.bool("debug")?,
    };
    if gp.bool("version")? {
        return Ok(Cli {
            global,
            command: Command::Version,
        });
    }
    let rest = &argv[end..];
    let Some((name, words)) = rest.split_first() else {
        if gp.bool("help")? {
            return Ok(Cli {
                global,
                command: Command::Help,
            });
        }
        return Err(CliError::NoCommand);
    };
    let name = name.as_str();
    let table: &[Flag] = match name {
        "create" => CREATE_FLAGS,
        "run" => RUN_FLAGS,
        "kill" => &[f(&["all", "a"], Kind::Bool)],
        "delete" => &[f(&["force", "f"], Kind::Bool)],
        "exec" => EXEC_FLAGS,
        "ps" => &[f(&["format", "f"], Kind::Value)],
        "update" => UPDATE_FLAGS,
        "events" => &[f(&["stats"], Kind::Bool), f(&["interval"], Kind::Value)],
        "list" => &[
            f(&["format", "f"], Kind::Value),
            f(&["quiet", "q"], Kind::Bool),
        ],
        "spec" => &[
            f(&["bundle", "b"], Kind::Value),
            f(&["rootless"], Kind::Bool),
        ],
        "start" | "state" | "pause" | "resume" | "features" | "help" => no_flags(),
        other => return Err(CliError::UnknownCommand(other.to_string())),
    };
    // exec and ps pass trailing words on to the command they run.
    let interleaved = !matches!(name, "exec" | "ps");
    let p = parse_flags(table, words, interleaved)?;
    let command = match name {
        "create" => Command::Create(create_opts(name, &p)?),
        "run" => Command::Run {
            create: create_opts(name, &p)?,
            detach: p.bool("detach")?,
            keep: p.bool("keep")?,
        },
        "start" => Command::Start {
            id: exactly_one(name, &p)?,
        },
        "state" => Command::State {
            id: exactly_one(name, &p)?,
        },
        "pause" => Command::Pause {
            id: exactly_one(name, &p)?,
        },
        "resume" => Command::Resume {
            id: exactly_one(name, &p)?,
        },
        "kill" => {
            let (id, sig) = match p.args.as_slice() {
                [id] => (id.clone(), signal::SIGTERM),
                [id, sig] => (id.clone(), signal::parse(sig)?),
                _ => {
                    return Err(CliError::Arguments {
                        command: name.to_string(),
                        what: "minimum 1 and maximum 2 argument(s)".to_string(),
                    });
                }
            };
            Command::Kill {
                id,
                signal: sig,
                all: p.bool("all")?,
            }
        }
        "delete" => Command::Delete {
            id: exactly_one(name, &p)?,
            force: p.bool("force")?,
        },
        "exec" => {
            let (id, args) = p.args.split_first().ok_or_else(|| CliError::Arguments {
                command: name.to_string(),
                what: "minimum 1 argument(s)".to_string(),
            })?;
            let process = p.value("process").map(PathBuf::from);
            if process.is_none() && args.is_empty() {
                return Err(CliError::Arguments {
                    command: name.to_string(),
                    what: "a command, or --process".to_string(),
                });
            }
            Command::Exec(ExecOpts {
                id: id.clone(),
                args: args.to_vec(),
                process,
                console_socket: p.value("console-socket").map(PathBuf::from),
                cwd: p.value("cwd"),
                env: p.multi("env"),
                tty: p.bool("tty")?,
                user: p.value("user"),
                additional_gids: p.multi("additional-gids"),
                detach: p.bool("detach")?,
                pid_file: p.value("pid-file").map(PathBuf::from),
                no_new_privs: p.bool("no-new-privs")?,
                caps: p.multi("cap"),
                preserve_fds: preserve_fds(&p)?,
                ignore_paused: p.bool("ignore-paused")?,
            })
        }
        "ps" => {
            let (id, ps_args) = p.args.split_first().ok_or_else(|| CliError::Arguments {
                command: name.to_string(),
                what: "minimum 1 argument(s)".to_string(),
            })?;
            let format = match p.value("format").as_deref() {
                None | Some("table") => PsFormat::Table,
                Some("json") => PsFormat::Json,
                Some(other) => {
                    return Err(CliError::BadValue {
                        flag: "format".to_string(),
                        value: other.to_string(),
                        reason: "must be table or json".to_string(),
                    });
                }
            };
            Command::Ps {
                id: id.clone(),
                format,
                ps_args: ps_args.to_vec(),
            }
        }
        "update" => Command::Update(UpdateOpts {
            id: exactly_one(name, &p)?,
            resources: p.value("resources").map(PathBuf::from),
            memory: p.bytes("memory")?,
            memory_reservation: p.bytes("memory-reservation")?,
            memory_swap: p.bytes("memory-swap")?,
            cpu_shares: p.number("cpu-share")?,
            cpu_quota: p.number("cpu-quota")?,
            cpu_period: p.number("cpu-period")?,
            cpuset_cpus: p.value("cpuset-cpus"),
            cpuset_mems: p.value("cpuset-mems"),
            pids_limit: p.number("pids-limit")?,
            blkio_weight: p.number("blkio-weight")?,
        }),
        "events" => Command::Events {
            id: exactly_one(name, &p)?,
            stats: p.bool("stats")?,
            interval_secs: match p.value("interval") {
                None => 5,
                Some(v) => parse_go_duration_secs(&v).ok_or_else(|| CliError::BadValue {
                    flag: "interval".to_string(),
                    value: v.clone(),
                    reason: "not a duration such as 5s or 1m".to_string(),
                })?,
            },
        },
        "list" => Command::List {
            json: match p.value("format").as_deref() {
                None | Some("table") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(CliError::BadValue {
                        flag: "format".to_string(),
                        value: other.to_string(),
                        reason: "must be table or json".to_string(),
                    });
                }
            },
            quiet: p.bool("quiet")?,
        },
        "spec" => Command::Spec {
            bundle: PathBuf::from(p.value("bundle").unwrap_or_else(|| ".".to_string())),
            rootless: p.bool("rootless")?,
        },
        "features" => Command::Features,
        _ => Command::Help,
    };
    Ok(Cli { global, command })
}

/// A whole number of seconds from a Go duration such as `5s`, `1m`, `1m30s` or `500ms`
/// (rounded up to at least one second).
fn parse_go_duration_secs(v: &str) -> Option<u64> {
    let mut total_ms: u64 = 0;
    let mut rest = v;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms = match unit {
            "ms" => n,
            "s" => n * 1000,
            "m" => n * 60_000,
            "h" => n * 3_600_000,
            _ => return None,
        };
        total_ms = total_ms.checked_add(ms)?;
    }
    Some(total_ms.div_ceil(1000).max(1))
}

pub const USAGE: &str = "berth-runtime: an OCI runtime with runc's command line

USAGE: berth-runtime [global options] command [command options] [arguments...]

COMMANDS:
   create   create a container (its init waits until start)
   start    execute the user process of a created container
   run      create and start a container
   state    print the state of a container as JSON
   kill     send a signal to the container's init (or --all processes)
   delete   delete a container and everything it holds
   exec     run a new process inside a running container
   pause    freeze every process of a container
   resume   thaw a paused container
   ps       list the processes of a container
   update   change a container's cgroup resources
   events   print container statistics (--stats) or a stream of them
   list     list the containers under --root
   spec     write a default config.json
   features print what this runtime supports (JSON)

GLOBAL OPTIONS:
   --root DIR          state directory (default /run/berth-runtime)
   --log FILE          write log lines to FILE
   --log-format FMT    text or json
   --systemd-cgroup    refused: there is no systemd cgroup driver
   --version, -v       print the version
";

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn globals_in_any_dash_style() {
        let c = parse(&args(
            "--root /r -log /l.json --log-format=json --systemd-cgroup state x",
        ))
        .unwrap();
        assert_eq!(c.global.root, PathBuf::from("/r"));
        assert_eq!(c.global.log, Some(PathBuf::from("/l.json")));
        assert_eq!(c.global.log_format, LogFormat::Json);
        assert!(c.global.systemd_cgroup);
        assert_eq!(c.command, Command::State { id: "x".into() });
    }

    #[test]
    fn default_root_and_text_logs() {
        let c = parse(&args("start abc")).unwrap();
        assert_eq!(c.global.root, PathBuf::from(DEFAULT_ROOT));
        assert_eq!(c.global.log_format, LogFormat::Text);
        assert_eq!(c.command, Command::Start { id: "abc".into() });
    }

    #[test]
    fn create_with_containerd_flags() {
        let c = parse(&args(
            "create --bundle /b --pid-file /p --console-socket /s --no-pivot id1",
        ))
        .unwrap();
        let Command::Create(o) = c.command else {
            panic!("not create")
        };
        assert_eq!(o.id, "id1");
        assert_eq!(o.bundle, PathBuf::from("/b"));
        assert_eq!(o.pid_file, Some(PathBuf::from("/p")));
        assert_eq!(o.console_socket, Some(PathBuf::from("/s")));
        assert!(o.no_pivot);
        assert!(!o.no_new_keyring);
    }

    #[test]
    fn flags_after_the_id_are_accepted_like_urfave() {
        let c = parse(&args("delete x --force")).unwrap();
        assert_eq!(
            c.command,
            Command::Delete {
                id: "x".into(),
                force: true
            }
        );
        let c = parse(&args("delete -f=false x")).unwrap();
        assert_eq!(
            c.command,
            Command::Delete {
                id: "x".into(),
                force: false
            }
        );
    }

    #[test]
    fn kill_signals() {
        let c = parse(&args("kill --all x KILL")).unwrap();
        assert_eq!(
            c.command,
            Command::Kill {
                id: "x".into(),
                signal: 9,
                all: true
            }
        );
        let c = parse(&args("kill x")).unwrap();
        assert_eq!(
            c.command,
            Command::Kill {
                id: "x".into(),
                signal: 15,
                all: false
            }
        );
        assert!(parse(&args("kill x NOPE")).is_err());
        assert!(parse(&args("kill")).is_err());
    }

    #[test]
    fn exec_keeps_command_flags() {
        let c = parse(&args(
            "exec -e A=1 --env B=2 -t --user 1000:1000 x sh -c -e",
        ))
        .unwrap();
        let Command::Exec(o) = c.command else {
            panic!("not exec")
        };
        assert_eq!(o.id, "x");
        assert_eq!(o.args, args("sh -c -e"));
        assert_eq!(o.env, args("A=1 B=2"));
        assert!(o.tty);
        assert_eq!(o.user.as_deref(), Some("1000:1000"));
        assert!(parse(&args("exec x")).is_err());
        let c = parse(&args("exec --process /p.json -d x")).unwrap();
        let Command::Exec(o) = c.command else {
            panic!("not exec")
        };
        assert_eq!(o.process, Some(PathBuf::from("/p.json")));
        assert!(o.detach);
    }

    #[test]
    fn errors_name_the_flag() {
        assert_eq!(
            parse(&args("create --bogus x")),
            Err(CliError::UnknownFlag {
                flag: "bogus".into()
            })
        );
        assert_eq!(
            parse(&args("create x --bundle")),
            Err(CliError::MissingValue {
                flag: "bundle".into()
            })
        );
        assert!(matches!(
            parse(&args("frob x")),
            Err(CliError::UnknownCommand(_))
        ));
        assert!(matches!(
            parse(&args("state")),
            Err(CliError::Arguments { .. })
        ));
        assert!(matches!(
            parse(&args("--log-format xml state x")),
            Err(CliError::BadValue { .. })
        ));
        assert_eq!(parse(&args("--root /x")), Err(CliError::NoCommand));
    }

    #[test]
    fn double_dash_ends_flags() {
        let c = parse(&args("exec x -- ls -l")).unwrap();
        let Command::Exec(o) = c.command else {
            panic!("not exec")
        };
        assert_eq!(o.args, args("-- ls -l"));
        let c = parse(&args("state -- -weird")).unwrap();
        assert_eq!(
            c.command,
            Command::State {
                id: "-weird".into()
            }
        );
    }

    #[test]
    fn update_flags_and_sizes() {
        let c = parse(&args("update --memory 512m --pids-limit 10 -r - x")).unwrap();
        let Command::Update(o) = c.command else {
            panic!("not update")
        };
        assert_eq!(o.memory, Some(512 << 20));
        assert_eq!(o.pids_limit, Some(10));
        assert_eq!(o.resources, Some(PathBuf::from("-")));
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("-1"), Some(-1));
        assert_eq!(parse_bytes("1.5k"), Some(1536));
        assert_eq!(parse_bytes("x"), None);
    }

    #[test]
    fn events_interval_and_ps_format() {
        let c = parse(&args("events --stats --interval 1m30s x")).unwrap();
        assert_eq!(
            c.command,
            Command::Events {
                id: "x".into(),
                stats: true,
                interval_secs: 90
            }
        );
        assert_eq!(parse_go_duration_secs("500ms"), Some(1));
        assert_eq!(parse_go_duration_secs("5"), None);
        let c = parse(&args("ps --format json x")).unwrap();
        assert_eq!(
            c.command,
            Command::Ps {
                id: "x".into(),
                format: PsFormat::Json,
                ps_args: vec![]
            }
        );
        let c = parse(&args("ps x -o pid")).unwrap();
        assert!(matches!(c.command, Command::Ps { ps_args, .. } if ps_args == args("-o pid")));
    }

    #[test]
    fn version_and_help() {
        assert_eq!(parse(&args("--version")).unwrap().command, Command::Version);
        assert_eq!(parse(&args("-v")).unwrap().command, Command::Version);
        assert_eq!(parse(&args("--help")).unwrap().command, Command::Help);
    }
}
