//! berth-shim: arrives with the task manager (see ARCHITECTURE.md); a placeholder binary until then.

fn main() -> std::process::ExitCode {
    eprintln!("berth-shim: not implemented yet");
    std::process::ExitCode::FAILURE
}
