#!/usr/bin/env python3
"""Several controllers, one address: builds of every client generation through nginx in front of three
controller processes that share one database and one store. Python's standard library only.

Started by scripts/scale-out-test.sh:

  FAC_LB_URL               nginx, running deploy/nginx/free-agent-controller.conf with the test's ports, plus
                           `add_header X-Upstream $upstream_addr` (which controller served each response)
  FAC_CONTROLLER_URLS      the three controllers, comma-separated (for direct calls)
  FAC_CONTROLLER_PIDS      their process ids, in the same order (one of them gets SIGKILL)
  FAC_API_KEY              their CONTROLLER_API_KEY
  FAC_STORAGE_BACKEND      filesystem | s3: what /health of every controller must report
  FAC_DB_URL, FAC_PSQL     their database and a psql, for the final bookkeeping
  FAC_LONG_POLL_MAX_SECONDS  their LONG_POLL_MAX_SECONDS

What it proves, in order:
  1. every controller is healthy and reports the expected storage backend; nginx answers /health;
  2. the old CLI + old worker (X-API-Key + worker_id, iOS with certs, telemetry as heartbeat, a 9 MiB .ipa)
     complete a build through nginx, each call on another process than the one before, all three used, and
     submitted on one process, handed out by a second, uploaded to a third (where round robin would not do
     that by itself, a GET /health through nginx moves the rotation on: "(steer)");
  3. the same for the middle generation: a worker with X-Worker-Token (sending the API key too) and its VM
     (OTP → VM token, certs-secure, vm-ready, vm-status heartbeat token, source, logs, artifact);
  4. long-polls held directly by each process are woken by a build submitted directly to another (B by C,
     C by A, A by B), each within 1.5 s (NOTIFY, not the 5 s re-check); the last is the newest worker's: its
     VM and heartbeats finish the build through nginx, and it unregisters with its token plus the API key;
  5. the dashboard through nginx: sign-in (Host passed with its port, so the Origin check passes) and its
     live stream (server-sent events, unbuffered) showing builds submitted meanwhile;
  6. a burst: 8 builds, 5 workers polling concurrently through nginx: each build assigned once;
  7. the CLI's cancel and retry, and a build whose processing controller is killed with SIGKILL between two of
     its calls: nginx moves on (X-Upstream names the dead one, then a live one) and the build completes;
  8. behind nginx (TRUSTED_PROXIES, X-Forwarded-For) the authentication-failure limit counts each client's
     real address: a client forging X-Forwarded-For is limited, another client behind the same proxy is not;
  9. the bookkeeping, from the API and from PostgreSQL: every build submitted completed exactly once (one
     attempt, ended `completed`), the cancelled one never assigned, no other build in the database; every
     downloaded result has the uploaded bytes and the X-Checksum-SHA256 of them.
"""

import base64
import hashlib
import http.client
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import zipfile

LB = os.environ["FAC_LB_URL"].rstrip("/")
CONTROLLERS = [u.rstrip("/") for u in os.environ["FAC_CONTROLLER_URLS"].split(",")]
PIDS = [int(p) for p in os.environ["FAC_CONTROLLER_PIDS"].split(",")]
KEY = os.environ["FAC_API_KEY"]
BACKEND = os.environ["FAC_STORAGE_BACKEND"]
DB_URL = os.environ["FAC_DB_URL"]
PSQL = os.environ.get("FAC_PSQL", "psql")
LONG_POLL_MAX = int(os.environ.get("FAC_LONG_POLL_MAX_SECONDS", "30"))
ADDRESS = {urllib.parse.urlsplit(u).netloc: name for u, name in zip(CONTROLLERS, "ABC")}
K = {"X-API-Key": KEY}
STARTED = time.monotonic()

SUBMITTED = {}     # build id -> what the test expects of it at the end: "completed" or "cancelled"
RESULTS = {}       # build id -> the result bytes uploaded for it
REQUEST_IDS = set()
DEAD = set()       # controller addresses (host:port) killed by the test
ORDER = [urllib.parse.urlsplit(u).netloc for u in CONTROLLERS]   # nginx's round-robin order (the upstream block's)
LAST = {"served": None}   # the controller that served the latest sequential call through nginx


def step(message):
    print(f"  - [{time.monotonic() - STARTED:5.1f} s] {message}", flush=True)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


# ------------------------------------------------------------------------------------------------ HTTP

class Reply:
    def __init__(self, status, headers, body, upstream):
        self.status, self.headers, self.body, self.upstream = status, headers, body, upstream

    def json(self):
        return json.loads(self.body)

    @property
    def served_by(self):
        """The controller that produced the response: the last address nginx tried."""
        return self.upstream[-1] if self.upstream else None

    def __repr__(self):
        return f"{self.status} {self.body[:300]!r} (upstream {self.upstream})"


