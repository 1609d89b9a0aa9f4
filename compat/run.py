#!/usr/bin/env python3
"""The real clients against a real berthd, with a ratchet.

Starts a local registry (Debian's docker-registry, Distribution 2.8) on a free loopback port
holding the stand-in images (compat/images.py), a berthd on its own socket, data root and exec
root with those images loaded and tagged as the suites name them, then runs each client suite
against it (DOCKER_HOST) and reads its JUnit report. Every case is passed, failed or skipped.

The ratchet is compat/known-failures.tsv: `suite<TAB>case<TAB>reason`, the cases known to fail.
This exits non-zero when a case outside the list fails, when a listed case passes (so the list
only shrinks: remove the line), or when a listed case no longer exists.

    compat/run.py                        every suite, against a berthd it starts
    compat/run.py --suite docker-py      one suite (repeatable)
    compat/run.py --docker-host unix:///path/docker.sock --no-ratchet
                                         against a daemon already running (the dockerd reference
                                         figures in the README were measured this way)
    compat/run.py --list-failures        print the failing cases in the ratchet's format

Nothing is left behind: containers, the daemon, the registry and the temporary directory go,
also when a suite fails or is interrupted.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPAT = os.path.join(ROOT, "compat")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
WORK_CACHE = os.path.join(TARGET, "compat")
DOCKER = "/usr/local/bin/docker"
RATCHET = os.path.join(COMPAT, "known-failures.tsv")
VENV = os.path.join(WORK_CACHE, "venv")
# The real images' root filesystems (compat/images.py rootfs, made by scripts/install-test-deps.sh):
# outside the checkout, so that a fresh clone on the same machine reuses them.
ROOTFS_CACHE = os.environ.get("BERTH_COMPAT_ROOTFS", "/var/cache/berth-compat/rootfs")
# Every bounded wait of the harness itself.
START_BOUND = 30


def log(msg):
    print(f"compat: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, bound=START_BOUND):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready within {bound}s")


class Stack:
    """What the harness starts, stopped in reverse order whatever happens."""

    def __init__(self):
        self.procs = []
        self.cleanups = []

    def spawn(self, name, args, log_path, **kw):
        out = open(log_path, "wb")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kw)
        self.procs.append((name, p, out))
        return p

    def close(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as e:  # keep cleaning up
                log(f"cleanup: {e}")
        for name, p, out in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    log(f"{name} ignored SIGTERM; killing it")
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            out.close()


def build_images(busybox_tar):
    """The stand-in archives, rebuilt only when their inputs change."""
    out = os.path.join(WORK_CACHE, "images")
    stamp = os.path.join(out, ".inputs")
    # The real images' root filesystems are named by their recipe; their sizes and times stand
    # for their content (hashing 300 MB at every run costs more than it tells).
    rootfs = sorted(os.listdir(ROOTFS_CACHE)) if os.path.isdir(ROOTFS_CACHE) else []
    inputs = subprocess.run(
        ["sha256sum", os.path.join(COMPAT, "images.py"), busybox_tar], capture_output=True, check=True
    ).stdout.decode() + "".join(
        f"{n} {os.stat(os.path.join(ROOTFS_CACHE, n)).st_size} {os.stat(os.path.join(ROOTFS_CACHE, n)).st_mtime_ns}\n"
        for n in rootfs
    )
    if not (os.path.exists(stamp) and open(stamp).read() == inputs):
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(
            [sys.executable, os.path.join(COMPAT, "images.py"), busybox_tar, out, ROOTFS_CACHE], check=True
        )
        open(stamp, "w").write(inputs)
    return json.load(open(os.path.join(out, "images.json")))


def start_registry(stack, work, images):
    """Distribution 2.8 on a free loopback port, holding every stand-in under its tags."""
    port = free_port()
    addr = f"127.0.0.1:{port}"
    config = os.path.join(work, "registry.yml")
    with open(config, "w") as f:
        f.write(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {work}/registry\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {addr}\n"
        )
    stack.spawn("registry", ["docker-registry", "serve", config], os.path.join(work, "registry.log"))

    def up():
        try:
            return urllib.request.urlopen(f"http://{addr}/v2/", timeout=1).status == 200
        except OSError:
            return False

    wait_for("the registry", up)
    for image in images:
        for tag in image["tags"]:
            subprocess.run(
                ["skopeo", "copy", "-q", "--dest-tls-verify=false",
                 f"docker-archive:{image['archive']}:{tag}", f"docker://{addr}/{tag}"],
                check=True, capture_output=True,
            )
    return addr


def docker(host, *args, check=True, timeout=120):
    return subprocess.run(
        [DOCKER, *args], env={**os.environ, "DOCKER_HOST": host}, capture_output=True,
        check=check, timeout=timeout,
    )


def start_berthd(stack, work):
    binary = os.path.join(TARGET, "x86_64-unknown-linux-gnu", "debug", "berthd")
    if not os.path.exists(binary):
        raise RuntimeError(f"{binary} is not built (cargo build --bins)")
    sock = os.path.join(work, "berthd.sock")
    stack.spawn(
        "berthd",
        [binary, "-H", f"unix://{sock}", "--data-root", os.path.join(work, "data"),
         "--exec-root", os.path.join(work, "exec"), "--config-file", "/dev/null"],
        os.path.join(work, "berthd.log"),
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info")},
    )
    host = f"unix://{sock}"
    wait_for("berthd", lambda: os.path.exists(sock) and docker(host, "version", check=False).returncode == 0)
    return host


def preload(host, images, registry):
    """Until pulls exist, images reach the daemon as Docker users would get them offline: `docker
    load`, and `docker tag` for the registry-qualified names suites use."""
    for image in images:
        docker(host, "load", "-q", "-i", image["archive"])
        for tag in image["tags"]:
            official = "" if "/" in tag.split(":")[0] else "library/"
            for prefix in (f"{registry}/", f"docker.io/{official}"):
                docker(host, "tag", tag, prefix + tag)


def remove_containers(host):
    ids = docker(host, "ps", "-aq", check=False).stdout.decode().split()
    if ids:
        docker(host, "rm", "-f", *ids, check=False)


# ---- suites ------------------------------------------------------------------------------------


def failure_message(attribute, text):
    """One line saying why: a Rust panic's message (the line after `panicked at`), else the
    report's message."""
    lines = text.strip().splitlines()
    for i, line in enumerate(lines):
        if "panicked at" in line and i + 1 < len(lines):
            return lines[i + 1].strip()[:200]
    first = (attribute or (lines[0] if lines else "")).strip().splitlines()
    return first[0][:200] if first else "failed (no message)"


