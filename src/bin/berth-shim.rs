//! berth-shim: one per container, outlives the daemon. See `berth::shim`.

fn main() -> std::process::ExitCode {
    berth::shim::main(std::env::args_os())
}
