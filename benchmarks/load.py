#!/usr/bin/env python3
"""Assignment, end-to-end, idle and scaling benchmarks (issue 8 parts 1, 2, 4, 5); run by benchmarks/run.sh.

    load.py single    # parts 1, 2, 4 against controller A (and the pgbench baseline), results to $BENCH_WORK
    load.py scaling   # part 5 against controllers A and B on one database
    load.py report    # the generated section of docs/benchmarks.md, with the streaming part's (bench.py)

The load comes from `fac-loadgen` (Sources/LoadGenerator), which prints one JSON line per run; the baseline of part 1
is pgbench running benchmarks/claim.pgbench against the same PostgreSQL. Server RSS and CPU are read from /proc.
"""
import datetime
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time

from procstats import children, cpu_seconds, rss

ENV = os.environ
WORK = ENV["BENCH_WORK"]
HERE = os.path.dirname(os.path.abspath(__file__))
LOADGEN = ENV["BENCH_LOADGEN"]
API_KEY = ENV["BENCH_API_KEY"]
CTRL_A = ENV["BENCH_CONTROLLER_URL"]
CTRL_A_PID = int(ENV["BENCH_CONTROLLER_PID"])
PG_PORT = ENV["BENCH_PG_PORT"]
PG_DB = ENV["BENCH_PG_DB"]
PG_USER = ENV["BENCH_PG_USER"]
PG_PID_FILE = ENV.get("BENCH_PG_PID_FILE", "")
PG_MAX_CONNECTIONS = int(ENV.get("BENCH_PG_MAX_CONNECTIONS", "100"))
CONTROLLER_POOL = int(ENV.get("BENCH_CONTROLLER_POOL", "40"))
PGBENCH = ENV.get("BENCH_PGBENCH") or shutil.which("pgbench") or "pgbench"
PSQL = ENV.get("BENCH_PSQL") or shutil.which("psql") or "psql"
LEVELS = [int(x) for x in ENV.get("BENCH_ASSIGN_LEVELS", "10,100,500").split(",") if x.strip()]
ASSIGN_BUILDS = int(ENV.get("BENCH_ASSIGN_BUILDS", "3000"))
PGBENCH_SECONDS = int(ENV.get("BENCH_PGBENCH_SECONDS", "8"))
# The controller prepares the statements of a claim once per connection (Sources/Orchestrator/SQL/
# PreparedStatements.swift); pgbench does the same with `-M prepared`, so neither side parses and plans per call.
PGBENCH_MODE = ENV.get("BENCH_PGBENCH_MODE", "prepared")
# The paced (open-loop) runs: at these fractions of the closed-loop claims/s measured with as many workers, each
# for about PACED_SECONDS; the latency goal is read at GOAL_PACED_FRACTION.
PACED_WORKERS = int(ENV.get("BENCH_PACED_WORKERS", "100"))
PACED_FRACTIONS = [float(x) for x in ENV.get("BENCH_PACED_FRACTIONS", "0.25,0.5,0.75").split(",") if x.strip()]
PACED_SECONDS = int(ENV.get("BENCH_PACED_SECONDS", "20"))
E2E_WORKERS = int(ENV.get("BENCH_E2E_WORKERS", "50"))
E2E_BUILDS = int(ENV.get("BENCH_E2E_BUILDS", "1000"))
IDLE_WORKERS = int(ENV.get("BENCH_IDLE_WORKERS", "1000"))
IDLE_SECONDS = int(ENV.get("BENCH_IDLE_SECONDS", "30"))
SCALING_WORKERS = int(ENV.get("BENCH_SCALING_WORKERS", "100"))
PROFILE = ENV.get("BENCH_PROFILE", "1") == "1"
DOC = ENV.get("BENCH_DOC", "")
RESULTS = os.path.join(WORK, "load-results.json")
MIB = 1024 * 1024
CLK = os.sysconf("SC_CLK_TCK")

GOAL_ASSIGN_RATIO = 0.50
GOAL_P99_MS = 10.0
GOAL_PACED_FRACTION = 0.5
GOAL_IDLE_MIB = 100


def log(msg):
    print(f"    {msg}", file=sys.stderr, flush=True)


# --- /proc ---------------------------------------------------------------------------------------------------------

def postgres_cpu():
    """CPU seconds of the whole cluster: the postmaster, its live children, and (cutime/cstime) every child that
    has exited meanwhile, e.g. a pgbench client's backend, so the figure never goes down."""
    try:
        with open(PG_PID_FILE) as f:
            master = int(f.readline().strip())
        with open(f"/proc/{master}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return 0.0
    own = sum(int(x) for x in fields[11:15]) / CLK  # utime, stime, cutime, cstime
    return own + cpu_seconds(children(master))


def established(port):
    """Established TCP connections whose local port is `port` (the server's side), from /proc/net/tcp."""
    count = 0
    hexport = f"{int(port):04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[1].endswith(":" + hexport) and parts[3] == "01":
                        count += 1
        except OSError:
            pass
    return count


class Sampler(threading.Thread):
    """Samples a process's RSS (peak and mean) and the connections to a port every `interval` seconds."""

    def __init__(self, pid, port=None, interval=0.1):
        super().__init__(daemon=True)
        self.pid, self.port, self.interval = pid, port, interval
        self.peak, self.samples, self.total, self.max_conns = 0, 0, 0, 0
        self.stop_flag = threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            try:
                value = rss(self.pid)
            except OSError:
                return
            self.peak = max(self.peak, value)
            self.total += value
            self.samples += 1
            if self.port:
                self.max_conns = max(self.max_conns, established(self.port))
            self.stop_flag.wait(self.interval)

    def stop(self):
        self.stop_flag.set()
        self.join()

    @property
    def mean(self):
        return self.total / self.samples if self.samples else 0


# --- tools ---------------------------------------------------------------------------------------------------------

def loadgen(mode, *args, urls=(CTRL_A,), timeout=900):
    """Runs one fac-loadgen run; returns its JSON line (stderr goes to ours)."""
    cmd = [LOADGEN, mode, *[a for u in urls for a in ("--url", u)], *map(str, args)]
    env = dict(ENV, CONTROLLER_API_KEY=API_KEY)
    log("$ fac-loadgen " + " ".join(cmd[1:]))
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, timeout=timeout)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"fac-loadgen {mode} printed no result (exit {proc.returncode})")
    result = json.loads(lines[-1])
    result["exit"] = proc.returncode
    return result


