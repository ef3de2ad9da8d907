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
# a .tar.gz (`gzip -6`) and a .tar.zst, then times with hyperfine (warm cache, one
# warm-up run) `phscan scan` of the folder and of each archive on THREADS threads and
# on one, and prints, per archive, images/s and the ratio of its speed to the
# folder's in the same run, and phscan's peak RSS (/usr/bin/time -v). The archives
# hold the corpus's images: they are made under WORK (inside target/, ignored by git)
# and removed after. Every scan must find the same number of images as the folder.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,16p' "$0"; exit 2; }
CORPUS=$(cd "$1" && pwd); SUB=${2:-photos}
RUNS=${RUNS:-5}; WARMUP=${WARMUP:-1}; THREADS=${THREADS:-2}
cd "$(dirname "$0")/.."
WORK=${WORK:-target/archives-bench}; SET=${SET:-hashsets/fixtures.pdq.csv}
need=(); for t in hyperfine zip zstd; do command -v "$t" >/dev/null || need+=("$t"); done
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
echo "# $SUB: $n images, $(du -sh "$CORPUS/$SUB" | cut -f1); list $SET"
for j in "$THREADS" 1; do
    cmds=(); for i in "${INPUTS[@]}"; do cmds+=("$PH scan --progress=never -j$j --hashset $SET $i"); done
    hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/j$j.json" "${cmds[@]}" >/dev/null
    python3 - "$WORK/j$j.json" "$n" "$j" "${INPUTS[@]}" <<'PY'
import json, os, sys
res = json.load(open(sys.argv[1]))["results"]; n = int(sys.argv[2]); j = sys.argv[3]
names = [os.path.basename(p) for p in sys.argv[4:]]
base = res[0]["mean"]
print(f"\n| input (-j{j}) | size | mean s ± σ | images/s | speed vs the folder |")
print("| --- | --- | --- | --- | --- |")
for name, path, r in zip(names, sys.argv[4:], res):
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) if os.path.isdir(path) else os.path.getsize(path)
    print(f"| {name} | {size / 2**20:.0f} MiB | {r['mean']:.2f} ± {(r['stddev'] or 0):.2f} | {n / r['mean']:.1f} | {base / r['mean']:.2f}x |")
PY
done
echo
for i in "${INPUTS[@]}"; do
    peak=$( { /usr/bin/time -v "$PH" scan --progress=never -j"$THREADS" --hashset "$SET" "$i" >/dev/null || true; } 2>&1 | awk '/Maximum resident/ {print $6}')
    echo "peak RSS -j$THREADS $(basename "$i"): $((peak / 1024)) MiB"
done
