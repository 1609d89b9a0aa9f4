#!/usr/bin/env python3
"""Event delivery delay: how long after a daemon publishes a container's `start` event a
subscriber of GET /events receives it (receipt time minus the event's own timeNano), over
RUNS starts of one created container. Prints the median and the worst, in milliseconds.

    bench/events_delay.py SOCKET RUNS
"""
import json
import socket
import statistics
import sys
import time
import urllib.parse


def request(sock_path, method, path, body=None):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    data = body or b""
    head = f"{method} {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    s.close()
    status = int(out.split(b" ", 2)[1])
    return status, out.split(b"\r\n\r\n", 1)[1]


class EventStream:
    """GET /events, its chunked body decoded, one JSON record at a time."""

    def __init__(self, sock_path, filters):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(sock_path)
        query = urllib.parse.quote(filters)
        self.s.sendall(f"GET /v1.41/events?filters={query} HTTP/1.1\r\nHost: d\r\n\r\n".encode())
        self.raw = b""
        while b"\r\n\r\n" not in self.raw:
            self.raw += self.s.recv(4096)
        self.raw = self.raw.split(b"\r\n\r\n", 1)[1]
        self.data = b""

    def _chunk(self):
        while b"\r\n" not in self.raw:
            self.raw += self.s.recv(65536)
        size_line, rest = self.raw.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        while len(rest) < size + 2:
            rest += self.s.recv(65536)
        self.data += rest[:size]
        self.raw = rest[size + 2:]

    def next_record(self):
        while b"\n" not in self.data:
            self._chunk()
        line, self.data = self.data.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.s.close()


def main():
    sock_path, runs = sys.argv[1], int(sys.argv[2])
    status, body = request(sock_path, "POST", "/v1.41/containers/create",
                           json.dumps({"Image": "busybox", "Cmd": ["true"],
                                       "HostConfig": {"NetworkMode": "none"}}).encode())
    if status != 201:
        sys.exit(f"create: {status} {body!r}")
    body = body.decode()
    cid = json.loads(body[body.index("{"):body.rindex("}") + 1])["Id"]
    events = EventStream(sock_path, '{"container":["%s"],"event":["start"]}' % cid)
    delays = []
    for _ in range(runs):
        request(sock_path, "POST", f"/v1.41/containers/{cid}/start")
        record = events.next_record()
        delays.append((time.time_ns() - record["timeNano"]) / 1e6)
        request(sock_path, "POST", f"/v1.41/containers/{cid}/wait")
    events.close()
    request(sock_path, "DELETE", f"/v1.41/containers/{cid}?force=1")
    print(f"{statistics.median(delays):.2f} {max(delays):.2f}")


main()
