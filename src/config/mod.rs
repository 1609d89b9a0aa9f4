//! Daemon configuration: dockerd-compatible flags merged with `daemon.json`.
//!
//! As in dockerd, a key set both as a flag and in the file is an error, and so is an unknown key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
pub const DEFAULT_EXEC_ROOT: &str = "/run/berth";
pub const DEFAULT_CONFIG_FILE: &str = "/etc/berth/daemon.json";
pub const DEFAULT_SOCKET_GROUP: &str = "docker";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unable to configure the Docker daemon with file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unable to configure the Docker daemon with file {path}: {msg}")]
    Parse { path: PathBuf, msg: String },
    #[error("the following directives don't match any configuration option: {0}")]
    UnknownKeys(String),
    #[error(
        "the following directives are specified both as a flag and in the configuration file: {0}"
    )]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
}

/// Command-line flags, named as dockerd's.
#[derive(Debug, Parser, Default)]
#[command(name = "berthd", version, about = "Berth: a Docker Engine API daemon")]
pub struct Flags {
    /// Daemon socket(s) to connect to (unix://PATH)
    #[arg(short = 'H', long = "host")]
    pub hosts: Vec<String>,
    /// Root directory of persistent state
    #[arg(long = "data-root")]
    pub data_root: Option<PathBuf>,
    /// Root directory for execution state files
    #[arg(long = "exec-root")]
    pub exec_root: Option<PathBuf>,
    /// Path to use for the daemon PID file
    #[arg(short = 'p', long = "pidfile")]
    pub pidfile: Option<PathBuf>,
    /// Daemon configuration file
    #[arg(long = "config-file")]
    pub config_file: Option<PathBuf>,
    /// Enable debug mode
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
    /// Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")
    #[arg(short = 'l', long = "log-level")]
    pub log_level: Option<String>,
    /// Group for the unix socket
    #[arg(short = 'G', long = "group")]
    pub group: Option<String>,
    /// Register an additional OCI runtime (NAME=PATH)
    #[arg(long = "add-runtime")]
    pub add_runtime: Vec<String>,
    /// Default OCI runtime for containers
    #[arg(long = "default-runtime")]
    pub default_runtime: Option<String>,
}

/// `daemon.json`: the subset of dockerd's keys Berth supports, same names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    hosts: Option<Vec<String>>,
    #[serde(rename = "data-root")]
    data_root: Option<PathBuf>,
    #[serde(rename = "exec-root")]
    exec_root: Option<PathBuf>,
    pidfile: Option<PathBuf>,
    debug: Option<bool>,
    #[serde(rename = "log-level")]
    log_level: Option<String>,
    group: Option<String>,
    runtimes: Option<BTreeMap<String, FileRuntime>>,
    #[serde(rename = "default-runtime")]
    default_runtime: Option<String>,
    #[serde(rename = "log-opts")]
    log_opts: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRuntime {
    path: String,
    #[serde(default, rename = "runtimeArgs")]
    runtime_args: Vec<String>,
}

const FILE_KEYS: &[&str] = &[
    "hosts",
    "data-root",
    "exec-root",
    "pidfile",
    "debug",
    "log-level",
    "group",
    "runtimes",
    "default-runtime",
    "log-opts",
];

/// The built-in runtime: `berth-runtime`, installed beside `berthd`.
pub const BUILTIN_RUNTIME: &str = "berth";

/// An OCI runtime: a runc-compatible binary and extra arguments for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub path: PathBuf,
    pub args: Vec<String>,
}

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Unix(PathBuf),
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: Vec<Listen>,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub pidfile: Option<PathBuf>,
    pub debug: bool,
    pub log_level: String,
    pub socket_group: String,
    /// Runtimes by name, including the built-in one.
    pub runtimes: BTreeMap<String, RuntimeConfig>,
    pub default_runtime: String,
    /// Default json-file options (`max-size`, `max-file`) for containers that set none.
    pub log_opts: BTreeMap<String, String>,
}

