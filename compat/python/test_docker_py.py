"""docker-py (PyPI `docker`, pinned in requirements.txt) as its users write it, against the daemon
compat/run.py started (DOCKER_HOST). Images are the harness's stand-ins; COMPAT_REGISTRY is the
local registry holding them. Nothing here reaches beyond loopback and the containers it starts."""

import io
import os
import socket
import tarfile
import time
import urllib.request

import docker
import pytest

REGISTRY = os.environ.get("COMPAT_REGISTRY", "127.0.0.1:5000")
LABEL = {"berth.compat": "docker-py"}


@pytest.fixture(scope="module")
def client():
    c = docker.from_env(timeout=60)
    yield c
    for ctr in c.containers.list(all=True, filters={"label": "berth.compat=docker-py"}):
        ctr.remove(force=True)
    c.close()


def run(client, *args, **kw):
    kw.setdefault("labels", dict(LABEL))
    return client.containers.run(*args, **kw)


def test_ping_version_info(client):
    assert client.ping()
    v = client.version()
    assert v["ApiVersion"] and v["Os"] == "linux"
    info = client.info()
    assert "Containers" in info and info["OSType"] == "linux"


def test_images_list_and_get(client):
    img = client.images.get("busybox:latest")
    assert "busybox:latest" in img.tags
    assert any("busybox:latest" in i.tags for i in client.images.list())
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("berth-compat-no-such-image:1")


def test_run_returns_its_output(client):
    assert run(client, "busybox", ["echo", "hello"], remove=True) == b"hello\n"


def test_run_with_env_labels_and_a_command(client):
    c = run(client, "busybox", ["sh", "-c", "echo $GREETING"], environment={"GREETING": "hi"},
            labels={**LABEL, "role": "env"}, detach=True)
    assert c.wait(timeout=30)["StatusCode"] == 0
    assert c.logs() == b"hi\n"
    c.reload()
    assert c.labels["role"] == "env"
    c.remove()


def test_a_failing_command_raises_container_error(client):
    with pytest.raises(docker.errors.ContainerError) as e:
        run(client, "busybox", ["sh", "-c", "echo oops >&2; exit 3"], remove=True)
    assert e.value.exit_status == 3
    assert b"oops" in e.value.stderr


def test_detached_logs_follow_and_stop(client):
    c = run(client, "busybox", ["sh", "-c", "for i in 1 2 3; do echo line$i; done; sleep 600"], detach=True)
    seen = b""
    for chunk in c.logs(stream=True, follow=True):
        seen += chunk
        if b"line3" in seen:
            break
    c.stop(timeout=1)
    c.reload()
    assert c.status == "exited"
    c.remove()


def test_exec_run(client):
    c = run(client, "busybox", ["sleep", "600"], detach=True)
    r = c.exec_run(["sh", "-c", "echo from-exec; exit 4"])
    assert (r.exit_code, r.output) == (4, b"from-exec\n")
    c.remove(force=True)


def test_list_filtered_by_label(client):
    a = client.containers.create("busybox", ["true"], labels={**LABEL, "pick": "yes"})
    b = client.containers.create("busybox", ["true"], labels={**LABEL, "pick": "no"})
    found = client.containers.list(all=True, filters={"label": "pick=yes"})
    assert [c.id for c in found] == [a.id]
    a.remove()
    b.remove()


def test_put_archive_before_start_and_get_archive(client):
    c = client.containers.create("busybox", ["cat", "/data/f.txt"], labels=LABEL)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"copied in\n"
        info = tarfile.TarInfo("data/f.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    assert c.put_archive("/", buf.getvalue())
    c.start()
    assert c.wait(timeout=30)["StatusCode"] == 0
    assert c.logs() == b"copied in\n"
    bits, stat = c.get_archive("/data/f.txt")
    assert stat["name"] == "f.txt" and stat["size"] == 10
    c.remove()


def test_a_published_port_is_reachable(client):
    c = run(client, "fussybeaver/uhttpd", detach=True, ports={"80/tcp": None})
    c.reload()
    port = c.ports["80/tcp"][0]["HostPort"]
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=10).read()
    assert body == b"hello\n"
    c.remove(force=True)


