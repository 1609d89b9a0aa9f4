-- Containers. Config and HostConfig are stored as the API JSON that created them; state as JSON too,
-- so a restarted daemon knows what each container was and is.
CREATE TABLE containers (
    id           TEXT PRIMARY KEY,          -- 64 hex
    name         TEXT NOT NULL UNIQUE,      -- with the leading '/', as dockerd
    image_id     TEXT NOT NULL,             -- sha256:<hex>; no foreign key: rmi -f may remove the image
    image_ref    TEXT NOT NULL,             -- what the user asked for ("busybox")
    created_at   INTEGER NOT NULL,          -- unix nanos
    config       TEXT NOT NULL,
    host_config  TEXT NOT NULL,
    state        TEXT NOT NULL
);
CREATE INDEX containers_by_image ON containers(image_id);
