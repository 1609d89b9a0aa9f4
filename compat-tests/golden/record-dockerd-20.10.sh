#!/usr/bin/env bash
# Re-record compat-tests/golden/dockerd-20.10/ from a throwaway Debian
# dockerd 20.10 (see README.md there). Needs root and scripts/install-test-deps.sh.
#
#   compat-tests/golden/record-dockerd-20.10.sh [DIR]   (DIR defaults to /tmp/dk)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$REPO/compat-tests/golden/dockerd-20.10
DK=${1:-/tmp/dk}
DOCKER=/usr/local/bin/docker   # the stock CLI, not Debian's old /usr/bin/docker

if [ -e "$DK" ]; then
    echo "record: $DK exists; remove it (or stop the daemon in it) first" >&2
    exit 1
fi
mkdir -p "$DK"
DK=$(cd "$DK" && pwd)
trap '"$REPO/scripts/throwaway-dockerd.sh" stop "$DK"' EXIT

IMAGES=$DK/images
"$REPO/scripts/build-test-images.sh" "$IMAGES" >/dev/null
"$REPO/scripts/throwaway-dockerd.sh" start "$DK" >/dev/null
SOCK=$DK/docker.sock
export DOCKER_HOST=unix://$SOCK

rm -rf "$OUT.new"
mkdir -p "$OUT.new"

# rec NAME METHOD PATH [extra curl args]: the raw body goes to NAME.json
# (byte for byte, even when it is not JSON), the status code to NAME.status
# and the response headers to NAME.headers.
rec() {
    local name=$1 method=$2 path=$3
    shift 3
    curl -sS --unix-socket "$SOCK" -X "$method" \
        -D "$OUT.new/$name.headers" -o "$OUT.new/$name.json" \
        -w '%{http_code}\n' "$@" "http://localhost$path" >"$OUT.new/$name.status"
    # curl's header dump has CRLF line ends; keep them LF for readable diffs.
    sed -i 's/\r$//' "$OUT.new/$name.headers"
    # HEAD has no body; with -I curl would copy the headers into it.
    if [ "$method" = HEAD ]; then rm -f "$OUT.new/$name.json"; fi
    printf '%-32s %s %s -> %s\n' "$name" "$method" "$path" "$(cat "$OUT.new/$name.status")"
}
json() { rec "$@" -H 'Content-Type: application/json'; }
# Expect: (empty) stops curl's "100 Continue" dance, which the docker CLI
# does not do either and which would clutter the .headers files.
tarbody() { rec "$@" -H 'Content-Type: application/x-tar' -H 'Expect:'; }

# --- daemon-level endpoints ---
rec ping GET /v1.41/_ping
rec ping-head HEAD /v1.41/_ping -I
rec ping-unversioned GET /_ping
rec version GET /v1.41/version
rec version-unversioned GET /version
rec info GET /v1.41/info
rec version-too-new GET /v9.99/version
rec version-too-old GET /v1.11/version
rec unknown-path GET /v1.41/nope

# --- loading ---
# quiet defaults to true in the API; quiet=0 shows the "Loading layer"
# progress stream (only on the first load of a layer).
tarbody images-load POST '/v1.41/images/load?quiet=0' --data-binary "@$IMAGES/busybox.tar"
tarbody images-load-default POST /v1.41/images/load --data-binary "@$IMAGES/busybox-labels.tar"
tarbody images-load-again POST '/v1.41/images/load?quiet=0' --data-binary "@$IMAGES/busybox.tar"
# 20.10 only reads manifest.json archives: a pure OCI layout fails (expected).
tarbody images-load-oci POST '/v1.41/images/load?quiet=0' --data-binary "@$IMAGES/busybox-oci.tar"

# Sanity: the image really runs (stdout of the container).
"$DOCKER" run --rm busybox echo hi >"$OUT.new/cli-run-echo.txt" 2>&1 || true

# --- image listing / inspect ---
rec images-json GET /v1.41/images/json
rec images-json-all GET '/v1.41/images/json?all=1'
rec images-json-filter-label GET '/v1.41/images/json?filters=%7B%22label%22%3A%7B%22tier%3Dbase%22%3Atrue%7D%7D'
rec images-json-filter-reference GET '/v1.41/images/json?filters=%7B%22reference%22%3A%7B%22busybox%22%3Atrue%7D%7D'
rec images-json-filter-dangling GET '/v1.41/images/json?filters=%7B%22dangling%22%3A%7B%22true%22%3Atrue%7D%7D'
rec images-json-filter-bad GET '/v1.41/images/json?filters=%7B%22nope%22%3A%7B%22x%22%3Atrue%7D%7D'
rec image-inspect GET /v1.41/images/busybox/json
rec image-inspect-labels GET /v1.41/images/berth-test/labelled:1.0/json
rec image-inspect-missing GET /v1.41/images/nope/json
rec image-history GET /v1.41/images/busybox/history

# --- untag / delete ---
rec image-tag POST '/v1.41/images/busybox/tag?repo=busybox&tag=two'
rec image-delete-untag DELETE /v1.41/images/busybox          # still tagged busybox:two
rec image-delete-last-tag DELETE /v1.41/images/busybox:two   # last tag: deletes image
rec image-delete-missing DELETE /v1.41/images/nope
tarbody images-load-reload POST '/v1.41/images/load?quiet=1' --data-binary "@$IMAGES/busybox.tar"

# --- containers: bad input, then an image in use ---
json container-create-bad-json POST /v1.41/containers/create --data-binary '{"Image": "busybox",'
json container-create-missing-image POST /v1.41/containers/create --data-binary '{"Image":"nope"}'
json container-create POST /v1.41/containers/create --data-binary '{"Image":"busybox"}'
CID=$(jq -r .Id "$OUT.new/container-create.json")
IMAGE_ID=$(jq -r .Id "$OUT.new/image-inspect.json")
rec containers-json-all GET '/v1.41/containers/json?all=1'
rec image-delete-conflict DELETE /v1.41/images/busybox            # 409: stopped container
rec image-delete-id-conflict DELETE "/v1.41/images/$IMAGE_ID"     # 409, by ID
# A running container blocks even a forced delete.
json container-create-sleep POST /v1.41/containers/create --data-binary '{"Image":"busybox","Cmd":["sleep","60"]}'
CID2=$(jq -r .Id "$OUT.new/container-create-sleep.json")
rec container-start POST "/v1.41/containers/$CID2/start"
rec image-delete-running-force DELETE "/v1.41/images/$IMAGE_ID?force=1"
rec container-delete-running DELETE "/v1.41/containers/$CID2?force=1"
# With only a stopped container, force untags and deletes the image.
rec image-delete-force DELETE '/v1.41/images/busybox?force=1'
rec container-delete DELETE "/v1.41/containers/$CID"
# Deleting the last image on a layer also reports the layer's chain ID.
rec image-delete-with-layer DELETE /v1.41/images/berth-test/labelled:1.0
rec images-json-end GET /v1.41/images/json

# Swap in the new recording, keeping the hand-written README.
if [ -f "$OUT/README.md" ]; then cp "$OUT/README.md" "$OUT.new/"; fi
rm -rf "$OUT"
mv "$OUT.new" "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
echo "record: wrote $OUT"
