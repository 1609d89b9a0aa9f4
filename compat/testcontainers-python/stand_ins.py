#!/usr/bin/env python3
"""The testcontainers-python suite's own stand-in images, built like compat/images.py's (busybox's
layer, a small layer of files, a config) and written as `docker save` archives:

- berth-compat/healthcheck:latest: an image with a HEALTHCHECK in its config (a ready file the
  command creates after a second), for HealthcheckWaitStrategy;
- testcontainers/ryuk:0.8.1: testcontainers' default reaper image, so that enabling Ryuk never
  pulls from Docker Hub. It checks that the daemon socket is bind-mounted at /var/run/docker.sock,
  says "Started!" and answers Ryuk's line protocol on 8080 (busybox cannot talk HTTP over a unix
  socket, so it does not reap: the suite removes what it started itself).

    stand_ins.py BUSYBOX_TAR OUTDIR     -> OUTDIR/<name>.tar; prints `ARCHIVE TAG` a line
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from images import archive, base_layer, files_layer  # noqa: E402  compat/images.py

HEALTH = "berth-compat/healthcheck:latest"
RYUK = "testcontainers/ryuk:0.8.1"

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

STAND_INS = {
    "healthcheck": (
        [HEALTH],
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
    "ryuk": (
        [RYUK],
        {"bin/ryuk": (0o755, RYUK_MAIN), "bin/ryuk-ack": (0o755, RYUK_ACK)},
        {"Cmd": ["/bin/ryuk"], "ExposedPorts": {"8080/tcp": {}}},
    ),
}


def main():
    busybox_tar, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    base = base_layer(busybox_tar)
    for name, (tags, files, extra) in sorted(STAND_INS.items()):
        layers = [base] + ([files_layer(files)] if files else [])
        path = os.path.join(out, f"{name}.tar")
        archive(path, tags, layers, extra)
        for tag in tags:
            print(path, tag)


if __name__ == "__main__":
    main()