impl Config {
    /// Merges flags with the config file (the explicit one, or the default one when it exists).
    pub fn load(flags: Flags) -> Result<Config, ConfigError> {
        let (path, required) = match &flags.config_file {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let file = match std::fs::read(&path) {
            Ok(bytes) => parse_file(&path, &bytes)?,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                FileConfig::default()
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        merge(flags, file)
    }

    /// A configuration for tests and embedding: one unix socket, given roots.
    pub fn for_paths(socket: &Path, data_root: &Path, exec_root: &Path) -> Config {
        Config {
            listen: vec![Listen::Unix(socket.to_path_buf())],
            data_root: data_root.to_path_buf(),
            exec_root: exec_root.to_path_buf(),
            pidfile: None,
            debug: false,
            log_level: "info".into(),
            socket_group: DEFAULT_SOCKET_GROUP.into(),
            runtimes: builtin_runtimes(),
            default_runtime: BUILTIN_RUNTIME.into(),
            log_opts: BTreeMap::new(),
        }
    }
}

fn parse_file(path: &Path, bytes: &[u8]) -> Result<FileConfig, ConfigError> {
    // As dockerd: a UTF-8 byte order mark is skipped and an empty file means no settings.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(FileConfig::default());
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
    let Some(obj) = value.as_object() else {
        return Err(ConfigError::Parse {
            path: path.to_path_buf(),
            msg: "the configuration must be a JSON object".into(),
        });
    };
    let unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !FILE_KEYS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(ConfigError::UnknownKeys(unknown.join(", ")));
    }
    serde_json::from_value(value).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}

fn merge(flags: Flags, file: FileConfig) -> Result<Config, ConfigError> {
    let mut both = BTreeSet::new();
    let mut pick = |name: &'static str, flag_set: bool, file_set: bool| {
        if flag_set && file_set {
            both.insert(name);
        }
    };
    pick("hosts", !flags.hosts.is_empty(), file.hosts.is_some());
    pick(
        "data-root",
        flags.data_root.is_some(),
        file.data_root.is_some(),
    );
    pick(
        "exec-root",
        flags.exec_root.is_some(),
        file.exec_root.is_some(),
    );
    pick("pidfile", flags.pidfile.is_some(), file.pidfile.is_some());
    pick("debug", flags.debug, file.debug.is_some());
    pick(
        "log-level",
        flags.log_level.is_some(),
        file.log_level.is_some(),
    );
    pick("group", flags.group.is_some(), file.group.is_some());
    pick(
        "runtimes",
        !flags.add_runtime.is_empty(),
        file.runtimes.is_some(),
    );
    pick(
        "default-runtime",
        flags.default_runtime.is_some(),
        file.default_runtime.is_some(),
    );
    if !both.is_empty() {
        let list: Vec<_> = both.into_iter().collect();
        return Err(ConfigError::Conflict(list.join(", ")));
    }

