#!/usr/bin/env python3
"""Makes the CMYK JPEG fixtures of the ImageHash golden test (tests/imagehash_golden.rs).

Run with the reference peers' Python, from the repository root:

    DIR/venv/bin/python tests/fixtures-imagehash/make.py

then regenerate the goldens with tests/golden/imagehash_golden.sh. The pictures are
drawn here (noise and gradients from a fixed seed), never photographs. Pillow writes
CMYK JPEGs with an Adobe marker and inverted samples, as Photoshop does; ImageHash
converts them to greyscale through Pillow's CMYK path, which phscan must match.
"""
import os
import random

from PIL import Image

OUT = os.path.dirname(os.path.abspath(__file__))


def picture(w, h, seed):
    rng = random.Random(seed)
    noise = Image.effect_noise((w, h), rng.randint(20, 80))
    grad = Image.linear_gradient("L").resize((w, h))
    turned = noise.rotate(rng.randint(10, 80))
    return Image.merge("RGB", [noise, turned, grad])


for i, (w, h, q) in enumerate([(257, 183, 90), (320, 240, 75), (97, 601, 60)]):
    picture(w, h, i).convert("CMYK").save(os.path.join(OUT, f"cmyk{i}.jpg"), quality=q)
