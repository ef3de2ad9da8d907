"""Runs a command and prints its wall time and the user + system CPU time of its whole
process tree, by sampling /proc every 0.1 s.

    python3 benches/tree_cpu.py LABEL CMD [ARGS...]

rusage (/usr/bin/time) counts only the descendants that were waited for; Spark's
executors and their Python workers are not reaped through spark-submit, so their CPU
would be missed. Each process is counted by its last sample (its counters only grow):
what a process does in its last 0.1 s, and processes shorter than that, are missed.
Linux only. Exits with the command's exit code.
"""

import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def snapshot():
    """pid -> (ppid, start time, utime + stime in ticks) of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the command name, which may hold spaces and parentheses.
        rest = stat[stat.rindex(b")") + 2 :].split()
        out[int(name)] = (int(rest[1]), int(rest[19]), int(rest[11]) + int(rest[12]))
    return out


def main():
    label, cmd = sys.argv[1], sys.argv[2:]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd)
    # pid -> start time: a pid that ends and is reused is another process.
    tree = {}
    last = {}
    while True:
        snap = snapshot()
        if proc.pid in snap:
            tree.setdefault(proc.pid, snap[proc.pid][1])

        def member(pid):
            return pid in tree and pid in snap and snap[pid][1] == tree[pid]

        grew = True
        while grew:
            grew = False
            for pid, (ppid, start, _) in snap.items():
                if member(ppid) and not member(pid):
                    tree[pid] = start
                    grew = True
        for pid in list(tree):
            if member(pid):
                last[(pid, tree[pid])] = snap[pid][2]
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    wall = time.monotonic() - t0
    cpu = sum(last.values()) / TICK
    print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU (user + system, {len(last)} processes)")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
