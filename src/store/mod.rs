//! Persistent state in SQLite (WAL). Every state change is one transaction, so a `kill -9` at any
//! moment leaves either the old or the new state, never half of one.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use std::sync::Arc;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, SqlitePool};

pub mod containers;
pub mod images;

pub use containers::ContainerRow;
pub use images::{ImageRefRow, ImageRow, LayerRow};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database integrity check failed: {0}")]
    Integrity(String),
    #[error("unique constraint violated: {0}")]
    Duplicate(String),
    /// SQLITE_FULL: the disk (or the file system's quota) has no room for the write.
    #[error("cannot write the daemon's state: no space left on device")]
    DiskFull(#[source] sqlx::Error),
}

/// Deletes the layer rows among `diff_ids` that no image and no container uses any more, inside
/// the caller's transaction; returns the diff IDs deleted (their directories can go).
pub(crate) async fn sweep_orphan_layers(
    tx: &mut WriteTx<'_>,
    diff_ids: impl IntoIterator<Item = String>,
) -> Result<Vec<String>, StoreError> {
    let mut orphaned = Vec::new();
    for diff_id in diff_ids {
        let n = sqlx::query(
            "DELETE FROM layers WHERE diff_id = ?1
             AND NOT EXISTS (SELECT 1 FROM image_layers WHERE diff_id = ?1)
             AND NOT EXISTS (SELECT 1 FROM containers, json_each(containers.layers)
                             WHERE json_each.value = ?1)",
        )
        .bind(&diff_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if n == 1 {
            orphaned.push(diff_id);
        }
    }
    Ok(orphaned)
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        classify(e)
    }
}

/// Names the errors callers act on: a UNIQUE/PRIMARY KEY violation (`Duplicate`, "conflict")
/// and a full disk (`DiskFull`, said plainly).
pub(crate) fn classify(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Duplicate(db.message().to_string());
        }
        // Extended result codes keep the primary code in the low byte.
        const SQLITE_FULL: i64 = 13;
        if db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .map(|c| c & 0xff)
            == Some(SQLITE_FULL)
        {
            return StoreError::DiskFull(e);
        }
    }
    StoreError::Db(e)
}

/// The state database: one writer connection behind an async mutex, and a small pool of read
/// connections beside it.
///
/// Why one writer: SQLite takes one write lock per database. Several pooled connections that
/// each open a deferred transaction, read, then write, fail with `database is locked` (517/5)
/// under load, whatever the busy timeout. Serializing writes in the daemon (each transaction
/// `BEGIN IMMEDIATE`, so it holds the lock from its first statement) means contention is a
/// queue, never an error. Reads run on their own connections, never inside a transaction, so
/// WAL gives them the newest committed state without waiting for the writer.
///
/// A write that fails part-way (a full disk, an I/O error, a cancelled request) may leave its
/// transaction open or half rolled back by SQLite itself; the writer connection is then
/// discarded, never reused, and the next write opens a fresh one. That is what keeps a full disk
/// from wedging the daemon: once space is back, the next write works.
#[derive(Clone, Debug)]
pub struct Store {
    reads: SqlitePool,
    writer: Arc<tokio::sync::Mutex<Option<SqliteConnection>>>,
    opts: SqliteConnectOptions,
}

/// An open write transaction (`BEGIN IMMEDIATE`), holding the writer for its lifetime. Dropped
/// without [`WriteTx::commit`] or [`WriteTx::rollback`] (an early `?`, a cancelled request), it
/// discards the connection, and with it the transaction.
pub(crate) struct WriteTx<'a> {
    slot: tokio::sync::MutexGuard<'a, Option<SqliteConnection>>,
    open: bool,
}

impl WriteTx<'_> {
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        match self.slot.as_mut() {
            Some(c) => c,
            // begin_write fills the slot and only this type's drop empties it.
            None => unreachable!("a write transaction without its connection"),
        }
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.commit_then(|| {}).await
    }

    /// Commits, then runs `then` while still holding the writer: what mirrors the store in
    /// memory sees its writes in the order they were committed.
    pub(crate) async fn commit_then(mut self, then: impl FnOnce()) -> Result<(), StoreError> {
        sqlx::query("COMMIT").execute(self.conn()).await?;
        self.open = false;
        then();
        Ok(())
    }

    /// Ends the transaction without its changes, keeping the connection when SQLite confirms.
    pub(crate) async fn rollback(mut self) {
        if sqlx::query("ROLLBACK").execute(self.conn()).await.is_ok() {
            self.open = false;
        }
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Closing the connection rolls back whatever it still holds.
            self.slot.take();
        }
    }
}

