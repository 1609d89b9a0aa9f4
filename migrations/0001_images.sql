-- Local images. An image is its config blob (id = sha256 digest of the config); layers are unpacked
-- once per diff ID and shared; references (tags and digests) point at images.
CREATE TABLE layers (
    diff_id      TEXT PRIMARY KEY,          -- sha256:<hex> of the uncompressed layer tar
    size         INTEGER NOT NULL,          -- bytes of file content once unpacked
    created_at   INTEGER NOT NULL           -- unix nanos
);

CREATE TABLE images (
    id           TEXT PRIMARY KEY,          -- sha256:<hex> of the config blob
    config       TEXT NOT NULL,             -- the image config JSON, verbatim
    created      TEXT,                      -- the config's "created" (RFC 3339), as written
    size         INTEGER NOT NULL,          -- sum of its layers' sizes
    loaded_at    INTEGER NOT NULL,          -- unix nanos, the order for before/since filters
    last_tag_at  INTEGER                    -- unix nanos of the last tag change (Metadata.LastTagTime)
);

CREATE TABLE image_layers (
    image_id     TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,          -- 0 = bottom layer
    diff_id      TEXT NOT NULL REFERENCES layers(diff_id),
    PRIMARY KEY (image_id, position)
);
CREATE INDEX image_layers_by_diff ON image_layers(diff_id);

CREATE TABLE image_refs (
    reference    TEXT PRIMARY KEY,          -- normalised: docker.io/library/busybox:latest or ...@sha256:..
    image_id     TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    is_digest    INTEGER NOT NULL,          -- 1 for name@digest references
    created_at   INTEGER NOT NULL
);
CREATE INDEX image_refs_by_image ON image_refs(image_id);
