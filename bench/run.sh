#!/usr/bin/env bash
# Berth beside Debian's dockerd 20.10, in one run, on this machine:
#   1. `docker run --rm --network none busybox true` wall time through the stock CLI (median of N,
#      the two daemons taking turns)
#   2. RSS, PSS and private memory of an idle per-container shim (berth-shim vs
#      containerd-shim-runc-v2)
#   3. floors: `runc run` of the same busybox bundle, and the CLI alone (`docker ps -q`)
#   5. event delivery: a `start` event's receipt by a GET /events subscriber minus its timeNano
#      (bench/events_delay.py), median and worst of 20 starts
#   4. churn: CHURN_CLIENTS parallel clients running `docker run --rm` back to back for
#      CHURN_SECONDS, container cycles per second and errors (bench/churn.sh), each daemon alone
# Both daemons run on their own sockets and roots under a temp dir and are removed afterwards.
#
#   bench/run.sh [RUNS]          (as root; builds release binaries first)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
DOCKER=/usr/local/bin/docker
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
BERTH_PID=""

cleanup() {
    set +e
    if [ -n "$BERTH_PID" ]; then
        DOCKER_HOST=unix://$WORK/berth/d.sock $DOCKER rm -f bench-idle >/dev/null 2>&1
        kill "$BERTH_PID" 2>/dev/null
        wait "$BERTH_PID" 2>/dev/null
    fi
    DOCKER_HOST=unix://$WORK/dockerd/docker.sock $DOCKER rm -f bench-idle >/dev/null 2>&1
    ./scripts/throwaway-dockerd.sh stop "$WORK/dockerd" >/dev/null 2>&1
    runc --root "$WORK/runc-root" delete -f bench-floor >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

./scripts/install-test-deps.sh >/dev/null
export BERTH_TEST_IMAGES=$PWD/target/test-images
[ -f "$BERTH_TEST_IMAGES/busybox.tar" ] || ./scripts/build-test-images.sh "$BERTH_TEST_IMAGES" >/dev/null
cargo build --release --bins -q

# ---- daemons ---------------------------------------------------------------------------------
mkdir -p "$WORK/berth"
./target/x86_64-unknown-linux-gnu/release/berthd -H "unix://$WORK/berth/d.sock" --data-root "$WORK/berth/data" \
    --exec-root "$WORK/berth/exec" --config-file /dev/null >"$WORK/berth/log" 2>&1 &
BERTH_PID=$!
for _ in $(seq 100); do [ -S "$WORK/berth/d.sock" ] && break; sleep 0.05; done
BERTH="unix://$WORK/berth/d.sock"
DOCKERD=$(./scripts/throwaway-dockerd.sh start "$WORK/dockerd" | sed 's/^DOCKER_HOST=//')

for host in "$BERTH" "$DOCKERD"; do
    DOCKER_HOST=$host $DOCKER load -q -i "$BERTH_TEST_IMAGES/busybox.tar" >/dev/null
    DOCKER_HOST=$host $DOCKER run --rm --network none busybox true   # warm caches
done

# ---- 1. docker run latency -------------------------------------------------------------------
# The two daemons take turns, run by run, so that whatever else the machine is doing weighs on
# both alike.
run_us() {  # host -> wall microseconds of one run
    local t0 t1
    t0=$(date +%s%N)
    DOCKER_HOST=$1 $DOCKER run --rm --network none busybox true
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 ))
}
median_ms() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'; }
: >"$WORK/berth.us"
: >"$WORK/dockerd.us"
for _ in $(seq "$RUNS"); do
    run_us "$BERTH" >>"$WORK/berth.us"
    run_us "$DOCKERD" >>"$WORK/dockerd.us"
done
berth_ms=$(median_ms <"$WORK/berth.us")
dockerd_ms=$(median_ms <"$WORK/dockerd.us")