def junit_cases(path, suite, strip_prefix=""):
    """(case, status, message) of a JUnit report; status pass|fail|skip."""
    if not os.path.exists(path):
        return []
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        cls = case.get("classname", "")
        if strip_prefix and cls.startswith(strip_prefix):
            cls = cls[len(strip_prefix):]
        name = f"{cls}::{case.get('name')}" if cls else case.get("name")
        status, message = "pass", ""
        for child in case:
            if child.tag in ("failure", "error"):
                status = "fail"
                message = failure_message(child.get("message") or "", child.text or "")
            elif child.tag == "skipped" and status != "fail":
                status, message = "skip", (child.get("message") or "").strip()[:200]
        out.append((name, status, message))
    return out


def bollard_source():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--manifest-path", os.path.join(ROOT, "Cargo.toml")],
        capture_output=True, check=True,
    ).stdout)
    for p in meta["packages"]:
        if p["name"] == "bollard":
            return os.path.dirname(p["manifest_path"]), p["version"]
    raise RuntimeError("bollard is not a dependency of the workspace")


def bollard_skips():
    """compat/bollard/skip.tsv: `binary<TAB>test or *<TAB>reason` for cases no single dockerd here
    could pass (swarm, plugins, Docker Hub)."""
    skips = []
    for line in open(os.path.join(COMPAT, "bollard", "skip.tsv")):
        if line.strip() and not line.startswith("#"):
            binary, test, reason = line.rstrip("\n").split("\t")
            skips.append((binary, test, reason))
    return skips


