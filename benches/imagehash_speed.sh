#!/bin/sh
# aHash, dHash, pHash and wHash: phscan against Python ImageHash
# (../shared/reference/imagehash_ref.py) on the same files, in one run, one core
# each; then whether the values agree.
#
#   benches/imagehash_speed.sh PYTHON DIR
#
# PYTHON: a Python with Pillow, ImageHash 4.3.2, scipy and PyWavelets. DIR: the
# images. Prints, for each side, the wall and CPU seconds; for phscan also a run
# computing only the exact hashes of the decoded files' bytes (no decode) and one
# decoding and computing PDQ `cli512` (a 512x512 squash: little beyond the decode),
# to set the hashes against the decode.
set -eu
[ $# -eq 2 ] || { sed -n '2,13p' "$0"; exit 2; }
py=$1 dir=$2
cd "$(dirname "$0")/.."
bin=target/release/phscan
ref=../shared/reference/imagehash_ref.py
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
find "$dir" -type f | sort > "$out/list"
echo "files: $(wc -l < "$out/list")"
t() { # label, command...: wall and CPU (user+system) seconds of the command
    label=$1; shift
    /usr/bin/time -f "$label: wall %e s, cpu %U+%S s" "$@"
}
t "phscan decode + pdq cli512" taskset -c 0 "$bin" hash -j 1 --progress=never \
    --algorithms pdq --pdq-mode cli512 --files-from "$out/list" > /dev/null
t "phscan ahash,dhash,phash,whash" taskset -c 0 "$bin" hash -j 1 --progress=never \
    --algorithms ahash,dhash,phash,whash --files-from "$out/list" > "$out/phscan.jsonl"
t "ImageHash (imagehash_ref.py)" taskset -c 0 "$py" "$ref" --timing -i \
    < "$out/list" > "$out/ref.tsv"
"$py" - "$out/phscan.jsonl" "$out/ref.tsv" <<'PY'
import json, sys
ours = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get('type') == 'hash':
        h = r['hashes']
        ours[r['path']] = [h['ahash'], h['dhash'], h['phash'], h['whash']]
same = {k: 0 for k in ('ahash', 'dhash', 'phash', 'whash')}
n = 0
for l in open(sys.argv[2]):
    p, *hexes = l.rstrip('\n').split('\t')
    if p not in ours:
        continue
    n += 1
    for k, a, b in zip(same, ours[p], hexes):
        same[k] += a == b
print(f'equal values on {n} images: ' + ', '.join(f'{k} {v}' for k, v in same.items()))
PY
