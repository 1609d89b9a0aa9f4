//! The OCI runtime library behind `berth-runtime` (runc's role, runc's command line).
//! Synchronous: it forks, which is only safe in a single-threaded process, so it never uses
//! tokio or helper threads. It imports nothing from the rest of the crate but `util`.
//!
//! Layout: `cli` parses argv; `commands` has one file per verb; `container` is the persisted
//! state and status; `process` the fork dance (channels, intermediate, init, setup, sealed
//! re-exec); `namespaces`, `rootfs`, `capabilities`, `hooks`, `tty`, `sysctl`, `network` are the
//! steps; `cgroups` and `seccomp` are separate subsystems behind small contracts.

pub mod capabilities;
pub mod cgroup;
pub mod cgroups;
pub mod cli;
pub mod commands;
pub mod container;
pub mod error;
pub mod hooks;
pub mod log;
pub mod namespaces;
pub mod network;
pub mod process;
pub mod procfs;
pub mod rootfs;
pub mod seccomp;
pub mod signal;
pub mod spec;
pub mod sysctl;
pub mod tty;

/// Runs a parsed command line and returns the exit code; errors are logged (to --log, or
/// stderr) and printed to stderr, as runc does.
pub fn main(cli: cli::Cli) -> i32 {
    if let Err(e) = log::init(
        cli.global.log.as_deref(),
        cli.global.log_format,
        cli.global.debug,
    ) {
        eprintln!("{e}");
        return 1;
    }
    match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            let (msg, code) = commands::failure(&cli.command, &e);
            log::error(&msg);
            if !log::goes_to_stderr() {
                eprintln!("{msg}");
            }
            code
        }
    }
}
