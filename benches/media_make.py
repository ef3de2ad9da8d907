#!/usr/bin/env python3
"""Converts corpus photographs to HEIC, AVIF and JPEG XL for benches/media.sh.

    media_make.py OUTDIR PHOTO...

Writes OUTDIR/heic/, OUTDIR/avif/ and OUTDIR/jxl/ (lossy) and OUTDIR/jxl-lossless/,
one file per photo, with the encoders the list makers' pipelines read them back with:
pillow-heif (x265, quality 80, in 512x512 tiles as phones write them), Pillow's libavif
(quality 70, encoder speed 8), pillow-jxl-plugin (libjxl, quality 80; and lossless). Run with the
reference peers' Python (`../shared/reference/setup.sh DIR` with WITH_MEDIA=1).
"""
import os
import sys

import pillow_heif
import pillow_jxl  # noqa: F401 - registers the JPEG XL plugin
from PIL import Image


def main():
    out, photos = sys.argv[1], sys.argv[2:]
    for sub in ("heic", "avif", "jxl", "jxl-lossless"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for p in photos:
        stem = os.path.splitext(os.path.basename(p))[0]
        with Image.open(p) as im:
            im = im.convert("RGB")
            pillow_heif.from_pillow(im).save(
                os.path.join(out, "heic", stem + ".heic"), quality=80, tile_size=512)
            im.save(os.path.join(out, "avif", stem + ".avif"), quality=70, speed=8)
            im.save(os.path.join(out, "jxl", stem + ".jxl"), quality=80)
            im.save(os.path.join(out, "jxl-lossless", stem + ".jxl"), lossless=True)
    print(f"{len(photos)} photos converted into {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
