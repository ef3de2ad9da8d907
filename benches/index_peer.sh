#!/usr/bin/env bash
# The index benchmark against Meta's C++ multi-index (pdq/cpp/index/mih.h), in one run.
#
# Usage: benches/index_peer.sh PEERS_DIR
#   PEERS_DIR  made by ../shared/reference/setup.sh: the pdqhash sdist it downloads
#              (pdq-ref/src/pdqhash-*/ThreatExchange) holds Meta's C++ sources.
# Env: N (default 10000000) entries, Q (default 100) Meta queries (each 8 hashes),
#   ROUNDS (default 7) interleaved rounds of `cargo bench --bench index`.
#
# It builds Meta's `benchmark-query` (g++ -O3 -march=native, hardware popcount), runs
# phscan's index benchmark (PDQ, default layout), then Meta's MIH over N random hashes
# at d = 31, then phscan's again, and prints single-hash queries per second of each by
# wall-clock time on one core and the ratio. Meta's benchmark times its queries in
# batches of the 8 dihedral hashes of an image (its "QUERIES PER SECOND" counts
# batches); its single-hash rate is 8 times that. Both lists are uniformly random
# 256-bit hashes with planted near-copies (Meta's: 8 per query at distances 1..31;
# phscan's: 1,000 at 0..40). The target the project set, 20,000 single queries a second
# at 10M, is 175x the 114 a second reported for Meta's MIH at 10M (ThreatExchange issue
# #1810, another machine); this run gives the ratio on this one.
# Meta's index takes several GiB and about 10 minutes to build at 10M on a 2-core machine.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,20p' "$0"; exit 2; }
PEERS=$(cd "$1" && pwd)
N=${N:-10000000}; Q=${Q:-100}; ROUNDS=${ROUNDS:-7}
cd "$(dirname "$0")/.."
OUT=target/index-peer; mkdir -p "$OUT"

T=$(ls -d "$PEERS"/pdq-ref/src/pdqhash-*/ThreatExchange 2>/dev/null | head -n1 || true)
[ -n "$T" ] && [ -f "$T/pdq/cpp/index/mih.h" ] || {
  echo "index_peer.sh: Meta's C++ sources not found under $PEERS/pdq-ref/src (run ../shared/reference/setup.sh $PEERS)" >&2
  exit 2
}
command -v g++ >/dev/null || { echo "index_peer.sh: g++ is needed to build Meta's benchmark" >&2; exit 2; }
BQ=$OUT/benchmark-query
if [ ! -x "$BQ" ]; then
  echo "building Meta's benchmark-query from $T" >&2
  g++ -O3 -march=native -DUSE_BUILTIN_POPCOUNT -std=c++17 -I "$T" -I "$T/pdq/cpp" \
    "$T"/pdq/cpp/bin/benchmark-query.cpp "$T"/pdq/cpp/io/hashio.cpp \
    "$T"/pdq/cpp/common/pdqhashtypes.cpp "$T"/pdq/cpp/common/pdqutils.cpp \
    "$T"/pdq/cpp/common/pdqhamming.cpp -o "$BQ" 2> "$OUT/build-warnings.log"
fi

ours() {
  PHSCAN_INDEX_N=$N PHSCAN_INDEX_ONLY=pdq PHSCAN_INDEX_LAYOUT=ring PHSCAN_INDEX_ROUNDS=$ROUNDS \
    PHSCAN_INDEX_LINEAR_QUERIES=20 cargo bench -q --bench index 2>&1 | tee "$OUT/phscan-$1.txt" |
    grep -E 'single queries +MIH|^all checks|FAILED' >&2
  # The interleaved rounds' median rate (wall-clock rates are printed per pass; the
  # rounds are by CPU time, which on an otherwise idle core is the same).
  grep -E '^ +Ring +single queries' "$OUT/phscan-$1.txt" | awk '{print $4}' | tr -d '/s'
}

echo "# phscan index vs Meta's C++ MIH, N=$N, d=31, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
a=$(ours before)
echo "phscan (before Meta's run): $a single queries/s" 
echo "Meta's MIH: building over $N hashes, then $Q queries of 8 hashes" >&2
/usr/bin/time -v "$BQ" -b "$N" -q "$Q" -d 31 -m mih > "$OUT/meta.txt" 2>&1
grep -E 'build time|MATCH COUNT|QUERY SECONDS|QUERIES PER SECOND|Maximum resident' "$OUT/meta.txt"
meta=$(awk '/QUERIES PER SECOND/ {print 8 * $4}' "$OUT/meta.txt")
b=$(ours after)
echo "phscan (after Meta's run): $b single queries/s"
awk -v a="$a" -v b="$b" -v m="$meta" 'BEGIN {
  printf "Meta MIH: %.1f single queries/s\n", m
  printf "phscan / Meta: %.0fx before, %.0fx after (the 20,000/s target is 175x the 114/s reported for Meta at 10M)\n", a / m, b / m
}'
