"""Writes the benchmark's synthetic 16-bit height map (waves plus fine noise) as a PNG.

Usage: python3 make_relief_input.py OUTPUT.png [SIZE]
"""
import sys

import numpy as np
from PIL import Image

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
z = 0.5 + 0.25 * np.sin(12 * x) * np.cos(9 * y) + 0.15 * np.sin(40 * (x + y))
z += np.random.default_rng(1).normal(0, 0.02, (n, n)).astype(np.float32)
Image.fromarray((np.clip(z, 0, 1) * 65535).astype(np.uint16)).save(out)