    let hosts = if flags.hosts.is_empty() {
        file.hosts.unwrap_or_else(|| vec![DEFAULT_HOST.to_string()])
    } else {
        flags.hosts
    };
    let listen = hosts
        .iter()
        .map(|h| parse_host(h))
        .collect::<Result<Vec<_>, _>>()?;
    let debug = flags.debug || file.debug.unwrap_or(false);
    let log_level = flags
        .log_level
        .or(file.log_level)
        .unwrap_or_else(|| if debug { "debug" } else { "info" }.into());
    if !["debug", "info", "warn", "error", "fatal"].contains(&log_level.as_str()) {
        return Err(ConfigError::Invalid(format!(
            "unable to parse logging level: {log_level}"
        )));
    }
    let mut runtimes = builtin_runtimes();
    for spec in &flags.add_runtime {
        let (name, path) = spec.split_once('=').ok_or_else(|| {
            ConfigError::Invalid(format!("invalid runtime {spec:?}: expected NAME=PATH"))
        })?;
        add_runtime(&mut runtimes, name, path, Vec::new())?;
    }
    for (name, rt) in file.runtimes.unwrap_or_default() {
        add_runtime(&mut runtimes, &name, &rt.path, rt.runtime_args)?;
    }
    let default_runtime = flags
        .default_runtime
        .or(file.default_runtime)
        .unwrap_or_else(|| BUILTIN_RUNTIME.into());
    if !runtimes.contains_key(&default_runtime) {
        return Err(ConfigError::Invalid(format!(
            "specified default runtime '{default_runtime}' does not exist"
        )));
    }
    let log_opts = file.log_opts.unwrap_or_default();
    if let Some(k) = log_opts
        .keys()
        .find(|k| !["max-size", "max-file"].contains(&k.as_str()))
    {
        return Err(ConfigError::Invalid(format!(
            "unknown log opt '{k}' for json-file log driver"
        )));
    }
    Ok(Config {
        runtimes,
        default_runtime,
        log_opts,
        listen,
        data_root: absolute(
            flags
                .data_root
                .or(file.data_root)
                .unwrap_or_else(|| DEFAULT_DATA_ROOT.into()),
        )?,
        exec_root: absolute(
            flags
                .exec_root
                .or(file.exec_root)
                .unwrap_or_else(|| DEFAULT_EXEC_ROOT.into()),
        )?,
        pidfile: flags.pidfile.or(file.pidfile),
        debug,
        log_level,
        socket_group: flags
            .group
            .or(file.group)
            .unwrap_or_else(|| DEFAULT_SOCKET_GROUP.into()),
    })
}

/// `berth` (berth-runtime beside this binary) and `runc` when it is installed.
fn builtin_runtimes() -> BTreeMap<String, RuntimeConfig> {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin"));
    let mut map = BTreeMap::new();
    map.insert(
        BUILTIN_RUNTIME.to_string(),
        RuntimeConfig {
            path: dir.join("berth-runtime"),
            args: Vec::new(),
        },
    );
    for candidate in [
        "/usr/sbin/runc",
        "/usr/bin/runc",
        "/usr/local/bin/runc",
        "/usr/local/sbin/runc",
    ] {
        if Path::new(candidate).exists() {
            map.insert(
                "runc".to_string(),
                RuntimeConfig {
                    path: candidate.into(),
                    args: Vec::new(),
                },
            );
            break;
        }
    }
    map
}

fn add_runtime(
    map: &mut BTreeMap<String, RuntimeConfig>,
    name: &str,
    path: &str,
    args: Vec<String>,
) -> Result<(), ConfigError> {
    if name.is_empty() || path.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "invalid runtime {name:?}: name and path are required"
        )));
    }
    if name == BUILTIN_RUNTIME {
        return Err(ConfigError::Invalid(format!(
            "runtime name '{name}' is reserved"
        )));
    }
    map.insert(
        name.to_string(),
        RuntimeConfig {
            path: path.into(),
            args,
        },
    );
    Ok(())
}

fn absolute(p: PathBuf) -> Result<PathBuf, ConfigError> {
    std::path::absolute(&p)
        .map_err(|e| ConfigError::Invalid(format!("invalid path {}: {e}", p.display())))
}