def test_user_network_and_name_resolution(client):
    net = client.networks.create("compat-pynet", labels=LABEL)
    try:
        server = run(client, "busybox", ["sleep", "600"], detach=True, network="compat-pynet", name="compat-pyserver")
        out = run(client, "busybox", ["ping", "-c", "1", "compat-pyserver"], network="compat-pynet", remove=True)
        assert b"1 packets received" in out
        server.remove(force=True)
    finally:
        net.remove()


def test_named_volume_outlives_its_containers(client):
    vol = client.volumes.create("compat-pyvol", labels=LABEL)
    try:
        mount = {"compat-pyvol": {"bind": "/data", "mode": "rw"}}
        run(client, "busybox", ["sh", "-c", "echo kept > /data/f"], volumes=mount, remove=True)
        assert run(client, "busybox", ["cat", "/data/f"], volumes=mount, remove=True) == b"kept\n"
    finally:
        vol.remove(force=True)


def test_pull_from_the_local_registry(client):
    img = client.images.pull(f"{REGISTRY}/alpine", tag="latest")
    assert img.id.startswith("sha256:")


def test_push_to_the_local_registry(client):
    client.images.get("busybox:latest").tag(f"{REGISTRY}/compat/pushed", "1")
    lines = list(client.images.push(f"{REGISTRY}/compat/pushed", tag="1", stream=True, decode=True))
    assert not [l for l in lines if "error" in l], lines


def test_events_report_the_lifecycle(client):
    since = time.time()
    c = run(client, "busybox", ["true"], detach=True)
    c.wait(timeout=30)
    events = client.events(since=since, until=time.time() + 1, decode=True, filters={"container": c.id})
    actions = [e["Action"] for e in events]
    assert actions[:3] == ["create", "start", "die"], actions
    c.remove()


def test_restart_kill_rename_and_top(client):
    c = run(client, "busybox", ["sleep", "600"], detach=True, name="compat-pyrename")
    c.restart(timeout=1)
    c.rename("compat-pyrenamed")
    c.reload()
    assert c.name == "compat-pyrenamed"
    top = c.top()
    assert any("sleep" in " ".join(p) for p in top["Processes"])
    c.kill()
    assert c.wait(timeout=30)["StatusCode"] == 137
    c.remove()


def test_pause_and_unpause(client):
    c = run(client, "busybox", ["sleep", "600"], detach=True)
    c.pause()
    c.reload()
    assert c.status == "paused"
    c.unpause()
    c.reload()
    assert c.status == "running"
    c.remove(force=True)


def test_stats_once(client):
    c = run(client, "busybox", ["sleep", "600"], detach=True)
    s = c.stats(stream=False)
    assert "memory_stats" in s and "cpu_stats" in s
    c.remove(force=True)


def test_health_check_turns_healthy(client):
    c = run(client, "busybox", ["sleep", "600"], detach=True,
            healthcheck={"test": ["CMD", "true"], "interval": 200_000_000, "start_period": 0})
    deadline = time.time() + 30
    while time.time() < deadline:
        c.reload()
        if c.attrs["State"].get("Health", {}).get("Status") == "healthy":
            break
        time.sleep(0.2)
    assert c.attrs["State"]["Health"]["Status"] == "healthy"
    c.remove(force=True)


