//! Image, layer and reference rows.

use sqlx::FromRow;

use super::{Store, StoreError, WriteTx};

#[derive(Debug, Clone, FromRow)]
pub struct ImageRow {
    pub id: String,
    pub config: String,
    pub created: Option<String>,
    pub size: i64,
    pub loaded_at: i64,
    pub last_tag_at: Option<i64>,
}

#[derive(Debug, Clone, FromRow)]
pub struct LayerRow {
    pub diff_id: String,
    pub size: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct ImageRefRow {
    pub reference: String,
    pub image_id: String,
    pub is_digest: bool,
    pub created_at: i64,
}

/// A reference that pointed at another image before it was moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedRef {
    pub reference: String,
    pub old_image_id: String,
}

impl Store {
    /// Records a fully unpacked image and points `refs` at it, in one transaction. Layers already
    /// known are kept. Returns the references that used to point at a different image.
    pub async fn commit_image(
        &self,
        image: &ImageRow,
        layers: &[LayerRow],
        refs: &[(String, bool)],
    ) -> Result<Vec<MovedRef>, StoreError> {
        let mut tx = self.begin_write().await?;
        for layer in layers {
            sqlx::query(
                "INSERT INTO layers (diff_id, size, created_at) VALUES (?, ?, ?)
                 ON CONFLICT(diff_id) DO NOTHING",
            )
            .bind(&layer.diff_id)
            .bind(layer.size)
            .bind(layer.created_at)
            .execute(tx.conn())
            .await?;
        }
        let existed: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM images WHERE id = ?")
            .bind(&image.id)
            .fetch_optional(tx.conn())
            .await?;
        if existed.is_some() {
            sqlx::query("UPDATE images SET last_tag_at = COALESCE(?, last_tag_at) WHERE id = ?")
                .bind(image.last_tag_at)
                .bind(&image.id)
                .execute(tx.conn())
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO images (id, config, created, size, loaded_at, last_tag_at)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&image.id)
            .bind(&image.config)
            .bind(&image.created)
            .bind(image.size)
            .bind(image.loaded_at)
            .bind(image.last_tag_at)
            .execute(tx.conn())
            .await?;
            for (pos, layer) in layers.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO image_layers (image_id, position, diff_id) VALUES (?, ?, ?)",
                )
                .bind(&image.id)
                .bind(pos as i64)
                .bind(&layer.diff_id)
                .execute(tx.conn())
                .await?;
            }
        }
        let mut moved = Vec::new();
        for (reference, is_digest) in refs {
            if let Some(m) =
                set_ref_tx(&mut tx, reference, &image.id, *is_digest, image.loaded_at).await?
            {
                moved.push(m);
            }
        }
        tx.commit().await?;
        Ok(moved)
    }

    pub async fn image(&self, id: &str) -> Result<Option<ImageRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM images WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reads)
            .await?)
    }

    pub async fn images(&self) -> Result<Vec<ImageRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM images ORDER BY loaded_at DESC, id")
                .fetch_all(&self.reads)
                .await?,
        )
    }

    /// Image IDs starting with `prefix` (e.g. "sha256:0123ab").
    pub async fn image_ids_with_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{}%", prefix.replace(['%', '_'], ""));
        let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM images WHERE id LIKE ? LIMIT 2")
            .bind(pattern)
            .fetch_all(&self.reads)
            .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    pub async fn image_layers(&self, image_id: &str) -> Result<Vec<LayerRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT l.* FROM image_layers il JOIN layers l ON l.diff_id = il.diff_id
             WHERE il.image_id = ? ORDER BY il.position",
        )
        .bind(image_id)
        .fetch_all(&self.reads)
        .await?)
    }

    pub async fn all_refs(&self) -> Result<Vec<ImageRefRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM image_refs ORDER BY created_at, reference")
                .fetch_all(&self.reads)
                .await?,
        )
    }

    pub async fn refs_of(&self, image_id: &str) -> Result<Vec<ImageRefRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM image_refs WHERE image_id = ? ORDER BY created_at, reference",
        )
        .bind(image_id)
        .fetch_all(&self.reads)
        .await?)
    }

    pub async fn lookup_ref(&self, reference: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT image_id FROM image_refs WHERE reference = ?")
                .bind(reference)
                .fetch_optional(&self.reads)
                .await?;
        Ok(row.map(|r| r.0))
    }

    /// Points `reference` at `image_id`; returns what it pointed at before, if elsewhere.
    pub async fn set_ref(
        &self,
        reference: &str,
        image_id: &str,
        is_digest: bool,
        now: i64,
    ) -> Result<Option<MovedRef>, StoreError> {
        let mut tx = self.begin_write().await?;
        let moved = set_ref_tx(&mut tx, reference, image_id, is_digest, now).await?;
        sqlx::query("UPDATE images SET last_tag_at = ? WHERE id = ?")
            .bind(now)
            .bind(image_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Removes one reference; true when it existed.
    pub async fn delete_ref(&self, reference: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM image_refs WHERE reference = ?")
            .bind(reference)
            .execute(tx.conn())
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Deletes an image with its references, and the layers no other image uses, in one
    /// transaction. Returns the diff IDs of the layers that are no longer referenced.
    pub async fn delete_image(&self, image_id: &str) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let diff_ids: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT diff_id FROM image_layers WHERE image_id = ?")
                .bind(image_id)
                .fetch_all(tx.conn())
                .await?;
        sqlx::query("DELETE FROM images WHERE id = ?")
            .bind(image_id)
            .execute(tx.conn())
            .await?;
        let orphaned =
            super::sweep_orphan_layers(&mut tx, diff_ids.into_iter().map(|(d,)| d)).await?;
        tx.commit().await?;
        Ok(orphaned)
    }

    pub async fn layers(&self) -> Result<Vec<LayerRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM layers")
            .fetch_all(&self.reads)
            .await?)
    }
}