def psql(sql):
    out = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", PG_PORT,
                          "-U", PG_USER, "-d", PG_DB, "-c", sql], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


def server_setting(name):
    return psql(f"SHOW {name}")


def prepare_pgbench_queue(clients, depth):
    """The pgbench workers ('pgb-<client id>') and a deep queue of `depth` builds, each row and log line shaped
    as `POST /api/builds/submit` writes them (random 21-character ids, 'Build submitted'). Leftovers of a previous
    level are removed first, so neither side ever claims the other's builds."""
    psql("DELETE FROM builds WHERE id LIKE 'pgb%' AND status = 'pending'")
    psql(f"""
        INSERT INTO workers (id, name, capabilities, registered_at, last_seen_at)
        SELECT 'pgb-' || g, 'pgbench-' || g, '{{"platforms":["ios","android"]}}', now(), now()
        FROM generate_series(0, {clients - 1}) g ON CONFLICT (id) DO NOTHING;
        WITH b AS (
          INSERT INTO builds (id, platform, access_token_digest, submitted_at, queued_at, source_size, source_sha256)
          SELECT 'pgb' || substr(md5(random()::text || g), 1, 18), 'android', sha256(('t' || g || random())::bytea),
                 now(), clock_timestamp(), 426, encode(sha256(('s' || g)::bytea), 'hex')
          FROM generate_series(1, {depth}) g RETURNING id)
        INSERT INTO build_logs (build_id, logged_at, level, message)
        SELECT id, clock_timestamp(), 'info', 'Build submitted' FROM b;
        ANALYZE builds; ANALYZE build_logs;
    """)


def run_pgbench(clients, seconds):
    depth = max(20000, clients * 50, int(seconds * 6000))
    prepare_pgbench_queue(clients, depth)
    cmd = [PGBENCH, "-n", "-M", PGBENCH_MODE, "-f", os.path.join(HERE, "claim.pgbench"), "-c", str(clients),
           "-j", str(min(clients, os.cpu_count() or 2)), "-T", str(seconds), "-h", "127.0.0.1", "-p", PG_PORT,
           "-U", PG_USER, PG_DB]
    log("$ " + " ".join(cmd[1:]))
    pg_cpu0 = postgres_cpu()
    client0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 180)
    wall = time.monotonic() - t0
    pg_cpu = postgres_cpu() - pg_cpu0
    client1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (client1.ru_utime + client1.ru_stime) - (client0.ru_utime + client0.ru_stime)
    text = proc.stdout + proc.stderr
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", text)
    lat = re.search(r"latency average = ([0-9.]+) ms", text)
    done = re.search(r"number of transactions actually processed: (\d+)", text)
    failed = re.search(r"number of failed transactions: (\d+)", text)
    if not tps:
        raise RuntimeError(f"pgbench gave no tps (exit {proc.returncode}):\n{text[-2000:]}")
    result = {"clients": clients, "tps": float(tps.group(1)), "latency_ms": float(lat.group(1)) if lat else None,
              "transactions": int(done.group(1)) if done else None, "failed": int(failed.group(1)) if failed else None,
              "aborted": "aborted" in text.lower() or proc.returncode != 0, "seconds": seconds, "wall": wall,
              "pg_cpu": pg_cpu, "client_cpu": client_cpu, "queue_depth": depth}
    # Every claimed pgbench build once: FOR UPDATE SKIP LOCKED held under pgbench too.
    result["double_claims"] = int(psql("SELECT count(*) FROM builds WHERE id LIKE 'pgb%' AND attempt > 1"))
    psql("DELETE FROM builds WHERE id LIKE 'pgb%' AND status = 'pending'")
    log(f"pgbench -c {clients}: {result['tps']:.0f} claims/s (claim + release), latency {result['latency_ms']} ms, "
        f"postgres CPU {pg_cpu:.1f} s")
    return result