def run_bollard(env, work):
    """bollard's own integration tests, from the published crate cargo fetched (never copied into
    the repository): built in target/compat, run by nextest with a per-test bound."""
    src, version = bollard_source()
    copy = os.path.join(WORK_CACHE, f"bollard-{version}")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(src, copy)
    os.makedirs(os.path.join(copy, ".config"), exist_ok=True)
    shutil.copy(os.path.join(COMPAT, "bollard", "nextest.toml"), os.path.join(copy, ".config", "nextest.toml"))
    target = os.path.join(WORK_CACHE, "bollard-target")
    skips = bollard_skips()
    exclude = " | ".join(
        f"binary(={b})" if t == "*" else f"(binary(={b}) & test(={t}))" for b, t, _ in skips
    )
    args = ["cargo", "nextest", "run", "--manifest-path", os.path.join(copy, "Cargo.toml"),
            "--target-dir", target, "--profile", "compat", "--no-fail-fast", "--tests"]
    # Its integration tests (kind(test)): the library's unit tests do not talk to a daemon.
    args += ["-E", f"kind(test) & not ({exclude})" if exclude else "kind(test)"]
    log(f"bollard {version}: building and running its tests")
    subprocess.run(args, env=env, cwd=copy, stdout=open(os.path.join(work, "bollard.log"), "wb"),
                   stderr=subprocess.STDOUT, timeout=1800)
    # nextest writes its reports under the workspace's own target/, whatever --target-dir says.
    cases = junit_cases(os.path.join(copy, "target", "nextest", "compat", "junit.xml"), "bollard", "bollard::")
    # The skipped cases, by name, from nextest's list of every test.
    listing = subprocess.run(
        ["cargo", "nextest", "list", "--manifest-path", os.path.join(copy, "Cargo.toml"),
         "--target-dir", target, "--tests", "-E", "kind(test)", "--message-format", "json"],
        env=env, cwd=copy, capture_output=True, timeout=600,
    )
    ran = {c for c, _, _ in cases}
    every = json.loads(listing.stdout or b"{}").get("rust-suites", {})
    for binary_id, suite in sorted(every.items()):
        binary = binary_id.removeprefix("bollard::")
        for test, info in sorted(suite.get("testcases", {}).items()):
            case = f"{binary}::{test}"
            match = info.get("filter-match", {})
            if case in ran or (match.get("status") == "mismatch" and match.get("reason") == "expression"):
                continue
            reason = next((r for b, t, r in skips if b == binary and t in ("*", test)), None)
            if info.get("ignored"):
                reason = "ignored by bollard itself (#[ignore])"
            cases.append((case, "skip" if reason else "fail", reason or "did not report"))
    return cases


def run_pytest(path):
    def run(env, work):
        name = os.path.splitext(os.path.basename(path))[0]
        report = os.path.join(work, f"{name}.xml")
        python = os.path.join(VENV, "bin", "python")
        subprocess.run(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout", "120",
             f"--junitxml={report}", "-o", "junit_family=xunit1", os.path.join(COMPAT, path)],
            env=env, cwd=COMPAT, stdout=open(os.path.join(work, f"{name}.log"), "wb"),
            stderr=subprocess.STDOUT, timeout=1800,
        )
        return [(c.split("::", 1)[-1], s, m) for c, s, m in junit_cases(report, name)]

    return run


def run_script(suite):
    """A suite of its own: compat/<suite>/run, given the daemon (DOCKER_HOST), the registry
    (COMPAT_REGISTRY), the stand-in images (COMPAT_IMAGES) and where to write its JUnit report
    (COMPAT_REPORT). Its exit code is not read: the report is the result."""

    def run(env, work):
        report = os.path.join(work, f"{suite}.xml")
        env = {**env, "COMPAT_REPORT": report, "COMPAT_WORK": os.path.join(work, suite)}
        os.makedirs(env["COMPAT_WORK"], exist_ok=True)
        subprocess.run([os.path.join(COMPAT, suite, "run")], env=env, cwd=os.path.join(COMPAT, suite),
                       stdout=open(os.path.join(work, f"{suite}.log"), "wb"), stderr=subprocess.STDOUT,
                       timeout=1800)
        return junit_cases(report, suite)

    return run


