// testcontainers-node's default: the Ryuk reaper. A file (so a process: node:test runs each file in
// its own) of its own, as testcontainers decides once per process whether to start Ryuk. The image
// is compat/images.py's testcontainers/ryuk:0.14.0, loaded by compat/run.py: it speaks Ryuk's protocol but
// does not reap, so the case removes the reaper and its container itself.
"use strict";

delete process.env.TESTCONTAINERS_RYUK_DISABLED;

const { test, afterEach, after } = require("node:test");
const assert = require("node:assert/strict");
const { GenericContainer } = require("testcontainers");
const { WAIT, CASE, SUITE_LABELS, SESSION_LABEL, docker, sessionId, removeSession } = require("./support");

afterEach(removeSession);
after(removeSession);

test("Ryuk reaper enabled", { timeout: CASE }, async () => {
  // Starting a container starts the reaper first (named testcontainers-ryuk-<session>, port 8080
  // published, the daemon socket bind-mounted), then tells it the session label over that port.
  const started = await new GenericContainer("busybox:latest")
    .withLabels(SUITE_LABELS)
    .withStartupTimeout(WAIT)
    .withCommand(["sleep", "600"])
    .start();
  const id = await sessionId();
  const ryuk = await docker().getContainer(`testcontainers-ryuk-${id}`).inspect();
  assert.equal(ryuk.State.Running, true);
  assert.equal(ryuk.Config.Image, "testcontainers/ryuk:0.14.0");
  assert.equal(ryuk.Config.Labels["org.testcontainers.ryuk"], "true");
  assert.equal(ryuk.Config.Labels[SESSION_LABEL], id);
  assert.equal(ryuk.HostConfig.AutoRemove, true);
  const sock = ryuk.Mounts.find((m) => m.Destination === "/var/run/docker.sock");
  assert.ok(sock, "the daemon socket is bind-mounted");
  assert.equal(sock.Source, new URL(process.env.DOCKER_HOST).pathname);
  assert.ok(Number(ryuk.NetworkSettings.Ports["8080/tcp"][0].HostPort) > 0);
  const info = await docker().getContainer(started.getId()).inspect();
  assert.equal(info.Config.Labels[SESSION_LABEL], id);
  await started.stop();
});
