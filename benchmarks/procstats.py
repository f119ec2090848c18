"""Reading a process's children, CPU time and memory from /proc: shared by bench.py (streaming), load.py (the rest)
and s3bench.py (the S3 driver)."""
import os

CLK = os.sysconf("SC_CLK_TCK")


def children(pid):
    """The pids of `pid`'s live children (every thread's); none when the process is gone."""
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    out += [int(x) for x in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def cpu_seconds(pids):
    """User + system CPU seconds of `pids` (fields 14 and 15 of /proc/<pid>/stat); a vanished pid counts 0."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLK


def rss(pid):
    """The resident set size of `pid` in bytes (VmRSS); 0 when /proc does not say."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
