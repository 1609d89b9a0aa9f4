// testcontainers-node (npm `testcontainers`, pinned in package.json) as its users write it, against
// the daemon compat/run.py started (DOCKER_HOST), with Ryuk off (TESTCONTAINERS_RYUK_DISABLED=true,
// set by `run`, as CI users set it; ryuk.test.js turns it on). The images are the harness's
// stand-ins, already loaded: nothing is pulled (support.js refuses), nothing here reaches beyond
// loopback and the containers a case starts, and every container and network a case makes is
// removed afterwards (by testcontainers' session label), also when it fails.
"use strict";

const { test, afterEach, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { GenericContainer, Network, Wait, getContainerRuntimeClient } = require("testcontainers");
const Dockerode = require("dockerode");
const { WAIT, CASE, SUITE_LABELS, SESSION_LABEL, docker, sessionId, removeSession, get, readUntil } = require("./support");

afterEach(removeSession);
after(removeSession);

// A container as the cases make it: our label, testcontainers' waits bounded.
function container(image) {
  return new GenericContainer(image).withLabels(SUITE_LABELS).withStartupTimeout(WAIT);
}

test("runtime client info", { timeout: CASE }, async () => {
  // testcontainers' runtime detection: DOCKER_HOST (its ConfigurationStrategy), then GET /info.
  const client = await getContainerRuntimeClient();
  const rt = client.info.containerRuntime;
  assert.equal(rt.host, "localhost"); // TESTCONTAINERS_HOST_OVERRIDE, see run
  assert.equal(rt.operatingSystemType, "linux");
  assert.ok(rt.serverVersion, "ServerVersion of /info");
  assert.equal(rt.remoteSocketPath, new URL(process.env.DOCKER_HOST).pathname);
  assert.ok(rt.cpus > 0 && rt.memory > 0, "NCPU and MemTotal of /info");
  // dockerode as testcontainers makes it: no API version, so every path is unversioned (/info).
  const d = new Dockerode();
  assert.equal(d.modem.version, undefined);
  assert.equal((await d.ping()).toString(), "OK");
  const version = await d.version();
  assert.ok(version.ApiVersion && version.Version, "ApiVersion and Version of /version");
});

test("generic container with env, labels and a command", { timeout: CASE }, async () => {
  const started = await container("busybox:latest")
    .withEnvironment({ GREETING: "hello from env" })
    .withLabels({ "berth.compat.case": "env-labels-command" })
    .withCommand(["sh", "-c", "echo \"$GREETING\"; exec sleep 600"])
    .start();
  const info = await docker().getContainer(started.getId()).inspect();
  assert.equal(info.State.Running, true);
  assert.ok(info.Config.Env.includes("GREETING=hello from env"), info.Config.Env.join(" "));
  assert.deepEqual(info.Config.Cmd, ["sh", "-c", "echo \"$GREETING\"; exec sleep 600"]);
  assert.equal(info.Config.Labels["berth.compat.case"], "env-labels-command");
  assert.equal(info.Config.Labels["org.testcontainers"], "true");
  assert.equal(info.Config.Labels[SESSION_LABEL], await sessionId());
  assert.equal(started.getLabels()["berth.compat.case"], "env-labels-command");
  assert.equal(started.getName(), info.Name);
  // stop() stops and removes it.
  await started.stop();
  await assert.rejects(docker().getContainer(started.getId()).inspect(), /no such container/i);
});

test("logs of a started container", { timeout: CASE }, async () => {
  const started = await container("busybox:latest")
    .withCommand(["sh", "-c", "echo to-stdout; echo to-stderr >&2; exec sleep 600"])
    .start();
  const text = await readUntil(await started.logs(), /to-stdout[\s\S]*to-stderr|to-stderr[\s\S]*to-stdout/);
  assert.match(text, /to-stdout/);
  await started.stop();
});

test("Wait.forLogMessage", { timeout: CASE }, async () => {
  const started = await container("busybox:latest")
    .withCommand(["sh", "-c", "echo starting; sleep 1; echo ready 1; echo ready 2; exec sleep 600"])
    .withWaitStrategy(Wait.forLogMessage(/ready \d/, 2))
    .start();
  const logs = await readUntil(await started.logs(), /ready 2/);
  assert.match(logs, /starting\s+ready 1\s+ready 2/);
  await started.stop();
});

test("exec in a started container", { timeout: CASE }, async () => {
  const started = await container("busybox:latest").withCommand(["sleep", "600"]).start();
  const r = await started.exec(["sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.equal(r.exitCode, 3);
  assert.equal(r.stdout, "out\n");
  assert.equal(r.stderr, "err\n");
  const env = await started.exec(["sh", "-c", "echo \"$WHO in $(pwd)\""], { env: { WHO: "exec" }, workingDir: "/tmp" });
  assert.equal(env.exitCode, 0);
  assert.equal(env.output, "exec in /tmp\n");
  await started.stop();
});

test("exposed port reached from the test with Wait.forListeningPorts", { timeout: CASE }, async () => {
  const started = await container("fussybeaver/uhttpd:latest")
    .withExposedPorts(80)
    .withWaitStrategy(Wait.forListeningPorts())
    .start();
  const port = started.getMappedPort(80);
  assert.ok(port > 0);
  assert.equal(started.getFirstMappedPort(), port);
  const r = await get(started.getHost(), port, "/index.html");
  assert.equal(r.status, 200);
  assert.equal(r.body, "hello\n");
  await started.stop();
});

test("Wait.forHttp on nginx", { timeout: CASE }, async () => {
  const started = await container("nginx:latest")
    .withExposedPorts(80)
    .withWaitStrategy(
      Wait.forHttp("/", 80)
        .forStatusCode(200)
        .forResponsePredicate((body) => body.includes("Welcome to nginx!"))
        .withReadTimeout(5_000),
    )
    .start();
  const r = await get(started.getHost(), started.getMappedPort(80), "/");
  assert.equal(r.status, 200);
  assert.match(r.body, /Welcome to nginx!/);
  await started.stop();
});

test("Wait.forHealthCheck with withHealthCheck", { timeout: CASE }, async () => {
  const started = await container("busybox:latest")
    .withCommand(["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 600"])
    .withHealthCheck({ test: ["CMD-SHELL", "test -e /tmp/ready"], interval: 500, timeout: 3_000, retries: 10 })
    .withWaitStrategy(Wait.forHealthCheck())
    .start();
  const info = await docker().getContainer(started.getId()).inspect();
  assert.equal(info.State.Health.Status, "healthy");
  assert.deepEqual(info.Config.Healthcheck.Test, ["CMD-SHELL", "test -e /tmp/ready"]);
  assert.equal(info.Config.Healthcheck.Interval, 500_000_000);
  await started.stop();
});

test("copy files and content to the container before start", { timeout: CASE }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tcnode-copy-"));
  try {
    const file = path.join(dir, "script.sh");
    fs.writeFileSync(file, "#!/bin/sh\necho from a copied file\n");
    const started = await container("busybox:latest")
      .withCopyFilesToContainer([{ source: file, target: "/data/script.sh", mode: 0o755 }])
      .withCopyContentToContainer([{ content: "copied content\n", target: "/data/content.txt" }])
      .withCommand(["sh", "-c", "/data/script.sh; cat /data/content.txt; ls -ln /data/script.sh; echo copy-done; exec sleep 600"])
      .withWaitStrategy(Wait.forLogMessage("copy-done"))
      .start();
    const logs = await readUntil(await started.logs(), /copy-done/);
    assert.match(logs, /from a copied file\ncopied content\n-rwxr-xr-x /);
    await started.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("network with two containers by alias", { timeout: CASE }, async () => {
  const network = await new Network().start();
  try {
    const web = await container("busybox:latest")
      .withNetwork(network)
      .withNetworkAliases("web")
      .withCommand(["sh", "-c", "mkdir -p /www && echo served-by-web > /www/index.html && exec httpd -f -p 8080 -h /www"])
      .start();
    assert.ok(web.getNetworkNames().includes(network.getName()), web.getNetworkNames().join(" "));
    assert.match(web.getIpAddress(network.getName()), /^\d+\.\d+\.\d+\.\d+$/);
    const client = await container("busybox:latest")
      .withNetwork(network)
      .withCommand(["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do timeout 3 wget -q -O - http://web:8080/index.html && exit 0; sleep 0.5; done; exit 1"])
      .withWaitStrategy(Wait.forLogMessage("served-by-web"))
      .start();
    await client.stop();
    await web.stop();
  } finally {
    await removeSession(); // the containers first: a network in use is not removed
    await network.stop().catch(() => {});
  }
});
