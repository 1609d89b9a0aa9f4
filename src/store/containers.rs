//! Container rows.

use sqlx::FromRow;

use super::{Store, StoreError};

#[derive(Debug, Clone, FromRow)]
pub struct ContainerRow {
    pub id: String,
    pub name: String,
    pub image_id: String,
    pub image_ref: String,
    pub created_at: i64,
    pub config: String,
    pub host_config: String,
    pub state: String,
    /// JSON array of the diff IDs the root filesystem is built from, bottom first.
    pub layers: String,
}

impl Store {
    /// Inserts a new container; a taken name or ID gives `StoreError::Duplicate`.
    pub async fn insert_container(&self, c: &ContainerRow) -> Result<(), StoreError> {
        self.insert_container_then(c, || {}).await
    }

    /// [`Store::insert_container`], running `then` once committed, before any other write.
    pub async fn insert_container_then(
        &self,
        c: &ContainerRow,
        then: impl FnOnce(),
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO containers (id, name, image_id, image_ref, created_at, config, host_config, state, layers)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.image_id)
        .bind(&c.image_ref)
        .bind(c.created_at)
        .bind(&c.config)
        .bind(&c.host_config)
        .bind(&c.state)
        .bind(&c.layers)
        .execute(tx.conn())
        .await;
        match inserted {
            Ok(_) => tx.commit_then(then).await,
            // A taken name is common (compose, retries): end the transaction, keep the writer.
            Err(e) => {
                tx.rollback().await;
                Err(e.into())
            }
        }
    }

    pub async fn container(&self, id: &str) -> Result<Option<ContainerRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM containers WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reads)
            .await?)
    }

    pub async fn container_by_name(&self, name: &str) -> Result<Option<ContainerRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM containers WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.reads)
            .await?)
    }

    /// IDs starting with `prefix` (at most two: enough to tell unique from ambiguous).
    pub async fn container_ids_with_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{}%", prefix.replace(['%', '_'], ""));
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM containers WHERE id LIKE ? LIMIT 2")
                .bind(pattern)
                .fetch_all(&self.reads)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    pub async fn containers(&self) -> Result<Vec<ContainerRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM containers ORDER BY created_at DESC, id")
                .fetch_all(&self.reads)
                .await?,
        )
    }

    /// IDs of the containers created from `image_id`.
    pub async fn containers_using_image(
        &self,
        image_id: &str,
    ) -> Result<Vec<ContainerRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM containers WHERE image_id = ? ORDER BY created_at")
                .bind(image_id)
                .fetch_all(&self.reads)
                .await?,
        )
    }

    /// Compare-and-set of a container's state: written only if the row still holds `old`.
    /// Returns whether it was written (false: the row changed meanwhile, or is gone).
    pub async fn swap_container_state(
        &self,
        id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        self.swap_container_state_then(id, old, new, || {}).await
    }

    /// [`Store::swap_container_state`], running `then` once the new state is committed (not
    /// when the row changed meanwhile), before any other write.
    pub async fn swap_container_state_then(
        &self,
        id: &str,
        old: &str,
        new: &str,
        then: impl FnOnce(),
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE containers SET state = ? WHERE id = ? AND state = ?")
            .bind(new)
            .bind(id)
            .bind(old)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if n == 1 {
            tx.commit_then(then).await?;
        } else {
            tx.commit().await?;
        }
        Ok(n == 1)
    }

    /// Deletes a container, and the layers that neither an image nor another container uses, in
    /// one transaction. Returns whether it existed and the diff IDs of the orphaned layers.
    pub async fn delete_container(&self, id: &str) -> Result<(bool, Vec<String>), StoreError> {
        self.delete_container_then(id, || {}).await
    }

    /// [`Store::delete_container`], running `then` once the deletion is committed.
    pub async fn delete_container_then(
        &self,
        id: &str,
        then: impl FnOnce(),
    ) -> Result<(bool, Vec<String>), StoreError> {
        let mut tx = self.begin_write().await?;
        let layers: Option<(String,)> =
            sqlx::query_as("SELECT layers FROM containers WHERE id = ?")
                .bind(id)
                .fetch_optional(tx.conn())
                .await?;
        let Some((layers,)) = layers else {
            tx.rollback().await;
            return Ok((false, Vec::new()));
        };
        sqlx::query("DELETE FROM containers WHERE id = ?")
            .bind(id)
            .execute(tx.conn())
            .await?;
        // The row's own layer list; a damaged one only means no layer is swept now (a later
        // sweep, or image removal, collects them).
        let diff_ids: Vec<String> = serde_json::from_str(&layers).unwrap_or_default();
        let orphaned = super::sweep_orphan_layers(&mut tx, diff_ids).await?;
        tx.commit_then(then).await?;
        Ok((true, orphaned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, name: &str) -> ContainerRow {
        ContainerRow {
            id: id.into(),
            name: name.into(),
            image_id: "sha256:i".into(),
            image_ref: "busybox".into(),
            created_at: 1,
            config: "{}".into(),
            host_config: "{}".into(),
            state: "{}".into(),
            layers: r#"["sha256:l"]"#.into(),
        }
    }

    #[tokio::test]
    async fn name_conflict_is_duplicate() {
        let s = Store::memory().await.unwrap();
        s.insert_container(&row("a1", "/x")).await.unwrap();
        let e = s.insert_container(&row("b2", "/x")).await.unwrap_err();
        assert!(matches!(e, StoreError::Duplicate(_)), "{e}");
        assert_eq!(s.containers_using_image("sha256:i").await.unwrap().len(), 1);
        assert!(s.delete_container("a1").await.unwrap().0);
        assert!(s.container_by_name("/x").await.unwrap().is_none());
    }
}
