"""Tiled TIFFs as tifffile (the reference TIFF writer for scientific imaging) writes them, into
the directory given: 8-bit RGB, 16-bit grey and 32-bit float elevations with a NaN, in tiles
that do not divide the image (so the last tiles of each row and column are padded), one
deflate-compressed."""

import sys

import numpy as np
import tifffile

out = sys.argv[1]
h, w = 190, 301
y, x = np.mgrid[0:h, 0:w]
rgb = np.stack([(x * 7 + y * 3) % 256, (x * y) % 256, (x + 2 * y) % 256], -1).astype(np.uint8)
tifffile.imwrite(f"{out}/rgb8_tiled.tif", rgb, tile=(48, 64), photometric="rgb")
gray16 = ((x * 250 + y * 37) % 65536).astype(np.uint16)
tifffile.imwrite(f"{out}/gray16_tiled.tif", gray16, tile=(32, 32))
metres = (100.0 + 50.0 * np.sin(x * 0.1) * np.cos(y * 0.07)).astype(np.float32)
metres[1, 0] = np.nan
tifffile.imwrite(f"{out}/metres_tiled.tif", metres, tile=(16, 128), compression="zlib")
