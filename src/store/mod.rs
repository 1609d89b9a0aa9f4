//! Persistent state in SQLite (WAL). Every state change is one transaction, so a `kill -9` at any
//! moment leaves either the old or the new state, never half of one.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub mod containers;
pub mod images;

pub use containers::ContainerRow;
pub use images::{ImageRefRow, ImageRow, LayerRow};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database integrity check failed: {0}")]
    Integrity(String),
    #[error("unique constraint violated: {0}")]
    Duplicate(String),
}

/// Deletes the layer rows among `diff_ids` that no image and no container uses any more, inside
/// the caller's transaction; returns the diff IDs deleted (their directories can go).
pub(crate) async fn sweep_orphan_layers(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
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
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n == 1 {
            orphaned.push(diff_id);
        }
    }
    Ok(orphaned)
}

/// Maps a UNIQUE/PRIMARY KEY violation to `Duplicate` so callers can answer "conflict".
pub(crate) fn classify(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return StoreError::Duplicate(db.message().to_string());
    }
    StoreError::Db(e)
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
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
            .busy_timeout(Duration::from_secs(10));
        Self::connect(opts).await
    }

    /// An in-memory store, for unit tests.
    pub async fn memory() -> Result<Store, StoreError> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        Self::connect(opts).await
    }

    async fn connect(opts: SqliteConnectOptions) -> Result<Store, StoreError> {
        let pool = SqlitePoolOptions::new()
            // One writer at a time is SQLite's model; a few readers may run beside it in WAL mode.
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let store = Store { pool };
        store.integrity_check().await?;
        Ok(store)
    }

    /// `PRAGMA quick_check`: refuses to run on a damaged database rather than make it worse.
    pub async fn integrity_check(&self) -> Result<(), StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA quick_check")
            .fetch_all(&self.pool)
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

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
