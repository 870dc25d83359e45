#!/usr/bin/env python3
"""A broken scan to repair and inspect: a real surface (Lithos' relief of a photo, closed and
manifold) with holes punched (faces deleted in clusters), faces flipped and a second copy of
part of it overlapping the first, written as a binary STL. Usage: make_broken_scan.py IN.stl OUT.stl"""
import sys
import numpy as np

src, out = sys.argv[1:3]
raw = np.fromfile(src, dtype=np.uint8)
count = int(raw[80:84].view(np.uint32)[0])
rec = np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
tri = np.frombuffer(raw[84:84 + 50 * count].tobytes(), dtype=rec)["v"].copy()
rng = np.random.default_rng(7)
# 40 holes of 1-30 neighbouring faces each (runs of consecutive faces are neighbours on a grid).
drop = np.zeros(len(tri), bool)
for start in rng.choice(len(tri) - 64, 40, replace=False):
    drop[start:start + rng.integers(1, 31)] = True
tri = tri[~drop]
# 2% of faces flipped.
flip = rng.random(len(tri)) < 0.02
tri[flip] = tri[flip][:, ::-1]
# A tenth of the surface (from the middle of the photo) copied, lowered and shifted so that
# it crosses the first.
part = tri[len(tri) * 45 // 100 : len(tri) * 55 // 100].copy()
part += np.array([3.3, 2.1, -0.4], np.float32)
tri = np.concatenate([tri, part])
outrec = np.zeros(len(tri), dtype=rec)
outrec["v"] = tri
with open(out, "wb") as f:
    f.write(b"broken scan".ljust(80, b" "))
    f.write(np.uint32(len(tri)).tobytes())
    f.write(outrec.tobytes())
print(f"{out}: {len(tri)} triangles, {drop.sum()} deleted, {flip.sum()} flipped, {len(part)} overlapping")