def test_restart_policy_on_failure(client):
    c = run(client, "busybox", ["sh", "-c", "exit 1"], detach=True,
            restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
    deadline = time.time() + 30
    while time.time() < deadline:
        c.reload()
        if c.attrs["RestartCount"] == 2 and c.status == "exited":
            break
        time.sleep(0.2)
    assert c.attrs["RestartCount"] == 2
    c.remove(force=True)


def test_prune_removes_stopped_containers(client):
    c = client.containers.create("busybox", ["true"], labels={**LABEL, "prune": "me"})
    pruned = client.containers.prune(filters={"label": "prune=me"})
    assert c.id in (pruned.get("ContainersDeleted") or [])


def test_image_save_and_load_round_trip(client):
    data = b"".join(client.images.get("hello-world:latest").save(named=True))
    loaded = client.images.load(data)
    assert any("hello-world:latest" in i.tags for i in loaded)


def test_build_from_a_dockerfile(client):
    dockerfile = io.BytesIO(b"FROM busybox\nRUN echo built > /built\nCMD [\"cat\", \"/built\"]\n")
    img, _ = client.images.build(fileobj=dockerfile, tag="compat/built:1", rm=True)
    assert run(client, "compat/built:1", remove=True) == b"built\n"
    client.images.remove(img.id, force=True)


def test_container_diff_and_export(client):
    c = run(client, "busybox", ["sh", "-c", "echo x > /made"], detach=True)
    c.wait(timeout=30)
    assert {"Path": "/made", "Kind": 1} in c.diff()
    assert len(b"".join(c.export())) > 0
    c.remove()


# ---- real programs (compat/images.py's Debian-built redis and postgres) ---------------------------
# On the host's network, on a free loopback port, so that they need no port publishing; a second
# container of the same image is the client, as users check a server from the command line.


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_log(container, line, count=1, bound=60):
    """Until `line` was logged `count` times (the server's own readiness message)."""
    deadline = time.time() + bound
    while time.time() < deadline:
        logs = container.logs()
        if logs.count(line) >= count:
            return logs
        container.reload()
        assert container.status == "running", logs.decode(errors="replace")
        time.sleep(0.2)
    raise AssertionError(f"no {line!r} in {container.logs()!r}")


def test_real_redis_serves_a_client_container(client):
    port = str(free_port())
    server = run(client, "redis:7", ["redis-server", "--port", port, "--bind", "127.0.0.1"],
                 network_mode="host", detach=True)
    try:
        wait_for_log(server, b"Ready to accept connections")
        cli = ["redis-cli", "-h", "127.0.0.1", "-p", port]
        assert run(client, "redis:7", cli + ["set", "greeting", "hi"], network_mode="host", remove=True) == b"OK\n"
        assert run(client, "redis:7", cli + ["get", "greeting"], network_mode="host", remove=True) == b"hi\n"
        # Started through the image's entrypoint, as the official image is.
        server.reload()
        assert server.attrs["Config"]["Entrypoint"] == ["docker-entrypoint.sh"]
    finally:
        server.remove(force=True)


def test_real_postgres_initialises_and_answers_queries(client):
    port = str(free_port())
    env = {"POSTGRES_PASSWORD": "compat-secret", "POSTGRES_USER": "compat", "POSTGRES_DB": "shop"}
    server = run(client, "postgres:15", ["postgres", "-p", port, "-c", "listen_addresses=127.0.0.1"],
                 environment=env, network_mode="host", detach=True)
    try:
        # Once by the socket-only server of the initialisation, once by the real one.
        logs = wait_for_log(server, b"database system is ready to accept connections", count=2)
        assert b"PostgreSQL init process complete" in logs
        query = ["psql", "-h", "127.0.0.1", "-p", port, "-U", "compat", "-d", "shop", "-tAc"]
        out = run(client, "postgres:15", query + ["create table t (n int); insert into t values (40), (2); "
                                                   "select sum(n) from t"],
                  environment={"PGPASSWORD": "compat-secret"}, network_mode="host", remove=True)
        assert out.split()[-1] == b"42", out
    finally:
        server.remove(force=True)


def test_real_postgres_refuses_to_start_without_a_password(client):
    c = run(client, "postgres:15", detach=True)
    try:
        assert c.wait(timeout=60)["StatusCode"] == 1
        assert b"superuser password is not specified" in c.logs()
    finally:
        c.remove(force=True)
