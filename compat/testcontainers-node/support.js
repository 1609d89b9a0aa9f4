// What every case file shares: the bounds, the guard against pulls, and the clean-up by
// testcontainers' session label.
"use strict";

const http = require("node:http");
const Dockerode = require("dockerode");
const { getContainerRuntimeClient, getReaper } = require("testcontainers");

// Every testcontainers wait (withStartupTimeout), in ms; a case's own bound (node:test's timeout)
// is well above it so that testcontainers' error, not the runner's, says what went wrong.
const WAIT = 20_000;
const CASE = 60_000;
// Ours on every container a case creates, for run's last sweep (Ryuk's has testcontainers' own).
const SUITE_LABEL = "berth.compat.suite";
const SUITE_LABELS = { [SUITE_LABEL]: "testcontainers-node" };
const SESSION_LABEL = "org.testcontainers.session-id";

// testcontainers pulls an image that `GET /images/{name}/json` does not find; here a missing
// stand-in fails the case instead of reaching for Docker Hub.
Dockerode.prototype.pull = function refusePull(image) {
  return Promise.reject(new Error(`testcontainers wanted to pull ${image}: the stand-in is not loaded`));
};

// Our own client for what the cases check and remove (DOCKER_HOST, as testcontainers reads it).
function docker() {
  return new Dockerode({ timeout: 30_000 });
}

async function sessionId() {
  const reaper = await getReaper(await getContainerRuntimeClient());
  return reaper.sessionId;
}

// Whatever testcontainers started in this process (its session label), also when a case failed.
async function removeSession() {
  let id;
  try {
    id = await sessionId();
  } catch {
    return; // no runtime client, so nothing was started
  }
  const d = docker();
  const filters = JSON.stringify({ label: [`${SESSION_LABEL}=${id}`] });
  const containers = await d.listContainers({ all: true, filters }).catch(() => []);
  for (const c of containers) {
    await d.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
  }
  const ryuk = d.getContainer(`testcontainers-ryuk-${id}`);
  await ryuk.remove({ force: true, v: true }).catch(() => {});
  const networks = await d.listNetworks({ filters }).catch(() => []);
  for (const n of networks) {
    const net = d.getNetwork(n.Id);
    // An endpoint its removed container left behind (dockerd 20.10 does) keeps a network in use.
    const { Containers = {} } = await net.inspect().catch(() => ({}));
    for (const { Name } of Object.values(Containers || {})) {
      await net.disconnect({ Container: Name, Force: true }).catch(() => {});
    }
    await net.remove().catch(() => {});
  }
}

// GET http://host:port/path straight (never a proxy), bounded.
function get(host, port, path = "/") {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET http://${host}:${port}${path} timed out`)));
    req.on("error", reject);
  });
}

// The text of a readable (a log stream) until `until` matches it, bounded.
function readUntil(stream, until, ms = WAIT) {
  return new Promise((resolve, reject) => {
    let text = "";
    const done = (fn, v) => {
      clearTimeout(timer);
      stream.removeAllListeners("data");
      stream.destroy?.();
      fn(v);
    };
    const timer = setTimeout(() => done(reject, new Error(`logs so far ${JSON.stringify(text)}: no ${until} within ${ms}ms`)), ms);
    stream.on("data", (chunk) => {
      text += chunk.toString();
      if (until.test(text)) done(resolve, text);
    });
    stream.on("end", () => (until.test(text) ? done(resolve, text) : done(reject, new Error(`log stream ended after ${JSON.stringify(text)} (testcontainers ends it when GET /containers/{id}/logs fails)`))));
    stream.on("error", (e) => done(reject, e));
  });
}

module.exports = { WAIT, CASE, SUITE_LABEL, SUITE_LABELS, SESSION_LABEL, docker, sessionId, removeSession, get, readUntil };
