#!/bin/sh
# Regenerates tests/golden/imagehash_pillow13.tsv and imagehash_pillow12.tsv: the
# generated images (examples/imagehash_images.rs) and the fixtures, hashed by
# ImageHash 4.3.2 on Pillow 13 and on Pillow 12, and by blockhash.io's reference.
#
#   tests/golden/imagehash_golden.sh VENV13 VENV12 BLOCKHASH_PYTHON_DIR
#
# VENV13: a virtualenv with pillow 13, ImageHash==4.3.2, scipy, PyWavelets,
# pillow-heif and pillow-jxl-plugin (as ../shared/reference/setup.sh WITH_MEDIA=1
# installs them); VENV12: the same with 'pillow<13' (the plugins installed with
# --no-deps, so that Pillow stays at 12); BLOCKHASH_PYTHON_DIR: a checkout of
# github.com/commonsmachinery/blockhash-python (its blockhash.py).
set -eu
[ $# -eq 3 ] || { sed -n '2,11p' "$0"; exit 2; }
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo run --release --quiet --example imagehash_images -- "$dir"
fixtures=$(find tests/fixtures/known tests/fixtures/variants tests/fixtures/unrelated \
    tests/fixtures/odd/tiny-4x4.png tests/fixtures-animated tests/fixtures-media \
    tests/fixtures-imagehash \
    -type f ! -name '*.py' ! -name '*.md' | sort)
for v in 13:"$1" 12:"$2"; do
    # shellcheck disable=SC2086
    "${v#*:}/bin/python" tests/golden/imagehash_golden.py --gen "$dir" \
        --blockhash-python "$3" $fixtures > "tests/golden/imagehash_pillow${v%%:*}.tsv"
done
