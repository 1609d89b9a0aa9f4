#!/usr/bin/env bash
# Build Berth's test image archives from Debian's busybox-static, with no
# docker daemon and no network (there is no Docker Hub here).
#
#   build-test-images.sh OUTDIR
#
# Writes:
#   OUTDIR/busybox.tar         `docker save` legacy layout, tag busybox:latest
#   OUTDIR/busybox-oci.tar     same image as an OCI image-layout archive,
#                              ref name "latest" / docker.io/library/busybox-oci:latest
#   OUTDIR/busybox-labels.tar  docker-save layout, berth-test/labelled:1.0, with
#                              config.Labels (a different image ID, same layer)
#   OUTDIR/IDS                 "<archive> sha256:<image id>" lines, for tests
#
# Everything is reproducible (fixed timestamps, sorted tar entries, numeric
# owner 0), so image IDs only change when this script or busybox changes.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
BUSYBOX=${BUSYBOX:-/bin/busybox}
# Fixed so the config bytes, and thus the image ID, are the same every run.
CREATED=2024-01-01T00:00:00Z
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

if [ ! -x "$BUSYBOX" ]; then
    echo "build-test-images: $BUSYBOX not found (apt-get install busybox-static)" >&2
    exit 1
fi
if ! "$BUSYBOX" --list | grep -qx sh; then
    echo "build-test-images: $BUSYBOX has no sh applet; need a static, full busybox" >&2
    exit 1
fi

# Same flags for every tar we write: byte-identical output across runs.
export LC_ALL=C
REPRO_TAR=(--format=gnu --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner)

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }

# tar_dir DIR OUT: archive DIR's contents with entries named "bin/...",
# not "./bin/...", as docker-built layers and `docker save` have them.
tar_dir() {
    local entries
    mapfile -t entries < <(cd "$1" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | sort)
    tar -C "$1" "${REPRO_TAR[@]}" -cf "$2" "${entries[@]}"
}

# ---- root filesystem --------------------------------------------------------
ROOT=$WORK/rootfs
mkdir -p "$ROOT"/{bin,dev,etc,proc,root,sys,tmp,var}
# Explicit modes so the result does not depend on the caller's umask.
chmod 755 "$ROOT" "$ROOT"/{bin,dev,etc,proc,sys,var}
chmod 700 "$ROOT/root"
chmod 1777 "$ROOT/tmp"
install -m 755 "$BUSYBOX" "$ROOT/bin/busybox"
# One relative symlink per applet, all in /bin like Docker Hub's busybox.
# (Not `busybox --install`: it may spread links over /sbin, /usr/bin, ...)
"$BUSYBOX" --list | while read -r applet; do
    [ "$applet" = busybox ] || ln -s busybox "$ROOT/bin/$applet"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$ROOT/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$ROOT/etc/group"
chmod 644 "$ROOT/etc/passwd" "$ROOT/etc/group"

LAYER=$WORK/layer.tar
tar_dir "$ROOT" "$LAYER"
DIFF_ID=$(sha "$LAYER")
# -n: no name/timestamp in the gzip header, so the blob is reproducible too.
gzip -n -9 -c "$LAYER" >"$WORK/layer.tar.gz"
GZ_ID=$(sha "$WORK/layer.tar.gz")

# ---- image configs ------------------------------------------------------------
# write_config OUTFILE [LABELS_JSON [CREATED]]: prints the config digest (= image ID).
write_config() {
    python3 - "$1" "$DIFF_ID" "${3:-$CREATED}" "$PATH_ENV" "${2:-}" <<'EOF'
import json, sys
out, diff_id, created, path_env, labels = sys.argv[1:6]
config = {"Env": [path_env], "Cmd": ["sh"]}
history = [
    {"created": created,
     "created_by": "/bin/sh -c #(nop) ADD busybox-static rootfs in / (berth scripts/build-test-images.sh)"},
    {"created": created, "created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True},
]
if labels:
    config["Labels"] = json.loads(labels)
    history.append({"created": created,
                    "created_by": "/bin/sh -c #(nop)  LABEL " + " ".join(
                        f"{k}={v}" for k, v in sorted(config["Labels"].items())),
                    "empty_layer": True})
doc = {
    "architecture": "amd64",
    "config": config,
    "created": created,
    "history": history,
    "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
}
# Compact, no trailing newline: the ID is the sha256 of exactly these bytes.
with open(out, "w") as f:
    f.write(json.dumps(doc, separators=(",", ":")))
EOF
    sha "$1"
}

# ---- docker save (legacy) archive ---------------------------------------------
# docker_archive OUTFILE CONFIGFILE REPO TAG
docker_archive() {
    local out=$1 config=$2 repo=$3 tag=$4 d id
    d=$WORK/docker-$(basename "$out" .tar)
    mkdir -p "$d"
    id=$(sha "$config")
    cp "$config" "$d/$id.json"
    # Layer directory named by the diff ID (any hex is accepted by loaders).
    # VERSION and json mirror what docker 20.10's `docker save` writes.
    mkdir -p "$d/$DIFF_ID"
    cp "$LAYER" "$d/$DIFF_ID/layer.tar"
    printf '1.0' >"$d/$DIFF_ID/VERSION"
    python3 - "$d" "$id" "$DIFF_ID" "$repo" "$tag" "$config" <<'EOF'
import json, sys
d, image_id, layer_id, repo, tag, config_path = sys.argv[1:7]
cfg = json.load(open(config_path))
# Legacy v1 layer json: the top layer carries the image's config.
v1 = {"id": layer_id, "created": cfg["created"], "container_config": {"Cmd": None},
      "config": cfg["config"], "architecture": cfg["architecture"], "os": cfg["os"]}
with open(f"{d}/{layer_id}/json", "w") as f:
    f.write(json.dumps(v1, separators=(",", ":")))
manifest = [{"Config": f"{image_id}.json", "RepoTags": [f"{repo}:{tag}"],
             "Layers": [f"{layer_id}/layer.tar"]}]
with open(f"{d}/manifest.json", "w") as f:
    f.write(json.dumps(manifest, separators=(",", ":")))
with open(f"{d}/repositories", "w") as f:
    f.write(json.dumps({repo: {tag: layer_id}}, separators=(",", ":")) + "\n")
EOF
    find "$d" -type d -exec chmod 755 {} + && find "$d" -type f -exec chmod 644 {} +
    tar_dir "$d" "$out.tmp"
    mv "$out.tmp" "$out"
}

# ---- OCI image-layout archive -------------------------------------------------
# oci_archive OUTFILE CONFIGFILE NAME TAG
oci_archive() {
    local out=$1 config=$2 name=$3 tag=$4 d
    d=$WORK/oci-$(basename "$out" .tar)
    mkdir -p "$d/blobs/sha256"
    cp "$config" "$d/blobs/sha256/$(sha "$config")"
    cp "$WORK/layer.tar.gz" "$d/blobs/sha256/$GZ_ID"
    python3 - "$d" "$(sha "$config")" "$GZ_ID" "$name" "$tag" <<'EOF'
import hashlib, json, os, sys
d, config_id, layer_id, name, tag = sys.argv[1:6]
blobs = f"{d}/blobs/sha256"
def desc(media_type, hexid):
    return {"mediaType": media_type, "digest": "sha256:" + hexid,
            "size": os.path.getsize(f"{blobs}/{hexid}")}
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": desc("application/vnd.oci.image.config.v1+json", config_id),
    "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", layer_id)],
}
data = json.dumps(manifest, separators=(",", ":")).encode()
manifest_id = hashlib.sha256(data).hexdigest()
with open(f"{blobs}/{manifest_id}", "wb") as f:
    f.write(data)
index = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [dict(desc("application/vnd.oci.image.manifest.v1+json", manifest_id),
                       annotations={
                           # containerd/docker 25+ use the full name,
                           # plain OCI tools (skopeo, umoci) the ref name.
                           "io.containerd.image.name": f"docker.io/library/{name}:{tag}",
                           "org.opencontainers.image.ref.name": tag,
                       },
                       platform={"architecture": "amd64", "os": "linux"})],
}
with open(f"{d}/index.json", "w") as f:
    f.write(json.dumps(index, separators=(",", ":")))
with open(f"{d}/oci-layout", "w") as f:
    f.write(json.dumps({"imageLayoutVersion": "1.0.0"}, separators=(",", ":")))
EOF
    find "$d" -type d -exec chmod 755 {} + && find "$d" -type f -exec chmod 644 {} +
    tar_dir "$d" "$out.tmp"
    mv "$out.tmp" "$out"
}

BASE_ID=$(write_config "$WORK/base.json")
# Created later than the base image, so before/since filters can tell them apart.
LABELS_ID=$(write_config "$WORK/labels.json" '{"org.berth.test":"yes","tier":"base"}' 2024-06-01T00:00:00Z)

docker_archive "$OUT/busybox.tar" "$WORK/base.json" busybox latest
oci_archive "$OUT/busybox-oci.tar" "$WORK/base.json" busybox-oci latest
docker_archive "$OUT/busybox-labels.tar" "$WORK/labels.json" berth-test/labelled 1.0

# ---- self-check ---------------------------------------------------------------
# Cheap offline sanity checks; a broken archive here would otherwise show
# up as confusing failures deep inside Berth's tests.
check() {
    python3 - "$@" <<'EOF'
import hashlib, io, json, sys, tarfile
kind, path, want_id = sys.argv[1:4]
t = tarfile.open(path)
read = lambda n: t.extractfile(n).read()
if kind == "docker":
    m = json.loads(read("manifest.json"))[0]
    cfg = read(m["Config"])
    assert m["Config"] == want_id + ".json", m
    assert hashlib.sha256(cfg).hexdigest() == want_id
    layer = read(m["Layers"][0])
else:
    idx = json.loads(read("index.json"))
    man_d = idx["manifests"][0]["digest"].split(":")[1]
    man = read("blobs/sha256/" + man_d)
    assert hashlib.sha256(man).hexdigest() == man_d
    man = json.loads(man)
    cfg = read("blobs/sha256/" + man["config"]["digest"].split(":")[1])
    assert hashlib.sha256(cfg).hexdigest() == want_id
    import gzip
    layer = gzip.decompress(read("blobs/sha256/" + man["layers"][0]["digest"].split(":")[1]))
diff = json.loads(cfg)["rootfs"]["diff_ids"][0]
assert diff == "sha256:" + hashlib.sha256(layer).hexdigest(), "diff_id mismatch"
names = tarfile.open(fileobj=io.BytesIO(layer)).getnames()
for n in ("bin/busybox", "bin/sh", "etc/passwd", "tmp"):
    assert n in names, n
EOF
}
check docker "$OUT/busybox.tar" "$BASE_ID"
check oci "$OUT/busybox-oci.tar" "$BASE_ID"
check docker "$OUT/busybox-labels.tar" "$LABELS_ID"

{
    echo "busybox.tar sha256:$BASE_ID"
    echo "busybox-oci.tar sha256:$BASE_ID"
    echo "busybox-labels.tar sha256:$LABELS_ID"
} >"$OUT/IDS"
cat "$OUT/IDS"
