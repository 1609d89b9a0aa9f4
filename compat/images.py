#!/usr/bin/env python3
"""Stand-ins for the Docker Hub images the client suites name, built offline from the busybox test
image (scripts/build-test-images.sh): its layer, plus a small layer of the stand-in's own files and
a config (Cmd, ExposedPorts, ...). Written as `docker save` archives, reproducibly (fixed times,
sorted entries), so image IDs only change when this file or busybox changes.

    compat/images.py BUSYBOX_TAR OUTDIR      -> OUTDIR/<name>.tar for each stand-in, and
                                                OUTDIR/images.json: [{"archive", "tags"}]
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


def sha(data):
    return hashlib.sha256(data).hexdigest()


def base_layer(busybox_tar):
    """The busybox image's one layer, as bytes."""
    with tarfile.open(busybox_tar) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        return t.extractfile(manifest[0]["Layers"][0]).read()


def files_layer(files):
    """A layer holding `files` (parent directories added), reproducibly."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        dirs = sorted({os.path.dirname(p[: i]) for p in files for i in range(len(p)) if p[i] == "/"} | {
            os.path.dirname(p) for p in files})
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
    busybox_tar, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    base = base_layer(busybox_tar)
    index = []
    for name, (tags, files, extra) in sorted(STAND_INS.items()):
        layers = [base] + ([files_layer(files)] if files else [])
        path = os.path.join(out, f"{name}.tar")
        image_id = archive(path, tags, layers, extra)
        index.append({"archive": path, "tags": tags, "id": image_id})
    with open(os.path.join(out, "images.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
