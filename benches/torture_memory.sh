#!/usr/bin/env bash
# Peak memory of a scan of the torture tree (tests/torture.rs builds it) with 2
# threads and every algorithm, against the 512 MiB budget. Not a timed test: run by hand.
# Usage: benches/torture_memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
cargo build --release -q
cargo test --release -q --test torture >/dev/null
tree=$(ls -dt target/tmp/torture-* | head -n 1)
# The scan exits 2 (the tree is full of failures, on purpose): that is not an error here.
peak=$( { /usr/bin/time -v target/release/phscan scan -j2 --progress=never --follow-links \
          --hashset hashsets/fixtures.jsonl "$tree" >/dev/null || true; } 2>&1 | awk '/Maximum resident/ {print $6}')
[ -n "$peak" ] || { echo "no peak RSS measured" >&2; exit 2; }
echo "torture tree $tree: peak RSS $((peak / 1024)) MiB (budget 512 MiB)"
[ "$peak" -lt $((512 * 1024)) ]
