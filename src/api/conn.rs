//! Bounds on the API's HTTP connections: the fd limit raised and a cap derived from it, the
//! registry that knows which connections are idle (the oldest are shed first when the cap is
//! reached), and the wrappers that tell it: reads on the socket, requests in flight.
//!
//! Idle means no request in flight: a connection waiting for its first or next request, or in the
//! middle of a request head. A response being written (`logs -f`, `wait`, `events`) keeps its
//! connection busy until its body ends, so it is never shed; a hijacked (upgraded) connection
//! leaves hyper, and with it this registry, once upgraded.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Timeouts of the API's connections. Hidden environment variables, read once at start, let
/// tests shorten them: `BERTH_HEADER_READ_TIMEOUT_MS`, `BERTH_IDLE_TIMEOUT_MS`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// hyper's header read timeout. hyper 1.x arms it whenever the connection waits for a
    /// request head (a new connection, or after a keep-alive response), so it also bounds a
    /// connection that sends nothing, not only a slow header.
    pub header_read_timeout: Duration,
    /// A connection with no request in flight and no byte received since its last response (or
    /// since it was opened) is closed after this; kept by us so it holds whatever hyper's timer
    /// covers.
    pub idle_timeout: Duration,
    /// Open HTTP connections at most (see [`connection_cap`]).
    pub max_connections: usize,
}

/// dockerd's Go server waits 5 minutes for a header; 60 s is plenty for any client and bounds
/// a slowloris. Idle keep-alive connections are cheap to reopen.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

impl Limits {
    /// The defaults, with the hidden overrides; `nofile` is the fd limit the cap comes from.
    pub fn from_env(nofile: u64) -> Limits {
        let ms = |name: &str, default: Duration| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|ms| *ms > 0)
                .map_or(default, Duration::from_millis)
        };
        Limits {
            header_read_timeout: ms("BERTH_HEADER_READ_TIMEOUT_MS", HEADER_READ_TIMEOUT),
            idle_timeout: ms("BERTH_IDLE_TIMEOUT_MS", IDLE_TIMEOUT),
            max_connections: connection_cap(nofile),
        }
    }
}

/// Raises the soft RLIMIT_NOFILE to the hard limit, as dockerd (Go's runtime) does at start;
/// returns the soft limit in force afterwards.
pub fn raise_nofile_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => return hard,
            Err(e) => tracing::warn!(soft, hard, error = %e, "cannot raise RLIMIT_NOFILE"),
        }
    }
    soft
}

/// HTTP connections at most for an fd limit: a quarter of the fds (64 to 8192 of them) stays
/// for the engine (shims' sockets, logs, layers, SQLite, hijacked streams).
pub fn connection_cap(nofile: u64) -> usize {
    let nofile = usize::try_from(nofile).unwrap_or(usize::MAX);
    let reserve = (nofile / 4).clamp(64, 8192);
    nofile.saturating_sub(reserve).max(16)
}

/// What one connection's task and its wrappers share.
#[derive(Debug)]
pub struct Handle {
    pub id: u64,
    /// Told to close when idle (the cap was reached, or the fd table is full).
    pub shed: Notify,
    /// Told when the connection becomes idle, so its task arms the idle timer.
    pub changed: Notify,
    in_flight: AtomicUsize,
    /// A byte arrived since the connection became idle: a request is on its way.
    read_since_idle: AtomicBool,
    idle_since: Mutex<Instant>,
}

