//! `docker load`.

use tokio::io::{AsyncRead, AsyncWriteExt};

use crate::engine::events::Event;
use crate::engine::{Engine, Error, Result};

impl Engine {
    /// Spools the archive to disk (its members may come in any order), then imports it.
    /// Returns dockerd's progress lines.
    pub async fn load_images<R: AsyncRead + Unpin>(&self, mut archive: R) -> Result<Vec<String>> {
        let path = self
            .images()
            .tmp_dir()
            .join(format!("load-{}.tar", crate::util::ids::random_id()));
        let result = async {
            let mut file = tokio::fs::File::create(&path)
                .await
                .map_err(|e| Error::internal(format!("cannot spool the archive: {e}")))?;
            let n = tokio::io::copy(&mut archive, &mut file)
                .await
                .map_err(|e| Error::invalid(format!("error reading the archive: {e}")))?;
            file.flush()
                .await
                .map_err(|e| Error::internal(format!("cannot spool the archive: {e}")))?;
            if n == 0 {
                return Err(Error::invalid(
                    "unexpected EOF: the archive is empty (did you pass -i or redirect stdin?)",
                ));
            }
            let loaded = self.images().load(path.clone()).await?;
            for (id, name) in &loaded.images {
                self.events().publish(Event::image("load", id, name));
            }
            Ok(loaded.messages)
        }
        .await;
        let _ = tokio::fs::remove_file(&path).await;
        result
    }
}