def measured_loadgen(mode, args, urls=(CTRL_A,), pids=(CTRL_A_PID,)):
    """A fac-loadgen run with the controllers' and PostgreSQL's CPU seconds around it: for `assign`, around the
    claims alone (between its ready and done files: submissions and the check afterwards excluded)."""
    if mode != "assign":
        c0 = {pid: cpu_seconds([pid]) for pid in pids}
        p0 = postgres_cpu()
        t0 = time.monotonic()
        result = loadgen(mode, *args, urls=urls)
        result["wall"] = time.monotonic() - t0
        result["controller_cpu"] = {str(pid): cpu_seconds([pid]) - c0[pid] for pid in pids}
        result["pg_cpu"] = postgres_cpu() - p0
        return result
    ready, done = os.path.join(WORK, "assign.ready"), os.path.join(WORK, "assign.done")
    for path in (ready, done):
        if os.path.exists(path):
            os.unlink(path)
    cmd = [LOADGEN, mode, *[a for u in urls for a in ("--url", u)], *map(str, args), "--ready-file", ready,
           "--done-file", done]
    log("$ fac-loadgen " + " ".join(cmd[1:]))
    proc = subprocess.Popen(cmd, env=dict(ENV, CONTROLLER_API_KEY=API_KEY), stdout=subprocess.PIPE, text=True)
    figures = {}

    def watch():
        while not os.path.exists(ready) and proc.poll() is None:
            time.sleep(0.02)
        figures["c0"] = {pid: cpu_seconds([pid]) for pid in pids}
        figures["p0"], figures["t0"] = postgres_cpu(), time.monotonic()
        figures["g0"] = cpu_seconds([proc.pid])
        while not os.path.exists(done) and proc.poll() is None:
            time.sleep(0.02)
        figures["c1"] = {pid: cpu_seconds([pid]) for pid in pids}
        figures["p1"], figures["t1"] = postgres_cpu(), time.monotonic()
        figures["g1"] = cpu_seconds([proc.pid])

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, _ = proc.communicate(timeout=900)
    watcher.join(timeout=5)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if not lines or "c1" not in figures:
        raise RuntimeError(f"fac-loadgen {mode} printed no result (exit {proc.returncode})")
    result = json.loads(lines[-1])
    result["exit"] = proc.returncode
    result["wall"] = figures["t1"] - figures["t0"]
    result["controller_cpu"] = {str(pid): figures["c1"][pid] - figures["c0"][pid] for pid in pids}
    result["pg_cpu"] = figures["p1"] - figures["p0"]
    # The load generator shares the 2 cores with the controller and PostgreSQL (pgbench's client is light C).
    result["loadgen_cpu"] = figures["g1"] - figures["g0"]
    return result


def perf_profile(label, pid, run, limit=1.5):
    """`perf record` of a process while `run()` runs; the top of `perf report`, demangled."""
    if not PROFILE or not shutil.which("perf"):
        return None
    out = os.path.join(WORK, f"perf-{label}.data")
    rec = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(pid), "-o", out],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # perf needs a moment to attach
    try:
        run()
    finally:
        rec.send_signal(signal.SIGINT)
        try:
            rec.wait(timeout=60)
        except subprocess.TimeoutExpired:
            rec.kill()
            rec.wait()
    report = subprocess.run(["perf", "report", "-i", out, "--no-children", "--sort", "dso,symbol", "--stdio", "-g",
                             "none", "--percent-limit", str(limit)], capture_output=True, text=True).stdout
    lines = [l for l in report.splitlines() if l.strip() and not l.startswith("#")]
    text = "\n".join(lines[:25])
    swift = shutil.which("swift")
    if swift:
        dem = subprocess.run([swift, "demangle", "--simplified", "--compact"], input=text, capture_output=True, text=True)
        if dem.returncode == 0 and dem.stdout:
            text = dem.stdout
    dso = subprocess.run(["perf", "report", "-i", out, "--no-children", "--sort", "dso", "--stdio", "-g", "none",
                          "--percent-limit", "1"], capture_output=True, text=True).stdout
    dso_lines = [l for l in dso.splitlines() if l.strip() and not l.startswith("#")]
    return {"symbols": "\n".join(l[:160].rstrip() for l in text.splitlines()), "dso": "\n".join(dso_lines[:10])}


def load_results():
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            return json.load(f)
    return {}


def save_results(results):
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=1)


# --- the parts -----------------------------------------------------------------------------------------------------

def pgbench_clamp(level):
    """pgbench needs one connection per client beside the controllers' pools and the superuser reserve."""
    reserved = int(server_setting("superuser_reserved_connections") or 3)
    room = PG_MAX_CONNECTIONS - reserved - CONTROLLER_POOL - 5
    return min(level, room)


def part_assignment(results):
    rows = []
    for level in LEVELS:
        builds = max(ASSIGN_BUILDS, level * 6)
        log(f"assignment with {level} workers ({builds} builds)")
        ctrl = measured_loadgen("assign", ["--workers", level, "--builds", builds, "--max-seconds", 600])
        clients = pgbench_clamp(level)
        base = run_pgbench(clients, PGBENCH_SECONDS)
        rows.append({"workers": level, "controller": ctrl, "pgbench": base, "clamped": clients != level})
        results["assignment"] = rows
        save_results(results)
    part_paced(results)
    if PROFILE and shutil.which("perf"):
        level = 100 if 100 in LEVELS else LEVELS[0]
        log(f"perf record of the controller: assignment with {level} workers (the claims only)")
        ready = os.path.join(WORK, "profile.ready")
        # The deep queue is submitted first; perf attaches at the ready file, during the start delay.
        proc = subprocess.Popen([LOADGEN, "assign", "--url", CTRL_A, "--workers", str(level), "--builds",
                                 str(ASSIGN_BUILDS), "--no-verify", "--ready-file", ready, "--start-delay-ms", "1000"],
                                env=dict(ENV, CONTROLLER_API_KEY=API_KEY), stdout=subprocess.DEVNULL)

        def claims():
            proc.wait(timeout=900)

        while not os.path.exists(ready) and proc.poll() is None:
            time.sleep(0.05)
        profile = perf_profile("assign", CTRL_A_PID, claims)
        results["assignment_profile"] = {"workers": level, **(profile or {})}
        save_results(results)


