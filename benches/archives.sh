#!/usr/bin/env bash
# Archives against the folder they were made from, in one run.
#
# Usage: benches/archives.sh CORPUS_DIR [SUBDIR]
#   CORPUS_DIR  made by ../shared/corpus/build.sh (photos/ and misc/ inside)
#   SUBDIR      the folder to pack and scan (default: photos)
# Env: RUNS (default 5), WARMUP (default 1), THREADS (default 2), WORK (default
#   target/archives-bench: where the archives are made; removed at the end unless
#   KEEP=1), SET (default hashsets/fixtures.pdq.csv: a PDQ list, so no digests).
#
# It packs the folder as a stored ZIP (`zip -0`), a deflated ZIP (`zip -6`), a TAR,
# a .tar.gz (`gzip -6`) and a .tar.zst, then times `phscan scan` of the folder and of
# each archive on THREADS threads and on one (warm cache: WARMUP rounds first), in
# interleaved rounds, and prints per input the median time, images/s and the median
# over rounds of its speed relative to the folder's in the same round, and phscan's
# peak RSS (/usr/bin/time -v). The archives
# hold the corpus's images: they are made under WORK (inside target/, ignored by git)
# and removed after. Every scan must find the same number of images as the folder.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,16p' "$0"; exit 2; }
CORPUS=$(cd "$1" && pwd); SUB=${2:-photos}
RUNS=${RUNS:-5}; WARMUP=${WARMUP:-1}; THREADS=${THREADS:-2}
cd "$(dirname "$0")/.."
WORK=${WORK:-target/archives-bench}; SET=${SET:-hashsets/fixtures.pdq.csv}
need=(); for t in zip zstd; do command -v "$t" >/dev/null || need+=("$t"); done
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    apt-get install -y -qq "${need[@]}" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
cargo build --release -q
PH=$PWD/target/release/phscan
rm -rf "$WORK"; mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

( cd "$CORPUS" && zip -q -0 -r "$WORK/$SUB-stored.zip" "$SUB" && zip -q -6 -r "$WORK/$SUB-deflated.zip" "$SUB" \
  && tar cf "$WORK/$SUB.tar" "$SUB" )
gzip -6 -c "$WORK/$SUB.tar" > "$WORK/$SUB.tar.gz"
zstd -q -3 -c "$WORK/$SUB.tar" > "$WORK/$SUB.tar.zst"
INPUTS=("$CORPUS/$SUB" "$WORK/$SUB-stored.zip" "$WORK/$SUB-deflated.zip" "$WORK/$SUB.tar" "$WORK/$SUB.tar.gz" "$WORK/$SUB.tar.zst")

# Same findings: the media items hashed must be the folder's count for every input.
images() { "$PH" scan --progress=never -j"$THREADS" --hashset "$SET" "$1" | tail -n 1 \
           | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["media_files"])'; }
n=$(images "${INPUTS[0]}")
for i in "${INPUTS[@]:1}"; do
    m=$(images "$i"); [ "$m" = "$n" ] || { echo "$i: $m images, the folder has $n" >&2; exit 2; }
done

echo "# phscan $($PH --version | cut -d' ' -f2), commit $(git rev-parse --short HEAD), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# $SUB: $n images, $(du -sh "$CORPUS/$SUB" | cut -f1); list $SET; $RUNS interleaved rounds"
# Interleaved rounds (each round times every input once, in turn), so that a slow
# spell of the machine falls on all inputs alike; each input's speed is compared to
# the folder's within its round, and the median of those ratios is reported.
python3 - "$PH" "$SET" "$n" "$RUNS" "$WARMUP" "$THREADS" "${INPUTS[@]}" <<'PY'
import os, statistics, subprocess, sys, time
ph, hs, n, runs, warmup, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
inputs = sys.argv[7:]
def size(p):
    if os.path.isdir(p):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs)
    return os.path.getsize(p)
for j in (threads, "1"):
    def run(p):
        t = time.perf_counter()
        subprocess.run([ph, "scan", "--progress=never", f"-j{j}", "--hashset", hs, p],
                       stdout=subprocess.DEVNULL, check=False)
        return time.perf_counter() - t
    for _ in range(warmup):
        for p in inputs:
            run(p)
    times = {p: [] for p in inputs}
    for _ in range(runs):
        for p in inputs:
            times[p].append(run(p))
    base = times[inputs[0]]
    print(f"\n| input (-j{j}) | size | median s (min-max) | images/s | speed vs the folder, median of rounds (min-max) |")
    print("| --- | --- | --- | --- | --- |")
    for p in inputs:
        t = times[p]
        ratios = [b / x for b, x in zip(base, t)]
        med = statistics.median(t)
        print(f"| {os.path.basename(p)} | {size(p) / 2**20:.0f} MiB | {med:.2f} ({min(t):.2f}-{max(t):.2f}) "
              f"| {n / med:.1f} | {statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) |")
PY
echo
for i in "${INPUTS[@]}"; do
    peak=$( { /usr/bin/time -v "$PH" scan --progress=never -j"$THREADS" --hashset "$SET" "$i" >/dev/null || true; } 2>&1 | awk '/Maximum resident/ {print $6}')
    echo "peak RSS -j$THREADS $(basename "$i"): $((peak / 1024)) MiB"
done
