#!/usr/bin/env bash
# Install what Berth's test suite needs on a fresh Debian 12 machine.
# Idempotent: does nothing (not even `apt-get update`) when all is present,
# so it is cheap to call at the start of every test run.
set -euo pipefail

# Packages the tests use:
#   busybox-static      -> the only userland we can put in test images offline
#   skopeo umoci jq     -> build/inspect OCI layouts, poke at JSON
#   docker.io           -> Debian's dockerd 20.10, only for benchmarks/golden comparison
#   runc                -> the OCI runtime Berth drives
#   iproute2 iptables   -> container networking
#   hyperfine           -> benchmarks
#   curl                -> raw API calls over the unix socket
#   e2fsprogs           -> mkfs.ext4 for the full-disk test's small loop-mounted data root
#   docker-registry     -> Distribution 2.8, the local registry of the client suites (compat/)
#   python3-venv        -> the client suites' pinned Python clients (compat/python)
#   mmdebstrap          -> Debian root filesystems for the suites' real-program images (redis, postgres)
PKGS=(busybox-static skopeo umoci jq docker.io runc iproute2 iptables hyperfine curl e2fsprogs
    docker-registry python3-venv mmdebstrap)

# The stock, new docker CLI is what tests drive. Debian's docker.io ships an
# older CLI at /usr/bin/docker, so tests must use this exact path.
DOCKER_CLI=/usr/local/bin/docker

missing=()
for p in "${PKGS[@]}"; do
    # dpkg-query reports "install ok installed" only for fully configured packages.
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    # Root only matters when there is something to install.
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-test-deps: missing ${missing[*]}; run as root to install" >&2
        exit 1
    fi
    echo "install-test-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive

    # Stop package maintainer scripts from starting services (dockerd,
    # containerd): a daemon on /var/run/docker.sock would clash with Berth.
    # invoke-rc.d and deb-systemd-invoke both honour policy-rc.d exit 101.
    # Keep an existing policy-rc.d (container images often ship one); only
    # add ours temporarily and remove it again afterwards.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# temporary, from berth install-test-deps.sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi

    # Package lists may be stale or absent on a fresh machine; refresh only
    # now that something actually has to be downloaded.
    apt-get update -qq
    # No recommends: docker.io would pull needrestart, git, apparmor, ...
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}"

    # Belt and braces: if a daemon got started anyway, stop the one that
    # apt started (by pid file), never anything else.
    for pidfile in /var/run/docker.pid /run/containerd/containerd.pid; do
        if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            echo "install-test-deps: stopping daemon started by apt ($pidfile)" >&2
            kill "$(cat "$pidfile")" || true
        fi
    done
fi

# cargo-nextest is normally preinstalled; build it only when missing since
# compiling it takes minutes. `cargo test` remains the fallback in test.sh.
if ! command -v cargo-nextest >/dev/null 2>&1; then
    if command -v cargo >/dev/null 2>&1; then
        echo "install-test-deps: installing cargo-nextest"
        cargo install --locked cargo-nextest || \
            echo "install-test-deps: cargo-nextest install failed; test.sh will use cargo test" >&2
    fi
fi

# The client suites' Python packages, pinned, in a venv under target/ (pip's cache makes a
# fresh clone's install quick); redone only when the requirements change.
REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=${CARGO_TARGET_DIR:-$REPO/target}/compat/venv
REQS=$REPO/compat/python/requirements.txt
want=$(sha256sum "$REQS" | cut -d' ' -f1)
if [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$want" ]; then
    echo "install-test-deps: installing the client suites' Python packages"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS"
    echo "$want" >"$VENV/.requirements"
fi

# The real-program images' root filesystems (redis-server, postgresql from Debian's packages),
# made once per recipe by mmdebstrap, outside the checkout so that fresh clones reuse them.
python3 "$REPO/compat/images.py" rootfs "${BERTH_COMPAT_ROOTFS:-/var/cache/berth-compat/rootfs}"

# Each client suite with its own client (compat/<suite>/install: npm packages, a cargo project,
# the compose binary) installs it, pinned and idempotently.
for install in "$REPO"/compat/*/install; do
    [ -x "$install" ] || continue
    "$install"
done

if [ ! -x "$DOCKER_CLI" ]; then
    echo "install-test-deps: $DOCKER_CLI is missing." >&2
    echo "  The tests need the stock docker CLI (28.x) at exactly that path;" >&2
    echo "  Debian's /usr/bin/docker (20.10) is too old and is not used." >&2
    exit 1
fi

echo "install-test-deps: ok"
