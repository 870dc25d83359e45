#!/usr/bin/env python3
"""An RGB PNG of SIDE x SIDE pixels written a band at a time (never whole in memory): smooth
waves plus noise, zlib level 1. Usage: make_png.py SIDE OUT.png"""
import sys, zlib, struct, numpy as np
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
w = h = int(sys.argv[1]); out = sys.argv[2]
rng = np.random.default_rng(1)
with open(out, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n")
    f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
    c = zlib.compressobj(1)
    x = np.arange(w, dtype=np.float32)
    data = bytearray()
    band = 256
    for y0 in range(0, h, band):
        ys = np.arange(y0, min(h, y0 + band), dtype=np.float32)[:, None]
        base = 128 + 60 * np.sin(x[None, :] / (w / 7)) * np.cos(ys / (h / 5)) + 40 * np.sin((x[None, :] + ys) / (w / 31))
        noise = rng.integers(0, 24, size=(len(ys), w, 3))
        rgb = np.clip(base[..., None] + noise - 12 + np.array([0, 10, -10]), 0, 255).astype(np.uint8)
        rows = np.concatenate([np.zeros((len(ys), 1), np.uint8), rgb.reshape(len(ys), -1)], axis=1)
        comp = c.compress(rows.tobytes())
        if comp: f.write(chunk(b"IDAT", comp))
    f.write(chunk(b"IDAT", c.flush()))
    f.write(chunk(b"IEND", b""))