impl Store {
    /// Opens (creating if needed) `berth.db` under `dir`, migrates it and checks its integrity.
    pub async fn open(dir: &Path) -> Result<Store, StoreError> {
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(dir.join("berth.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a committed transaction survives a crash or kill -9 of the
            // daemon (the WAL is written before commit returns); only a power loss may lose the
            // last transactions, never corrupt the database. FULL would add an fsync to every
            // container start and exit.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Only another process (none: the data root is locked) or a checkpoint can hold
            // the lock we wait for; the daemon's own writers queue on the mutex.
            .busy_timeout(Duration::from_secs(10));
        Self::connect(opts, 4).await
    }

    /// An in-memory store, for unit tests (a shared-cache database: the writer and the readers
    /// see the same one).
    pub async fn memory() -> Result<Store, StoreError> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        Self::connect(opts, 1).await
    }

    async fn connect(opts: SqliteConnectOptions, readers: u32) -> Result<Store, StoreError> {
        // The writer first: it creates the file, sets WAL mode and migrates.
        let mut writer = opts.connect().await?;
        sqlx::migrate!("./migrations").run(&mut writer).await?;
        let reads = SqlitePoolOptions::new()
            .max_connections(readers)
            .acquire_timeout(Duration::from_secs(30))
            // Every write goes through the writer; a read connection refuses to write.
            .connect_with(opts.clone().pragma("query_only", "ON"))
            .await?;
        let store = Store {
            reads,
            writer: Arc::new(tokio::sync::Mutex::new(Some(writer))),
            opts,
        };
        store.integrity_check().await?;
        Ok(store)
    }

    /// Starts a write transaction on the writer, opening a new one if the last was discarded.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx<'_>, StoreError> {
        let mut slot = self.writer.lock().await;
        if slot.is_none() {
            *slot = Some(self.opts.connect().await?);
        }
        let mut tx = WriteTx { slot, open: true };
        sqlx::query("BEGIN IMMEDIATE").execute(tx.conn()).await?;
        Ok(tx)
    }

    /// `PRAGMA quick_check`: refuses to run on a damaged database rather than make it worse.
    pub async fn integrity_check(&self) -> Result<(), StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA quick_check")
            .fetch_all(&self.reads)
            .await?;
        match rows.as_slice() {
            [(ok,)] if ok == "ok" => Ok(()),
            other => Err(StoreError::Integrity(
                other
                    .iter()
                    .map(|r| r.0.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }

    /// The read connections; writes go through [`Store::begin_write`].
    pub fn pool(&self) -> &SqlitePool {
        &self.reads
    }

    pub async fn close(&self) {
        self.reads.close().await;
        if let Some(writer) = self.writer.lock().await.take() {
            let _ = writer.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ContainerRow;

    fn row(id: &str) -> ContainerRow {
        ContainerRow {
            id: id.into(),
            name: format!("/{id}"),
            image_id: "sha256:i".into(),
            image_ref: "busybox".into(),
            created_at: 1,
            config: "{}".into(),
            host_config: "{}".into(),
            state: "{}".into(),
            layers: "[]".into(),
        }
    }

    /// The load that made 10% of removals fail with `database is locked`: many tasks each
    /// reading and writing at once. Every write must succeed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_never_see_locked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..32 {
            let store = store.clone();
            tasks.spawn(async move {
                for i in 0..20 {
                    let id = format!("c{t}-{i}");
                    store.insert_container(&row(&id)).await?;
                    assert!(
                        store
                            .swap_container_state(&id, "{}", "{\"status\":\"running\"}")
                            .await?
                    );
                    let _ = store.containers().await?;
                    assert!(store.delete_container(&id).await?.0);
                }
                Ok::<(), StoreError>(())
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap().unwrap();
        }
        assert!(store.containers().await.unwrap().is_empty());
    }

    /// A write dropped half-way (an early return, a client that went away) leaves nothing
    /// behind: not its rows, not a held lock.
    #[tokio::test]
    async fn an_abandoned_write_changes_nothing_and_blocks_nobody() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        {
            let mut tx = store.begin_write().await.unwrap();
            sqlx::query("INSERT INTO layers (diff_id, size, created_at) VALUES ('x', 1, 1)")
                .execute(tx.conn())
                .await
                .unwrap();
        }
        assert!(store.layers().await.unwrap().is_empty());
        let a = row("a");
        tokio::time::timeout(Duration::from_secs(5), store.insert_container(&a))
            .await
            .expect("the next write is not blocked")
            .unwrap();
        // A duplicate rolls back and keeps the writer usable.
        assert!(matches!(
            store.insert_container(&row("a")).await,
            Err(StoreError::Duplicate(_))
        ));
        store.insert_container(&row("b")).await.unwrap();
        assert_eq!(store.containers().await.unwrap().len(), 2);
    }

    /// SQLITE_FULL (here a page limit stands in for a full disk): a clear error, reads keep
    /// answering the committed state, and writes work again once there is room, without a
    /// restart.
    #[tokio::test]
    async fn a_full_database_fails_clearly_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        store.insert_container(&row("kept")).await.unwrap();
        {
            let mut slot = store.writer.lock().await;
            let conn = slot.as_mut().unwrap();
            let (pages,): (i64,) = sqlx::query_as("PRAGMA page_count")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA max_page_count = {pages}"
            )))
            .execute(&mut *conn)
            .await
            .unwrap();
        }
        let mut big = row("big");
        big.config = "x".repeat(64 * 1024);
        let err = store.insert_container(&big).await.unwrap_err();
        assert!(matches!(err, StoreError::DiskFull(_)), "{err:?}");
        assert!(err.to_string().contains("no space left on device"), "{err}");
        let ids: Vec<String> = store
            .containers()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["kept"]);
        // The failed writer was discarded; its replacement has no page limit: "space is back".
        store.insert_container(&big).await.unwrap();
        assert!(store.delete_container("kept").await.unwrap().0);
        let ids: Vec<String> = store
            .containers()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["big"]);
    }
}
