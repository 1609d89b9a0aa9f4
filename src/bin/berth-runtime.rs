//! berth-runtime: arrives with the task manager (see ARCHITECTURE.md); a placeholder binary until then.

fn main() -> std::process::ExitCode {
    eprintln!("berth-runtime: not implemented yet");
    std::process::ExitCode::FAILURE
}
