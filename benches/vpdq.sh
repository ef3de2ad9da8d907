#!/usr/bin/env bash
# vPDQ throughput: phscan against Meta's vpdq (../shared/reference/vpdq_ref.py) on the
# same synthetic videos, in interleaved rounds, with the same FFmpeg libraries.
#
# Usage: benches/vpdq.sh PEERS_DIR [PHSCAN]
#   PEERS_DIR: where ../shared/reference/setup.sh installed the peers (WITH_MEDIA=1).
#   PHSCAN: the binary (default target/release/phscan).
# Env: N (videos, default 4), SECONDS_LONG (each video's length, default 60),
#      SIZE (default 640x360), FPS (default 30), RUNS (default 3), THREADS (phscan -j,
#      default 2).
# The videos (H.264, FFmpeg's testsrc2 pattern) are made in a temporary directory
# under target/ and removed at the end. Both tools must give the same vPDQ strings;
# the script checks that, then prints each tool's median wall time, videos and frames
# a second, CPU time (user + system, children), and the ratio. On a machine shared with
# other work the wall times say little; the CPU times less affected.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,15p' "$0"; exit 2; }
peers=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${2:-$root/target/release/phscan}
N=${N:-4}; LEN=${SECONDS_LONG:-60}; SIZE=${SIZE:-640x360}; FPS=${FPS:-30}
RUNS=${RUNS:-3}; THREADS=${THREADS:-2}
mkdir -p "$root/target/tmp"
dir=$(mktemp -d "$root/target/tmp/vpdq-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
for k in $(seq 1 "$N"); do
  ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi \
    -i "testsrc2=size=$SIZE:rate=$FPS" -vf "hue=h=$((k * 40))" -t "$LEN" \
    -c:v libx264 -preset veryfast -crf 28 -pix_fmt yuv420p "$dir/v$k.mp4"
done
python3 - "$bin" "$peers/venv/bin/python" "$root/../shared/reference/vpdq_ref.py" "$dir" \
  "$RUNS" "$THREADS" "$N" "$LEN" "$FPS" <<'PY'
import json, os, resource, statistics, subprocess, sys, time
phscan, py, ref, d, runs, threads, n, length, fps = sys.argv[1:]
runs, n = int(runs), int(n)
vids = sorted(os.path.join(d, f) for f in os.listdir(d))
def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
cpus = {"phscan": [], "ref": []}
def run_phscan():
    t, c = time.perf_counter(), cpu()
    out = subprocess.run([phscan, "hash", "--algorithms", "vpdq", "-j", threads, *vids],
                         capture_output=True, check=True, text=True).stdout
    dt = time.perf_counter() - t
    cpus["phscan"].append(cpu() - c)
    recs = [json.loads(l) for l in out.splitlines()]
    return dt, {os.path.basename(r["path"]): r["hashes"]["vpdq"] for r in recs if r["type"] == "hash"}
def run_ref():
    t, c = time.perf_counter(), cpu()
    out = subprocess.run([py, ref, *vids], capture_output=True, check=True, text=True).stdout
    dt = time.perf_counter() - t
    cpus["ref"].append(cpu() - c)
    return dt, {os.path.basename(l.split("\t")[0]): l.split("\t")[1] for l in out.splitlines()}
a, b = run_phscan()[1], run_ref()[1]
if a != b:
    sys.exit(f"vPDQ strings differ: {set(x for x in a if a[x] != b.get(x))}")
tp, tr = [], []
for _ in range(runs):
    tp.append(run_phscan()[0]); tr.append(run_ref()[0])
frames = n * int(float(length) * float(fps))
for name, ts, cs in (("phscan -j " + threads, tp, cpus["phscan"]), ("vpdq_ref.py", tr, cpus["ref"])):
    m, c = statistics.median(ts), statistics.median(cs)
    print(f"{name:14s} median {m:7.2f} s  {n / m:6.2f} videos/s  {frames / m:8.0f} frames/s"
          f"  CPU {c:7.2f} s ({c / n:.2f} s a video)")
print(f"identical vPDQ on {n} videos; phscan throughput / vpdq's: {statistics.median(tr) / statistics.median(tp):.2f}")
PY
