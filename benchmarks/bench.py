#!/usr/bin/env python3
"""Measures streaming uploads and downloads, controller against nginx; run by benchmarks/run.sh.

Everything comes from the environment run.sh sets (BENCH_*). Transfers are made with curl (it streams the file for
both `-F` and `-T`); throughput is file bytes / curl's time_total. Each operation runs BENCH_REPS pairs (controller
and nginx back to back, the first of a pair alternating), each transfer after a `sync`, so that neither inherits the
other's dirty pages; medians, min/max and the per-pair ratios are reported with the load average. The controller's VmRSS is read just before each
transfer (idle) and sampled every 50 ms during it; VmHWM is also reset (clear_refs 5) before and read after, and the
peak is the larger of the two. CPU seconds (utime + stime) of each server are read around each transfer.
"""
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import zipfile

from procstats import children, cpu_seconds

ENV = os.environ
WORK = ENV["BENCH_WORK"]
SIZE = int(ENV.get("BENCH_SIZE_MIB", "1024")) * 1024 * 1024
REPS = int(ENV.get("BENCH_REPS", "5"))
PROFILE = ENV.get("BENCH_PROFILE", "1") == "1"
CTRL = ENV["BENCH_CONTROLLER_URL"]
CTRL_PID = int(ENV["BENCH_CONTROLLER_PID"])
NGINX = ENV["BENCH_NGINX_URL"]
NGINX_PID = int(ENV["BENCH_NGINX_PID"])
API_KEY = ENV["BENCH_API_KEY"]
DOC = ENV.get("BENCH_DOC", "")
# Set by run.sh: write the figures there as JSON for benchmarks/load.py's report instead of writing the doc.
STREAMING_JSON = ENV.get("BENCH_STREAMING_JSON", "")
BIN = ENV.get("BENCH_BIN", "")
MIB = 1024 * 1024

GOAL_RATIO = 0.70
GOAL_RSS_MIB = 64


def log(msg):
    print(f"    {msg}", file=sys.stderr, flush=True)


# --- /proc -------------------------------------------------------------------------------------------------------