def part_paced(results):
    """Latency at a stated load: `fac-loadgen assign --rate`, an open-loop timetable at fractions of the closed-loop
    maximum just measured with the same number of workers (latency counted from each slot's due time)."""
    closed = next((r["controller"] for r in results.get("assignment", []) if r["workers"] == PACED_WORKERS), None)
    if not closed or not PACED_FRACTIONS:
        log(f"paced runs skipped: no closed-loop run with {PACED_WORKERS} workers to take the rate from")
        return
    rows = []
    for fraction in PACED_FRACTIONS:
        rate = round(closed["claimsPerSecond"] * fraction, 1)
        builds = max(PACED_WORKERS * 2, int(rate * PACED_SECONDS))
        log(f"paced: {PACED_WORKERS} workers, {rate} claims/s offered ({fraction * 100:.0f} % of "
            f"{closed['claimsPerSecond']:.0f}), {builds} builds")
        run = measured_loadgen("assign", ["--workers", PACED_WORKERS, "--builds", builds, "--rate", rate,
                                          "--max-seconds", 600])
        rows.append({"workers": PACED_WORKERS, "fraction": fraction, "closed_rate": closed["claimsPerSecond"],
                     "run": run})
        results["paced"] = rows
        save_results(results)


def part_e2e(results):
    log(f"end to end: {E2E_BUILDS} builds through {E2E_WORKERS} workers")
    results["e2e"] = measured_loadgen("e2e", ["--workers", E2E_WORKERS, "--builds", E2E_BUILDS, "--max-seconds", 600])
    save_results(results)


