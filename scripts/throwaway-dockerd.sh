#!/usr/bin/env bash
# Start/stop Debian's dockerd 20.10 fully confined to one directory, for
# benchmarks and golden-output recording. It never uses /var/run/docker.sock,
# /var/lib/docker, the host's iptables, bridges or ip_forward, so it cannot
# clash with Berth or the machine.
#
#   throwaway-dockerd.sh start DIR   # prints DOCKER_HOST=unix://DIR/docker.sock
#   throwaway-dockerd.sh stop DIR    # stops it and deletes DIR entirely
set -euo pipefail

cmd=${1:-}
DIR=${2:-}
if [ -z "$cmd" ] || [ -z "$DIR" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}

start() {
    if [ ! -x "$DOCKERD" ]; then
        echo "throwaway-dockerd: $DOCKERD missing (scripts/install-test-deps.sh installs docker.io)" >&2
        exit 1
    fi
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    # dockerd creates /run/docker/plugins and its containerd's shims
    # /run/containerd/s whatever --exec-root says: remember which of them
    # did not exist yet, so that stop removes those and only those.
    [ -e /run/docker ] || touch "$DIR/.created-run-docker"
    [ -e /run/containerd ] || touch "$DIR/.created-run-containerd"
    # Own config file: ignore any /etc/docker/daemon.json on the host.
    # deprecated-key-path (config-file only, no flag): 20.10 otherwise
    # writes /etc/docker/key.json.
    printf '{"deprecated-key-path": "%s"}\n' "$DIR/key.json" >"$DIR/daemon.json"
    # --iptables/--ip-forward=false, --bridge=none: leave host networking alone.
    # setsid: own process group, so the daemon outlives this script's shell.
    setsid "$DOCKERD" \
        --config-file "$DIR/daemon.json" \
        -H "unix://$DIR/docker.sock" \
        --data-root "$DIR/data" \
        --exec-root "$DIR/exec" \
        --pidfile "$DIR/docker.pid" \
        --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
        --bridge=none \
        --cgroup-parent "/$(cgroup_parent)" \
        >"$DIR/dockerd.log" 2>&1 </dev/null &
    local pid=$!
    for _ in $(seq 60); do
        kill -0 "$pid" 2>/dev/null || break   # exited: bad flag, port in use, ...
        if curl -sf --unix-socket "$DIR/docker.sock" http://localhost/_ping >/dev/null 2>&1; then
            echo "DOCKER_HOST=unix://$DIR/docker.sock"
            return 0
        fi
        sleep 0.5
    done
    echo "throwaway-dockerd: dockerd did not come up; log:" >&2
    tail -20 "$DIR/dockerd.log" >&2
    stop
    exit 1
}

# Containers' cgroups go under a parent of our own rather than /docker,
# which a real docker (or Berth) may share; stop removes it.
cgroup_parent() { echo "berth-throwaway-dockerd-$(basename "$DIR")"; }

# wait_gone PID SECONDS: true once PID has exited.
wait_gone() {
    for _ in $(seq $(($2 * 10))); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

stop() {
    [ -d "$DIR" ] || return 0
    DIR=$(cd "$DIR" && pwd)
    # This ends with rm -rf: only ever on a directory that start set up.
    if [ ! -f "$DIR/daemon.json" ]; then
        echo "throwaway-dockerd: $DIR was not made by '$0 start'; not touching it" >&2
        exit 1
    fi
    local pid
    if [ -s "$DIR/docker.pid" ]; then
        pid=$(cat "$DIR/docker.pid")
        if kill -TERM "$pid" 2>/dev/null && ! wait_gone "$pid" 30; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # dockerd normally takes its containerd and shims down with it; anything
    # left is found by our unique exec root in its command line, and only that.
    for pid in $(pgrep -f -- "$DIR/exec/" || true); do
        [ "$pid" != $$ ] || continue
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
    done
    # overlay, shm and netns mounts, deepest first.
    awk -v d="$DIR/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
        while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
    if [ -e "$DIR/.created-run-docker" ]; then
        rmdir /run/docker/plugins /run/docker 2>/dev/null || true
    fi
    if [ -e "$DIR/.created-run-containerd" ]; then
        rmdir /run/containerd/s /run/containerd 2>/dev/null || true
    fi
    # Empty cgroup dirs (v1 hierarchies and v2), deepest first.
    find /sys/fs/cgroup -depth -type d -path "*/$(cgroup_parent)*" \
        -exec rmdir {} + 2>/dev/null || true
    rm -rf "$DIR"
}

case $cmd in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
