#!/usr/bin/env bash
# Cost of a robust list in `scan`: the same photographs scanned against a plain list
# and against a robust list (`hash --robust`) of 10,000 images, in interleaved rounds
# (issue 17 asks the robust list at 0.8x the plain one's speed or better).
#
#   benches/robust_cost.sh PHOTOS_DIR [WORKDIR]     (default target/bench-robust)
#
# The photographs are listed plain and robust; each list is padded to N records
# (default 10,000) with random hashes, a padded record of the robust list carrying as
# many random robust entries, of the same variants, as a listed photograph; both are
# compiled (`hashset compile`). Then ROUNDS (default 5) rounds scan PHOTOS_DIR with
# each list (2 threads by default), and print the median wall and CPU time of each
# and the median over rounds of plain time / robust time (1.0: as fast).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '2,13p' "$0"; exit 2; }
PHOTOS=$1
W=${2:-target/bench-robust}
N=${N:-10000}
ROUNDS=${ROUNDS:-5}
cargo build --release --quiet
B=$PWD/target/release/phscan
mkdir -p "$W"
echo "phscan robust-list cost: $(find "$PHOTOS" -type f | wc -l) files of $PHOTOS, lists of $N images"
echo "  $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "  hash: %e s wall, %U s user" \
    "$B" hash --progress=never --force --algorithms pdq --id name -o "$W/plain.jsonl" "$PHOTOS"
/usr/bin/time -f "  hash --robust: %e s wall, %U s user" \
    "$B" hash --progress=never --force --algorithms pdq --robust --id name -o "$W/robust.jsonl" "$PHOTOS"
python3 - "$W" "$N" <<'EOF'
import json, random, sys
w, n = sys.argv[1], int(sys.argv[2])
r = random.Random(17)
for name in ("plain", "robust"):
    lines = open(f"{w}/{name}.jsonl").read().splitlines()
    recs = [json.loads(l) for l in lines if json.loads(l).get("type") == "hash"]
    with open(f"{w}/{name}-{n}.jsonl", "w") as f:
        for l in lines:
            f.write(l + "\n")
        for i in range(n - len(recs)):
            t = recs[i % len(recs)]
            rec = {"type": "hash", "id": f"pad{i}",
                   "hashes": {"pdq": "%064x" % r.getrandbits(256)}, "pdq_quality": 100}
            if "robust" in t:
                rec["robust"] = {k: "%064x" % r.getrandbits(256) for k in t["robust"]}
            f.write(json.dumps(rec) + "\n")
EOF
for name in plain robust; do
    "$B" hashset compile "$W/$name-$N.jsonl" -o "$W/$name-$N.phc" 2>&1 | sed 's/^phscan: /  /'
done
python3 - "$B" "$PHOTOS" "$W/plain-$N.phc" "$W/robust-$N.phc" "$ROUNDS" <<'EOF'
import os, statistics, subprocess, sys, time
b, photos, plain, robust, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def run(lst):
    c0 = os.times()
    t = time.perf_counter()
    subprocess.run([b, "scan", "--progress=never", "--hashset", lst, photos],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c1 = os.times()
    return time.perf_counter() - t, (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system)
run(plain); run(robust)  # warm-up
rows = []
for _ in range(rounds):
    rows.append((run(plain), run(robust)))
med = lambda v: statistics.median(v)
pw, rw = med([p[0] for p, _ in rows]), med([q[0] for _, q in rows])
pc, rc = med([p[1] for p, _ in rows]), med([q[1] for _, q in rows])
ratios = [p[0] / q[0] for p, q in rows]
cratios = [p[1] / q[1] for p, q in rows]
print(f"  plain list: {pw:.2f} s wall, {pc:.2f} s CPU; robust list: {rw:.2f} s wall, {rc:.2f} s CPU")
print(f"  plain / robust: {med(ratios):.3f} wall (rounds {min(ratios):.2f}-{max(ratios):.2f}), "
      f"{med(cratios):.3f} CPU (rounds {min(cratios):.2f}-{max(cratios):.2f})")
EOF
for name in plain robust; do
    echo "  $name list: $(du -h "$W/$name-$N.phc" | cut -f1) compiled"
done
