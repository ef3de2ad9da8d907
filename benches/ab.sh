#!/usr/bin/env bash
# Two phscan binaries on the same command, in interleaved rounds: is B slower than A?
#
# Usage: benches/ab.sh BIN_A BIN_B ARG...
#   runs `BIN ARG...` (standard output discarded) for A then B in each round.
# Env: RUNS (default 7), WARMUP (default 1).
#
# For a before/after comparison of a change: build the commit before it into BIN_A
# (for example `git worktree add /tmp/before REV && cargo build --release` there) and
# the change into BIN_B. Prints each binary's median wall time and the median over
# rounds of A's time over B's (above 1: B is faster). Both must exit alike.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,12p' "$0"; exit 2; }
A=$1; B=$2; shift 2
RUNS=${RUNS:-7}; WARMUP=${WARMUP:-1}
python3 - "$A" "$B" "$RUNS" "$WARMUP" "$@" <<'PY'
import statistics, subprocess, sys, time
a, b, runs, warmup, args = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
def run(binary):
    t = time.perf_counter()
    r = subprocess.run([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t, r.returncode
for _ in range(warmup):
    ca, cb = run(a)[1], run(b)[1]
    if ca != cb:
        sys.exit(f"ab.sh: exit codes differ: A {ca}, B {cb}")
ta, tb, ratios = [], [], []
for _ in range(runs):
    x, _ = run(a); y, _ = run(b)
    ta.append(x); tb.append(y); ratios.append(x / y)
print(f"A {a}: median {statistics.median(ta):.3f} s")
print(f"B {b}: median {statistics.median(tb):.3f} s")
print(f"A/B median over {runs} rounds: {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
PY
