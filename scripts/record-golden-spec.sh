#!/usr/bin/env bash
# Record the config.json Debian's dockerd 20.10 gives runc for various `docker run` flags, with
# the Config/HostConfig it reports for the same container, into tests/golden-spec/.
#
#   scripts/throwaway-dockerd.sh start /tmp/dkspec
#   docker -H unix:///tmp/dkspec/docker.sock load -i target/test-images/busybox.tar
#   scripts/record-golden-spec.sh /tmp/dkspec
#   scripts/throwaway-dockerd.sh stop /tmp/dkspec
#
# Containers run under a "spy" runtime that copies the bundle's config.json and then execs runc,
# so that specs runc refuses here (--privileged asks for CAP_SYS_RESOURCE, which root lacks on
# this machine) are recorded too. The seccomp profile is reduced to its default action and rule
# count: its contents are the seccomp profile's tests' business.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=$(cd "${1:?usage: $0 THROWAWAY_DOCKERD_DIR}" && pwd)
OUT=tests/golden-spec
export DOCKER_HOST=unix://$DIR/docker.sock

SPY=$DIR/spy
mkdir -p "$SPY/specs" "$DIR/bind" "$OUT/inputs"
echo hi >"$DIR/bind/f"
cat >"$SPY/runc" <<EOF
#!/bin/sh
prev=""
for a in "\$@"; do
    if [ "\$prev" = "--bundle" ] || [ "\$prev" = "-b" ]; then
        cp "\$a/config.json" "$SPY/specs/\$(basename "\$a").json"
    fi
    prev="\$a"
done
exec /usr/sbin/runc "\$@"
EOF
chmod +x "$SPY/runc"
# Runtimes are reloaded on SIGHUP.
jq --arg p "$SPY/runc" '. + {runtimes: {spy: {path: $p}}}' "$DIR/daemon.json" >"$DIR/daemon.json.new"
mv "$DIR/daemon.json.new" "$DIR/daemon.json"
kill -HUP "$(cat "$DIR/docker.pid")"
for _ in $(seq 50); do
    docker info --format '{{json .Runtimes}}' | grep -q spy && break
    sleep 0.1
done

record() {
    local name=$1 id
    shift
    id=$(docker create --runtime spy "$@")
    docker start "$id" >/dev/null 2>&1 || true
    jq --sort-keys 'if .linux.seccomp then .linux.seccomp = {defaultAction: .linux.seccomp.defaultAction, syscallsCount: (.linux.seccomp.syscalls | length)} else . end' \
        "$SPY/specs/$id.json" >"$OUT/$name.json"
    docker inspect "$id" | jq '.[0] | {Config, HostConfig}' >"$OUT/inputs/$name.json"
    docker rm -f "$id" >/dev/null
    echo "recorded $name"
}

B=$DIR/bind
record default busybox sleep 1000
record privileged --privileged busybox sleep 1000
record readonly-tmpfs --read-only --tmpfs /run --tmpfs /cache:size=10m,exec,mode=700 busybox sleep 1000
record readonly-user-tmpfs-shm --read-only --tmpfs /dev/shm:size=1m --mount type=tmpfs,dst=/ro,readonly busybox sleep 1000
record user-nobody -u nobody busybox sleep 1000
record user-uid-gid -u 1234:5678 --group-add 10 --group-add nobody busybox sleep 1000
record caps --cap-add NET_ADMIN --cap-add cap_sys_time --cap-drop CHOWN --cap-drop mknod busybox sleep 1000
record caps-drop-all --cap-drop ALL --cap-add chown busybox sleep 1000
record caps-add-all --cap-add ALL --cap-drop NET_RAW busybox sleep 1000
record resources --memory 64m --memory-reservation 32m --cpus 1.5 --pids-limit 100 --cpu-shares 512 \
    --cpuset-cpus 0 --cpuset-mems 0 --blkio-weight 300 --oom-kill-disable --memory-swappiness 10 busybox sleep 1000
record memory-swap --memory 64m --memory-swap 128m --cpu-period 50000 --cpu-quota 25000 busybox sleep 1000
record ulimit --ulimit nofile=1024:2048 --ulimit nproc=500 busybox sleep 1000
record nnp --security-opt no-new-privileges busybox sleep 1000
record seccomp-unconfined --security-opt seccomp=unconfined busybox sleep 1000
record network-none --network none busybox sleep 1000
record network-host --network host busybox sleep 1000
record env-workdir -e FOO=bar -e PATH=/bin -w /tmp --hostname myhost --entrypoint /bin/sh busybox -c "sleep 1000"
record tty -t -e TERM=vt100 busybox sleep 1000
record binds -v "$B:/data:ro" -v "$B/f:/etc/f" --mount "type=bind,src=$B,dst=/mnt/b,readonly" \
    --mount type=tmpfs,dst=/scratch,tmpfs-size=1048576,tmpfs-mode=1770 --shm-size 128m busybox sleep 1000
record sysctl-oom --sysctl net.ipv4.ip_forward=1 --sysctl kernel.msgmax=65536 --oom-score-adj 100 busybox sleep 1000
record stop-signal --stop-signal SIGINT --label a=b busybox sleep 1000
record devices --device-cgroup-rule 'c 42:* rmw' --device /dev/null:/dev/mynull:r busybox sleep 1000
record ipc-host-pid-host --ipc host --pid host --uts host busybox sleep 1000
record ipc-none --ipc none busybox sleep 1000
record ipc-shareable --ipc shareable busybox sleep 1000
record init --init busybox sleep 1000
record cgroupns-private --cgroupns private busybox sleep 1000
record annotations-domain --domainname example.com --hostname h1 busybox sleep 1000
