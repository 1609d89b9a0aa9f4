//! berthd: config -> logging -> engine (store, images) -> API until SIGTERM/SIGINT.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};

use berth::config::{Config, Flags};
use berth::engine::Engine;

fn main() -> ExitCode {
    // Taken out of the environment before any thread exists, so shims and runtimes do not inherit
    // it (runc would answer it with a notify socket of its own).
    let notify_socket = std::env::var_os("NOTIFY_SOCKET");
    // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
    unsafe { std::env::remove_var("NOTIFY_SOCKET") };
    let config = match Config::load(Flags::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("berthd: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("berthd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config, notify_socket)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("berthd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let level = match config.log_level.as_str() {
        "fatal" => "error",
        l => l,
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(config: Config, notify_socket: Option<std::ffi::OsString>) -> anyhow::Result<()> {
    let listen = config.listen.clone();
    let pidfile = config.pidfile.clone();
    let engine = Engine::open(config).await.context("cannot start")?;
    if let Some(p) = &pidfile {
        std::fs::write(p, std::process::id().to_string())
            .with_context(|| format!("cannot write pid file {}", p.display()))?;
    }
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        data_root = %engine.data_root().display(),
        "berthd started"
    );
    let listeners =
        berth::api::bind(&listen, &engine.config().socket_group).context("cannot listen")?;
    notify_ready(notify_socket);
    let result = berth::api::serve(engine.clone(), listeners, shutdown).await;
    engine.shutdown().await;
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    result.context("API server failed")?;
    tracing::info!("berthd stopped");
    Ok(())
}

/// systemd's readiness protocol (`Type=notify`): tests and service managers learn the sockets
/// are bound without polling for them.
fn notify_ready(socket: Option<std::ffi::OsString>) {
    let Some(path) = socket else {
        return;
    };
    let msg = format!("READY=1\nMAINPID={}", std::process::id());
    let sent = std::os::unix::net::UnixDatagram::unbound().and_then(|s| {
        let bytes = path.as_encoded_bytes();
        match bytes.strip_prefix(b"@") {
            // An abstract socket, as systemd uses.
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                s.send_to_addr(msg.as_bytes(), &addr)
            }
            None => s.send_to(msg.as_bytes(), &path),
        }
    });
    if let Err(e) = sent {
        tracing::warn!(error = %e, "cannot notify readiness");
    }
}