def call(method, path, headers=None, body=None, base=LB, timeout=60, log=None, label=None, source=None):
    """One request on a fresh connection (from address `source`, a 127/8 address, when given). Records the
    request id; `log` collects (label, upstream) per call."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                            source_address=(source, 0) if source else None)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    upstream = [a.strip() for a in (response.headers.get("X-Upstream") or "").split(",") if a.strip()]
    request_id = response.headers.get("X-Request-Id")
    # Every controller response carries one; nginx's own errors (502) would not.
    check(request_id, f"{method} {path}: no X-Request-Id ({response.status}, upstream {upstream})")
    check(request_id not in REQUEST_IDS, f"{method} {path}: X-Request-Id {request_id} seen twice")
    # Through nginx, the controller kept the id nginx sent (proxy_set_header X-Request-Id $request_id), so
    # nginx's access log and the controller's log lines share it.
    nginx_id = response.headers.get("X-Nginx-Request-Id")
    if base == LB:
        check(nginx_id == request_id, f"{method} {path}: X-Request-Id {request_id}, nginx's was {nginx_id}")
    REQUEST_IDS.add(request_id)
    reply = Reply(response.status, response.headers, data, upstream)
    if base == LB and upstream:
        LAST["served"] = upstream[-1]
    if log is not None:
        log.append((label or f"{method} {path.split('?')[0]}", upstream))
    return reply


def call_json(method, path, payload=None, headers=None, **kwargs):
    headers = dict(headers or {})
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    return call(method, path, headers, body, **kwargs)


def expect(reply, status, what):
    check(reply.status == status, f"{what}: expected {status}, got {reply!r}")
    return reply


def multipart(fields, files):
    """fields: [(name, value)]; files: [(name, filename, content type, bytes)] → (body, content type)."""
    boundary = f"----fac-scale-{uuid.uuid4().hex}"
    out = io.BytesIO()
    for name, value in fields:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, content_type, data in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f'Content-Type: {content_type}\r\n\r\n'.encode())
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def post_multipart(path, fields, files, headers=None, **kwargs):
    body, content_type = multipart(fields, files)
    return call("POST", path, {**(headers or {}), "Content-Type": content_type}, body, **kwargs)


# ------------------------------------------------------------------------------------------------ ZIPs

def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def source_zip(marker):
    return zip_bytes([
        ("package.json", json.dumps({"name": marker, "version": "1.0.0"})),
        ("app.json", json.dumps({"expo": {"name": marker, "slug": marker}})),
        ("App.js", f"export default function App() {{ return null }} // {marker}\n"),
        ("assets/icon.png", os.urandom(2048)),
    ])


P12 = f"FAKE-P12-{uuid.uuid4()}".encode()
PROFILE = f"FAKE-PROFILE-{uuid.uuid4()}".encode()
PASSWORD = f"s3cret-{uuid.uuid4().hex[:8]}"
CERTS = zip_bytes([("cert.p12", P12), ("password.txt", f"{PASSWORD}\n"), ("profile.mobileprovision", PROFILE)])


def result_zip(marker, padding=4096):
    """An .ipa/.apk stand-in: a real ZIP; `padding` random bytes stored uncompressed set its size."""
    return zip_bytes([("Payload/App.app/Info.plist", f"<plist>{marker}</plist>"),
                      ("Payload/App.app/App", os.urandom(padding))], zipfile.ZIP_STORED)


# ------------------------------------------------------------------------------------------------ steps

def submit(platform, certs=False, base=LB, log=None, marker=None):
    source = source_zip(marker or uuid.uuid4().hex[:8])
    files = [("source", "project.tar.gz", "application/gzip", source)]
    if certs:
        files.append(("certs", "certs.zip", "application/zip", CERTS))
    reply = expect(post_multipart("/api/builds/submit", [("platform", platform)], files, K, base=base, log=log,
                                  label="submit"), 200, "submit")
    body = reply.json()
    check(body["status"] == "pending" and len(body["access_token"]) == 43, f"submit reply {body}")
    SUBMITTED[body["id"]] = "completed"
    return body["id"], body["access_token"], source, reply


def register(platforms=("ios",), log=None):
    reply = expect(call_json("POST", "/api/workers/register", {"name": f"mac-{uuid.uuid4().hex[:6]}",
                                                               "capabilities": {"platforms": list(platforms)}},
                             K, log=log, label="register"), 200, "register")
    body = reply.json()
    return body["id"], body["access_token"]


def bt(token):
    return {"X-Build-Token": token}


def wt(token):
    return {"X-Worker-Token": token}


def vt(token):
    return {"X-VM-Token": token}


def status_of(build, token, log=None):
    return expect(call("GET", f"/api/builds/{build}/status", bt(token), log=log, label="status"), 200,
                  "status").json()


def download_and_verify(build, token, extension, log=None):
    reply = expect(call("GET", f"/api/builds/{build}/download", bt(token), log=log, label="download"), 200,
                   "download")
    expected = RESULTS[build]
    check(reply.body == expected, f"download of {build}: {len(reply.body)} bytes, not the {len(expected)} uploaded")
    digest = hashlib.sha256(expected).hexdigest()
    check(reply.headers.get("X-Checksum-SHA256") == digest,
          f"download of {build}: X-Checksum-SHA256 {reply.headers.get('X-Checksum-SHA256')}, expected {digest}")
    check(reply.headers.get("Content-Disposition") == f'attachment; filename="{build}.{extension}"',
          f"download of {build}: Content-Disposition {reply.headers.get('Content-Disposition')}")
    with zipfile.ZipFile(io.BytesIO(reply.body)) as archive:
        check(archive.testzip() is None, f"download of {build}: a damaged ZIP")
    return reply


def steer(avoid, log):
    """Makes the next call through nginx land on a controller outside `avoid`: while round robin would pick one
    in it, a GET /health through nginx moves the rotation on by one. Logged as "(steer)"."""
    live = [address for address in ORDER if address not in DEAD]
    for _ in range(len(live)):
        if LAST["served"] not in live:
            return
        following = live[(live.index(LAST["served"]) + 1) % len(live)]
        if following not in avoid:
            return
        expect(call("GET", "/health", log=log, label="(steer)"), 200, "/health")


def served(log, label):
    """The controller that served the first call labelled `label`."""
    return next(upstream[-1] for entry_label, upstream in log if entry_label == label)


def assert_roles(name, log, submit_label, poll_label, upload_label):
    """Submitted on one process, handed to the worker by another, the result uploaded to a third."""
    submitted, polled, uploaded = served(log, submit_label), served(log, poll_label), served(log, upload_label)
    check(len({submitted, polled, uploaded}) == 3,
          f"{name}: {submit_label}@{ADDRESS[submitted]}, {poll_label}@{ADDRESS[polled]}, "
          f"{upload_label}@{ADDRESS[uploaded]}: not three different processes")


def assert_spread(name, log, all_three=True):
    """The calls of one build were served by different processes: consecutive calls through nginx never by the same
    one (round robin over sequential calls; "(steer)" calls count, they are calls through the same rotation), and
    all three of them used."""
    sequence = [(label, upstream[-1]) for label, upstream in log]
    names = " → ".join(f"{label}@{ADDRESS.get(addr, addr)}" for label, addr in sequence)
    step(f"{name}: {names}")
    distinct = {addr for _, addr in sequence}
    check(all(upstream for _, upstream in log), f"{name}: a response without X-Upstream")
    if all_three:
        check(distinct == set(ADDRESS), f"{name}: served by {len(distinct)} processes, not all 3")
        for (label_a, a), (label_b, b) in zip(sequence, sequence[1:]):
            check(a != b, f"{name}: {label_a} and {label_b} were both served by {ADDRESS.get(a, a)}")
    else:
        check(len(distinct) >= 2, f"{name}: served by one process only")


def psql(sql):
    output = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1", DB_URL, "-c", sql],
                            check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in output.splitlines() if line]


def poll_until(condition, what, timeout=15.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        check(time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# ------------------------------------------------------------------------------------------------ 1. health

def health():
    for url, name in zip(CONTROLLERS, "ABC"):
        reply = expect(call("GET", "/health", base=url), 200, f"/health of {name}")
        body = reply.json()
        check(body["database"] == "ok", f"{name}: {body}")
        check(body["storage"]["backend"] == BACKEND, f"{name}: storage {body['storage']}, expected {BACKEND}")
    expect(call("GET", "/health"), 200, "/health through nginx")
    step(f"three controllers healthy, storage backend {BACKEND}; nginx answers")


# ------------------------------------------------------------------------------------------------ 2. old CLI + old worker

def old_worker_build():
    log = []
    build, token, source, _ = submit("ios", certs=True, log=log)
    check(status_of(build, token, log)["status"] == "pending", "old flow: not pending")
    worker, _ = register(log=log)
    steer({served(log, "submit")}, log)
    job = expect(call("GET", f"/api/workers/poll?worker_id={worker}", K, log=log, label="poll"), 200, "poll").json()
    check(job["job"] and job["job"]["id"] == build, f"old worker got {job}")
    check(job["job"]["certs_url"] == f"/api/builds/{build}/certs", f"certs_url {job['job']}")
    check(job["job"]["source_url"] == f"/api/builds/{build}/source", f"source_url {job['job']}")
    by_id = {**K, "X-Worker-Id": worker}
    got = expect(call("GET", f"/api/builds/{build}/source", by_id, log=log, label="source"), 200, "source")
    check(got.body == source, "old flow: source bytes differ")
    certs = expect(call("GET", f"/api/builds/{build}/certs", by_id, log=log, label="certs"), 200, "certs")
    check(certs.body == CERTS, "old flow: certs bytes differ")
    expect(call_json("POST", f"/api/builds/{build}/telemetry?worker_id={worker}",
                     {"type": "heartbeat", "timestamp": "2026-11-30T10:00:00Z",
                      "data": {"metrics": {"cpu_percent": 120.5, "memory_mb": 2048}}}, K, log=log, label="telemetry"),
           200, "telemetry")
    expect(call_json("POST", f"/api/builds/{build}/logs?worker_id={worker}", {"level": "info", "message": "xcodebuild archive"},
                     K, log=log, label="logs"), 200, "logs")
    check(status_of(build, token, log)["status"] == "building", "old flow: telemetry did not make it building")
    # 9 MiB: more than one part of an S3 multipart upload (8 MiB by default).
    result = result_zip("old", padding=9 * 1024 * 1024)
    RESULTS[build] = result
    steer({served(log, "submit"), served(log, "poll")}, log)
    up = post_multipart("/api/workers/upload", [("build_id", build), ("worker_id", worker), ("success", "true")],
                        [("result", "app.ipa", "application/octet-stream", result)], K, log=log, label="upload")
    check(expect(up, 200, "upload").json()["status"] == "success", f"upload {up!r}")
    check(status_of(build, token, log)["status"] == "completed", "old flow: not completed")
    lines = expect(call("GET", f"/api/builds/{build}/logs", bt(token), log=log, label="logs"), 200, "logs").json()["logs"]
    check(any(line["message"] == "xcodebuild archive" for line in lines), "old flow: log line missing")
    download_and_verify(build, token, "ipa", log)
    show = expect(call("GET", f"/api/builds/{build}", K, log=log, label="show"), 200, "show").json()
    check(show["certs"]["state"] == "destroyed", f"old flow: certs {show['certs']}")
    assert_spread("old CLI + old worker (iOS, certs, 9 MiB .ipa)", log)
    assert_roles("old CLI + old worker", log, "submit", "poll", "upload")


# ------------------------------------------------------------------------------------------------ 3. middle generation

def middle_worker_build():
    log = []
    build, token, source, _ = submit("ios", certs=True, log=log)
    worker, wtoken = register(log=log)
    both = {**K, **wt(wtoken)}   # this generation sends both headers
    steer({served(log, "submit")}, log)
    poll = expect(call("GET", "/api/workers/poll", both, log=log, label="poll"), 200, "poll").json()
    check(poll["job"] and poll["job"]["id"] == build, f"middle worker got {poll}")
    check(poll["access_token"] == wtoken, "middle worker: token changed")
    otp = poll["job"]["otp"]
    check(expect(call("GET", f"/api/builds/{build}/vm-status", log=log, label="vm-status"), 200,
                 "vm-status").json()["vm_ready"] is False, "vm-status before ready")
    auth = expect(call_json("POST", f"/api/builds/{build}/authenticate", {"otp": otp}, log=log, label="authenticate"),
                  200, "authenticate").json()
    vm = auth["vm_token"]
    # The OTP was spent on another process: it is spent everywhere.
    expect(call_json("POST", f"/api/builds/{build}/authenticate", {"otp": otp}, log=log, label="authenticate again"),
           401, "a second authenticate with the same OTP")
    secure = expect(call("GET", f"/api/builds/{build}/certs-secure", vt(vm), log=log, label="certs-secure"), 200,
                    "certs-secure").json()
    check(base64.b64decode(secure["p12"]) == P12 and secure["p12Password"] == PASSWORD, "certs-secure content")
    check([base64.b64decode(p) for p in secure["provisioningProfiles"]] == [PROFILE], "provisioning profiles")
    expect(call("POST", f"/api/builds/{build}/vm-ready", vt(vm), log=log, label="vm-ready"), 200, "vm-ready")
    ready = expect(call("GET", f"/api/builds/{build}/vm-status", log=log, label="vm-status"), 200, "vm-status").json()
    check(ready["vm_ready"] is True and ready["vm_token"] != vm, f"vm-status {ready}")
    heartbeat = ready["vm_token"]
    check(expect(call("GET", f"/api/builds/{build}/source", vt(vm), log=log, label="source"), 200, "source").body
          == source, "middle flow: source bytes differ")
    logs = call_json("POST", f"/api/builds/{build}/logs",
                     {"logs": [{"level": "info", "message": "pod install"}, {"level": "warn", "message": "w"}]},
                     vt(vm), log=log, label="logs")
    check(expect(logs, 200, "logs").json().get("count") == 2, f"logs {logs!r}")
    expect(call_json("POST", f"/api/builds/{build}/heartbeat", {"progress": 80}, vt(heartbeat), log=log,
                     label="heartbeat"), 200, "heartbeat")
    result = result_zip("middle", padding=300 * 1024)
    RESULTS[build] = result
    steer({served(log, "submit"), served(log, "poll")}, log)
    expect(post_multipart(f"/api/builds/{build}/artifact", [], [("artifact", "App.ipa", "application/octet-stream", result)],
                          vt(vm), log=log, label="artifact"), 200, "artifact")
    # The worker's own report without a file leaves the build completed.
    expect(post_multipart("/api/workers/upload", [("build_id", build), ("success", "true")], [], both, log=log,
                          label="upload (no file)"), 200, "worker upload without a file")
    check(status_of(build, token, log)["status"] == "completed", "middle flow: not completed")
    download_and_verify(build, token, "ipa", log)
    assert_spread("CLI + middle worker + its VM (iOS, certs)", log)
    assert_roles("CLI + middle worker + VM", log, "submit", "poll", "artifact")


# ------------------------------------------------------------------------------------------------ 4. newest worker, long-poll

def worker_has_polled(worker):
    rows = psql(f"SELECT last_seen_at > registered_at FROM workers WHERE id = '{worker}'")
    return rows and rows[0][0] == "t"


# NOTIFY from another process wakes a held long-poll within milliseconds; the poll's own periodic re-check
# (every 5 s, on ticks fixed on the process's clock) would find the build at a random moment of those 5 s. Three
# wake-ups, each under 1.5 s, could come from ticks alone with a chance of (1.5 / 5)³ ≈ 3 %.
WAKE_LIMIT = 1.5


def held_poll(worker, wtoken, poll_on, submit_on):
    """A long-poll held directly by controller `poll_on`, and a build submitted directly to `submit_on` while it
    waits: the poll must return that build at once. Returns (build, token, source, job)."""
    wait = LONG_POLL_MAX
    outcome = {}

    def hold():
        began = time.monotonic()
        try:
            outcome["reply"] = call("GET", f"/api/workers/poll?wait={wait}", wt(wtoken), base=CONTROLLERS[poll_on],
                                    timeout=wait + 30)
        except Exception as error:   # reported by the main thread
            outcome["error"] = error
        outcome["returned"] = time.monotonic()
        outcome["held"] = outcome["returned"] - began

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    # The poll has made its first check of the queue (it stamps last_seen_at in that transaction) and now waits
    # for a NOTIFY, or for its process's re-check.
    poll_until(lambda: worker_has_polled(worker), "the long-poll's first check")
    build, token, source, _ = submit("android", base=CONTROLLERS[submit_on])
    submitted = time.monotonic()
    thread.join(wait + 35)
    check("error" not in outcome, f"long-poll failed: {outcome.get('error')}")
    check("reply" in outcome, f"the long-poll on {'ABC'[poll_on]} did not answer within {wait + 35} s")
    poll = outcome["reply"]
    expect(poll, 200, "long-poll")
    job = poll.json()["job"]
    check(job and job["id"] == build, f"the long-poll on {'ABC'[poll_on]} returned {poll.json()}, not {build}")
    woke_after = outcome["returned"] - submitted
    check(woke_after < WAKE_LIMIT, f"the long-poll on {'ABC'[poll_on]} answered {woke_after:.2f} s after the submit "
          f"on {'ABC'[submit_on]}: not woken by NOTIFY")
    check(outcome["held"] < wait / 2, f"the long-poll was held {outcome['held']:.1f} s")
    step(f"long-poll held by {'ABC'[poll_on]} for {outcome['held']:.2f} s (wait={wait}), woken "
         f"{woke_after * 1000:.0f} ms after a submit on {'ABC'[submit_on]}")
    return build, token, source, job


def long_poll_wakeups():
    """Two of the three cross-process wake-ups (B by C, C by A); the newest worker's build makes the third (A by B).
    Each woken worker then finishes its build through nginx."""
    for poll_on, submit_on in ((1, 2), (2, 0)):
        worker, wtoken = register(("android",))
        build, token, source, _ = held_poll(worker, wtoken, poll_on, submit_on)
        got = expect(call("GET", f"/api/builds/{build}/source", wt(wtoken)), 200, "source")
        check(got.body == source, "woken worker: source bytes differ")
        result = result_zip(f"woken-{build}", padding=32 * 1024)
        RESULTS[build] = result
        expect(post_multipart("/api/workers/upload", [("build_id", build), ("success", "true")],
                              [("result", "app.apk", "application/octet-stream", result)], wt(wtoken)), 200, "upload")
        download_and_verify(build, token, "apk")


def newest_worker_build(poll_on, submit_on):
    """The newest worker long-polls controller `poll_on` directly; the CLI submits to `submit_on` directly."""
    log = []
    worker, wtoken = register(("ios",), log=log)   # declares iOS, builds Android too (PLATFORM_MATCHING=any)
    build, token, source, job = held_poll(worker, wtoken, poll_on, submit_on)
    log.append(("submit", [urllib.parse.urlsplit(CONTROLLERS[submit_on]).netloc]))
    log.append(("long-poll", [urllib.parse.urlsplit(CONTROLLERS[poll_on]).netloc]))

    # The worker clones its VM in silence, polling the anonymous vm-status; the VM boots and authenticates.
    check(expect(call("GET", f"/api/builds/{build}/vm-status", log=log, label="vm-status"), 200, "vm-status").json()
          ["vm_ready"] is False, "vm-status before ready")
    vm = expect(call_json("POST", f"/api/builds/{build}/authenticate", {"otp": job["otp"]}, log=log,
                          label="authenticate"), 200, "authenticate").json()["vm_token"]
    expect(call("POST", f"/api/builds/{build}/vm-ready", vt(vm), log=log, label="vm-ready"), 200, "vm-ready")
    heartbeat = expect(call("GET", f"/api/builds/{build}/vm-status", log=log, label="vm-status"), 200,
                       "vm-status").json()["vm_token"]
    expect(call_json("POST", f"/api/builds/{build}/heartbeat", {"progress": 10}, vt(heartbeat), log=log,
                     label="heartbeat"), 200, "heartbeat")
    check(expect(call("GET", f"/api/builds/{build}/source", vt(vm), log=log, label="source"), 200, "source").body
          == source, "newest flow: source bytes differ")
    expect(call_json("POST", f"/api/builds/{build}/logs", {"level": "info", "message": "gradlew assembleRelease"},
                     vt(vm), log=log, label="logs"), 200, "logs")
    expect(call_json("POST", f"/api/builds/{build}/heartbeat", {"progress": 90}, vt(heartbeat), log=log,
                     label="heartbeat"), 200, "heartbeat")
    result = result_zip("newest", padding=200 * 1024)
    RESULTS[build] = result
    steer({served(log, "submit"), served(log, "long-poll")}, log)
    expect(post_multipart(f"/api/builds/{build}/artifact", [], [("artifact", "app.apk", "application/octet-stream", result)],
                          vt(vm), log=log, label="artifact"), 200, "artifact")
    # Its monitor's heartbeat after the VM finished: 200, nothing changes.
    expect(call_json("POST", f"/api/builds/{build}/heartbeat", {"progress": 100}, vt(heartbeat), log=log,
                     label="late heartbeat"), 200, "late heartbeat")
    unregister = call("POST", "/api/workers/unregister", {**K, **wt(wtoken)}, log=log, label="unregister")
    check(expect(unregister, 200, "unregister").json()["builds_reassigned"] == 0, f"unregister {unregister!r}")
    check(status_of(build, token, log)["status"] == "completed", "newest flow: not completed")
    download_and_verify(build, token, "apk", log)
    # The two direct calls stay out of the rotation check; the rest went through nginx.
    assert_spread("newest worker (Android): submit and long-poll direct, the rest through nginx",
                  [entry for entry in log if entry[0] not in ("submit", "long-poll")])
    assert_roles("newest worker", log, "submit", "long-poll", "artifact")


# ------------------------------------------------------------------------------------------------ 5. dashboard through nginx

def dashboard_stream_shows(builds_to_submit):
    """Signs in through nginx, opens the live stream through nginx, submits builds, and waits until a snapshot
    event names each of them. Returns the submitted (id, token, source)."""
    lb = urllib.parse.urlsplit(LB)
    reply = call("POST", "/dashboard/sign-in", {"Content-Type": "application/x-www-form-urlencoded",
                                                "Origin": LB},
                 urllib.parse.urlencode({"api_key": KEY}).encode())
    check(reply.status in (302, 303), f"dashboard sign-in through nginx: {reply!r}")
    cookie = next((c.split(";")[0] for c in reply.headers.get_all("Set-Cookie") or [] if c.startswith("fac_session=")),
                  None)
    check(cookie, "dashboard sign-in: no fac_session cookie")
    # A plain socket and HTTP/1.0, so nothing between the bytes and this test buffers or de-chunks them.
    stream = socket.create_connection((lb.hostname, lb.port), timeout=20)
    stream.sendall(f"GET /dashboard/events HTTP/1.0\r\nHost: {lb.netloc}\r\nCookie: {cookie}\r\n"
                   "Accept: text/event-stream\r\n\r\n".encode())
    seen = {"text": ""}
    first = threading.Event()
    opened = time.monotonic()

    def read():
        try:
            while True:
                data = stream.recv(65536)
                if not data:
                    return
                seen["text"] += data.decode("utf-8", "replace")
                if "\ndata:" in seen["text"] and not first.is_set():
                    seen["first"] = time.monotonic() - opened
                    first.set()
        except OSError:
            return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    check(first.wait(10), "dashboard stream: no first snapshot within 10 s (buffered by the proxy?)")
    submitted = []
    for _ in range(builds_to_submit):
        build, token, source, _ = submit("android")
        submitted.append((build, token, source))
    submitted_at = time.monotonic()
    # Within the 15 s periodic refresh: the stream is woken by the other processes' NOTIFY.
    poll_until(lambda: all(build in seen["text"] for build, _, _ in submitted),
               "the dashboard stream to show the builds submitted meanwhile", timeout=10)
    shown = time.monotonic() - submitted_at
    head = seen["text"].split("\r\n\r\n", 1)[0]
    stream.close()
    check(head.startswith("HTTP/1.") and " 200 " in head.splitlines()[0] and "text/event-stream" in head,
          f"dashboard stream: {head[:300]!r}")
    upstream = next((line.split(":", 1)[1].strip() for line in head.splitlines()
                     if line.lower().startswith("x-upstream:")), "?")
    step(f"dashboard through nginx: sign-in ok; live stream (from {ADDRESS.get(upstream, upstream)}) sent its first "
         f"snapshot after {seen['first'] * 1000:.0f} ms and showed {builds_to_submit} builds submitted through nginx "
         f"{shown * 1000:.0f} ms after the last submit")
    return submitted


# ------------------------------------------------------------------------------------------------ 6. burst

def burst(builds):
    """5 workers poll concurrently through nginx until every build of `builds` is done; each build once."""
    pending = {build: source for build, _, source in builds}
    lock = threading.Lock()
    taken = []
    errors = []
    deadline = time.monotonic() + 60

    def work():
        try:
            _, token = register(("android",))
            while time.monotonic() < deadline:
                with lock:
                    if not pending and len(taken) >= len(builds):
                        return
                reply = call("GET", "/api/workers/poll?wait=2", wt(token), timeout=40)
                check(reply.status == 200, f"burst poll {reply!r}")
                job = reply.json()["job"]
                if not job:
                    with lock:
                        if not pending:
                            return
                    continue
                build = job["id"]
                with lock:
                    check(build in pending, f"burst: build {build} handed out twice (or not one of the burst's)")
                    source = pending.pop(build)
                    taken.append(build)
                got = call("GET", f"/api/builds/{build}/source", wt(token))
                check(got.status == 200 and got.body == source, f"burst source {build}: {got.status}")
                result = result_zip(f"burst-{build}", padding=random.randint(1, 64) * 1024)
                RESULTS[build] = result
                digest = hashlib.sha256(result).hexdigest()
                up = post_multipart("/api/workers/upload", [("build_id", build), ("success", "true")],
                                    [("result", "app.apk", "application/octet-stream", result)],
                                    {**wt(token), "X-Checksum-SHA256": digest})
                check(up.status == 200, f"burst upload {build}: {up!r}")
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    check(not errors, f"burst: {errors}")
    check(not pending and sorted(taken) == sorted(b for b, _, _ in builds), f"burst: left {pending}, taken {taken}")
    for build, token, _ in builds:
        download_and_verify(build, token, "apk")
    step(f"burst: {len(builds)} builds, 5 workers polling through nginx at once: each build handed out once, "
         "all downloaded intact")


# ------------------------------------------------------------------------------------------------ 7. cancel, retry, SIGKILL

def port_refuses(address):
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def killed_between_calls():
    log = []
    cancelled, ctoken, _, _ = submit("android", log=log)
    SUBMITTED[cancelled] = "cancelled"
    reply = call("POST", f"/api/builds/{cancelled}/cancel", {**bt(ctoken), "Content-Type": "application/json"},
                 log=log, label="cancel")
    check(expect(reply, 200, "cancel").json()["status"] == "cancelled", f"cancel {reply!r}")
    st = status_of(cancelled, ctoken, log)
    check(st["status"] == "failed" and st["error_message"] == "Build cancelled by user", f"cancelled status {st}")
    retry = expect(call("POST", f"/api/builds/{cancelled}/retry", bt(ctoken), log=log, label="retry"), 200,
                   "retry").json()
    build, token = retry["id"], retry["access_token"]
    check(retry["original_build_id"] == cancelled and retry["status"] == "pending", f"retry {retry}")
    SUBMITTED[build] = "completed"
    worker, wtoken = register(("android",), log=log)
    poll = expect(call("GET", "/api/workers/poll", wt(wtoken), log=log, label="poll"), 200, "poll").json()
    check(poll["job"] and poll["job"]["id"] == build, f"retried build not handed out: {poll}")
    source = expect(call("GET", f"/api/builds/{build}/source", wt(wtoken), log=log, label="source"), 200, "source")
    check(zipfile.ZipFile(io.BytesIO(source.body)).testzip() is None, "retried build's source is not the ZIP")

    # SIGKILL the controller that just served this build's source, between two of its calls.
    victim = source.served_by
    index = [urllib.parse.urlsplit(u).netloc for u in CONTROLLERS].index(victim)
    os.kill(PIDS[index], signal.SIGKILL)
    DEAD.add(victim)
    poll_until(lambda: port_refuses(victim), f"controller {ADDRESS[victim]} to be gone")
    step(f"SIGKILL to controller {ADDRESS[victim]} (pid {PIDS[index]}), which served the build's source; its port "
         "refuses connections")
    kill_mark = len(log)

    # Round robin reaches the dead controller with the third call; nginx must pass it on.
    expect(call_json("POST", f"/api/builds/{build}/heartbeat", {"progress": 30}, wt(wtoken), log=log,
                     label="heartbeat"), 200, "heartbeat after the kill")
    expect(call_json("POST", f"/api/builds/{build}/logs", {"level": "info", "message": "survived a controller"},
                     wt(wtoken), log=log, label="logs"), 200, "logs after the kill")
    expect(call("GET", f"/api/builds/{build}/status", bt(token), log=log, label="status"), 200, "status after the kill")
    expect(call_json("POST", f"/api/builds/{build}/heartbeat", {"progress": 60}, wt(wtoken), log=log,
                     label="heartbeat"), 200, "heartbeat after the kill")
    result = result_zip("after-kill", padding=512 * 1024)
    RESULTS[build] = result
    up = post_multipart("/api/workers/upload", [("build_id", build), ("success", "true")],
                        [("result", "app.apk", "application/octet-stream", result)], wt(wtoken), log=log, label="upload")
    check(expect(up, 200, "upload after the kill").json()["status"] == "success", f"upload {up!r}")
    check(status_of(build, token, log)["status"] == "completed", "killed flow: not completed")
    lines = expect(call("GET", f"/api/builds/{build}/logs", bt(token), log=log, label="logs"), 200, "logs").json()["logs"]
    messages = [line["message"] for line in lines]
    check("survived a controller" in messages and f"Build submitted (retry of {cancelled})" in messages,
          f"killed flow: log lines {messages}")
    download_and_verify(build, token, "apk", log)
    expect(call("GET", "/health"), 200, "/health through nginx with one controller dead")

    after = log[kill_mark:]
    check(all(upstream[-1] != victim for _, upstream in after), "a response came from the killed controller")
    moved_on = [label for label, upstream in after if victim in upstream[:-1]]
    check(moved_on, "nginx never tried the killed controller after the kill (expected one call to move on)")
    step(f"after the kill nginx tried {ADDRESS[victim]} for '{moved_on[0]}', got refused, and passed the request on")
    assert_spread("CLI cancel + retry, worker killed-controller build", log, all_three=False)
    check(len({upstream[-1] for _, upstream in after}) == 2, "after the kill, not both survivors served")


# ------------------------------------------------------------------------------------------------ 8. client addresses

def client_addresses():
    """TRUSTED_PROXIES=127.0.0.1 and nginx's X-Forwarded-For: the controllers tell clients apart behind the proxy.
    A client at 127.0.0.5 fails authentication again and again, each time claiming another address in its own
    X-Forwarded-For; it is limited (429) all the same, since the controllers take the right-most entry that is not
    a trusted proxy, the one nginx appended. A client at 127.0.0.6 is not affected, as it would be if the
    limiter counted the proxy's address."""
    attacker, bystander = "127.0.0.5", "127.0.0.6"
    live = set(ADDRESS) - DEAD
    limited_by, failures = set(), 0
    # Each process counts failures on its own (AUTH_FAILURE_LIMIT, 20): go on until every live one refuses.
    for attempt in range(1, 121):
        reply = call("GET", "/api/builds", {"X-API-Key": "x" * 48, "X-Forwarded-For": f"198.51.100.{attempt}"},
                     source=attacker)
        if reply.status == 429:
            limited_by.add(reply.served_by)
            if limited_by >= live:
                break
        else:
            check(reply.status == 403, f"a wrong API key: {reply!r}")
            failures += 1
    check(limited_by >= live, f"{failures} failed authentications from one client, limited only by "
          f"{sorted(ADDRESS[a] for a in limited_by)}: forged X-Forwarded-For trusted?")
    # Limited everywhere: even the right key is refused for that client now, but not for another client.
    for _ in range(len(live)):
        expect(call("GET", "/api/builds/statistics", K, source=attacker), 429, "the limited client with the key")
        expect(call("GET", "/api/builds/statistics", K, source=bystander), 200, "another client behind the same proxy")
    limited_after = failures
    step(f"client addresses through nginx: a client forging X-Forwarded-For was limited by every live process "
         f"after {limited_after} failures in all (counted per process, under its real address); another client behind "
         "the proxy was not")


