#!/usr/bin/env bash
# Container churn against one daemon: CLIENTS parallel clients, each running
# `docker run --rm --network none busybox true` back to back for SECONDS. Prints
# "<cycles> <errors> <hung> <cycles per second>"; a run that takes over 60 s counts as hung.
#
#   bench/churn.sh DOCKER_HOST CLIENTS SECONDS
set -euo pipefail
HOST=$1 CLIENTS=$2 SECONDS_=$3
DOCKER=/usr/local/bin/docker
out=$(mktemp -d /tmp/berth-churn.XXXXXX)
trap 'rm -rf "$out"' EXIT
end=$(( $(date +%s) + SECONDS_ ))
client() {
    local n=$1 rc
    while [ "$(date +%s)" -lt "$end" ]; do
        rc=0
        DOCKER_HOST=$HOST timeout 60 $DOCKER run --rm --network none busybox true \
            >/dev/null 2>>"$out/err.$n" || rc=$?
        case $rc in
            0) echo ok ;;
            124) echo hung ;;
            *) echo err ;;
        esac >>"$out/res.$n"
    done
}
t0=$(date +%s%N)
for n in $(seq "$CLIENTS"); do client "$n" & done
wait
t1=$(date +%s%N)
cat "$out"/res.* >"$out/all" 2>/dev/null || : >"$out/all"
ok=$(grep -c '^ok$' "$out/all" || true)
err=$(grep -c '^err$' "$out/all" || true)
hung=$(grep -c '^hung$' "$out/all" || true)
rate=$(awk -v n="$ok" -v ns=$((t1 - t0)) 'BEGIN {printf "%.1f", n / (ns / 1e9)}')
echo "$ok $err $hung $rate"
if [ "$err" -gt 0 ]; then sort "$out"/err.* | uniq -c | sort -rn | head -3 >&2; fi
