#!/usr/bin/env bash
# `docker exec c true` through the stock CLI, Berth beside Debian's dockerd 20.10 in the same
# run: the median wall time of RUNS execs into one running busybox container on each daemon
# (the two daemons take turns, exec by exec), the ratio, and the CLI's own floor (a
# `docker inspect c`, one small API call).
#
#   bench/exec.sh [RUNS]            (as root; RUNS=30 by default; builds release binaries)
#   EXEC_PROFILE=debug bench/exec.sh (the debug build, for a quick look)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
PROFILE=${EXEC_PROFILE:-release}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
DOCKER=/usr/local/bin/docker
WORK=$(mktemp -d /tmp/berth-bench-exec.XXXXXX)
BERTH_PID=""

cleanup() {
    set +e
    if [ -n "$BERTH_PID" ]; then
        DOCKER_HOST=unix://$WORK/berth/d.sock $DOCKER rm -f bench-exec >/dev/null 2>&1
        kill "$BERTH_PID" 2>/dev/null
        wait "$BERTH_PID" 2>/dev/null
    fi
    if [ -d "$WORK/dockerd" ]; then
        DOCKER_HOST=unix://$WORK/dockerd/docker.sock $DOCKER rm -f bench-exec >/dev/null 2>&1
        ./scripts/throwaway-dockerd.sh stop "$WORK/dockerd" >/dev/null 2>&1
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

export BERTH_TEST_IMAGES=${BERTH_TEST_IMAGES:-$PWD/target/test-images}
[ -f "$BERTH_TEST_IMAGES/busybox.tar" ] || ./scripts/build-test-images.sh "$BERTH_TEST_IMAGES" >/dev/null
if [ "$PROFILE" = release ]; then
    cargo build --release --bins -q
else
    cargo build --bins -q
fi

mkdir -p "$WORK/berth"
"$TARGET/x86_64-unknown-linux-gnu/$PROFILE/berthd" -H "unix://$WORK/berth/d.sock" \
    --data-root "$WORK/berth/data" --exec-root "$WORK/berth/exec" --config-file /dev/null \
    >"$WORK/berth/log" 2>&1 &
BERTH_PID=$!
for _ in $(seq 100); do [ -S "$WORK/berth/d.sock" ] && break; sleep 0.05; done
BERTH="unix://$WORK/berth/d.sock"
DOCKERD=$(./scripts/throwaway-dockerd.sh start "$WORK/dockerd" | sed 's/^DOCKER_HOST=//')

for host in "$BERTH" "$DOCKERD"; do
    DOCKER_HOST=$host $DOCKER load -q -i "$BERTH_TEST_IMAGES/busybox.tar" >/dev/null
    DOCKER_HOST=$host $DOCKER run -d --name bench-exec --network none busybox sleep 3600 >/dev/null
    DOCKER_HOST=$host $DOCKER exec bench-exec true   # warm caches
done

us() {  # host, docker args... -> wall microseconds
    local host=$1 t0 t1
    shift
    t0=$(date +%s%N)
    DOCKER_HOST=$host $DOCKER "$@" >/dev/null
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
}
for f in berth dockerd floor; do : >"$WORK/$f.us"; done
for _ in $(seq "$RUNS"); do
    us "$BERTH" exec bench-exec true >>"$WORK/berth.us"
    us "$DOCKERD" exec bench-exec true >>"$WORK/dockerd.us"
    us "$BERTH" inspect bench-exec >>"$WORK/floor.us"
done
median_ms() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'; }
berth_ms=$(median_ms <"$WORK/berth.us")
dockerd_ms=$(median_ms <"$WORK/dockerd.us")
floor_ms=$(median_ms <"$WORK/floor.us")
ratio=$(awk -v b="$berth_ms" -v d="$dockerd_ms" 'BEGIN {printf "%.2f", b/d}')
cat <<REPORT
| measure ($PROFILE build) | berth | dockerd 20.10 | berth / dockerd |
|---|---|---|---|
| \`docker exec c true\`, median of $RUNS (ms) | $berth_ms | $dockerd_ms | $ratio |
| the CLI's floor: \`docker inspect c\` on berth (ms) | $floor_ms | | |
REPORT
