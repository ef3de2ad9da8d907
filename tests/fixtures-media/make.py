#!/usr/bin/env python3
"""Makes the tiny synthetic HEIC, AVIF and JPEG XL fixtures in this folder.

Run with the reference peers' Python (`../shared/reference/setup.sh DIR` with
`WITH_MEDIA=1`), from the repository root:

    DIR/venv/bin/python tests/fixtures-media/make.py

The images are drawn here (gradients, shapes and noise from a fixed seed), never
photographs, and kept small. Encoders: pillow-heif (libheif + x265) for HEIC, Pillow's
own libavif for AVIF, pillow-jxl-plugin (libjxl) for JPEG XL: the same libraries list
makers decode with. After making them, hash them with `pdq_ref.py` into
`tests/golden/pdq_ref_media.tsv` (the last lines of this script print the command).
"""
import os
import random

import numpy as np
import pillow_heif
import pillow_jxl  # noqa: F401 - registers the JPEG XL plugin
from PIL import Image, ImageDraw

OUT = os.path.dirname(os.path.abspath(__file__))


def scene(w, h, seed, mode="RGB"):
    """A picture with structure at several scales, so PDQ has something to see."""
    rng = random.Random(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / (7 + seed % 5)) * np.cos(y / 11)
    g = 255 * x / max(w - 1, 1)
    b = 255 * y / max(h - 1, 1)
    arr = np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)
    im = Image.fromarray(arr, "RGB")
    d = ImageDraw.Draw(im)
    for _ in range(6):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(8, w // 2), y0 + rng.randrange(8, h // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            d.rectangle([x0, y0, x1, y1], fill=colour)
        else:
            d.ellipse([x0, y0, x1, y1], fill=colour)
    if mode == "RGBA":
        alpha = Image.linear_gradient("L").resize((w, h)).rotate(90)
        im.putalpha(alpha)
    return im


def save(im, name, **kw):
    path = os.path.join(OUT, name)
    im.save(path, **kw)
    print(f"{name}: {os.path.getsize(path)} bytes")


def heic_10bit(name, w, h, seed):
    """A 10-bit HEIC from 16-bit samples (pillow-heif keeps the top 10 bits)."""
    rgb = np.asarray(scene(w, h, seed), dtype=np.uint16) * 257
    heif = pillow_heif.from_bytes(mode="RGB;16", size=(w, h), data=rgb.astype("<u2").tobytes())
    path = os.path.join(OUT, name)
    heif.save(path, quality=90)
    print(f"{name}: {os.path.getsize(path)} bytes")


def main():
    pillow_heif.register_heif_opener()
    # HEIC (HEVC): 4:2:0 and 4:4:4, alpha, a grid of 64x64 tiles, 10-bit, a collection
    # of three top-level images (the first is primary), a rotated one (irot).
    save(scene(96, 64, 1), "rgb420.heic", quality=85)
    save(scene(96, 64, 2), "rgb444.heic", quality=85, chroma=444)
    save(scene(80, 80, 3, "RGBA"), "alpha.heic", quality=85)
    save(scene(200, 136, 4), "grid.heic", quality=80, tile_size=64)
    heic_10bit("10bit.heic", 96, 64, 5)
    # EXIF orientation 6 on saving becomes the container's rotation (irot) and EXIF
    # orientation 1: readers see a 64x96 picture.
    exif = Image.Exif()
    exif[0x0112] = 6
    save(scene(96, 64, 13), "rotated.heic", quality=85, exif=exif.tobytes())
    frames = [scene(64, 48, 10 + k) for k in range(3)]
    save(frames[0], "three.heic", save_all=True, append_images=frames[1:], quality=80)
    # AVIF (libavif through Pillow): 4:2:0, 4:4:4, alpha, a three-frame sequence.
    save(scene(96, 64, 6), "rgb420.avif", quality=70)
    save(scene(96, 64, 7), "rgb444.avif", quality=70, subsampling="4:4:4")
    save(scene(80, 80, 8, "RGBA"), "alpha.avif", quality=70)
    frames = [scene(64, 48, 20 + k) for k in range(3)]
    save(frames[0], "three.avif", save_all=True, append_images=frames[1:], quality=60, duration=100)
    # JPEG XL (libjxl): lossy, lossless, lossless with alpha.
    save(scene(96, 64, 9), "lossy.jxl", quality=80)
    save(scene(96, 64, 11), "lossless.jxl", lossless=True)
    save(scene(80, 80, 12, "RGBA"), "alpha.jxl", lossless=True)
    # The same codestream in the ISOBMFF container (signature box, ftyp, jxlc).
    with open(os.path.join(OUT, "lossless.jxl"), "rb") as f:
        codestream = f.read()
    boxed = (b"\0\0\0\x0cJXL \r\n\x87\n" + b"\0\0\0\x14ftypjxl \0\0\0\0jxl "
             + (8 + len(codestream)).to_bytes(4, "big") + b"jxlc" + codestream)
    with open(os.path.join(OUT, "container.jxl"), "wb") as f:
        f.write(boxed)
    print(f"container.jxl: {len(boxed)} bytes")
    print("now: DIR/venv/bin/python ../shared/reference/pdq_ref.py tests/fixtures-media/*.{heic,avif,jxl}")


if __name__ == "__main__":
    main()
