#!/usr/bin/env bash
# `GET /containers/json?all=1` with N created containers, Berth beside Debian's dockerd 20.10 in
# the same run: the median of RUNS `curl time_total` over each daemon's unix socket (the two
# daemons take turns, request by request), and the ratio.
#
#   bench/ps.sh [N] [RUNS]       (as root; N=1000 and RUNS=20 by default; builds release binaries)
#   PS_PROFILE=debug bench/ps.sh (use the debug build instead, for a quick look)
#
# Containers are created, not started: creating is what a long-lived daemon accumulates (compose
# projects, CI leftovers), and it keeps the run short. Both daemons run on their own sockets and
# roots under a temp dir, removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
RUNS=${2:-20}
PROFILE=${PS_PROFILE:-release}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
WORK=$(mktemp -d /tmp/berth-bench-ps.XXXXXX)
BERTH_PID=""

cleanup() {
    set +e
    if [ -n "$BERTH_PID" ]; then
        kill "$BERTH_PID" 2>/dev/null
        wait "$BERTH_PID" 2>/dev/null
    fi
    [ -d "$WORK/dockerd" ] && ./scripts/throwaway-dockerd.sh stop "$WORK/dockerd" >/dev/null 2>&1
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
BERTH_SOCK=$WORK/berth/d.sock
DOCKERD_SOCK=$(./scripts/throwaway-dockerd.sh start "$WORK/dockerd" | sed 's|^DOCKER_HOST=unix://||')

# Each container as compose makes them: labels, a command, an env.
create_all() {  # socket
    local i body
    curl -sf --unix-socket "$1" -X POST -H 'Content-Type: application/x-tar' \
        --data-binary "@$BERTH_TEST_IMAGES/busybox.tar" http://localhost/images/load >/dev/null
    for i in $(seq "$N"); do
        body='{"Image":"busybox","Cmd":["sleep","600"],"Env":["N='$i'"],"Labels":{"com.docker.compose.project":"bench","com.docker.compose.service":"s'$((i % 10))'","n":"'$i'"},"HostConfig":{"NetworkMode":"none"}}'
        curl -sf --unix-socket "$1" -X POST -H 'Content-Type: application/json' -d "$body" \
            "http://localhost/containers/create?name=ps-$i" >/dev/null
    done
}
create_all "$BERTH_SOCK"
create_all "$DOCKERD_SOCK"

list_s() {  # socket -> seconds
    curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$1" "http://localhost/containers/json?all=1"
}
count() {
    curl -s --unix-socket "$1" "http://localhost/containers/json?all=1" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
berth_n=$(count "$BERTH_SOCK")
dockerd_n=$(count "$DOCKERD_SOCK")
: >"$WORK/berth.s"
: >"$WORK/dockerd.s"
for _ in $(seq "$RUNS"); do
    list_s "$BERTH_SOCK" >>"$WORK/berth.s"
    list_s "$DOCKERD_SOCK" >>"$WORK/dockerd.s"
done
median_ms() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f\n", m*1000}'; }
berth_ms=$(median_ms <"$WORK/berth.s")
dockerd_ms=$(median_ms <"$WORK/dockerd.s")
ratio=$(awk -v b="$berth_ms" -v d="$dockerd_ms" 'BEGIN {printf "%.2f", b/d}')
cat <<REPORT
| measure ($PROFILE build) | berth | dockerd 20.10 | berth / dockerd |
|---|---|---|---|
| \`GET /containers/json?all=1\`, $N created containers ($berth_n / $dockerd_n listed), median of $RUNS (ms) | $berth_ms | $dockerd_ms | $ratio |
REPORT