def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_hwm(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RSSSampler(threading.Thread):
    def __init__(self, pid, interval=0.05):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak, self.stop_flag = pid, interval, 0, threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            try:
                self.peak = max(self.peak, proc_status(self.pid, "VmRSS"))
            except OSError:
                return
            self.stop_flag.wait(self.interval)

    def stop(self):
        self.stop_flag.set()
        self.join()
        self.peak = max(self.peak, proc_status(self.pid, "VmRSS"))


# --- HTTP helpers (curl) ---------------------------------------------------------------------------------------

def curl_json(*args):
    out = subprocess.run(["curl", "-sS", "--max-time", "60", *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def transfer(args, expect_code):
    """Runs one curl transfer; returns curl's -w %{json} figures plus our own wall time."""
    started = time.monotonic()
    proc = subprocess.run(
        ["curl", "-sS", "--max-time", "600", "-H", "Expect:", "-w", "%{json}", *args],
        capture_output=True, text=True)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"curl failed ({proc.returncode}): {proc.stderr.strip()} {' '.join(args)}")
    text = proc.stdout
    figures = json.loads(text[text.rindex("{\"") if "{\"" in text else 0:])
    if figures.get("http_code") != expect_code:
        raise RuntimeError(f"HTTP {figures.get('http_code')} (expected {expect_code}): {text[:500]}")
    figures["wall"] = wall
    return figures


def measured(server_pids, run):
    """Runs `run()` while sampling the controller's memory and both servers' CPU time."""
    idle = proc_status(CTRL_PID, "VmRSS")
    load = loadavg()
    hwm_ok = reset_hwm(CTRL_PID)
    cpu_before = {name: cpu_seconds(pids()) for name, pids in server_pids.items()}
    sampler = RSSSampler(CTRL_PID)
    sampler.start()
    figures = run()
    sampler.stop()
    hwm = proc_status(CTRL_PID, "VmHWM") if hwm_ok else 0
    figures["cpu"] = {name: cpu_seconds(pids()) - cpu_before[name] for name, pids in server_pids.items()}
    figures["idle_rss"] = idle
    figures["load"] = load
    figures["peak_rss"] = max(sampler.peak, hwm)
    figures["sampled_peak"] = sampler.peak
    figures["hwm"] = hwm
    return figures


SERVER_PIDS = {
    "controller": lambda: [CTRL_PID],
    "nginx": lambda: [NGINX_PID, *children(NGINX_PID)],
}


# --- the controller's build flow -------------------------------------------------------------------------------

class Controller:
    def __init__(self):
        src = os.path.join(WORK, "source.zip")
        with zipfile.ZipFile(src, "w") as z:
            z.writestr("package.json", '{"name":"bench","version":"1.0.0"}')
            z.writestr("app.json", '{"expo":{"name":"bench","slug":"bench"}}')
        self.source = src
        reg = curl_json("-H", f"X-API-Key: {API_KEY}", "-H", "Content-Type: application/json",
                        "-d", '{"name":"bench","capabilities":{"platforms":["android"]}}',
                        f"{CTRL}/api/workers/register")
        self.worker_id, self.worker_token = reg["id"], reg["access_token"]

    def assigned_build(self):
        """Submits a tiny build and polls until this worker holds it; returns (build id, build token)."""
        sub = curl_json("-H", f"X-API-Key: {API_KEY}", "-F", f"source=@{self.source};type=application/zip",
                        "-F", "platform=android", f"{CTRL}/api/builds/submit")
        for _ in range(50):
            poll = curl_json("-H", f"X-Worker-Token: {self.worker_token}", f"{CTRL}/api/workers/poll")
            self.worker_token = poll.get("access_token") or self.worker_token
            job = poll.get("job")
            if job and job.get("id") == sub["id"]:
                return sub["id"], sub["access_token"]
            time.sleep(0.1)
        raise RuntimeError("the submitted build was never assigned")

    def upload_args(self, build_id, path):
        return ["-H", f"X-Worker-Token: {self.worker_token}", "-F", f"build_id={build_id}",
                "-F", f"worker_id={self.worker_id}", "-F", "success=true",
                "-F", f"result=@{path};type=application/zip", "-o", os.devnull, f"{CTRL}/api/workers/upload"]


# --- the measurement -------------------------------------------------------------------------------------------

def make_file(path, size):
    log(f"writing {size // MIB} MiB of PK\\x03\\x04 + random bytes to {path}")
    with open(path, "wb") as f:
        f.write(b"PK\x03\x04")
        left = size - 4
        chunk = 8 * MIB
        while left > 0:
            n = min(chunk, left)
            f.write(os.urandom(n))
            left -= n


def mbps(figures, size):
    return size / figures["time_total"] / 1e6


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def settle():
    """Writes back whatever the previous transfer left dirty (nginx's upload leaves its whole file in the page cache),
    so that it does not compete for the disk with the next transfer; returns the seconds it took."""
    started = time.monotonic()
    os.sync()
    return time.monotonic() - started


def run_benchmark(data, ctrl):
    """BENCH_REPS pairs per operation; inside a pair the first server alternates (controller first in odd pairs, nginx
    first in even ones), so a drift in the machine's load weighs on both sides alike. Every transfer starts from a
    settled disk (`sync` before it, not timed)."""
    runs = {"upload": {"controller": [], "nginx": []}, "download": {"controller": [], "nginx": []}}
    builds = []
    extra = {"loadavg_start": loadavg(), "nginx_writeback_seconds": []}
    log(f"load average at start: {extra['loadavg_start']}")

    def upload_controller(rep):
        build_id, token = ctrl.assigned_build()
        settle()
        f = measured(SERVER_PIDS, lambda: transfer(ctrl.upload_args(build_id, data), 200))
        builds.append((build_id, token))
        runs["upload"]["controller"].append(f)
        log(f"upload   controller #{rep + 1}: {mbps(f, SIZE):7.1f} MB/s, {f['time_total']:.2f} s, "
            f"peak RSS +{(f['peak_rss'] - f['idle_rss']) / MIB:.1f} MiB, cpu {f['cpu']['controller']:.2f} s, "
            f"load {loadavg()}")

    def upload_nginx(rep):
        settle()
        f = measured(SERVER_PIDS, lambda: transfer(
            ["-T", data, "-o", os.devnull, f"{NGINX}/up-{rep}.zip"], 201))
        runs["upload"]["nginx"].append(f)
        # What the controller's fsync costs that nginx skips: nginx's copy written back right after its upload.
        extra["nginx_writeback_seconds"].append(settle())
        log(f"upload   nginx      #{rep + 1}: {mbps(f, SIZE):7.1f} MB/s, {f['time_total']:.2f} s, "
            f"cpu {f['cpu']['nginx']:.2f} s, then sync {extra['nginx_writeback_seconds'][-1]:.2f} s, "
            f"load {loadavg()}")

    for rep in range(REPS):
        for step in ((upload_controller, upload_nginx) if rep % 2 == 0 else (upload_nginx, upload_controller)):
            step(rep)
    extra["fsync_seconds"] = statistics.median(extra["nginx_writeback_seconds"])

    def download_controller(rep):
        build_id, token = builds[rep % len(builds)]
        f = measured(SERVER_PIDS, lambda: transfer(
            ["-H", f"X-Build-Token: {token}", "-o", os.devnull, f"{CTRL}/api/builds/{build_id}/download"], 200))
        if int(f["size_download"]) != SIZE:
            raise RuntimeError(f"controller download gave {f['size_download']} bytes, expected {SIZE}")
        runs["download"]["controller"].append(f)
        log(f"download controller #{rep + 1}: {mbps(f, SIZE):7.1f} MB/s, {f['time_total']:.2f} s, "
            f"peak RSS +{(f['peak_rss'] - f['idle_rss']) / MIB:.1f} MiB, cpu {f['cpu']['controller']:.2f} s, "
            f"load {loadavg()}")

    def download_nginx(rep):
        f = measured(SERVER_PIDS, lambda: transfer(["-o", os.devnull, f"{NGINX}/up-{rep}.zip"], 200))
        if int(f["size_download"]) != SIZE:
            raise RuntimeError(f"nginx download gave {f['size_download']} bytes, expected {SIZE}")
        runs["download"]["nginx"].append(f)
        log(f"download nginx      #{rep + 1}: {mbps(f, SIZE):7.1f} MB/s, {f['time_total']:.2f} s, "
            f"cpu {f['cpu']['nginx']:.2f} s, load {loadavg()}")

    settle()
    for rep in range(REPS):
        for step in ((download_controller, download_nginx) if rep % 2 == 0 else (download_nginx, download_controller)):
            step(rep)
    extra["loadavg_end"] = loadavg()
    log(f"load average at end: {extra['loadavg_end']}")
    return runs, builds, extra


# --- profile -----------------------------------------------------------------------------------------------------

def perf_profile(label, run):
    """`perf record` of the controller while `run()` runs; returns the top of `perf report`, demangled."""
    out = os.path.join(WORK, f"perf-{label}.data")
    rec = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(CTRL_PID), "-o", out],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        run()
    finally:
        rec.send_signal(signal.SIGINT)
        try:
            rec.wait(timeout=60)
        except subprocess.TimeoutExpired:
            rec.kill()
            rec.wait()
    if ENV.get("BENCH_PERF_KEEP"):
        # For a closer look afterwards (`perf report -i …`): WORK is removed on exit.
        os.makedirs(ENV["BENCH_PERF_KEEP"], exist_ok=True)
        shutil.copy(out, ENV["BENCH_PERF_KEEP"])
    report = subprocess.run(
        ["perf", "report", "-i", out, "--no-children", "--sort", "dso,symbol", "--stdio", "-g", "none",
         "--percent-limit", "1.5"], capture_output=True, text=True).stdout
    lines = [l for l in report.splitlines() if l.strip() and not l.startswith("#")]
    text = "\n".join(lines[:30])
    swift = shutil.which("swift")
    if swift:
        dem = subprocess.run([swift, "demangle", "--simplified", "--compact"], input=text,
                             capture_output=True, text=True)
        if dem.returncode == 0 and dem.stdout:
            text = dem.stdout
    # Long generic signatures make the doc unreadable: keep each line to 160 characters.
    return "\n".join(l[:160].rstrip() for l in text.splitlines())


def run_profiles(data, ctrl, builds):
    if not PROFILE or not shutil.which("perf"):
        return {}
    size = min(SIZE, 256 * MIB)
    small = os.path.join(WORK, "profile.zip")
    make_file(small, size)
    profiles = {"size": size}
    build_id, _ = ctrl.assigned_build()
    log(f"perf record: upload of {size // MIB} MiB")
    profiles["upload"] = perf_profile("upload", lambda: transfer(ctrl.upload_args(build_id, small), 200))
    build_id, token = builds[0]
    log(f"perf record: download of {SIZE // MIB} MiB")
    profiles["download"] = perf_profile("download", lambda: transfer(
        ["-H", f"X-Build-Token: {token}", "-o", os.devnull, f"{CTRL}/api/builds/{build_id}/download"], 200))
    os.unlink(small)
    return profiles


# --- the doc -----------------------------------------------------------------------------------------------------

def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return ""


def machine_facts():
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    src = sh("findmnt", "-no", "SOURCE,FSTYPE", "--target", WORK)
    dev = src.split()[0] if src else ""
    rota = sh("lsblk", "-dno", "ROTA,MODEL", dev) if dev.startswith("/dev/") else ""
    disk = f"{src}"
    if rota:
        parts = rota.split(None, 1)
        disk += f" (rotational flag {parts[0]}" + (f", {parts[1]}" if len(parts) > 1 else "") + ")"
    return [
        ("CPU", f"{os.cpu_count()} × {cpu}" if cpu else f"{os.cpu_count()} CPUs (nproc {sh('nproc')})"),
        ("memory", f"{mem / 1024 ** 3:.1f} GiB"),
        ("kernel", platform.release()),
        ("disk of the temp folder", disk or "unknown"),
        ("Swift", sh("swift", "--version").splitlines()[0] if sh("swift", "--version") else "unknown"),
        ("nginx", (subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
                   .replace("nginx version: ", ""))),
        ("curl", sh("curl", "--version").splitlines()[0].split(" (")[0]),
        ("load average at start", " ".join(open("/proc/loadavg").read().split()[:3])),
    ]


def durable_nginx_upload(runs, extra):
    """nginx's upload rate had it synced like the controller: file bytes per (its time_total + the `sync` right
    after it), median over the runs; None without write-back figures."""
    writebacks = extra.get("nginx_writeback_seconds", [])
    uploads = runs["upload"]["nginx"]
    if not writebacks or len(writebacks) != len(uploads):
        return None
    return statistics.median(SIZE / (f["time_total"] + w) / 1e6 for f, w in zip(uploads, writebacks))


def summarize(runs):
    rows = []
    for op in ("upload", "download"):
        c = runs[op]["controller"]
        n = runs[op]["nginx"]
        c_all = [mbps(f, SIZE) for f in c]
        n_all = [mbps(f, SIZE) for f in n]
        c_mbps = statistics.median(c_all)
        n_mbps = statistics.median(n_all)
        over = max(f["peak_rss"] - f["idle_rss"] for f in c) / MIB
        ratio = c_mbps / n_mbps
        # The two transfers of one pair ran back to back: their ratio is the least disturbed by the machine's load.
        pairs = [a / b for a, b in zip(c_all, n_all)]
        rows.append({
            "op": op, "controller": c_mbps, "nginx": n_mbps, "ratio": ratio, "rss_over": over,
            "controller_min": min(c_all), "controller_max": max(c_all),
            "nginx_min": min(n_all), "nginx_max": max(n_all),
            "pair_ratio_min": min(pairs), "pair_ratio_max": max(pairs),
            "pairs_met": sum(1 for r in pairs if r >= GOAL_RATIO), "pairs": len(pairs),
            "idle": statistics.median(f["idle_rss"] for f in c) / MIB,
            "cpu_c": statistics.median(f["cpu"]["controller"] for f in c),
            "cpu_n": statistics.median(f["cpu"]["nginx"] for f in n),
            "met_speed": ratio >= GOAL_RATIO, "met_rss": over < GOAL_RSS_MIB,
        })
    return rows


def generated_section(runs, rows, extra, profiles, started, elapsed, machine=True):
    size_label = f"{SIZE // MIB} MiB" if SIZE != 1024 * MIB else "1 GiB"
    o = []
    o.append(f"Run of {started:%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s in all: one file of {size_label} "
             f"(`PK\\x03\\x04` + random bytes), {REPS} pairs of each transfer (controller and nginx back to back, "
             "the first of each pair alternating), every transfer from a settled disk (`sync` before it, not timed); "
             "medians, with the range over the repetitions. MB/s = 10⁶ bytes of the file per second of curl's "
             f"`time_total`. Load average (1, 5, 15 min) at the start {extra.get('loadavg_start', '?')}, at the end "
             f"{extra.get('loadavg_end', '?')}.")
    o.append("")
    if machine:
        o.append("### Machine")
        o.append("")
        o.append("| | |")
        o.append("|---|---|")
        for k, v in machine_facts():
            o.append(f"| {k} | {v} |")
        o.append("")
        o.append("### Results")
        o.append("")
    o.append("| operation | controller MB/s (min–max) | nginx MB/s (min–max) | ratio of medians (pairs: min–max, ≥ 70 %) "
             "| peak RSS over idle | goal | met? |")
    o.append("|---|---:|---:|---:|---:|---|---|")
    names = {"upload": "upload (controller: `POST /api/workers/upload` multipart; nginx: DAV `PUT`)",
             "download": "download (controller: `GET /api/builds/:id/download`; nginx: static `GET`)"}
    for r in rows:
        met = "yes" if r["met_speed"] and r["met_rss"] else (
            "**no**: " + ", ".join(x for x, ok in (("speed", r["met_speed"]), ("memory", r["met_rss"])) if not ok))
        o.append(f"| {names[r['op']]} | {r['controller']:.0f} ({r['controller_min']:.0f}–{r['controller_max']:.0f}) | "
                 f"{r['nginx']:.0f} ({r['nginx_min']:.0f}–{r['nginx_max']:.0f}) | {r['ratio'] * 100:.0f} % "
                 f"({r['pair_ratio_min'] * 100:.0f}–{r['pair_ratio_max'] * 100:.0f} %, {r['pairs_met']} of "
                 f"{r['pairs']}) | {r['rss_over']:.1f} MiB | ≥ 70 % of nginx, < 64 MiB | {met} |")
    o.append("")
    o.append("CPU seconds per transfer (median, user + system, whole process):")
    o.append("")
    o.append("| operation | controller | nginx (master + worker) |")
    o.append("|---|---:|---:|")
    for r in rows:
        o.append(f"| {r['op']} | {r['cpu_c']:.2f} s | {r['cpu_n']:.2f} s |")
    o.append("")
    o.append("Every run:")
    o.append("")
    o.append("| operation | server | # | MB/s | seconds | curl's speed (MB/s) | idle RSS | peak RSS (sampled / VmHWM) | CPU s "
             "| load before |")
    o.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for op in ("upload", "download"):
        for server in ("controller", "nginx"):
            for i, f in enumerate(runs[op][server]):
                speed = f["speed_upload"] if op == "upload" else f["speed_download"]
                rss = (f"{f['idle_rss'] / MIB:.1f} MiB", f"{f['sampled_peak'] / MIB:.1f} / {f['hwm'] / MIB:.1f} MiB") \
                    if server == "controller" else ("–", "–")
                o.append(f"| {op} | {server} | {i + 1} | {mbps(f, SIZE):.0f} | {f['time_total']:.2f} | "
                         f"{speed / 1e6:.0f} | {rss[0]} | {rss[1]} | {f['cpu'][server]:.2f} | {f.get('load', '?')} |")
    o.append("")
    if "fsync_seconds" in extra:
        o.append(f"The controller's upload includes an `fsync` of the result before it answers (durability); "
                 f"nginx's DAV `PUT` does not sync. Writing nginx's copy back (`sync` right after its upload, not "
                 f"timed) took {extra['fsync_seconds']:.2f} s (median; "
                 + ", ".join(f"{x:.2f}" for x in extra.get("nginx_writeback_seconds", [])) + " s).")
        durable = durable_nginx_upload(runs, extra)
        if durable:
            controller = statistics.median(mbps(f, SIZE) for f in runs["upload"]["controller"])
            o.append(f"Counted the controller's way (the bytes on disk when it answers: its upload plus that "
                     f"write-back), nginx's upload ran at {durable:.0f} MB/s (median), and the controller's at "
                     f"{controller / durable * 100:.0f} % of it.")
        o.append("")
    if profiles:
        o.append(f"#{'##' if machine else '###'} Profile (`perf record -F 499 -g -p <controller>`, flat, symbols ≥ 1.5 %)")
        o.append("")
        o.append(f"Upload of {profiles['size'] // MIB} MiB:")
        o.append("")
        o.append("```")
        o.append(profiles["upload"])
        o.append("```")
        o.append("")
        o.append(f"Download of {size_label}:")
        o.append("")
        o.append("```")
        o.append(profiles["download"])
        o.append("```")
        o.append("")
    return "\n".join(o)


BEGIN = "<!-- benchmarks/run.sh: begin (generated, do not edit by hand) -->"
END = "<!-- benchmarks/run.sh: end -->"

TEMPLATE = f"""# Benchmarks

## Streaming: the controller against nginx (issue 3; issue 8, part 1)

Goals: uploads and downloads of a 1 GiB result at **≥ 70 % of nginx's throughput** on the same machine, with the
controller's memory **< 64 MiB over idle** during the transfer.

{BEGIN}
{END}

## How to reproduce

After the README's set-up (`scripts/up.sh` installs what is needed; nginx is installed with apt-get if missing):

```sh
benchmarks/run.sh                       # ~2 minutes once the release binary is built; rewrites the section above
BENCH_SIZE_MIB=256 BENCH_REPS=5 benchmarks/run.sh
BENCH_PROFILE=0 BENCH_NO_DOC=1 benchmarks/run.sh   # no perf profile; print only
```

A cold release build (`.build-release`) takes 30+ minutes on 2 busy cores; the script reuses it. Both servers get
the same curl (`-H 'Expect:'`, so neither waits for a `100 Continue`); uploads to the controller go through the
real flow (a registered worker holding a freshly submitted build); each download is checked for its size.
"""


def write_doc(section):
    if os.path.exists(DOC):
        text = open(DOC).read()
    else:
        text = TEMPLATE
    if BEGIN not in text or END not in text:
        text = TEMPLATE
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(DOC, "w") as f:
        f.write(head + BEGIN + "\n" + section + "\n" + END + tail)
    log(f"wrote {DOC}")


def main():
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    data = os.path.join(WORK, "result.zip")
    make_file(data, SIZE)
    ctrl = Controller()
    runs, builds, extra = run_benchmark(data, ctrl)
    rows = summarize(runs)
    profiles = run_profiles(data, ctrl, builds)
    elapsed = time.monotonic() - t0
    section = generated_section(runs, rows, extra, profiles, started, elapsed)
    print("\n" + section)
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump({"runs": runs, "rows": rows, "extra": extra}, f, default=str)
    if STREAMING_JSON:
        with open(STREAMING_JSON, "w") as f:
            json.dump({"machine": machine_facts(), "rows": rows,
                       "section": generated_section(runs, rows, extra, profiles, started, elapsed, machine=False)}, f)
    elif DOC:
        write_doc(section)


if __name__ == "__main__":
    main()
