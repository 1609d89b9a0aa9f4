-- The layers a container's root filesystem is built from. A force-removed image must not take
-- layers that containers still use: a layer goes only when no image and no container needs it.
ALTER TABLE containers ADD COLUMN layers TEXT NOT NULL DEFAULT '[]';  -- JSON array of diff IDs, bottom first
