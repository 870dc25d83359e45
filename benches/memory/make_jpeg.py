#!/usr/bin/env python3
"""A baseline JPEG (quality 90, 4:2:0, Pillow's libjpeg) of the PNG make_png.py wrote.
Usage: make_jpeg.py IN.png OUT.jpg"""
import sys
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
Image.open(sys.argv[1]).convert("RGB").save(sys.argv[2], quality=90)
