//! The per-container shim process (containerd-shim's role): holds the container's stdio, writes
//! its json-file log, reaps it, records its exit and answers the daemon on a unix socket. It runs
//! the OCI runtime as a binary (runc's CLI) and never links `crate::runtime`.
//!
//! Single-threaded and synchronous on purpose: one shim per container stays alive for the
//! container's whole life, so its idle footprint is what counts.

mod calls;
mod conn;
mod footprint;
pub mod jsonlog;
mod launch;
mod oci;
mod oom;
mod process;
pub mod proto;
mod reaper;
mod requests;
mod server;
mod setup;
mod stdio;

use std::ffi::OsString;
use std::process::ExitCode;

const USAGE: &str = "usage: berth-shim start --id ID --bundle DIR --state-dir DIR --runtime BIN \
--runtime-root DIR --log FILE [--log-max-size BYTES] [--log-max-file N] [--tty] [--stdin]";

/// The binary's entry point: `start` forks the server, relays its report and exits.
pub fn main(args: impl Iterator<Item = OsString>) -> ExitCode {
    let mut args = args.skip(1);
    let verb = args.next();
    let rest: Vec<OsString> = args.collect();
    match verb.as_ref().and_then(|v| v.to_str()) {
        Some("start") => match proto::LaunchArgs::parse(rest) {
            Ok(a) => launch::start(a),
            Err(e) => usage_error(&e),
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn usage_error(e: &proto::ArgsError) -> ExitCode {
    eprintln!("berth-shim: {e}\n{USAGE}");
    ExitCode::from(2)
}