def part_idle(results):
    """Against a freshly started controller (run.sh's second one, before the scaling part): what 1,000 long-polls
    cost, not what the earlier parts left in the allocator."""
    url, pid = ENV["BENCH_CONTROLLER_B_URL"], int(ENV["BENCH_CONTROLLER_B_PID"])
    port = url.rsplit(":", 1)[1]
    idle_rss = rss(pid)
    ready = os.path.join(WORK, "idle.ready")
    if os.path.exists(ready):
        os.unlink(ready)
    cmd = [LOADGEN, "idle", "--url", url, "--workers", str(IDLE_WORKERS), "--seconds", str(IDLE_SECONDS + 8),
           "--ready-file", ready, "--max-seconds", str(IDLE_SECONDS + 120)]
    log("$ fac-loadgen " + " ".join(cmd[1:]))
    proc = subprocess.Popen(cmd, env=dict(ENV, CONTROLLER_API_KEY=API_KEY), stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(ready) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    sampler = Sampler(pid, port=port)
    c0, p0, t0 = cpu_seconds([pid]), postgres_cpu(), time.monotonic()
    sampler.start()
    time.sleep(IDLE_SECONDS)
    sampler.stop()
    elapsed = time.monotonic() - t0
    cpu, pg_cpu = cpu_seconds([pid]) - c0, postgres_cpu() - p0
    out, _ = proc.communicate(timeout=IDLE_SECONDS + 130)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    run = json.loads(lines[-1]) if lines else {}
    results["idle"] = {
        "workers": IDLE_WORKERS, "seconds": elapsed, "idle_rss": idle_rss, "peak_rss": sampler.peak,
        "mean_rss": sampler.mean, "connections": sampler.max_conns, "cpu": cpu, "pg_cpu": pg_cpu,
        "cpu_percent": cpu / elapsed * 100, "pg_cpu_percent": pg_cpu / elapsed * 100, "run": run,
        "exit": proc.returncode,
    }
    log(f"idle: {sampler.max_conns} connections, RSS {idle_rss / MIB:.1f} → peak {sampler.peak / MIB:.1f} MiB, "
        f"controller CPU {cpu / elapsed * 100:.1f} %, postgres {pg_cpu / elapsed * 100:.1f} %")
    save_results(results)


def part_scaling(results):
    url_b = ENV["BENCH_CONTROLLER_B_URL"]
    pid_b = int(ENV["BENCH_CONTROLLER_B_PID"])
    builds = max(ASSIGN_BUILDS, SCALING_WORKERS * 6)
    log(f"scaling: {SCALING_WORKERS} workers over two controllers ({builds} builds)")
    two = measured_loadgen("assign", ["--workers", SCALING_WORKERS, "--builds", builds, "--max-seconds", 600],
                           urls=(CTRL_A, url_b), pids=(CTRL_A_PID, pid_b))
    # The same run against one controller, right after, for the comparison (same table sizes, same load).
    one = measured_loadgen("assign", ["--workers", SCALING_WORKERS, "--builds", builds, "--max-seconds", 600])
    results["scaling"] = {"workers": SCALING_WORKERS, "two": two, "one": one}
    save_results(results)


# --- the doc -------------------------------------------------------------------------------------------------------

def verdict_ok(v):
    return v.get("checked", 0) > 0 and not any(v.get(k) for k in ("wrongStatus", "moreThanOneAttempt",
                                                                   "assignmentLinesNotOne", "errors"))


def fmt_ms(value):
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def yes_no(ok):
    return "yes" if ok else "**no**"


def summary_rows(results, streaming):
    """(measure, figure, baseline, ratio, goal, met) for the table at the top."""
    rows = []
    for row in results.get("assignment", []):
        c, b = row["controller"], row["pgbench"]
        ratio = c["claimsPerSecond"] / b["tps"] if b["tps"] else 0
        clamp = f" (pgbench clamped to {b['clients']} clients)" if row["clamped"] else ""
        rows.append((f"1. assignment, {row['workers']} workers: claims/s", f"{c['claimsPerSecond']:.0f}",
                     f"{b['tps']:.0f} (pgbench{clamp})", f"{ratio * 100:.0f} %", "≥ 50 % of pgbench",
                     yes_no(ratio >= GOAL_ASSIGN_RATIO)))
        if row["workers"] == 100:
            p99 = c["latencyMs"]["p99"]
            rows.append(("1. assignment, 100 workers, closed loop (100 polls always in flight): p99 latency",
                         f"{fmt_ms(p99)} ms", "–", "–", "(queueing at saturation; the goal is read paced, below)",
                         "–"))
    for row in results.get("paced", []):
        r = row["run"]
        if row["workers"] != 100 or abs(row["fraction"] - GOAL_PACED_FRACTION) > 1e-9:
            continue
        p99 = r["latencyMs"]["p99"]
        ok = p99 < GOAL_P99_MS and r["errors"] == 0 and r["claims"] == r["builds"]
        rows.append((f"1. assignment, 100 workers, paced at {r['rate']:.0f} claims/s offered "
                     f"({row['fraction'] * 100:.0f} % of the closed-loop rate): p99 latency",
                     f"{fmt_ms(p99)} ms", "–", "–", "< 10 ms", yes_no(ok)))
    e2e = results.get("e2e")
    if e2e:
        ok = e2e.get("ok") and verdict_ok(e2e["verdict"])
        rows.append((f"2. end to end, {e2e['builds']} builds, {e2e['workers']} workers: builds/min",
                     f"{e2e['buildsPerMinute']:.0f}", "–", "–", "every build completed exactly once",
                     yes_no(ok) + ("" if ok else " (see below)")))
    for r in streaming or []:
        met = r["met_speed"] and r["met_rss"]
        rows.append((f"3. streaming, 1 GiB {r['op']}: MB/s", f"{r['controller']:.0f}", f"{r['nginx']:.0f} (nginx)",
                     f"{r['ratio'] * 100:.0f} %", "≥ 70 % of nginx", yes_no(r["met_speed"])))
        rows.append((f"3. streaming, 1 GiB {r['op']}: peak RSS over idle", f"{r['rss_over']:.1f} MiB", "–", "–",
                     "< 64 MiB", yes_no(r["met_rss"])))
        del met
    idle = results.get("idle")
    if idle:
        peak = idle["peak_rss"] / MIB
        rows.append((f"4. idle, {idle['workers']} long-polls: server RSS", f"{peak:.1f} MiB",
                     f"{idle['idle_rss'] / MIB:.1f} MiB before", "–", "< 100 MiB", yes_no(peak < GOAL_IDLE_MIB)))
        rows.append((f"4. idle, {idle['workers']} long-polls: server CPU", f"{idle['cpu_percent']:.1f} % of a core",
                     "–", "–", "(reported)", "–"))
    sc = results.get("scaling")
    if sc:
        two, one = sc["two"], sc["one"]
        clean = two["duplicated"] == 0 and (two.get("verdict") or {}).get("moreThanOneAttempt", 1) == 0 \
            and two["missing"] == 0
        rows.append((f"5. scaling, {sc['workers']} workers on 2 controllers: claims/s",
                     f"{two['claimsPerSecond']:.0f}", f"{one['claimsPerSecond']:.0f} (1 controller)",
                     f"{two['claimsPerSecond'] / one['claimsPerSecond'] * 100:.0f} %" if one["claimsPerSecond"] else "–",
                     "no double assignment", yes_no(clean)))
    return rows


def section(results, streaming_doc):
    o = []
    started = results.get("started", "")
    o.append(f"Run of {started} UTC, {results.get('elapsed', 0) / 60:.1f} minutes in all (`benchmarks/run.sh`). "
             "Everything on this machine, on 127.0.0.1, in the same run: the controller (release build), its own "
             "PostgreSQL cluster (durability off, as for tests), the load generator `fac-loadgen`, pgbench and "
             "nginx share the same 2 cores.")
    o.append("")
    o.append("### Summary")
    o.append("")
    o.append("| measure | figure | baseline | ratio | goal | met? |")
    o.append("|---|---:|---:|---:|---|---|")
    for r in summary_rows(results, (streaming_doc or {}).get("rows")):
        o.append("| " + " | ".join(r) + " |")
    o.append("")
    o.append("### Machine")
    o.append("")
    o.append("| | |")
    o.append("|---|---|")
    for k, v in (streaming_doc or {}).get("machine", []):
        o.append(f"| {k} | {v} |")
    for k, v in results.get("facts", []):
        o.append(f"| {k} | {v} |")
    o.append("")
    assignment = results.get("assignment", [])
    if assignment:
        o.append("### 1. Assignment (`fac-loadgen assign` against `pgbench -f benchmarks/claim.pgbench`)")
        o.append("")
        o.append("Deep queue of tiny builds submitted first; each worker polls (`?wait=1`), and releases each build at "
                 "once with `POST /api/workers/fail`; claims/s = claims ÷ (first poll → last claim). pgbench runs "
                 "the same SQL per claim (the claim transaction and the release transaction, "
                 f"`-M {PGBENCH_MODE}`, {PGBENCH_SECONDS} s) with one client per worker on a deep queue of the same rows. "
                 "Latency = poll sent → job received, HdrHistogram. This is a *closed-loop* run: each worker "
                 "polls again as soon as it has released its build, so there are always as many requests in flight "
                 "as workers and the controller runs flat out; the claims/s are its maximum, and by Little's law "
                 "the latency ≈ workers ÷ claims/s is mostly time spent queued behind the other workers' requests "
                 "(see the paced runs below for the latency at a given load).")
        o.append("")
        o.append("| workers | builds | claims/s | p50 ms | p90 ms | p99 ms | max ms | pgbench clients | pgbench claims/s "
                 "| pgbench mean latency ms | ratio | controller CPU ms / claim | postgres CPU ms / claim "
                 "(controller run / pgbench) | client CPU ms / claim (fac-loadgen / pgbench) | duplicates |")
        o.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in assignment:
            c, b = row["controller"], row["pgbench"]
            lat = c["latencyMs"]
            claims = max(c["claims"], 1)
            ccpu = sum(c["controller_cpu"].values()) / claims * 1000
            pcpu = c["pg_cpu"] / claims * 1000
            bclaims = max(b["transactions"] or 1, 1)
            bcpu = b["pg_cpu"] / bclaims * 1000
            gcpu = f"{c['loadgen_cpu'] / claims * 1000:.2f}" if "loadgen_cpu" in c else "–"
            bgcpu = f"{b['client_cpu'] / bclaims * 1000:.2f}" if "client_cpu" in b else "–"
            dup = c["duplicated"] + (c.get("verdict") or {}).get("moreThanOneAttempt", 0) + b["double_claims"]
            o.append(f"| {row['workers']} | {c['builds']} | {c['claimsPerSecond']:.0f} | {fmt_ms(lat['p50'])} | "
                     f"{fmt_ms(lat['p90'])} | {fmt_ms(lat['p99'])} | {fmt_ms(lat['max'])} | {b['clients']} | "
                     f"{b['tps']:.0f} | {b['latency_ms']:.1f} | {c['claimsPerSecond'] / b['tps'] * 100:.0f} % | "
                     f"{ccpu:.2f} | {pcpu:.2f} / {bcpu:.2f} | {gcpu} / {bgcpu} | {dup} |")
        o.append("")
        clamped = [r for r in assignment if r["clamped"]]
        if clamped:
            o.append(f"pgbench was clamped to what `max_connections` ({PG_MAX_CONNECTIONS}) leaves beside the "
                     "controller's pool: " + ", ".join(f"{r['workers']} → {r['pgbench']['clients']}" for r in clamped) + ".")
        else:
            o.append(f"pgbench ran at every concurrency unclamped (`max_connections` = {PG_MAX_CONNECTIONS} in the "
                     "benchmark's own cluster).")
        o.append("")
    paced = results.get("paced", [])
    if paced:
        o.append("#### Latency at a given load: paced (open-loop) runs (`fac-loadgen assign --rate`)")
        o.append("")
        o.append(f"The same cycle (poll, then release at once) with {paced[0]['workers']} workers, but on a timetable "
                 "fixed before the run: one slot per build, 1/rate apart, dealt round-robin to the workers (each "
                 "worker polls every workers ÷ rate seconds), at fractions of the closed-loop claims/s measured just "
                 "before with as many workers. A slot is sent when due, or at once if its worker is still busy with "
                 "the previous one. **Latency = slot due → job received**, so a slow answer is charged for the "
                 "slots it delays (no coordinated omission); *sent → job* is the controller's part alone and "
                 "*due → sent* the generator's lag behind its timetable. Achieved = claims ÷ (first slot → last "
                 "claim).")
        o.append("")
        o.append("| workers | offered claims/s (of closed loop) | achieved claims/s | claims | p50 ms | p90 ms | p99 ms "
                 "| max ms | sent → job p50 / p99 ms | due → sent p99 ms | controller CPU ms / claim "
                 "| postgres CPU ms / claim | errors | duplicates |")
        o.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in paced:
            r = row["run"]
            lat, svc, lag = r["latencyMs"], r.get("serviceMs") or {}, r.get("sendLagMs") or {}
            claims = max(r["claims"], 1)
            ccpu = sum(r["controller_cpu"].values()) / claims * 1000
            pcpu = r["pg_cpu"] / claims * 1000
            dup = r["duplicated"] + (r.get("verdict") or {}).get("moreThanOneAttempt", 0)
            o.append(f"| {row['workers']} | {r['rate']:.0f} ({row['fraction'] * 100:.0f} % of "
                     f"{row['closed_rate']:.0f}) | {r['claimsPerSecond']:.0f} | {r['claims']} | {fmt_ms(lat['p50'])} | "
                     f"{fmt_ms(lat['p90'])} | {fmt_ms(lat['p99'])} | {fmt_ms(lat['max'])} | "
                     f"{fmt_ms(svc.get('p50', 0))} / {fmt_ms(svc.get('p99', 0))} | {fmt_ms(lag.get('p99', 0))} | "
                     f"{ccpu:.2f} | {pcpu:.2f} | {r['errors']} | {dup} |")
        o.append("")
    prof = results.get("assignment_profile")
    if prof and prof.get("symbols"):
        o.append(f"Profile of the controller during the claims of an assignment run with {prof['workers']} workers "
                 "(`perf record -F 499 -g`, flat; by binary, then symbols ≥ 1.5 %):")
        o.append("")
        o.append("```")
        o.append(prof.get("dso", ""))
        o.append("```")
        o.append("")
        o.append("```")
        o.append(prof["symbols"])
        o.append("```")
        o.append("")
    e2e = results.get("e2e")
    if e2e:
        v = e2e["verdict"]
        o.append("### 2. End to end (`fac-loadgen e2e`)")
        o.append("")
        o.append("Each build: poll → `GET source_url` (bytes compared) → `POST /heartbeat` (progress 50) → `POST /logs` → "
                 "`POST /api/workers/upload` (a 135-byte result). Afterwards every build is read back through "
                 "`GET /api/builds/:id` and `GET /api/builds/:id/logs`.")
        o.append("")
        o.append("| workers | builds | completed | seconds | builds/min | poll → job p50 / p99 ms | never assigned "
                 "| assigned twice (client) | not `completed` (API) | attempt > 1 (API) | \"Build assigned\" lines ≠ 1 (API) "
                 "| errors |")
        o.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        o.append(f"| {e2e['workers']} | {e2e['builds']} | {e2e['completed']} | {e2e['seconds']:.1f} | "
                 f"{e2e['buildsPerMinute']:.0f} | {fmt_ms(e2e['latencyMs']['p50'])} / {fmt_ms(e2e['latencyMs']['p99'])} | "
                 f"{e2e['missing']} | {e2e['duplicated']} | {v['wrongStatus']} | {v['moreThanOneAttempt']} | "
                 f"{v['assignmentLinesNotOne']} | {e2e['errors']} |")
        o.append("")
        o.append(f"Controller CPU {sum(e2e['controller_cpu'].values()):.1f} s, PostgreSQL CPU {e2e['pg_cpu']:.1f} s "
                 f"over the run ({e2e['wall']:.0f} s wall, submissions and the check included).")
        o.append("")
    if streaming_doc and streaming_doc.get("section"):
        o.append("### 3. Streaming: the controller against nginx")
        o.append("")
        o.append(streaming_doc["section"])
        o.append("")
    idle = results.get("idle")
    if idle:
        o.append("### 4. Idle cost (`fac-loadgen idle`)")
        o.append("")
        o.append(f"{idle['workers']} registered workers each holding `GET /api/workers/poll?wait=…` on an empty queue, "
                 "against a freshly started controller process (the second one, before part 5); measured over "
                 f"{idle['seconds']:.0f} s once all had sent their poll (RSS every 100 ms, connections from "
                 "/proc/net/tcp). Held long-polls wake on NOTIFY, and once per `longPollRecheck` (5 s) one shared "
                 "`EXISTS (pending build)` per process re-checks the queue for all of them: that is the CPU below.")
        o.append("")
        o.append("| workers | connections open | RSS before | RSS peak / mean | controller CPU | postgres CPU | polls answered "
                 "| errors |")
        o.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
        run = idle.get("run", {})
        o.append(f"| {idle['workers']} | {idle['connections']} | {idle['idle_rss'] / MIB:.1f} MiB | "
                 f"{idle['peak_rss'] / MIB:.1f} / {idle['mean_rss'] / MIB:.1f} MiB | {idle['cpu_percent']:.1f} % "
                 f"({idle['cpu']:.1f} s) | {idle['pg_cpu_percent']:.1f} % | {run.get('polls', '?')} | "
                 f"{run.get('errors', '?')} |")
        o.append("")
    sc = results.get("scaling")
    if sc:
        two, one = sc["two"], sc["one"]
        o.append("### 5. Scaling: two controller processes on one database")
        o.append("")
        o.append("The same assignment run, workers spread round-robin over two controllers (two ports, one "
                 "database), then over one controller right after.")
        o.append("")
        o.append("| controllers | workers | claims | claims/s | p50 / p99 ms | assigned twice (client) | attempt > 1 (API) "
                 "| never assigned | controller CPU s |")
        o.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, r in ((2, two), (1, one)):
            v = r.get("verdict") or {}
            cpu = " + ".join(f"{x:.1f}" for x in r["controller_cpu"].values())
            o.append(f"| {n} | {r['workers']} | {r['claims']} | {r['claimsPerSecond']:.0f} | "
                     f"{fmt_ms(r['latencyMs']['p50'])} / {fmt_ms(r['latencyMs']['p99'])} | {r['duplicated']} | "
                     f"{v.get('moreThanOneAttempt', '?')} | {r['missing']} | {cpu} |")
        o.append("")
    return "\n".join(o)


BEGIN = "<!-- benchmarks/run.sh: begin (generated, do not edit by hand) -->"
END = "<!-- benchmarks/run.sh: end -->"


def split_generated(text):
    """The generated section as (intro lines, {heading: lines}, heading order); the heading is the `### ` line."""
    intro, blocks, order, current = [], {}, [], None
    for line in text.splitlines():
        if line.startswith("### "):
            current = line
            blocks[current] = []
            order.append(current)
        elif current is None:
            intro.append(line)
        else:
            blocks[current].append(line)
    return intro, blocks, order


def part_of(heading_or_row):
    """'1' for '### 1. Assignment …' or '| 1. assignment, … |'; None otherwise."""
    m = re.match(r"^(?:### |\| (?:\*\(earlier run\)\* )?)(\d)\. ", heading_or_row)
    return m.group(1) if m else None


def merge_generated(old, new):
    """`new`, with the parts it did not measure (a run with BENCH_PARTS) carried over from `old`, each marked as
    coming from the earlier run, so a partial run never wipes the other parts' figures from the doc."""
    old_intro, old_blocks, old_order = split_generated(old)
    new_intro, new_blocks, new_order = split_generated(new)
    measured = {part_of(h) for h in new_order if part_of(h)}
    carried = [h for h in old_order if part_of(h) and part_of(h) not in measured]
    if not carried:
        return new
    old_run = next((l for l in old_intro if l.startswith("Run of ")), "").split(",")[0].replace("Run of ", "")
    out = list(new_intro)
    if out and out[-1] == "":
        out.pop()
    def origin_of(h):
        """When a carried block was measured: its own note, else its own "Run of …" line (the streaming part
        writes one), else the old run's."""
        for line in old_blocks[h]:
            m = re.search(r"those of the run of ([^*]*?)\.\*", line)
            if m and m.group(1).strip() not in ("", "UTC"):
                return m.group(1).strip()
        for line in old_blocks[h]:
            m = re.match(r"^Run of (\d{4}-\d\d-\d\d \d\d:\d\d UTC)", line)
            if m:
                return m.group(1)
        return old_run

    origins = []
    for h in carried:
        origin = origin_of(h)
        if origin not in origins:
            origins.append(origin)
    out += ["", f"This run measured part(s) {', '.join(sorted(measured))} only; part(s) "
            f"{', '.join(sorted(part_of(h) for h in carried))} are carried over from the run(s) of "
            f"{' and '.join(origins) if len(origins) < 3 else ', '.join(origins[:-1]) + ' and ' + origins[-1]} "
            "(marked *earlier run*).", ""]
    headings = sorted(set(new_order) | set(carried),
                      key=lambda h: (0, "") if h == "### Summary" else (1, "") if h == "### Machine"
                      else (2, part_of(h) or "9"))
    for h in headings:
        if out and out[-1] != "":
            out.append("")
        out.append(h)
        if h == "### Summary":
            rows = [l for l in new_blocks[h] if l.startswith("| ") and part_of(l)]
            rows += [l.replace("| ", "| *(earlier run)* ", 1) if "(earlier run)" not in l else l
                     for l in old_blocks.get(h, []) if l.startswith("| ") and part_of(l) and part_of(l) not in measured]
            rows.sort(key=lambda l: part_of(l) or "9")
            head = [l for l in new_blocks[h] if not (l.startswith("| ") and part_of(l))]
            table_end = max(i for i, l in enumerate(head) if l.startswith("|"))
            out += head[:table_end + 1] + rows + head[table_end + 1:]
        elif h == "### Machine":
            new_rows = [l for l in new_blocks[h] if l.startswith("| ") and l.count("|") == 3 and l != "| | |"]
            keys = {l.split("|")[1].strip() for l in new_rows}
            old_rows = [l for l in old_blocks.get(h, []) if l.startswith("| ") and l.count("|") == 3
                        and l != "| | |" and l.split("|")[1].strip() not in keys]
            # A carried-over load average is the earlier run's, not this one's.
            old_rows = [l.replace(" |", f" ({old_run}) |", 1) if "load average" in l and "UTC)" not in l else l
                        for l in old_rows]
            out += ["", "| | |", "|---|---|"] + old_rows + new_rows + [""]
        elif h in carried:
            lines = [l for l in old_blocks[h] if not l.startswith("*Not measured in this run")]
            while lines and lines[0] == "":
                lines.pop(0)
            note = f"*Not measured in this run: the figures below are those of the run of {origin_of(h)}.*"
            out += ["", note, ""] + lines
        else:
            out += new_blocks[h]
    return "\n".join(out).rstrip("\n") + "\n"


def write_doc(text):
    with open(DOC) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        raise RuntimeError(f"{DOC} lacks the generated-section markers")
    head, rest = doc.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    text = merge_generated(old.strip("\n"), text)
    with open(DOC, "w") as f:
        f.write(head + BEGIN + "\n" + text.rstrip("\n") + "\n" + END + tail)
    log(f"wrote {DOC}")


def main():
    phase = sys.argv[1] if len(sys.argv) > 1 else "single"
    results = load_results()
    if phase == "single":
        results["started"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        results["facts"] = [
            ("PostgreSQL", psql("SELECT version()").split(" on ")[0]),
            ("PostgreSQL settings", f"max_connections {PG_MAX_CONNECTIONS}, fsync {server_setting('fsync')}, "
                                    f"synchronous_commit {server_setting('synchronous_commit')}, shared_buffers "
                                    f"{server_setting('shared_buffers')}"),
            ("controller database pool", f"{CONTROLLER_POOL} connections per process"),
            ("load average when the assignment part began", " ".join(f"{x:.2f}" for x in os.getloadavg())),
            ("pgbench", subprocess.run([PGBENCH, "--version"], capture_output=True, text=True).stdout.strip()),
        ]
        parts = ENV.get("BENCH_LOAD_PARTS", "assign,e2e").split(",")
        if "assign" in parts:
            part_assignment(results)
        if "e2e" in parts:
            part_e2e(results)
    elif phase == "idle":
        part_idle(results)
    elif phase == "scaling":
        part_scaling(results)
    elif phase == "report":
        streaming = None
        path = os.path.join(WORK, "streaming.json")
        if os.path.exists(path):
            with open(path) as f:
                streaming = json.load(f)
        results["elapsed"] = float(ENV.get("BENCH_ELAPSED", "0"))
        text = section(results, streaming)
        print("\n" + text)
        if DOC:
            write_doc(text)
    else:
        raise SystemExit(f"unknown phase {phase}")


if __name__ == "__main__":
    main()
