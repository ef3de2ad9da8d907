#!/usr/bin/env bash
# HEIC, AVIF and JPEG XL: PDQ parity with the reference pipeline on real photographs,
# and speed per core against it, in one run.
#
# Usage: benches/media.sh CORPUS_DIR [N]
#   CORPUS_DIR  made by ../shared/corpus/build.sh (photos/ inside)
#   N           how many photos to convert (default 40)
# Env: PEERS (default ../peers: ../shared/reference/setup.sh DIR with WITH_MEDIA=1),
#   RUNS (default 3), WORK (default target/media-bench, removed at the end unless KEEP=1).
#
# It converts the first N photos (sorted by name) to HEIC (pillow-heif, 512x512 tiles),
# AVIF (Pillow's libavif), lossy and lossless JPEG XL (pillow-jxl-plugin) under WORK
# (benches/media_make.py), then per format:
#  - parity: `phscan hash --algorithms pdq` against ../shared/reference/pdq_ref.py on
#    every file: how many hashes are equal, and the median and largest distance;
#  - speed: both on one core (phscan -j1; pdq_ref.py is one process), in interleaved
#    rounds, images/s and the median over rounds of phscan's speed over the
#    reference's.
# Then `cargo bench --bench media_decode` on the HEIC files: libheif's decode alone
# against phscan's decode (libheif and the copy to an image) and decode + PDQ.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,20p' "$0"; exit 2; }
CORPUS=$(cd "$1" && pwd); N=${2:-40}
cd "$(dirname "$0")/.."
PEERS=$(cd "${PEERS:-../peers}" && pwd); PY=$PEERS/venv/bin/python
REF=$PWD/../shared/reference/pdq_ref.py
RUNS=${RUNS:-3}; WORK=${WORK:-target/media-bench}
"$PY" -c 'import pillow_heif, pillow_jxl' 2>/dev/null \
    || { echo "media.sh: $PY lacks pillow-heif or pillow-jxl-plugin (setup.sh with WITH_MEDIA=1)" >&2; exit 2; }
cargo build --release -q
PH=$PWD/target/release/phscan
rm -rf "$WORK"; mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
mapfile -t photos < <(find "$CORPUS/photos" -type f | sort | head -n "$N")
"$PY" benches/media_make.py "$WORK" "${photos[@]}"

echo "# phscan $($PH --version | cut -d' ' -f2), commit $(git rev-parse --short HEAD), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# $("$PY" -c 'import PIL, pillow_heif, pillow_jxl, PIL.features as f; print("Pillow", PIL.__version__, "libavif", f.version("avif"), "pillow-heif", pillow_heif.__version__, "libheif", pillow_heif.libheif_info()["libheif"])')"
echo "# $N photos from $CORPUS/photos; $RUNS interleaved rounds, one core each"
"$PY" - "$PH" "$PY" "$REF" "$RUNS" "$WORK" <<'PY'
import json, os, statistics, subprocess, sys, time
ph, py, ref, runs, work = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def ours(d):
    out = subprocess.run([ph, "hash", "--progress=never", "-j1", "--algorithms", "pdq", d],
                         capture_output=True, check=False).stdout
    recs = [json.loads(l) for l in out.splitlines()]
    return {os.path.basename(r["path"]): r["hashes"]["pdq"] for r in recs if r.get("type") == "hash"}
def theirs(d):
    files = sorted(os.path.join(d, f) for f in os.listdir(d))
    out = subprocess.run([py, ref] + files, capture_output=True, text=True, check=False).stdout
    return {os.path.basename(l.split("\t")[0]): l.split("\t")[1] for l in out.splitlines()}
def dist(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")
kinds = ["heic", "avif", "jxl", "jxl-lossless"]
print(f"{'format':13} {'files':>5} {'equal':>5} {'median':>6} {'max':>4}   {'phscan/s':>8} {'ref/s':>6} {'ratio':>5}")
for k in kinds:
    d = os.path.join(work, k)
    n = len(os.listdir(d))
    a, b = ours(d), theirs(d)
    ds = [dist(a[f], b[f]) for f in b if f in a]
    missing = n - len(ds)
    times = {"phscan": [], "ref": []}
    ratios = []
    for _ in range(runs):
        t0 = time.perf_counter(); ours(d); t1 = time.perf_counter(); theirs(d); t2 = time.perf_counter()
        times["phscan"].append(t1 - t0); times["ref"].append(t2 - t1); ratios.append((t2 - t1) / (t1 - t0))
    print(f"{k:13} {n:5} {sum(x == 0 for x in ds):5} {statistics.median(ds) if ds else '-':>6} {max(ds) if ds else '-':>4}"
          f"   {n / statistics.median(times['phscan']):8.1f} {n / statistics.median(times['ref']):6.1f} {statistics.median(ratios):5.2f}"
          + (f"   ({missing} not hashed by both)" if missing else ""))
PY
echo "# decode cost on the HEIC files (benches/media_decode.rs)"
cargo bench -q --bench media_decode -- "$WORK/heic"
