"""JPEGs as the reference writers write them, into the directory given: libjpeg-turbo through
imagecodecs (grey, and colour with 4:2:0 chroma) and Pillow (colour with full chroma and
restart markers, a progressive one, and a CMYK one), from the shipped photos given after it."""

import sys

import imagecodecs
import numpy as np
from PIL import Image

out, camera, astronaut = sys.argv[1:4]
grey = np.asarray(Image.open(camera).convert("L"))
colour = np.asarray(Image.open(astronaut).convert("RGB"))
with open(f"{out}/grey.jpg", "wb") as f:
    f.write(imagecodecs.jpeg8_encode(grey, level=90))
with open(f"{out}/colour420.jpg", "wb") as f:
    f.write(imagecodecs.jpeg8_encode(colour, level=85, subsampling=(2, 2)))
Image.fromarray(colour).save(f"{out}/colour444.jpg", quality=92, subsampling=0, restart_marker_blocks=3)
Image.fromarray(colour).save(f"{out}/progressive.jpg", quality=85, progressive=True)
Image.fromarray(colour).convert("CMYK").save(f"{out}/cmyk.jpg", quality=90)
