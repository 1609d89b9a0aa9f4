//! One file per verb; `dispatch` maps the parsed command line onto them.

pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;

use crate::runtime::cli::{Cli, Command};
use crate::runtime::error::RuntimeError;
use std::os::unix::fs::DirBuilderExt;

use crate::runtime::process::sealed_exe;

/// Runs the command; the result is the process exit code.
pub fn dispatch(cli: &Cli) -> Result<i32, RuntimeError> {
    let g = &cli.global;
    let touches_containers = !matches!(
        cli.command,
        Command::Version | Command::Help | Command::Spec { .. } | Command::Features
    );
    if g.systemd_cgroup && touches_containers {
        return Err(RuntimeError::SystemdCgroup);
    }
    // Commands that put our processes into a container run from a sealed copy of the binary.
    if matches!(
        cli.command,
        Command::Create(_) | Command::Run { .. } | Command::Exec(_)
    ) {
        // The state root doubles as the overlay's spare lower layer (see sealed_exe); if it
        // cannot be made here, the protection falls back to a memfd copy.
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&g.root);
        sealed_exe::ensure_sealed(&g.root)?;
        sealed_exe::clear_marker();
    }
    match &cli.command {
        Command::Create(o) => create::run(g, o),
        Command::Run {
            create,
            detach,
            keep,
        } => run::run(g, create, *detach, *keep),
        Command::Start { id } => start::run(g, id),
        Command::State { id } => state::run(g, id),
        Command::Kill { id, signal, all } => kill::run(g, id, *signal, *all),
        Command::Delete { id, force } => delete::run(g, id, *force),
        Command::Exec(o) => exec::run(g, o),
        Command::Pause { id } => pause::pause(g, id),
        Command::Resume { id } => pause::resume(g, id),
        Command::Ps {
            id,
            format,
            ps_args,
        } => ps::run(g, id, *format, ps_args),
        Command::Update(o) => update::run(g, o),
        Command::Events {
            id,
            stats,
            interval_secs,
        } => events::run(g, id, *stats, *interval_secs),
        Command::List { json, quiet } => list::run(g, *json, *quiet),
        Command::Spec { bundle, rootless } => spec::run(g, bundle, *rootless),
        Command::Features => Ok(features::run()),
        Command::Version => {
            println!(
                "berth-runtime version {}\nspec: {}",
                env!("CARGO_PKG_VERSION"),
                crate::runtime::container::OCI_VERSION
            );
            Ok(0)
        }
        Command::Help => {
            print!("{}", crate::runtime::cli::USAGE);
            Ok(0)
        }
    }
}

/// How runc words a failed command, and the exit code it uses.
pub fn failure(command: &Command, e: &RuntimeError) -> (String, i32) {
    match command {
        Command::Create(_) => (format!("berth-runtime create failed: {e}"), 1),
        Command::Run { .. } => (format!("berth-runtime run failed: {e}"), 1),
        Command::Exec(_) => (format!("exec failed: {e}"), 255),
        _ => (e.to_string(), 1),
    }
}