# ---- 2. idle shim RSS ------------------------------------------------------------------------
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# Private memory (what this process alone costs) and PSS (its fair share of shared pages).
private_kib() { awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' "/proc/$1/smaps_rollup"; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
bid=$(DOCKER_HOST=$BERTH $DOCKER run -d --name bench-idle --network none busybox sleep 600)
did=$(DOCKER_HOST=$DOCKERD $DOCKER run -d --name bench-idle --network none busybox sleep 600)
# Let both shims settle into idle (ours gives its mapped code back after 1 s without events;
# Go's runtime returns memory on its own schedule).
sleep 3
berth_shim=$(pgrep -f "berth-shim.*$bid" | head -1)
dockerd_shim=$(pgrep -f "containerd-shim-runc-v2.*$did" | head -1)
berth_rss=$(rss_kib "$berth_shim")
dockerd_rss=$(rss_kib "$dockerd_shim")
berth_pss=$(pss_kib "$berth_shim")
dockerd_pss=$(pss_kib "$dockerd_shim")
berth_priv=$(private_kib "$berth_shim")
dockerd_priv=$(private_kib "$dockerd_shim")

# ---- 3. the floor: runc run of the same image, no daemon ---------------------------------------
mkdir -p "$WORK/bundle/rootfs" "$WORK/runc-root"
tar -xf "$BERTH_TEST_IMAGES/busybox.tar" -C "$WORK" manifest.json
layer=$(python3 -c "import json;print(json.load(open('$WORK/manifest.json'))[0]['Layers'][0])")
tar -xOf "$BERTH_TEST_IMAGES/busybox.tar" "$layer" | tar -x -C "$WORK/bundle/rootfs"
(cd "$WORK/bundle" && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json)
floor_ms=$(for i in $(seq "$RUNS"); do
    t0=$(date +%s%N); runc --root "$WORK/runc-root" run -b "$WORK/bundle" bench-floor >/dev/null; t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 ))
done | median_ms)
# The CLI's own share of every command: a request that costs the daemon almost nothing.
cli_ms=$(for i in $(seq "$RUNS"); do
    t0=$(date +%s%N); DOCKER_HOST=$BERTH $DOCKER ps -q >/dev/null; t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 ))
done | median_ms)

# ---- 4. churn ----------------------------------------------------------------------------------
CHURN_CLIENTS=${CHURN_CLIENTS:-20}
CHURN_SECONDS=${CHURN_SECONDS:-30}
read -r b_ok b_err b_hung b_rate < <(bench/churn.sh "$BERTH" "$CHURN_CLIENTS" "$CHURN_SECONDS")
read -r d_ok d_err d_hung d_rate < <(bench/churn.sh "$DOCKERD" "$CHURN_CLIENTS" "$CHURN_SECONDS")

# ---- 5. event delivery ------------------------------------------------------------------------
read -r b_ev b_ev_max < <(python3 bench/events_delay.py "$WORK/berth/d.sock" 20)
read -r d_ev d_ev_max < <(python3 bench/events_delay.py "${DOCKERD#unix://}" 20)

ratio=$(awk -v b="$berth_ms" -v d="$dockerd_ms" 'BEGIN {printf "%.2f", b/d}')
div() { awk -v b="$1" -v d="$2" 'BEGIN {printf "%.2f", b/d}'; }
cat <<REPORT
| measure | berth | dockerd 20.10 | berth / dockerd |
|---|---|---|---|
| \`docker run --rm busybox true\`, median of $RUNS (ms) | $berth_ms | $dockerd_ms | $ratio |
| idle shim RSS (KiB) | $berth_rss | $dockerd_rss | $(div "$berth_rss" "$dockerd_rss") |
| idle shim PSS (KiB) | $berth_pss | $dockerd_pss | $(div "$berth_pss" "$dockerd_pss") |
| idle shim private memory (KiB) | $berth_priv | $dockerd_priv | $(div "$berth_priv" "$dockerd_priv") |
| floor: \`runc run\` of the same bundle, median (ms) | $floor_ms | | |
| the CLI alone: \`docker ps -q\` against berth, median (ms) | $cli_ms | | |
| churn: $CHURN_CLIENTS clients \`run --rm\` for ${CHURN_SECONDS} s, cycles/s | $b_rate | $d_rate | $(div "$b_rate" "$d_rate") (higher: berth faster) |
| churn: cycles done / errors / hung | $b_ok / $b_err / $b_hung | $d_ok / $d_err / $d_hung | |
| \`start\` event delivery, median / worst of 20 (ms) | $b_ev / $b_ev_max | $d_ev / $d_ev_max | $(div "$b_ev" "$d_ev") |
REPORT
