#!/usr/bin/env bash
# Record container inspect bodies of a throwaway Debian dockerd 20.10 (API
# 1.41) into compat-tests/golden/dockerd-20.10-inspect/. Its own directory:
# record-dockerd-20.10.sh replaces dockerd-20.10/ wholesale.
# Needs root and scripts/install-test-deps.sh.
#
#   compat-tests/golden/record-inspect-dockerd-20.10.sh [DIR]   (DIR defaults to /tmp/dk-inspect)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$REPO/compat-tests/golden/dockerd-20.10-inspect
DK=${1:-/tmp/dk-inspect}
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

# rec NAME METHOD PATH [extra curl args]: body to NAME.json, status to NAME.status.
rec() {
    local name=$1 method=$2 path=$3
    shift 3
    curl -sS --unix-socket "$SOCK" -X "$method" -o "$OUT.new/$name.json" \
        -w '%{http_code}\n' "$@" "http://localhost$path" >"$OUT.new/$name.status"
    printf '%-32s %s %s -> %s\n' "$name" "$method" "$path" "$(cat "$OUT.new/$name.status")"
}
# create NAME BODY: creates a container from a raw API body, prints its ID.
create() {
    curl -sS --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
        --data-binary "$2" "http://localhost/v1.41/containers/create?name=$1" | jq -r .Id
}
wait_exit() {
    curl -sS --unix-socket "$SOCK" -X POST "http://localhost/v1.41/containers/$1/wait" >/dev/null
}

"$DOCKER" load -i "$IMAGES/busybox.tar" >/dev/null

# A created container from the bare minimum body: dockerd fills every default.
ID=$(create plain '{"Image":"busybox"}')
rec inspect-created GET "/v1.41/containers/$ID/json"
rec inspect-created-size GET "/v1.41/containers/$ID/json?size=1"
rec inspect-missing GET /v1.41/containers/nope/json

# A created container with options (as the stock CLI sends a create: every HostConfig field).
mkdir -p "$DK/bind"
"$DOCKER" create --name opts -e A=1 -l tier=web -w /tmp -u 1000 --hostname box \
    --restart on-failure:3 -m 64m --tmpfs /run:size=1m -v "$DK/bind:/mnt/bind:ro" \
    -v /data --mount type=tmpfs,destination=/scratch \
    --health-cmd 'true' --health-interval 5s -p 8080:80 --cap-add NET_ADMIN \
    --dns 10.0.0.1 --add-host h:10.0.0.2 busybox sleep 60 >/dev/null
rec inspect-created-options GET /v1.41/containers/opts/json
rec inspect-created-options-size GET '/v1.41/containers/opts/json?size=1'

# Exited containers, network none and host (--bridge=none: no bridge to start on).
ID=$(create exited-none '{"Image":"busybox","Cmd":["sh","-c","echo x > /f; exit 3"],"HostConfig":{"NetworkMode":"none"}}')
curl -sS --unix-socket "$SOCK" -X POST "http://localhost/v1.41/containers/$ID/start"
wait_exit "$ID"
rec inspect-exited-none GET "/v1.41/containers/$ID/json"
rec inspect-exited-none-size GET "/v1.41/containers/$ID/json?size=1"
ID=$(create exited-host '{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"host"}}')
curl -sS --unix-socket "$SOCK" -X POST "http://localhost/v1.41/containers/$ID/start"
wait_exit "$ID"
rec inspect-exited-host GET "/v1.41/containers/$ID/json"
# The same through the stock CLI's create (its full HostConfig).
"$DOCKER" run --name exited-cli --network none busybox true >/dev/null
rec inspect-exited-cli GET /v1.41/containers/exited-cli/json

# A running container with an exec: ExecIDs lists it, State has a Pid.
ID=$(create running '{"Image":"busybox","Cmd":["sleep","60"],"HostConfig":{"NetworkMode":"none"}}')
curl -sS --unix-socket "$SOCK" -X POST "http://localhost/v1.41/containers/$ID/start"
curl -sS --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
    --data-binary '{"Cmd":["true"]}' "http://localhost/v1.41/containers/$ID/exec" >/dev/null
rec inspect-running-exec GET "/v1.41/containers/$ID/json"

# The CLI's view of a few fields.
for c in plain opts exited-none; do
    "$DOCKER" inspect -f '{{json .NetworkSettings.Networks}} {{.GraphDriver.Name}} {{.HostConfig.RestartPolicy.Name}} {{json .ExecIDs}} {{json .Mounts}}' "$c"
done >"$OUT.new/cli-inspect.txt"
"$DOCKER" rm -f $("$DOCKER" ps -aq) >/dev/null

if [ -f "$OUT/README.md" ]; then cp "$OUT/README.md" "$OUT.new/"; fi
rm -rf "$OUT"
mv "$OUT.new" "$OUT"
echo "record: wrote $OUT"
