//! The daemon's brain: every verb of the API, one per file, over the store, the image store and
//! (from the next layers down) the task manager. It speaks the newest API model; version
//! differences are the API layer's business.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::image::ImageStore;
use crate::store::Store;
use crate::task::{TaskService, Tasks};
use crate::util::lockfile::DataRootLock;
use container::live::Live;
use container::view::View;

/// `berth-shim`, installed beside `berthd` (tests and `cargo run` find it in the same target dir).
fn shim_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("berth-shim")))
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/berth-shim"))
}

pub mod container;
pub mod error;
pub mod events;
pub mod exec;
pub mod host;
pub mod image;
pub mod spec;
pub mod system;

pub use error::{Error, ErrorKind, Result};

/// Shared by every request handler; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Store,
    images: ImageStore,
    tasks: Arc<dyn TaskService>,
    host: Arc<dyn host::Host>,
    live: Live,
    view: View,
    events: events::EventBus,
    execs: exec::Execs,
    started_at: i64,
    _lock: DataRootLock,
}

impl Engine {
    /// Opens the data root (locking it against a second daemon), the store and the image store;
    /// tasks run in shims, containers get mounts and namespaces.
    pub async fn open(config: Config) -> Result<Engine> {
        let tasks: Arc<dyn TaskService> = Arc::new(Tasks::new(shim_binary()));
        Engine::open_with(config, tasks, Arc::new(host::Privileged)).await
    }

    /// As [`Engine::open`], over the given task service and host side (tests use
    /// `task::fake::FakeTasks` and [`host::DirsOnly`] to run without root).
    pub async fn open_with(
        config: Config,
        tasks: Arc<dyn TaskService>,
        host: Arc<dyn host::Host>,
    ) -> Result<Engine> {
        for dir in [&config.data_root, &config.exec_root] {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        let lock = DataRootLock::acquire(&config.data_root)
            .map_err(|e| Error::new(ErrorKind::Unavailable, e.to_string()))?;
        let store = Store::open(&config.data_root).await?;
        let images = ImageStore::open(&config.data_root, store.clone()).await?;
        let engine = Engine {
            inner: Arc::new(Inner {
                config,
                store,
                images,
                tasks,
                host,
                live: Live::default(),
                view: View::default(),
                events: events::EventBus::default(),
                execs: exec::Execs::default(),
                started_at: crate::util::time::now_nanos(),
                _lock: lock,
            }),
        };
        engine.view().load(engine.store().containers().await?);
        engine.restore().await?;
        Ok(engine)
    }

    pub(crate) fn tasks(&self) -> &dyn TaskService {
        self.inner.tasks.as_ref()
    }

    pub(crate) fn host(&self) -> Arc<dyn host::Host> {
        self.inner.host.clone()
    }

    pub(crate) fn live(&self) -> &Live {
        &self.inner.live
    }

    /// The containers as lists see them, mirrored from the store's writes.
    pub(crate) fn view(&self) -> &View {
        &self.inner.view
    }

    pub(crate) fn execs(&self) -> &exec::Execs {
        &self.inner.execs
    }

    pub(crate) fn events(&self) -> &events::EventBus {
        &self.inner.events
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn images(&self) -> &ImageStore {
        &self.inner.images
    }

    pub fn data_root(&self) -> PathBuf {
        self.inner.config.data_root.clone()
    }

    pub fn started_at(&self) -> i64 {
        self.inner.started_at
    }

    /// Closes the store cleanly (checkpointing the WAL) at shutdown.
    pub async fn shutdown(&self) {
        self.inner.store.close().await;
    }
}
