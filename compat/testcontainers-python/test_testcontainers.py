"""testcontainers-python (PyPI `testcontainers` 4.15, pinned in compat/python/requirements.txt) as its
users write it, against the daemon compat/run.py started (DOCKER_HOST). `run` sets what CI users
set: TESTCONTAINERS_RYUK_DISABLED=true (one case turns Ryuk back on), the connection mode
(docker_host: localhost and the mapped ports) and the default wait bound (TC_MAX_TRIES x
TC_POOLING_INTERVAL). The images are the harness's stand-ins (compat/images.py, also this suite's):
nothing is ever pulled, nothing here reaches beyond loopback and the containers it starts, and every
container, network and volume a case makes is removed, also when it fails."""

import contextlib
import os
import pathlib
import re
import tempfile
import time
import urllib.request
import uuid

import docker
import pytest
from docker.models.images import ImageCollection
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer, ExecConfig, Reaper
from testcontainers.core.labels import LABEL_SESSION_ID, SESSION_ID
from testcontainers.core.network import Network
from testcontainers.core.wait_strategies import (
    HealthcheckWaitStrategy,
    HttpWaitStrategy,
    LogMessageWaitStrategy,
    PortWaitStrategy,
)
from testcontainers.core.waiting_utils import wait_for_logs

# Every wait of a case, in seconds.
BOUND = 30
HEALTH_IMAGE = "berth-compat/healthcheck:latest"
SESSION_FILTER = {"label": f"{LABEL_SESSION_ID}={SESSION_ID}"}
# Named volumes the cases made (docker makes them on first use, unlabelled).
VOLUMES = []
# Straight to the published ports, never through a proxy.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="session", autouse=True)
def never_pull():
    """testcontainers pulls an image it does not find; here a missing stand-in fails the case
    instead of reaching for Docker Hub."""

    def refuse(self, repository, tag=None, **kwargs):
        raise AssertionError(f"testcontainers wanted to pull {repository}:{tag}: the stand-in is not loaded")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ImageCollection, "pull", refuse)
        yield


@pytest.fixture(autouse=True)
def leave_nothing():
    """Whatever a case started, by testcontainers' session label (the Ryuk container by its name)."""
    yield
    client = docker.from_env(timeout=30)
    try:
        leftovers = []
        with contextlib.suppress(Exception):
            leftovers += client.containers.list(all=True, filters=SESSION_FILTER)
        with contextlib.suppress(Exception):
            leftovers.append(client.containers.get(f"testcontainers-ryuk-{SESSION_ID}"))
        for c in leftovers:
            with contextlib.suppress(Exception):
                c.remove(force=True, v=True)
        networks = []
        with contextlib.suppress(Exception):
            networks = client.networks.list(filters=SESSION_FILTER)
        for n in networks:
            with contextlib.suppress(Exception):
                n.remove()
        while VOLUMES:
            with contextlib.suppress(Exception):
                client.volumes.get(VOLUMES.pop()).remove(force=True)
    finally:
        client.close()


@pytest.fixture
def scratch():
    with tempfile.TemporaryDirectory(dir=os.environ.get("COMPAT_TCPY_WORK")) as d:
        yield pathlib.Path(d)


def fetch(url):
    """The body at url, retried while the server inside comes up."""
    deadline = time.monotonic() + BOUND
    while True:
        try:
            with HTTP.open(url, timeout=5) as r:
                return r.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def gone(container_id):
    client = docker.from_env(timeout=30)
    try:
        client.containers.get(container_id)
        return False
    except docker.errors.NotFound:
        return True
    finally:
        client.close()


def test_hello_world_doctest():
    # DockerContainer's own doctest.
    with DockerContainer("hello-world") as container:
        delay = wait_for_logs(container, "Hello from Docker!", timeout=BOUND, interval=0.2)
    assert delay < BOUND


def test_generic_container_with_env_labels_and_command():
    name = f"tcpy-{uuid.uuid4().hex[:12]}"
    container = (
        DockerContainer("busybox", labels={"role": "generic"})
        .with_env("GREETING", "hi")
        .with_envs(OTHER="there")
        .with_command("sh -c 'echo \"$GREETING $OTHER\"; exec sleep 600'")
        .with_name(name)
    )
    with container as c:
        wrapped = c.get_wrapped_container()
        wrapped.reload()
        assert wrapped.status == "running"
        assert wrapped.name == name
        assert wrapped.labels["role"] == "generic"
        assert wrapped.labels[LABEL_SESSION_ID] == SESSION_ID
        assert wrapped.labels["org.testcontainers.lang"] == "python"
        info = c.get_container_info()
        assert info.State.Running is True
        assert "GREETING=hi" in info.Config.Env and "OTHER=there" in info.Config.Env
        assert info.Config.Cmd == ["sh", "-c", 'echo "$GREETING $OTHER"; exec sleep 600']
        container_id = c.get_container_id()
    assert gone(container_id)


