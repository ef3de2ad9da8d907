#!/usr/bin/env bash
# Large trees: walking and sniffing a generated tree of N small non-image files
# (default 1,000,000) and one of N/10, timed with hyperfine against peers in the same
# run, with phscan's peak RSS at both sizes (memory must not grow with the tree).
# Not a test: run by hand. Needs hyperfine, GNU time and python3 (to generate the
# trees); ripgrep is timed too when installed.
#
# Usage: benches/walk_tree.sh OUT_DIR [N]
#   OUT_DIR must be outside the repository; the trees go to OUT_DIR/tree-N and are
#   removed at the end unless KEEP=1 (an existing tree of the same N is reused).
#   RUNS (default 3) hyperfine runs per command, after one warm-up run.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 OUT_DIR [N]" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd -P)
out=$(realpath -m "$1")
n=${2:-1000000}
runs=${RUNS:-3}
case "$out/" in
  "$repo"/*) echo "refusing to generate inside the repository: $out" >&2; exit 2 ;;
esac
[ "$n" -ge 10000 ] || { echo "N must be at least 10000" >&2; exit 2; }
for tool in hyperfine python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
mkdir -p "$out"

cd "$repo"
cargo build --release -q
phscan="$repo/target/release/phscan"

# N files, 1000 to a leaf directory, 10 leaves to a middle directory: tree/mNNN/lN/fNNN.
# Each file is 12 to 200 bytes of text (not an image by content), so every one is a
# `skipped` (not-media) outcome of the scan. DIR.complete marks a finished tree.
gen() {
  local dir=$1 count=$2
  if [ -e "$dir.complete" ]; then
    echo "reusing $dir"
    return
  fi
  rm -rf "$dir"
  echo "generating $count files in $dir"
  python3 - "$dir" "$count" <<'EOF'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
line = b"plain text, not an image; line padding to vary the size. "
for i in range(count):
    leaf, f = divmod(i, 1000)
    d = os.path.join(root, "m%03d" % (leaf // 10), "l%d" % (leaf % 10))
    if f == 0:
        os.makedirs(d)
    body = b"note %d\n" % i + line * (i % 4)
    fd = os.open(os.path.join(d, "f%03d.txt" % f), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, body)
    os.close(fd)
EOF
  touch "$dir.complete"
}

big="$out/tree-$n"
small="$out/tree-$((n / 10))"
gen "$big" "$n"
gen "$small" $((n / 10))
df -h "$out" | tail -1
df -i "$out" | tail -1

# Both hash lists are the fixture sets: fixtures.pdq.csv holds PDQ hashes only, so a
# non-image file needs only its first 32 bytes (sniff); fixtures.jsonl holds MD5,
# SHA-1 and SHA-256 too, so every file is also read whole and digested.
pdq_list="$repo/hashsets/fixtures.pdq.csv"
all_list="$repo/hashsets/fixtures.jsonl"
scan() { echo "$phscan scan --progress=never --hashset $1 $2 $3 >/dev/null"; }

# Sanity: every file is seen and skipped as not-media, nothing else.
for tree in "$big" "$small"; do
  want=$(( $(basename "$tree" | sed 's/tree-//') ))
  "$phscan" scan --progress=never --hashset "$pdq_list" "$tree" | tail -n 1 > "$out/summary.json"
  seen=$(jq -r '.files_seen' "$out/summary.json")
  skipped=$(jq -r '.skipped["not-media"]' "$out/summary.json")
  [ "$seen" = "$want" ] && [ "$skipped" = "$want" ] || {
    echo "unexpected summary for $tree: $(cat "$out/summary.json")" >&2; exit 1; }
done

# Peers, on the same tree: find alone (one thread, no file opened), find with head
# reading the first 32 bytes of every file on 2 processes, ripgrep's parallel walk.
peers() {
  local tree=$1
  echo "find -type f"
  echo "find $tree -type f | wc -l"
  echo "find + xargs -P2 head -c32"
  echo "find $tree -type f -print0 | xargs -0 -P2 -n 5000 head -qc32 >/dev/null"
  if command -v rg >/dev/null; then
    echo "rg --files -j2"
    echo "rg --files -j2 --no-ignore --hidden $tree | wc -l"
  fi
}

# One hyperfine run per tree: phscan with either list on 2 threads and 1, and the peers.
bench() {
  local tree=$1 json=$2 args=()
  while IFS= read -r line; do args+=("$line"); done < <(
    for j in 2 1; do
      echo "scan -j$j (PDQ list: sniff)"
      scan "$pdq_list" -j$j "$tree"
    done
    for j in 2 1; do
      echo "scan -j$j (jsonl list: + digests)"
      scan "$all_list" -j$j "$tree"
    done
    peers "$tree")
  local cmd=()
  for ((i = 0; i < ${#args[@]}; i += 2)); do cmd+=(-n "${args[i]}" "${args[i + 1]}"); done
  hyperfine --warmup 1 --runs "$runs" --export-json "$json" "${cmd[@]}"
}

# files/s by wall clock, the CPU time (user + system, all threads and processes) per
# run, and files per CPU second, which depends less on what else the machine is doing.
table() {
  local json=$1 files=$2
  jq -r --argjson files "$files" '
    (.results[] | select(.command == "find -type f") | .mean) as $find |
    .results[] |
    "| `\(.command)` | \($files) | \(.mean * 100 | round / 100) | \($files / .mean | round) | \($find / .mean * 1000 | round / 1000) | \((.user + .system) * 100 | round / 100) | \($files / (.user + .system) | round) |"' "$json"
}

rss() { { /usr/bin/time -v "$phscan" scan --progress=never --hashset "$1" "$2" "$3" >/dev/null; } 2>&1 |
          awk '/Maximum resident/ {printf "%.1f", $6 / 1024}'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench "$big" "$out/walk_big.json"
bench "$small" "$out/walk_small.json"

echo
echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo '| command | files | mean s | files/s | ratio to `find -type f` | CPU s | files per CPU s |'
echo "| --- | --- | --- | --- | --- | --- | --- |"
table "$out/walk_big.json" "$n"
table "$out/walk_small.json" $((n / 10))

echo
echo "peak RSS of phscan scan, MiB (PDQ list / jsonl list):"
for tree in "$big" "$small"; do
  echo "  $(basename "$tree"): -j2 $(rss "$pdq_list" -j2 "$tree") / $(rss "$all_list" -j2 "$tree"),  -j1 $(rss "$pdq_list" -j1 "$tree") / $(rss "$all_list" -j1 "$tree")"
done

if [ "${KEEP:-0}" != 1 ]; then
  rm -rf "$big" "$small" "$big.complete" "$small.complete" "$out/summary.json"
fi