# ------------------------------------------------------------------------------------------------ 8. bookkeeping

def bookkeeping():
    rows = psql("""
        SELECT b.id, b.status,
               (SELECT count(*) FROM build_attempts a WHERE a.build_id = b.id),
               (SELECT count(*) FROM build_attempts a WHERE a.build_id = b.id AND a.end_reason = 'completed'),
               coalesce(b.result_sha256, '')
        FROM builds b ORDER BY b.id""")
    database = {row[0]: row[1:] for row in rows}
    check(set(database) == set(SUBMITTED),
          f"builds in the database {sorted(set(database) ^ set(SUBMITTED))} differ from those the test submitted")
    for build, expected in SUBMITTED.items():
        status, attempts, completed, sha = database[build]
        if expected == "completed":
            check(status == "completed" and attempts == "1" and completed == "1",
                  f"build {build}: {status}, {attempts} attempts, {completed} completed (expected one, completed)")
            check(sha == hashlib.sha256(RESULTS[build]).hexdigest(), f"build {build}: recorded SHA-256 {sha}")
        else:
            check(status == "cancelled" and attempts == "0", f"cancelled build {build}: {status}, {attempts} attempts")
    # The API says the same, whichever controller answers.
    listed = expect(call("GET", "/api/builds?limit=1000", K), 200, "list").json()
    check({item["id"] for item in listed} == set(SUBMITTED), "GET /api/builds lists other builds than submitted")
    stats = expect(call("GET", "/api/builds/statistics", K), 200, "statistics").json()
    completed = sum(1 for v in SUBMITTED.values() if v == "completed")
    check(stats["completed"] == completed and stats["cancelled"] == 1 and stats["pending"] == 0
          and stats["assigned"] == 0 and stats["building"] == 0, f"statistics {stats}")
    active = expect(call("GET", "/api/builds/active", K), 200, "active").json()
    check(active["builds"] == [], f"active builds left: {active}")
    step(f"bookkeeping: {completed} builds completed, each with exactly one attempt that ended 'completed'; "
         f"the cancelled one never assigned; nothing else in the database; {len(REQUEST_IDS)} responses, "
         "each with its own X-Request-Id")


def main():
    health()
    old_worker_build()
    middle_worker_build()
    long_poll_wakeups()
    newest_worker_build(poll_on=0, submit_on=1)
    burst(dashboard_stream_shows(8))
    killed_between_calls()
    client_addresses()
    bookkeeping()
    print(f"SCALE-OUT OK ({BACKEND}, {time.monotonic() - STARTED:.1f} s)", flush=True)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
