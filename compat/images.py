#!/usr/bin/env python3
"""The Docker Hub images the client suites name, built without the internet, as `docker save`
archives:

- stand-ins from the busybox test image (scripts/build-test-images.sh): its layer, plus a small
  layer of the stand-in's own files and a config (Cmd, ExposedPorts, ...);
- real programs (redis, postgres) where a case needs the program itself: a Debian root filesystem
  made by mmdebstrap from Debian's packages (the one step that needs the package mirror, so it is
  run by scripts/install-test-deps.sh and kept in a cache outside the checkout), plus a layer with
  an entrypoint that behaves as the official image's does (the same env, users and log lines).

Written reproducibly (fixed times, sorted entries), so image IDs only change when their inputs do.

    compat/images.py rootfs CACHE                 -> CACHE/<name>-<recipe>.tar for each real image
                                                     (mmdebstrap; kept when present)
    compat/images.py BUSYBOX_TAR OUTDIR [CACHE]   -> OUTDIR/<name>.tar for each image, and
                                                     OUTDIR/images.json: [{"archive", "tags", "id"}]
"""

import hashlib
import io
import json
import os
import sys
import tarfile

CREATED = "2024-01-01T00:00:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

HELLO = """#!/bin/sh
echo
echo "Hello from Docker!"
echo "This message shows that your installation appears to be working correctly."
"""

# busybox httpd as the web servers the suites start: same ports and document roots.
UHTTPD = """#!/bin/sh
# uhttpd's flags as fussybeaver/uhttpd's run_uhttpd takes them (-f -p PORT -h DIR), for busybox httpd.
exec httpd "$@"
"""

NGINX = """#!/bin/sh
# Serves /usr/share/nginx/html on port 80 in the foreground, as the nginx image does.
echo "start worker processes"
exec httpd -f -v -p 80 -h /usr/share/nginx/html
"""

INDEX = "<html><body><h1>Welcome to nginx!</h1></body></html>\n"

# testcontainers' reaper, so that enabling Ryuk never pulls from Docker Hub: it checks that the
# daemon socket is bind-mounted, says "Started!" (the line testcontainers waits for) and answers
# Ryuk's line protocol on 8080. busybox cannot talk HTTP over a unix socket, so it does not reap:
# the suites remove what they started themselves.
RYUK_MAIN = """#!/bin/sh
# testcontainers/ryuk's side of the protocol, without the reaping.
if [ ! -S /var/run/docker.sock ]; then
    echo "ryuk stand-in: /var/run/docker.sock is not the daemon socket" >&2
    exit 1
fi
echo "$(date -u '+%Y/%m/%d %H:%M:%S') ryuk stand-in Started!"
exec nc -ll -p 8080 -e /bin/ryuk-ack
"""

RYUK_ACK = """#!/bin/sh
# One connection: a filter a line (label=k=v), each acknowledged as Ryuk does.
while read -r line; do
    echo "ACK"
done
"""

SECOND = 1_000_000_000

# name -> (tags, files {path: (mode, text)}, config additions)
STAND_INS = {
    # The default reaper images of testcontainers-python 4.15 and testcontainers-node 12.0.
    "ryuk": (
        ["testcontainers/ryuk:0.8.1", "testcontainers/ryuk:0.14.0"],
        {"bin/ryuk": (0o755, RYUK_MAIN), "bin/ryuk-ack": (0o755, RYUK_ACK)},
        {
            "Cmd": ["/bin/ryuk"],
            "ExposedPorts": {"8080/tcp": {}},
            # As the real image has it: how testcontainers finds a running reaper to reuse.
            "Labels": {"org.testcontainers.ryuk": "true"},
        },
    ),
    # A HEALTHCHECK in the image's config (a ready file the command makes after a second).
    "healthcheck": (
        ["berth-compat/healthcheck:latest"],
        {},
        {
            "Cmd": ["sh", "-c", "sleep 1; touch /tmp/ready; echo ready; exec sleep 600"],
            "Healthcheck": {
                "Test": ["CMD-SHELL", "test -e /tmp/ready"],
                "Interval": SECOND // 2,
                "Timeout": 5 * SECOND,
                "Retries": 3,
            },
        },
    ),
    "alpine": (["alpine:latest", "alpine:3"], {}, {"Cmd": ["/bin/sh"]}),
    "busybox": (["busybox:latest"], {}, {"Cmd": ["sh"]}),
    "hello-world": (
        ["hello-world:latest", "hello-world:linux"],
        {"hello": (0o755, HELLO)},
        {"Cmd": ["/hello"]},
    ),
    "uhttpd": (
        ["fussybeaver/uhttpd:latest"],
        {"usr/sbin/run_uhttpd": (0o755, UHTTPD), "www/index.html": (0o644, "hello\n")},
        {
            "Cmd": ["/usr/sbin/run_uhttpd", "-f", "-p", "80", "-h", "/www"],
            "ExposedPorts": {"80/tcp": {}},
        },
    ),
    "nginx": (
        ["nginx:latest", "nginx:alpine"],
        {
            "docker-entrypoint.sh": (0o755, NGINX),
            "usr/share/nginx/html/index.html": (0o644, INDEX),
        },
        {
            "Cmd": ["/docker-entrypoint.sh"],
            "ExposedPorts": {"80/tcp": {}},
            "StopSignal": "SIGQUIT",
        },
    ),
}