/// Parses one `-H` value. Only unix sockets are served so far; the others fail clearly.
pub fn parse_host(h: &str) -> Result<Listen, ConfigError> {
    let h = h.trim();
    if let Some(path) = h.strip_prefix("unix://") {
        let path = if path.is_empty() {
            "/var/run/docker.sock"
        } else {
            path
        };
        return Ok(Listen::Unix(PathBuf::from(path)));
    }
    if h.starts_with("tcp://") || h.starts_with("fd://") {
        let scheme = &h[..h.find("://").unwrap_or(0)];
        return Err(ConfigError::Invalid(format!(
            "listening on {scheme}:// is not supported yet (host {h:?}); use unix://PATH"
        )));
    }
    Err(ConfigError::Invalid(format!(
        "invalid bind address format: {h}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        let mut all = vec!["berthd"];
        all.extend_from_slice(args);
        Flags::parse_from(all)
    }

    #[test]
    fn defaults_match_dockerd_names() {
        let c = merge(flags(&[]), FileConfig::default()).unwrap();
        assert_eq!(c.listen, vec![Listen::Unix("/var/run/docker.sock".into())]);
        assert_eq!(c.data_root, PathBuf::from(DEFAULT_DATA_ROOT));
        assert_eq!(c.exec_root, PathBuf::from(DEFAULT_EXEC_ROOT));
        assert_eq!(c.log_level, "info");
    }

    #[test]
    fn repeatable_hosts_and_debug() {
        let c = merge(
            flags(&[
                "-H",
                "unix:///tmp/a.sock",
                "--host",
                "unix:///tmp/b.sock",
                "-D",
            ]),
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(c.listen.len(), 2);
        assert!(c.debug);
        assert_eq!(c.log_level, "debug");
    }

    #[test]
    fn tcp_and_fd_fail_clearly() {
        for h in ["tcp://0.0.0.0:2376", "fd://"] {
            let e = parse_host(h).unwrap_err().to_string();
            assert!(e.contains("not supported yet"), "{e}");
        }
        assert!(parse_host("/tmp/x.sock").is_err());
    }

    #[test]
    fn unknown_file_keys_are_an_error() {
        let e = parse_file(Path::new("d.json"), br#"{"data-root":"/x","bogus":1}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the following directives don't match any configuration option: bogus"
        );
    }

    #[test]
    fn empty_file_means_defaults() {
        let file = parse_file(Path::new("d.json"), b" \n").unwrap();
        assert!(file.hosts.is_none());
        let file = parse_file(Path::new("d.json"), b"\xEF\xBB\xBF{\"debug\":true}").unwrap();
        assert_eq!(file.debug, Some(true));
    }

    #[test]
    fn flag_and_file_conflict() {
        let file = parse_file(Path::new("d.json"), br#"{"data-root":"/x"}"#).unwrap();
        let e = merge(flags(&["--data-root", "/y"]), file).unwrap_err();
        assert!(e.to_string().contains("data-root"), "{e}");
    }

    #[test]
    fn file_values_apply() {
        let file = parse_file(
            Path::new("d.json"),
            br#"{"data-root":"/x","hosts":["unix:///tmp/s.sock"],"log-level":"warn"}"#,
        )
        .unwrap();
        let c = merge(flags(&[]), file).unwrap();
        assert_eq!(c.data_root, PathBuf::from("/x"));
        assert_eq!(c.listen, vec![Listen::Unix("/tmp/s.sock".into())]);
        assert_eq!(c.log_level, "warn");
    }

    #[test]
    fn runtimes_from_flags_and_file() {
        let c = merge(
            flags(&[
                "--add-runtime",
                "mine=/opt/mine",
                "--default-runtime",
                "mine",
            ]),
            FileConfig::default(),
        )
        .unwrap();
        assert_eq!(c.default_runtime, "mine");
        assert_eq!(c.runtimes["mine"].path, PathBuf::from("/opt/mine"));
        assert!(c.runtimes.contains_key(BUILTIN_RUNTIME));
        let file = parse_file(
            Path::new("d.json"),
            br#"{"runtimes":{"other":{"path":"/opt/o","runtimeArgs":["--debug"]}},"default-runtime":"other"}"#,
        )
        .unwrap();
        let c = merge(flags(&[]), file).unwrap();
        assert_eq!(c.runtimes["other"].args, vec!["--debug"]);
        assert!(merge(flags(&["--default-runtime", "nope"]), FileConfig::default()).is_err());
        assert!(merge(flags(&["--add-runtime", "noequals"]), FileConfig::default()).is_err());
    }

    #[test]
    fn log_opts_are_checked() {
        let file = parse_file(Path::new("d.json"), br#"{"log-opts":{"max-size":"10m"}}"#).unwrap();
        assert_eq!(merge(flags(&[]), file).unwrap().log_opts["max-size"], "10m");
        let file = parse_file(Path::new("d.json"), br#"{"log-opts":{"tag":"x"}}"#).unwrap();
        assert!(merge(flags(&[]), file).is_err());
    }

    #[test]
    fn bad_log_level() {
        assert!(merge(flags(&["--log-level", "loud"]), FileConfig::default()).is_err());
    }
}
