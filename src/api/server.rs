//! Listeners. Unix sockets are created as dockerd creates them: a stale socket file is replaced,
//! the mode is 0660 and the group is `docker` when that group exists. Our own accept loop over
//! hyper's HTTP/1 connections bounds what clients can hold (see `conn`): header read time, idle
//! keep-alive connections, and their number, so a flood cannot take the fds `/_ping` needs.

use std::convert::Infallible;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;
use tower::{Service, ServiceExt};

use super::conn::{ConnGuard, Limits, Registry, TrackedBody, TrackedIo, raise_nofile_limit};
use crate::config::Listen;
use crate::engine::{Engine, Error, Result};

/// Bound listeners, ready to serve.
pub struct Listeners {
    unix: Vec<(std::path::PathBuf, UnixListener)>,
}

/// Binds every listener; once this returns, clients can connect (their requests wait for `serve`).
pub fn bind(listen: &[Listen], group: &str) -> Result<Listeners> {
    // Before anything else takes fds for connections: the cap derives from the raised limit.
    let nofile = raise_nofile_limit();
    tracing::debug!(nofile, "fd limit");
    let mut unix = Vec::new();
    for l in listen {
        let Listen::Unix(path) = l;
        unix.push((path.clone(), bind_unix(path, group)?));
        tracing::info!(socket = %path.display(), "API listening");
    }
    Ok(Listeners { unix })
}

/// The daemon's phases, as the connections see them.
const RUNNING: u8 = 0;
const STOPPING: u8 = 1;
/// The stop's bound ran out: connections still open are dropped.
const KILLED: u8 = 2;

/// After a shed connection was told to close: how long it may take to finish writing what its
/// last response left in its buffer (or to complete a request head) before it is dropped.
const SHED_GRACE: Duration = Duration::from_secs(2);
/// After EMFILE with nothing left to shed: the longest wait for an fd to come back.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves every listener until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    engine: Engine,
    listeners: Listeners,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let nofile = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _)| soft);
    let limits = Limits::from_env(nofile);
    tracing::debug!(?limits, "API connection limits");
    let registry = Registry::new(limits.max_connections);
    let (stop_tx, stop_rx) = watch::channel(RUNNING);
    let conns = TaskTracker::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut paths = Vec::new();
    for (path, listener) in listeners.unix {
        paths.push(path);
        let app = super::app(engine.clone());
        tasks.spawn(accept_loop(
            listener,
            app,
            registry.clone(),
            limits,
            stop_rx.clone(),
            conns.clone(),
        ));
    }
    shutdown.await;
    let _ = stop_tx.send(STOPPING);
    while tasks.join_next().await.is_some() {}
    conns.close();
    // Bounded: a client holding a stream open must not keep the daemon from exiting.
    if tokio::time::timeout(Duration::from_secs(3), conns.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 3s (attach, logs -f, wait); closing them");
        let _ = stop_tx.send(KILLED);
        let _ = tokio::time::timeout(Duration::from_secs(1), conns.wait()).await;
    }
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Accepts until told to stop. At the cap the oldest idle connection makes room; when the fd
/// table is full, idle connections are shed and the accept waits (bounded) for an fd to return.
async fn accept_loop<A>(
    listener: UnixListener,
    app: A,
    registry: Arc<Registry>,
    limits: Limits,
    mut stop: watch::Receiver<u8>,
    conns: TaskTracker,
) where
    A: Service<axum::extract::Request, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    A::Future: Send,
{
    let mut warned: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s >= STOPPING) => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) if is_fd_exhaustion(&e) => {
                let shed = registry.shed_idle(16);
                if warned.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(error = %e, shed, open = registry.len(), "out of file descriptors; closing idle API connections");
                    warned = Some(Instant::now());
                }
                // The pending connection stays in the backlog until an fd comes back.
                let _ = tokio::time::timeout(ACCEPT_BACKOFF, registry.closed.notified()).await;
                continue;
            }
            Err(e) => {
                // ECONNABORTED and the like concern one client; anything else must not spin.
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if !registry.admit() {
            if warned.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                tracing::warn!(
                    cap = registry.cap(),
                    "every API connection is busy at the cap; refusing new ones"
                );
                warned = Some(Instant::now());
            }
            drop(stream);
            continue;
        }
        let guard = registry.register();
        conns.spawn(serve_conn(
            stream,
            app.clone(),
            registry.clone(),
            guard,
            limits,
            stop.clone(),
        ));
    }
}

fn is_fd_exhaustion(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// One HTTP/1.1 connection (with upgrades: attach hijacks it), under the header, idle and shed
/// bounds; in the registry until it ends or is upgraded.
async fn serve_conn<A>(
    stream: UnixStream,
    app: A,
    registry: Arc<Registry>,
    guard: ConnGuard,
    limits: Limits,
    mut stop: watch::Receiver<u8>,
) where
    A: Service<axum::extract::Request, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    A::Future: Send,
{
    let handle = guard.handle.clone();
    let io = TokioIo::new(TrackedIo::new(stream, handle.clone()));
    let svc_handle = handle.clone();
    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let busy = registry.request(&svc_handle);
        let app = app.clone();
        async move {
            let resp = app.oneshot(req.map(axum::body::Body::new)).await?;
            Ok::<_, Infallible>(resp.map(|body| TrackedBody::new(body, busy)))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(io, svc).with_upgrades();
    tokio::pin!(conn);
    // Closing: asked to finish (shed, or the daemon stops); `grace` bounds an idle finish.
    let mut closing = false;
    let mut stopping = false;
    let mut grace: Option<Instant> = None;
    loop {
        let next_phase = if stopping { KILLED } else { STOPPING };
        let idle = (!closing)
            .then(|| handle.idle_deadline(limits.idle_timeout))
            .flatten();
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "API connection ended");
                }
                break;
            }
            _ = handle.changed.notified() => {}
            _ = handle.shed.notified(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
                grace = Some(Instant::now() + SHED_GRACE);
            }
            s = stop.wait_for(|s| *s >= next_phase) => {
                // A closed channel: the server is gone, so is this connection.
                if s.map_or(true, |s| *s >= KILLED) {
                    break;
                }
                // Idle connections close now, busy ones after their response.
                conn.as_mut().graceful_shutdown();
                closing = true;
                stopping = true;
            }
            _ = sleep_until(idle), if idle.is_some() => {
                if handle.idle_deadline(limits.idle_timeout).is_some_and(|d| d <= Instant::now()) {
                    tracing::trace!(conn = handle.id, "idle API connection closed");
                    break;
                }
            }
            _ = sleep_until(grace), if grace.is_some() => {
                // Still no request: it was idle or sending a head slowly; it goes now. A request
                // that arrived meanwhile is answered, then the connection closes.
                if !handle.busy() {
                    break;
                }
                grace = None;
            }
        }
    }
    drop(guard);
}

/// A sleep until `at`; forever without one (its select arm is disabled then anyway).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
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