impl Handle {
    pub fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// When the idle timer fires: `None` while a request is in flight or on its way.
    pub fn idle_deadline(&self, timeout: Duration) -> Option<Instant> {
        if self.busy() || self.read_since_idle.load(Ordering::Acquire) {
            return None;
        }
        Some(*lock(&self.idle_since) + timeout)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data stays consistent under any panic (plain counters and maps): go on with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The open HTTP connections of all listeners.
#[derive(Debug)]
pub struct Registry {
    cap: usize,
    inner: Mutex<Inner>,
    /// Told whenever a connection goes (the accept loop waits for it after EMFILE).
    pub closed: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    next_seq: u64,
    conns: HashMap<u64, Entry>,
    /// Idle connections by when they became idle: the first is the oldest.
    idle: BTreeMap<u64, u64>,
    /// Connections told to close that have not gone yet.
    shedding: usize,
}

#[derive(Debug)]
struct Entry {
    handle: Arc<Handle>,
    idle_seq: Option<u64>,
    shedding: bool,
}

impl Inner {
    fn mark_idle(&mut self, id: u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(e) = self.conns.get_mut(&id)
            && !e.shedding
        {
            if let Some(old) = e.idle_seq.replace(seq) {
                self.idle.remove(&old);
            }
            self.idle.insert(seq, id);
        }
    }

    fn mark_busy(&mut self, id: u64) {
        if let Some(seq) = self.conns.get_mut(&id).and_then(|e| e.idle_seq.take()) {
            self.idle.remove(&seq);
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some(e) = self.conns.remove(&id) {
            if let Some(seq) = e.idle_seq {
                self.idle.remove(&seq);
            }
            if e.shedding {
                self.shedding -= 1;
            }
        }
    }

    /// Takes the oldest idle connection out of the idle set, marked as closing.
    fn pick_oldest_idle(&mut self) -> Option<Arc<Handle>> {
        let (_, id) = self.idle.pop_first()?;
        let e = self.conns.get_mut(&id)?;
        e.idle_seq = None;
        e.shedding = true;
        self.shedding += 1;
        Some(e.handle.clone())
    }

    /// Connections that count against the cap: open and not already told to close.
    fn live(&self) -> usize {
        self.conns.len() - self.shedding
    }
}

impl Registry {
    pub fn new(cap: usize) -> Arc<Registry> {
        Arc::new(Registry {
            cap,
            inner: Mutex::new(Inner::default()),
            closed: Notify::new(),
        })
    }

    /// Makes room for one more connection: at the cap the oldest idle one is told to close.
    /// False when every connection is busy, so there is no room.
    pub fn admit(&self) -> bool {
        let mut inner = lock(&self.inner);
        if inner.live() < self.cap {
            return true;
        }
        match inner.pick_oldest_idle() {
            Some(h) => {
                drop(inner);
                h.shed.notify_one();
                true
            }
            None => false,
        }
    }

    /// Tells up to `n` of the oldest idle connections to close; returns how many.
    pub fn shed_idle(&self, n: usize) -> usize {
        let handles: Vec<_> = {
            let mut inner = lock(&self.inner);
            std::iter::from_fn(|| inner.pick_oldest_idle())
                .take(n)
                .collect()
        };
        for h in &handles {
            h.shed.notify_one();
        }
        handles.len()
    }

    /// A new connection, idle until its first request; it leaves the registry with the guard.
    pub fn register(self: &Arc<Self>) -> ConnGuard {
        let mut inner = lock(&self.inner);
        let id = inner.next_id;
        inner.next_id += 1;
        let handle = Arc::new(Handle {
            id,
            shed: Notify::new(),
            changed: Notify::new(),
            in_flight: AtomicUsize::new(0),
            read_since_idle: AtomicBool::new(false),
            idle_since: Mutex::new(Instant::now()),
        });
        inner.conns.insert(
            id,
            Entry {
                handle: handle.clone(),
                idle_seq: None,
                shedding: false,
            },
        );
        inner.mark_idle(id);
        ConnGuard {
            registry: self.clone(),
            handle,
        }
    }

    /// A request arrived on `handle`'s connection; it is busy until the guard goes.
    pub fn request(self: &Arc<Self>, handle: &Arc<Handle>) -> BusyGuard {
        if handle.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            lock(&self.inner).mark_busy(handle.id);
        }
        BusyGuard {
            registry: self.clone(),
            handle: handle.clone(),
        }
    }

    pub fn len(&self) -> usize {
        lock(&self.inner).conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Every open connection (for the daemon's shutdown).
    pub fn all(&self) -> Vec<Arc<Handle>> {
        lock(&self.inner)
            .conns
            .values()
            .map(|e| e.handle.clone())
            .collect()
    }
}

/// Holds a connection in the registry.
pub struct ConnGuard {
    registry: Arc<Registry>,
    pub handle: Arc<Handle>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        lock(&self.registry.inner).remove(self.handle.id);
        self.registry.closed.notify_waiters();
    }
}

/// A request in flight: from the head's arrival to the end (or drop) of its response body.
pub struct BusyGuard {
    registry: Arc<Registry>,
    handle: Arc<Handle>,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let h = &self.handle;
        if h.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            *lock(&h.idle_since) = Instant::now();
            h.read_since_idle.store(false, Ordering::Release);
            lock(&self.registry.inner).mark_idle(h.id);
            h.changed.notify_one();
        }
    }
}

/// A response body that keeps its request counted as in flight until it ends or is dropped.
pub struct TrackedBody<B> {
    body: B,
    busy: Option<BusyGuard>,
}

impl<B> TrackedBody<B> {
    pub fn new(body: B, busy: BusyGuard) -> Self {
        TrackedBody {
            body,
            busy: Some(busy),
        }
    }
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.busy = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket, noting that bytes arrived (a request is on its way, so the idle timer stops).
pub struct TrackedIo<T> {
    io: T,
    handle: Arc<Handle>,
}

impl<T> TrackedIo<T> {
    pub fn new(io: T, handle: Arc<Handle>) -> Self {
        TrackedIo { io, handle }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.handle.read_since_idle.store(true, Ordering::Release);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `h` was told to close (consumes the notification).
    fn told(h: &Handle) -> bool {
        use std::future::Future;
        let n = h.shed.notified();
        let mut n = std::pin::pin!(n);
        let waker = std::task::Waker::noop();
        n.as_mut().poll(&mut Context::from_waker(waker)).is_ready()
    }

    #[test]
    fn the_cap_sheds_the_oldest_idle_connection_and_never_a_busy_one() {
        let reg = Registry::new(3);
        let a = reg.register();
        let b = reg.register();
        let c = reg.register();
        // a busy (a stream), b idle since first, c idle since later.
        let busy = reg.request(&a.handle);
        assert!(reg.admit(), "room made");
        assert!(told(&b.handle) && !told(&a.handle) && !told(&c.handle));
        let d = reg.register();
        // b is on its way out and no longer counts; c is now the oldest idle.
        assert!(reg.admit());
        assert!(told(&c.handle) && !told(&a.handle) && !told(&d.handle));
        drop((b, c));
        let e = reg.register();
        assert_eq!(reg.len(), 3);
        // a became idle after d and e were opened: d goes next, then e, then a.
        drop(busy);
        assert_eq!(reg.shed_idle(2), 2);
        assert!(told(&d.handle) && told(&e.handle) && !told(&a.handle));
        assert_eq!(reg.shed_idle(5), 1);
        assert!(told(&a.handle));
    }

    #[test]
    fn all_busy_at_the_cap_means_no_room() {
        let reg = Registry::new(2);
        let a = reg.register();
        let b = reg.register();
        let _x = reg.request(&a.handle);
        let _y = reg.request(&b.handle);
        assert!(!reg.admit());
        assert_eq!(reg.shed_idle(10), 0);
        drop(_y);
        assert!(reg.admit());
        assert!(told(&b.handle));
    }

    #[test]
    fn a_connection_leaves_when_its_guard_goes() {
        let reg = Registry::new(10);
        let a = reg.register();
        let busy = reg.request(&a.handle);
        assert!(a.handle.busy());
        drop(a);
        assert!(reg.is_empty());
        // Its response ending later must not resurrect it.
        drop(busy);
        assert!(reg.is_empty());
        assert_eq!(reg.shed_idle(1), 0);
    }

    #[test]
    fn the_idle_timer_runs_only_while_idle_and_silent() {
        let reg = Registry::new(10);
        let a = reg.register();
        let t = Duration::from_secs(5);
        assert!(a.handle.idle_deadline(t).is_some());
        a.handle.read_since_idle.store(true, Ordering::Release);
        assert_eq!(a.handle.idle_deadline(t), None, "a request is on its way");
        let busy = reg.request(&a.handle);
        assert_eq!(a.handle.idle_deadline(t), None);
        let before = Instant::now();
        drop(busy);
        let deadline = a.handle.idle_deadline(t).expect("idle again");
        assert!(deadline >= before + t);
    }

    #[test]
    fn caps_leave_a_reserve() {
        assert_eq!(connection_cap(1024), 768);
        assert_eq!(connection_cap(2048), 1536);
        assert_eq!(connection_cap(200), 136);
        assert_eq!(connection_cap(20), 16);
        assert_eq!(connection_cap(1 << 20), (1 << 20) - 8192);
    }
}