SUITES = {
    "bollard": run_bollard,
    "docker-py": run_pytest("python/test_docker_py.py"),
}
# The suites with a run script of their own (compose, testcontainers-*).
for _d in sorted(os.listdir(COMPAT)):
    if os.access(os.path.join(COMPAT, _d, "run"), os.X_OK):
        SUITES[_d] = run_script(_d)


# ---- the ratchet -------------------------------------------------------------------------------


def read_ratchet():
    known = {}
    for n, line in enumerate(open(RATCHET), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 3 or not parts[2].strip():
            raise SystemExit(f"{RATCHET}:{n}: want suite<TAB>case<TAB>reason")
        known[(parts[0], parts[1])] = parts[2]
    return known


def judge(results, known, suites):
    """The ratchet's complaints."""
    problems = []
    seen = set()
    for suite, cases in results.items():
        for case, status, message in cases:
            seen.add((suite, case))
            listed = (suite, case) in known
            if status == "fail" and not listed:
                problems.append(f"NEW FAILURE {suite} {case}: {message}")
            elif status == "pass" and listed:
                problems.append(f"NOW PASSES {suite} {case}: remove it from compat/known-failures.tsv")
    for (suite, case), reason in known.items():
        if suite in suites and (suite, case) not in seen:
            problems.append(f"GONE {suite} {case}: listed ({reason}) but did not run")
    return problems


def table(results):
    rows = ["| client | passed | known failures | skipped | cases |", "|---|---|---|---|---|"]
    for suite, cases in results.items():
        count = lambda s: sum(1 for _, st, _ in cases if st == s)
        rows.append(f"| {suite} | {count('pass')} | {count('fail')} | {count('skip')} | {len(cases)} |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", action="append", choices=sorted(SUITES))
    ap.add_argument("--docker-host", help="run against this daemon instead of starting berthd")
    ap.add_argument("--no-ratchet", action="store_true")
    ap.add_argument("--list-failures", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = ap.parse_args()
    suites = args.suite or list(SUITES)
    images_dir = os.environ.get("BERTH_TEST_IMAGES", os.path.join(TARGET, "test-images"))
    os.makedirs(WORK_CACHE, exist_ok=True)
    work = tempfile.mkdtemp(prefix="berth-compat-", dir="/tmp")
    stack = Stack()
    results = {}
    try:
        images = build_images(os.path.join(images_dir, "busybox.tar"))
        registry = start_registry(stack, work, images)
        host = args.docker_host or start_berthd(stack, work)
        stack.cleanups.append(lambda: remove_containers(host))
        preload(host, images, registry)
        env = {
            **os.environ,
            "COMPAT_IMAGES": os.path.join(WORK_CACHE, "images"),
            "COMPAT_VENV": VENV,
            "DOCKER_HOST": host,
            "REGISTRY_HTTP_ADDR": registry,
            "COMPAT_REGISTRY": registry,
            "DOCKER_CONFIG": os.path.join(work, "docker-config"),
        }
        for suite in suites:
            started = time.monotonic()
            results[suite] = SUITES[suite](env, work)
            remove_containers(host)
            log(f"{suite}: {len(results[suite])} cases in {time.monotonic() - started:.0f}s")
    finally:
        stack.close()
        if args.keep:
            log(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(WORK_CACHE, "results.tsv"), "w") as f:
        for suite, cases in results.items():
            for case, status, message in cases:
                f.write(f"{suite}\t{case}\t{status}\t{message}\n")
    print(table(results))
    if args.list_failures:
        for suite, cases in results.items():
            for case, status, message in cases:
                if status == "fail":
                    print(f"{suite}\t{case}\t{message or 'fails'}")
    if args.no_ratchet:
        return 0
    problems = judge(results, read_ratchet(), suites)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
