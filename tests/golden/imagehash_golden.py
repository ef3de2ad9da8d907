#!/usr/bin/env python3
"""The ImageHash (and blockhash.io) golden values of tests/imagehash_golden.rs.

Usage (tests/golden/imagehash_golden.sh runs it once per Pillow version):
    imagehash_golden.py --gen DIR [--blockhash-python DIR] FIXTURE... > table.tsv

Prints a header of comment lines naming the versions, then one line per image:
    name <TAB> ahash <TAB> dhash <TAB> phash <TAB> whash <TAB> blockhash
where name is `gen/FILE` for the generated images in --gen (written by
`cargo run --example imagehash_images -- DIR`) and the path as given for the
fixtures. The four ImageHash values are str(imagehash.X(image)) with ImageHash's
defaults, on the first frame as Pillow decodes it (as ../shared/reference/
imagehash_ref.py computes them). blockhash is blockhash.io's reference
(commonsmachinery/blockhash-python, blockhash.py, its default precise method) with
8x8 blocks, the image normalised as its command line does; `-` where it is not run
or refuses the image's mode.
"""
import argparse
import os
import sys

import imagehash
import numpy
import PIL
import pywt
import scipy
from PIL import Image

# HEIC and JPEG XL through the plugins their users have (AVIF is Pillow's own); the
# fixtures include those formats, so a missing plugin is an error, not a skip.
import pillow_heif  # noqa: E402
import pillow_jxl  # noqa: E402,F401  (registers the JPEG XL opener)

pillow_heif.register_heif_opener()
Image.MAX_IMAGE_PIXELS = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--gen', required=True)
    ap.add_argument('--blockhash-python')
    ap.add_argument('fixtures', nargs='*')
    a = ap.parse_args()
    bh = None
    if a.blockhash_python:
        sys.path.insert(0, a.blockhash_python)
        import blockhash as bh  # noqa: E402  (blockhash.py of the reference repository)
    gen = sorted(os.listdir(a.gen))
    if not gen:
        sys.exit('no generated images in ' + a.gen)
    print(f'# Pillow {PIL.__version__}, ImageHash {imagehash.__version__}, numpy '
          f'{numpy.__version__}, scipy {scipy.__version__}, PyWavelets {pywt.__version__}; '
          f'blockhash: {"blockhash-python, 8x8" if bh else "not computed"}')
    print('# name\tahash\tdhash\tphash\twhash\tblockhash')
    jobs = [('gen/' + n, os.path.join(a.gen, n)) for n in gen] + [(p, p) for p in a.fixtures]
    for name, path in jobs:
        with Image.open(path) as im:
            im.seek(0)
            im.load()
            img = im.copy()
        row = [str(f(img)) for f in (imagehash.average_hash, imagehash.dhash,
                                      imagehash.phash, imagehash.whash)]
        b = '-'
        if bh is not None:
            im2 = img
            if im2.mode in ('1', 'L', 'P'):
                im2 = im2.convert('RGB')
            elif im2.mode == 'LA':
                im2 = im2.convert('RGBA')
            if im2.mode in ('RGB', 'RGBA'):
                b = bh.blockhash(im2, 8)
        print('\t'.join([name] + row + [b]), flush=True)


if __name__ == '__main__':
    main()