def test_wait_returns_the_exit_code():
    with DockerContainer("busybox").with_command(["sh", "-c", "exit 3"]) as c:
        assert c.wait() == 3
        c.reload()
        assert c.status == "exited"


def test_get_logs_separates_stdout_and_stderr():
    with DockerContainer("busybox").with_command(["sh", "-c", "echo out; echo err >&2"]) as c:
        assert c.wait() == 0
        assert c.get_logs() == (b"out\n", b"err\n")


def test_wait_for_logs():
    cmd = ["sh", "-c", "sleep 1; echo server is ready; exec sleep 600"]
    with DockerContainer("busybox").with_command(cmd) as c:
        wait_for_logs(c, r"server is ready", timeout=BOUND, interval=0.2)
        assert c.get_logs()[0] == b"server is ready\n"


def test_log_message_wait_strategy():
    strategy = LogMessageWaitStrategy(re.compile(r"listening on \d+")).with_startup_timeout(BOUND)
    cmd = ["sh", "-c", "sleep 1; echo listening on 8080; exec sleep 600"]
    with DockerContainer("busybox").with_command(cmd).waiting_for(strategy.with_poll_interval(0.2)) as c:
        assert b"listening on 8080" in c.get_logs()[0]


def test_log_message_wait_strategy_raises_when_the_container_exits():
    strategy = LogMessageWaitStrategy("never said").with_startup_timeout(BOUND).with_poll_interval(0.2)
    container = DockerContainer("busybox").with_command(["sh", "-c", "echo bye; exit 1"]).waiting_for(strategy)
    with pytest.raises(RuntimeError, match=r"Container exited .*exit code: 1"):
        with container:
            pass


def test_exec():
    with DockerContainer("busybox").with_command(["sleep", "600"]) as c:
        r = c.exec(["sh", "-c", "echo from-exec; exit 4"])
        assert (r.exit_code, r.output) == (4, b"from-exec\n")
        config = ExecConfig(command=["sh", "-c", "echo $WHO in $(pwd)"], environment={"WHO": "exec"}, workdir="/tmp")
        r = c.exec(config)
        assert (r.exit_code, r.output) == (0, b"exec in /tmp\n")


def test_exposed_port_reached_from_the_test():
    with DockerContainer("fussybeaver/uhttpd").with_exposed_ports(80) as c:
        host = c.get_container_host_ip()
        port = c.get_exposed_port(80)
        assert host == "localhost" and port != 80
        assert fetch(f"http://{host}:{port}/index.html") == b"hello\n"


def test_port_wait_strategy():
    strategy = PortWaitStrategy(80).with_startup_timeout(BOUND).with_poll_interval(0.2)
    with DockerContainer("nginx").with_exposed_ports(80).waiting_for(strategy) as c:
        url = f"http://{c.get_container_host_ip()}:{c.get_exposed_port(80)}/"
        assert b"Welcome to nginx!" in fetch(url)


def test_http_wait_strategy():
    strategy = (
        HttpWaitStrategy(80, "/index.html")
        .for_status_code(200)
        .for_response_predicate(lambda body: "Welcome to nginx!" in body)
        .with_startup_timeout(BOUND)
        .with_poll_interval(0.2)
    )
    with DockerContainer("nginx").with_exposed_ports(80).waiting_for(strategy) as c:
        assert c.get_wrapped_container().status in ("created", "running")


def test_healthcheck_wait_strategy():
    # The image's own HEALTHCHECK (compat/images.py): healthy once the command made its ready file.
    strategy = HealthcheckWaitStrategy().with_startup_timeout(BOUND).with_poll_interval(0.2)
    with DockerContainer(HEALTH_IMAGE).waiting_for(strategy) as c:
        c.reload()
        health = c.get_wrapped_container().attrs["State"]["Health"]
        assert health["Status"] == "healthy"
        assert health["Log"] and health["Log"][-1]["ExitCode"] == 0


