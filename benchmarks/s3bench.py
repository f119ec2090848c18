#!/usr/bin/env python3
"""The S3 driver beside the filesystem: 1 GiB result upload and download through each controller (benchmarks/s3.sh).

From the environment s3.sh sets: BENCH_TARGETS (name=url=pid,...), BENCH_WORK, BENCH_API_KEY, BENCH_MOTO_PID,
BENCH_SIZE_MIB (1024), BENCH_REPS (2), BENCH_DOC (the doc to write the section into; empty prints only).
Transfers are made with curl; throughput is file bytes / curl's time_total; the controller's VmRSS is sampled every
50 ms during each transfer and compared with its value just before (idle); CPU is utime + stime around it.
"""
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import zipfile

from procstats import children, cpu_seconds, rss

ENV = os.environ
WORK = ENV["BENCH_WORK"]
API_KEY = ENV["BENCH_API_KEY"]
MOTO_PID = int(ENV["BENCH_MOTO_PID"])
SIZE = int(ENV.get("BENCH_SIZE_MIB", "1024")) * 1024 * 1024
REPS = int(ENV.get("BENCH_REPS", "2"))
DOC = ENV.get("BENCH_DOC", "")
MIB = 1024 * 1024
TARGETS = [dict(zip(("name", "url", "pid"), item.split("=", 2))) for item in ENV["BENCH_TARGETS"].split(",")]
BEGIN, END = "<!-- s3-driver:begin -->", "<!-- s3-driver:end -->"


def log(message):
    print(f"    {message}", file=sys.stderr, flush=True)


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, rss(self.pid))
            self.done.wait(0.05)

    def stop(self):
        self.done.set()
        self.join()
        self.peak = max(self.peak, rss(self.pid))
        return self.peak


def curl_json(*args):
    return json.loads(subprocess.run(["curl", "-sS", "--max-time", "60", *args], check=True, capture_output=True,
                                     text=True).stdout)


def transfer(pid, args, expect):
    idle = rss(pid)
    cpu = cpu_seconds([pid])
    moto_cpu = cpu_seconds([MOTO_PID, *children(MOTO_PID)])
    sampler = Sampler(pid)
    sampler.start()
    proc = subprocess.run(["curl", "-sS", "--max-time", "1800", "-H", "Expect:", "-w", "%{json}", *args],
                          capture_output=True, text=True)
    peak = sampler.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"curl failed: {proc.stderr.strip()}")
    figures = json.loads(proc.stdout[proc.stdout.rindex('{"'):])
    if figures["http_code"] != expect:
        raise RuntimeError(f"HTTP {figures['http_code']}, expected {expect}: {proc.stdout[:300]}")
    return {"mbps": SIZE / figures["time_total"] / 1e6, "seconds": figures["time_total"],
            "over_idle_mib": (peak - idle) / MIB, "cpu": cpu_seconds([pid]) - cpu,
            "moto_cpu": cpu_seconds([MOTO_PID, *children(MOTO_PID)]) - moto_cpu}


def assigned_build(url, source):
    worker = curl_json("-H", f"X-API-Key: {API_KEY}", "-H", "Content-Type: application/json",
                       "-d", '{"name":"bench","capabilities":{"platforms":["android"]}}', f"{url}/api/workers/register")
    build = curl_json("-H", f"X-API-Key: {API_KEY}", "-F", f"source=@{source};type=application/zip",
                      "-F", "platform=android", f"{url}/api/builds/submit")
    for _ in range(100):
        poll = curl_json("-H", f"X-Worker-Token: {worker['access_token']}", f"{url}/api/workers/poll")
        worker["access_token"] = poll.get("access_token") or worker["access_token"]
        if (poll.get("job") or {}).get("id") == build["id"]:
            return worker, build
        time.sleep(0.1)
    raise RuntimeError("the build was never assigned")


def main():
    source = os.path.join(WORK, "source.zip")
    with zipfile.ZipFile(source, "w") as z:
        z.writestr("package.json", '{"name":"bench"}')
    result = os.path.join(WORK, "result.apk")
    log(f"writing {SIZE // MIB} MiB of PK\\x03\\x04 + random bytes")
    with open(result, "wb") as f:
        f.write(b"PK\x03\x04")
        left = SIZE - 4
        while left > 0:
            f.write(os.urandom(min(8 * MIB, left)))
            left -= min(8 * MIB, left)
    started = time.time()
    runs = {t["name"]: {"upload": [], "download": []} for t in TARGETS}
    for rep in range(REPS):
        for target in TARGETS:
            url, pid = target["url"], int(target["pid"])
            worker, build = assigned_build(url, source)
            up = transfer(pid, ["-H", f"X-Worker-Token: {worker['access_token']}", "-F", f"build_id={build['id']}",
                                "-F", f"worker_id={worker['id']}", "-F", "success=true",
                                "-F", f"result=@{result};type=application/zip", "-o", os.devnull,
                                f"{url}/api/workers/upload"], 200)
            down = transfer(pid, ["-H", f"X-Build-Token: {build['access_token']}", "-o", os.devnull,
                                  f"{url}/api/builds/{build['id']}/download"], 200)
            runs[target["name"]]["upload"].append(up)
            runs[target["name"]]["download"].append(down)
            log(f"{target['name']} rep {rep + 1}: upload {up['mbps']:.0f} MB/s (+{up['over_idle_mib']:.1f} MiB), "
                f"download {down['mbps']:.0f} MB/s (+{down['over_idle_mib']:.1f} MiB)")
    rows = []
    for name, kinds in runs.items():
        for kind, figures in kinds.items():
            rows.append((name, kind, statistics.median(f["mbps"] for f in figures),
                         min(f["mbps"] for f in figures), max(f["mbps"] for f in figures),
                         max(f["over_idle_mib"] for f in figures), statistics.median(f["cpu"] for f in figures),
                         statistics.median(f["moto_cpu"] for f in figures)))
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    lines = [BEGIN, "",
             f"Generated by `benchmarks/s3.sh` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
             f"({time.time() - started:.0f} s; {SIZE // MIB} MiB, {REPS} repetitions per backend; load average at "
             f"the end {load}). moto {subprocess.run(['python3', '-c', 'import moto;print(moto.__version__)'], capture_output=True, text=True).stdout.strip()} "
             "on loopback, signatures checked; parts of 8 MiB (the default).", "",
             "| backend | transfer | MB/s (median) | min–max | peak RSS over idle (MiB, worst) | controller CPU s | moto CPU s |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, kind, median, low, high, over, cpu, moto in rows:
        moto_text = f"{moto:.1f}" if name == "s3" else "–"
        lines.append(f"| {name} | {kind} | {median:.0f} | {low:.0f}–{high:.0f} | {over:.1f} | {cpu:.1f} | {moto_text} |")
    lines += ["", END]
    section = "\n".join(lines)
    print(section)
    if DOC:
        with open(DOC) as f:
            text = f.read()
        if BEGIN in text and END in text:
            text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
        else:
            text += "\n## The S3 driver (issue 11)\n\n" + section + "\n"
        with open(DOC, "w") as f:
            f.write(text)
        log(f"wrote {DOC}")


if __name__ == "__main__":
    main()
