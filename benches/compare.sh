#!/usr/bin/env bash
# Whole-program benchmark: phscan against its peers, on the same files, in one run.
#
# Usage: benches/compare.sh CORPUS_DIR PEERS_DIR [SUBDIR...]
#   CORPUS_DIR  made by ../shared/corpus/build.sh (photos/ and misc/ inside)
#   PEERS_DIR   made by ../shared/reference/setup.sh (venv/, pdq-ref/pdq-photo-hasher,
#               and cargo/bin/czkawka_cli when installed with WITH_CZKAWKA=1)
#   SUBDIR      which corpus folders to time (default: photos misc)
# Env: RUNS (default 3), WARMUP (default 1), OUT (default target/compare) for raw results,
#   NO_PYREF=1 leaves out pdq_ref.py (the slowest peer, by far).
#
# It builds the release binary, then times with hyperfine (warm cache: one warm-up run),
# per folder: phscan scan in each --pdq-mode on 2 threads and -j1, phscan hash with pdq
# alone and with pdq+md5+sha1+sha256, czkawka_cli (both cores and -T 1, when present;
# with -H: its hash cache is off, or every run after the first reads cached hashes),
# Meta's C++ pdq-photo-hasher (one process over the files it can read) and pdq_ref.py
# (the pdqhash binding, full resolution). It prints images/s per command, the ratio of
# each to `phscan scan --pdq-mode full -j2`, and phscan's peak RSS (/usr/bin/time -v).
# Nothing here writes image data: outputs go to /dev/null, lists and JSON to $OUT.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,12p' "$0"; exit 2; }
CORPUS=$(cd "$1" && pwd); PEERS=$(cd "$2" && pwd); shift 2
SUBDIRS=("${@:-photos misc}"); [ $# -gt 0 ] || SUBDIRS=(photos misc)
RUNS=${RUNS:-3}; WARMUP=${WARMUP:-1}
cd "$(dirname "$0")/.."
OUT=${OUT:-target/compare}; mkdir -p "$OUT"

command -v hyperfine >/dev/null || { echo "installing hyperfine" >&2; apt-get install -y -qq hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }; }
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
cargo build --release -q
PH=$PWD/target/release/phscan
SET=$PWD/hashsets/fixtures.pdq.csv
PY=$PEERS/venv/bin/python
REF=$(cd "$(dirname "$0")/../../shared/reference" 2>/dev/null && pwd || true)
CPP=$PEERS/pdq-ref/pdq-photo-hasher
CZK=$PEERS/cargo/bin/czkawka_cli
MODES=$($PH scan --help | grep -q 'fast' && echo "full cli512 fast" || echo "full cli512")

echo "# phscan $($PH --version | cut -d' ' -f2), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
for sub in "${SUBDIRS[@]}"; do
  DIR=$CORPUS/$sub
  find "$DIR" -type f | sort > "$OUT/$sub.list"
  N=$(wc -l < "$OUT/$sub.list")
  cmds=(); names=()
  for m in $MODES; do
    names+=("scan $m -j2"); cmds+=("$PH scan --progress=never --pdq-mode $m -j2 --hashset $SET $DIR")
    names+=("scan $m -j1"); cmds+=("$PH scan --progress=never --pdq-mode $m -j1 --hashset $SET $DIR")
  done
  names+=("hash pdq -j2"); cmds+=("$PH hash --progress=never --algorithms pdq -j2 $DIR")
  names+=("hash pdq+md5+sha1+sha256 -j2"); cmds+=("$PH hash --progress=never --algorithms pdq,md5,sha1,sha256 -j2 $DIR")
  if [ -x "$CZK" ]; then
    # czkawka_cli exits 11 when it found similar images (misc/ has some): that is success.
    ok11='; r=$?; [ $r -eq 0 ] || [ $r -eq 11 ]'
    # -m 1: by default it skips files under 16 KiB (429 of misc/'s 1,214), which phscan
    # hashes. It never reads GIF (not among its image extensions); its rate below is
    # still counted over every file, which favours it.
    names+=("czkawka_cli image -H -m 1 (2 threads)"); cmds+=("$CZK image -H -m 1 -d $DIR -f $OUT/czk.txt$ok11")
    names+=("czkawka_cli image -H -m 1 -T 1"); cmds+=("$CZK image -H -m 1 -d $DIR -T 1 -f $OUT/czk.txt$ok11")
  fi
  if [ -x "$CPP" ]; then
    # The C++ CLI aborts on images it cannot read (RGBA, GIF, WebP...): time it over
    # the files it reads, and say how many those are.
    : > "$OUT/$sub.cpp.list"
    while IFS= read -r f; do "$CPP" "$f" >/dev/null 2>&1 && printf '%s\n' "$f" >> "$OUT/$sub.cpp.list"; done < "$OUT/$sub.list"
    NCPP=$(wc -l < "$OUT/$sub.cpp.list")
    names+=("pdq-photo-hasher (C++, 1 core, $NCPP files)"); cmds+=("xargs -d '\n' -a $OUT/$sub.cpp.list $CPP")
  fi
  if [ -x "$PY" ] && [ -n "$REF" ] && [ -z "${NO_PYREF:-}" ]; then
    names+=("pdq_ref.py full-res (1 core)"); cmds+=("$PY $REF/pdq_ref.py -i < $OUT/$sub.list")
  fi
  args=(); for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  # Through a shell (the peers read lists from redirections); its start-up cost is
  # the same for every command and negligible next to a corpus.
  hyperfine --style none --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/$sub.json" "${args[@]}" \
    >/dev/null 2>"$OUT/$sub.hyperfine.log" || { cat "$OUT/$sub.hyperfine.log" >&2; exit 1; }
  echo
  echo "## $sub: $N files"
  python3 - "$OUT/$sub.json" "$N" "${NCPP:-0}" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
n, ncpp = int(sys.argv[2]), int(sys.argv[3])
def files(name): return ncpp if name.startswith("pdq-photo-hasher") else n
base = next(r for r in res if r["command"] == "scan full -j2")
base_rate = n / base["mean"]
print("| command | mean s | ± | images/s | ratio to `scan full -j2` |")
print("| --- | --- | --- | --- | --- |")
for r in res:
    rate = files(r["command"]) / r["mean"]
    print(f"| {r['command']} | {r['mean']:.2f} | {r['stddev'] or 0:.2f} | {rate:.1f} | {rate / base_rate:.2f} |")
PY
  echo
  echo "| phscan command | peak RSS (MiB) |"
  echo "| --- | --- |"
  for m in $MODES; do
    rss=$( { /usr/bin/time -v $PH scan --progress=never --pdq-mode $m -j2 --hashset $SET "$DIR" >/dev/null; } 2>&1 | awk '/Maximum resident/ {print int($6/1024)}')
    echo "| scan --pdq-mode $m -j2 | $rss |"
  done
done