async fn set_ref_tx(
    tx: &mut WriteTx<'_>,
    reference: &str,
    image_id: &str,
    is_digest: bool,
    now: i64,
) -> Result<Option<MovedRef>, StoreError> {
    let old: Option<(String,)> =
        sqlx::query_as("SELECT image_id FROM image_refs WHERE reference = ?")
            .bind(reference)
            .fetch_optional(tx.conn())
            .await?;
    sqlx::query(
        "INSERT INTO image_refs (reference, image_id, is_digest, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(reference) DO UPDATE SET image_id = excluded.image_id,
                                              created_at = excluded.created_at",
    )
    .bind(reference)
    .bind(image_id)
    .bind(is_digest)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(old.filter(|(old,)| old != image_id).map(|(old,)| MovedRef {
        reference: reference.to_string(),
        old_image_id: old,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, t: i64) -> ImageRow {
        ImageRow {
            id: id.into(),
            config: "{}".into(),
            created: None,
            size: 10,
            loaded_at: t,
            last_tag_at: None,
        }
    }

    fn layer(d: &str) -> LayerRow {
        LayerRow {
            diff_id: d.into(),
            size: 5,
            created_at: 0,
        }
    }

    #[tokio::test]
    async fn commit_and_move_refs() {
        let s = Store::memory().await.unwrap();
        let moved = s
            .commit_image(
                &image("sha256:a", 1),
                &[layer("sha256:l1")],
                &[("r:1".into(), false)],
            )
            .await
            .unwrap();
        assert!(moved.is_empty());
        let moved = s
            .commit_image(
                &image("sha256:b", 2),
                &[layer("sha256:l1"), layer("sha256:l2")],
                &[("r:1".into(), false)],
            )
            .await
            .unwrap();
        assert_eq!(
            moved,
            vec![MovedRef {
                reference: "r:1".into(),
                old_image_id: "sha256:a".into()
            }]
        );
        assert_eq!(
            s.lookup_ref("r:1").await.unwrap().as_deref(),
            Some("sha256:b")
        );
        assert_eq!(s.image_layers("sha256:b").await.unwrap().len(), 2);
        assert_eq!(s.images().await.unwrap()[0].id, "sha256:b");
    }

    #[tokio::test]
    async fn delete_keeps_shared_layers() {
        let s = Store::memory().await.unwrap();
        s.commit_image(&image("sha256:a", 1), &[layer("sha256:l1")], &[])
            .await
            .unwrap();
        s.commit_image(
            &image("sha256:b", 2),
            &[layer("sha256:l1"), layer("sha256:l2")],
            &[("x".into(), false)],
        )
        .await
        .unwrap();
        assert_eq!(s.delete_image("sha256:b").await.unwrap(), vec!["sha256:l2"]);
        assert_eq!(s.lookup_ref("x").await.unwrap(), None);
        assert_eq!(s.delete_image("sha256:a").await.unwrap(), vec!["sha256:l1"]);
        assert!(s.layers().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn prefix_lookup() {
        let s = Store::memory().await.unwrap();
        s.commit_image(&image("sha256:abc1", 1), &[], &[])
            .await
            .unwrap();
        s.commit_image(&image("sha256:abc2", 1), &[], &[])
            .await
            .unwrap();
        assert_eq!(
            s.image_ids_with_prefix("sha256:abc").await.unwrap().len(),
            2
        );
        assert_eq!(
            s.image_ids_with_prefix("sha256:abc1").await.unwrap().len(),
            1
        );
        assert!(
            s.image_ids_with_prefix("sha256:f")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