# ---- real programs, from Debian's packages --------------------------------------------------------

SUITE = "bookworm"

# As the redis image's entrypoint: options (or a .conf) alone mean redis-server; as root it drops to
# the redis user; protected mode off, as the official build's default is (the container is the
# boundary), unless a config file decides.
REDIS_ENTRYPOINT = """#!/bin/sh
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \\! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "$1" = redis-server ] && [ "${2%.conf}" = "${2:-}" ]; then
    case " $* " in
        *" --protected-mode "*) ;;
        *) set -- "$@" --protected-mode no ;;
    esac
fi
exec "$@"
"""

# As the postgres image's entrypoint: POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)
# required, POSTGRES_USER and POSTGRES_DB honoured, /docker-entrypoint-initdb.d run, initialisation
# by a socket-only server first (so "database system is ready to accept connections" is logged
# twice, as testcontainers expects), then the server in the foreground on every address.
POSTGRES_ENTRYPOINT = """#!/bin/bash
set -Eeo pipefail
if [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
fi
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chmod 00700 "$PGDATA"
    chmod 03775 /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
        echo "Error: Database is uninitialized and superuser password is not specified." >&2
        echo "       You must specify POSTGRES_PASSWORD to a non-empty value for the" >&2
        echo "       superuser. For example, \\"-e POSTGRES_PASSWORD=password\\" on \\"docker run\\"." >&2
        exit 1
    fi
    user="${POSTGRES_USER:-postgres}"
    db="${POSTGRES_DB:-$user}"
    initdb --username="$user" --pwfile=<(printf '%s\\n' "${POSTGRES_PASSWORD:-}") \\
        ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    printf '\\nhost all all all %s\\n' "$method" >> "$PGDATA/pg_hba.conf"
    export PGPASSWORD="${POSTGRES_PASSWORD:-}"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
    if [ "$db" != postgres ]; then
        psql -v ON_ERROR_STOP=1 --username "$user" --no-password --dbname postgres \\
            -c "CREATE DATABASE \\"$db\\""
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh) echo "running $f"; . "$f" ;;
            *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 --username "$user" --no-password \\
                --dbname "$db" -f "$f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    echo
    echo "PostgreSQL init process complete; ready for start up."
    echo
fi
exec "$@"
"""

# name -> (tags, Debian packages, further mmdebstrap options, files, config)
REAL = {
    "redis": (
        ["redis:latest", "redis:7", "redis:7.0"],
        ["redis-server"],
        [],
        {"usr/local/bin/docker-entrypoint.sh": (0o755, REDIS_ENTRYPOINT), "data/": None},
        {
            "Entrypoint": ["docker-entrypoint.sh"],
            "Cmd": ["redis-server"],
            "ExposedPorts": {"6379/tcp": {}},
            "Volumes": {"/data": {}},
            "WorkingDir": "/data",
        },
    ),
    "postgres": (
        ["postgres:latest", "postgres:15"],
        ["postgresql-15"],
        [
            # The package's postinst makes a cluster of its own; the image makes one at first start.
            '--customize-hook=rm -rf "$1/var/lib/postgresql/15" "$1/etc/postgresql/15"',
            # The JIT (LLVM, 160 MB) is a plugin the server runs without; C.UTF-8 needs no
            # locale sources.
            "--dpkgopt=path-exclude=/usr/lib/x86_64-linux-gnu/libLLVM*",
            "--dpkgopt=path-exclude=/usr/lib/x86_64-linux-gnu/libz3*",
            "--dpkgopt=path-exclude=/usr/lib/postgresql/15/lib/llvmjit*",
            "--dpkgopt=path-exclude=/usr/lib/postgresql/15/lib/bitcode/*",
            "--dpkgopt=path-exclude=/usr/share/i18n/*",
        ],
        {
            "usr/local/bin/docker-entrypoint.sh": (0o755, POSTGRES_ENTRYPOINT),
            "docker-entrypoint-initdb.d/": None,
        },
        {
            "Entrypoint": ["docker-entrypoint.sh"],
            "Cmd": ["postgres"],
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "PGDATA=/var/lib/postgresql/data",
                "LANG=C.UTF-8",
            ],
            "ExposedPorts": {"5432/tcp": {}},
            "Volumes": {"/var/lib/postgresql/data": {}},
            "StopSignal": "SIGINT",
        },
    ),
}


