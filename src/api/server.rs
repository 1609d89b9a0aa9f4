//! Listeners. Unix sockets are created as dockerd creates them: a stale socket file is replaced,
//! the mode is 0660 and the group is `docker` when that group exists.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use axum::ServiceExt;
use tokio::net::UnixListener;

use crate::config::Listen;
use crate::engine::{Engine, Error, Result};

/// Bound listeners, ready to serve.
pub struct Listeners {
    unix: Vec<(std::path::PathBuf, UnixListener)>,
}

/// Binds every listener; once this returns, clients can connect (their requests wait for `serve`).
pub fn bind(listen: &[Listen], group: &str) -> Result<Listeners> {
    let mut unix = Vec::new();
    for l in listen {
        let Listen::Unix(path) = l;
        unix.push((path.clone(), bind_unix(path, group)?));
        tracing::info!(socket = %path.display(), "API listening");
    }
    Ok(Listeners { unix })
}

/// Serves every listener until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    engine: Engine,
    listeners: Listeners,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut paths = Vec::new();
    for (path, listener) in listeners.unix {
        paths.push(path);
        let app = super::app(engine.clone());
        let mut rx = stop_rx.clone();
        tasks.spawn(async move {
            let svc = ServiceExt::<axum::extract::Request>::into_make_service(app);
            let result = axum::serve(listener, svc)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "API listener failed");
            }
        });
    }
    shutdown.await;
    let _ = stop_tx.send(true);
    // Bounded: a client holding a stream open must not keep the daemon from exiting.
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(std::time::Duration::from_secs(3), drain)
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 3s (attach, logs -f, wait); closing them");
        tasks.abort_all();
    }
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn bind_unix(path: &Path, group: &str) -> Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::internal(format!(
                "cannot remove stale socket {}: {e}",
                path.display()
            )));
        }
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| Error::internal(format!("cannot listen on {}: {e}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| Error::internal(format!("cannot chmod {}: {e}", path.display())))?;
    // A name from the group database, or a numeric gid, as dockerd takes either.
    let gid = match group.parse::<u32>() {
        Ok(n) => Some(nix::unistd::Gid::from_raw(n)),
        Err(_) => nix::unistd::Group::from_name(group)
            .ok()
            .flatten()
            .map(|g| g.gid),
    };
    if let Some(gid) = gid
        && let Err(e) = nix::unistd::chown(path, None, Some(gid))
    {
        tracing::warn!(socket = %path.display(), error = %e, "cannot set the socket group");
    }
    Ok(listener)
}
