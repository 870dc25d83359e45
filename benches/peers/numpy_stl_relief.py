"""The usual hand-rolled converter: numpy + numpy-stl, top surface only (no walls, no floor).

Usage: python3 numpy_stl_relief.py INPUT.png OUTPUT.stl
Same grid, size (100 mm wide) and heights (2 mm base + 3 mm relief) as `lithos convert`.
"""
import sys

import numpy as np
from PIL import Image
from stl import mesh

image = np.asarray(Image.open(sys.argv[1]), dtype=np.float32)
image /= 65535.0 if image.max() > 255 else 255.0
h, w = image.shape
pitch = 100.0 / (w - 1)
z = 2.0 + 3.0 * image
xs = np.arange(w, dtype=np.float32) * pitch
ys = (h - 1 - np.arange(h, dtype=np.float32)) * pitch
X, Y = np.meshgrid(xs, ys)
V = np.stack([X, Y, z], axis=-1)
a, b = V[:-1, :-1].reshape(-1, 3), V[:-1, 1:].reshape(-1, 3)
c, d = V[1:, :-1].reshape(-1, 3), V[1:, 1:].reshape(-1, 3)
cells = a.shape[0]
surface = mesh.Mesh(np.zeros(2 * cells, dtype=mesh.Mesh.dtype))
surface.vectors[0::2] = np.stack([a, c, d], axis=1)
surface.vectors[1::2] = np.stack([a, d, b], axis=1)
surface.save(sys.argv[2])
