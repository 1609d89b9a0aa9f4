//! berth-runtime: an OCI runtime with runc's command line (see `berth::runtime`).
//! Synchronous and single-threaded on purpose: it forks.

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cli = match berth::runtime::cli::parse(&argv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("berth-runtime: {e}");
            return ExitCode::from(1);
        }
    };
    ExitCode::from(berth::runtime::main(cli).clamp(0, 255) as u8)
}