def test_ryuk_reaper_enabled(monkeypatch):
    # testcontainers' default: a Ryuk container (testcontainers/ryuk:0.8.1, here compat/images.py's)
    # with the daemon socket bind-mounted, reached on its published port 8080, told the session
    # label to reap.
    monkeypatch.setattr(testcontainers_config, "ryuk_disabled", False)
    try:
        with DockerContainer("busybox").with_command(["sleep", "600"]) as c:
            assert Reaper._container is not None and Reaper._socket is not None
            ryuk = Reaper._container.get_wrapped_container()
            ryuk.reload()
            assert ryuk.status == "running"
            assert ryuk.name == f"testcontainers-ryuk-{SESSION_ID}"
            assert ryuk.attrs["HostConfig"]["AutoRemove"] is True
            mounts = {m["Destination"]: m for m in ryuk.attrs["Mounts"]}
            assert mounts["/var/run/docker.sock"]["Source"] == testcontainers_config.ryuk_docker_socket
            Reaper._socket.settimeout(BOUND)
            assert Reaper._socket.recv(16).startswith(b"ACK")
            assert c.get_wrapped_container().labels[LABEL_SESSION_ID] == SESSION_ID
    finally:
        Reaper.delete_instance()


def test_copy_into_container_before_start(scratch):
    script = scratch / "hello.sh"
    script.write_text("#!/bin/sh\ncat /data/greeting.txt\n")
    container = (
        DockerContainer("busybox")
        .with_copy_into_container(b"copied in\n", "/data/greeting.txt")
        .with_copy_into_container(script, "/usr/local/bin/hello.sh", 0o755)
        .with_command(["/usr/local/bin/hello.sh"])
    )
    with container as c:
        assert c.wait() == 0
        assert c.get_logs() == (b"copied in\n", b"")


def test_copy_into_and_from_a_running_container(scratch):
    with DockerContainer("busybox").with_command(["sleep", "600"]) as c:
        c.copy_into_container(b"at runtime\n", "/tmp/in.txt")
        out = scratch / "out.txt"
        c.copy_from_container("/tmp/in.txt", out)
        assert out.read_bytes() == b"at runtime\n"


def test_network_with_two_containers_by_alias():
    # busybox nc, not wget: the stand-in busybox's wget crashes on -T and blocks for minutes without.
    fetch_web = (
        "for i in $(seq 40); do"
        " printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 2 web 80 >/tmp/r;"
        " if grep -q '^HTTP/1.. 200' /tmp/r; then tr -d '\\r' </tmp/r | sed '1,/^$/d'; exit 0; fi;"
        " sleep 0.5; done; exit 1"
    )
    with Network() as net:
        with DockerContainer("fussybeaver/uhttpd").with_network(net).with_network_aliases("web"):
            client = DockerContainer("busybox").with_network(net).with_command(["sh", "-c", fetch_web])
            with client:
                assert client.wait() == 0
                assert client.get_logs()[0] == b"hello\n"


def test_volume_mapping_of_a_host_directory(scratch):
    (scratch / "motd").write_text("from the host\n")
    container = DockerContainer("busybox").with_volume_mapping(scratch, "/host", "ro").with_command(["cat", "/host/motd"])
    with container as c:
        assert c.wait() == 0
        assert c.get_logs()[0] == b"from the host\n"


def test_named_volume_mapping():
    name = f"tcpy-{uuid.uuid4().hex[:12]}"
    VOLUMES.append(name)
    writer = DockerContainer("busybox").with_volume_mapping(name, "/data", "rw")
    with writer.with_command(["sh", "-c", "echo kept > /data/f"]) as w:
        assert w.wait() == 0
    with DockerContainer("busybox").with_volume_mapping(name, "/data", "ro").with_command(["cat", "/data/f"]) as r:
        assert r.wait() == 0
        assert r.get_logs()[0] == b"kept\n"


def test_tmpfs_mount():
    cmd = ["sh", "-c", "grep ' /scratch ' /proc/mounts"]
    with DockerContainer("busybox").with_tmpfs_mount("/scratch").with_command(cmd) as c:
        assert c.wait() == 0
        assert c.get_logs()[0].startswith(b"tmpfs /scratch tmpfs ")


def test_redis_module_with_its_client():
    # testcontainers' Redis module (the real redis-server, compat/images.py): waits by PING through
    # the published port, then the redis client talks to it.
    from testcontainers.redis import RedisContainer

    with RedisContainer("redis:7") as r:
        client = r.get_client()
        assert client.set("greeting", "hi")
        assert client.get("greeting") == b"hi"