def mmdebstrap_args(packages, extra):
    """The root filesystem's recipe: the essential packages, these, no docs, no /dev."""
    args = [
        "mmdebstrap", "--quiet", "--variant=essential", "--format=tar", "--skip=output/dev",
        "--include=" + ",".join(packages),
        "--aptopt=Acquire::Languages \"none\"",
    ]
    for d in ("doc", "man", "info", "locale"):
        args.append(f"--dpkgopt=path-exclude=/usr/share/{d}/*")
    return args + extra + [SUITE]


def rootfs_path(cache, name):
    tags, packages, hooks, _, _ = REAL[name]
    key = sha(json.dumps(mmdebstrap_args(packages, hooks)).encode())[:12]
    return os.path.join(cache, f"{name}-{key}.tar")


def build_rootfs(cache):
    """Each real image's root filesystem, made once (a recipe change makes a new one)."""
    import subprocess

    os.makedirs(cache, exist_ok=True)
    for name, (_, packages, hooks, _, _) in sorted(REAL.items()):
        path = rootfs_path(cache, name)
        if os.path.exists(path):
            continue
        print(f"compat/images.py: building {name}'s root filesystem with mmdebstrap", flush=True)
        partial = path + ".partial"
        subprocess.run(mmdebstrap_args(packages, hooks) + [partial], check=True)
        os.replace(partial, path)
        for old in os.listdir(cache):
            if old.startswith(f"{name}-") and os.path.join(cache, old) != path:
                os.remove(os.path.join(cache, old))


def sha(data):
    return hashlib.sha256(data).hexdigest()


def base_layer(busybox_tar):
    """The busybox image's one layer, as bytes."""
    with tarfile.open(busybox_tar) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        return t.extractfile(manifest[0]["Layers"][0]).read()


def files_layer(files):
    """A layer holding `files` (parent directories added), reproducibly."""
    files_dirs = {p: spec for p, spec in files.items() if spec is None}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        # A path ending in "/" (spec None) is a directory of its own.
        files = {p: spec for p, spec in files.items() if spec is not None}
        wanted = [p.rstrip("/") + "/x" for p, spec in files_dirs.items()]
        dirs = sorted({os.path.dirname(p[:i]) for p in [*files, *wanted] for i in range(len(p))
                       if p[i] == "/"} | {os.path.dirname(p) for p in [*files, *wanted]})
        entries = [(d, None) for d in dirs if d] + sorted(files.items())
        for path, spec in sorted(entries, key=lambda e: e[0]):
            info = tarfile.TarInfo(path)
            info.mtime, info.uid, info.gid = 0, 0, 0
            if spec is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            else:
                mode, text = spec
                data = text.encode()
                info.mode, info.size = mode, len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def archive(out, tags, layers, extra):
    config = {"Env": [PATH_ENV], **extra}
    doc = {
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": config,
        "history": [{"created": CREATED, "created_by": "berth compat/images.py"} for _ in layers],
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(l) for l in layers]},
    }
    config_bytes = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    image_id = sha(config_bytes)
    members = [(f"{image_id}.json", config_bytes)]
    layer_paths = []
    for l in layers:
        path = f"{sha(l)}/layer.tar"
        layer_paths.append(path)
        members.append((path, l))
    manifest = [{"Config": f"{image_id}.json", "RepoTags": tags, "Layers": layer_paths}]
    members.append(("manifest.json", json.dumps(manifest).encode()))
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.mtime, info.mode, info.size = 0, 0o644, len(data)
            t.addfile(info, io.BytesIO(data))
    return "sha256:" + image_id


def main():
    if sys.argv[1] == "rootfs":
        return build_rootfs(sys.argv[2])
    busybox_tar, out = sys.argv[1], sys.argv[2]
    cache = sys.argv[3] if len(sys.argv) > 3 else None
    os.makedirs(out, exist_ok=True)
    base = base_layer(busybox_tar)
    index = []
    for name, (tags, files, extra) in sorted(STAND_INS.items()):
        layers = [base] + ([files_layer(files)] if files else [])
        path = os.path.join(out, f"{name}.tar")
        image_id = archive(path, tags, layers, extra)
        index.append({"archive": path, "tags": tags, "id": image_id})
    for name, (tags, _, _, files, extra) in sorted(REAL.items()) if cache else []:
        rootfs = rootfs_path(cache, name)
        if not os.path.exists(rootfs):
            raise SystemExit(f"compat/images.py: {rootfs} is missing: scripts/install-test-deps.sh "
                             f"makes it (compat/images.py rootfs {cache})")
        with open(rootfs, "rb") as f:
            layers = [f.read(), files_layer(files)]
        path = os.path.join(out, f"{name}.tar")
        image_id = archive(path, tags, layers, extra)
        index.append({"archive": path, "tags": tags, "id": image_id})
    with open(os.path.join(out, "images.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
