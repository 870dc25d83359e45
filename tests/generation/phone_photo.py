"""Writes a photo as a phone does, with Pillow: IMAGE as a JPEG carrying EXIF (the camera,
the time, where it was taken) and a comment, turned by ORIENTATION (EXIF's 1 to 8).

Usage: phone_photo.py IMAGE OUT ORIENTATION. Prints, as JSON, what Pillow reads back from OUT:
its EXIF tags, its GPS tags and the sha256 of its pixels (as stored, before any turning).
"""

import hashlib
import json
import sys

from PIL import Image

source, out, orientation = sys.argv[1], sys.argv[2], int(sys.argv[3])
exif = Image.Exif()
exif[0x010F] = "Lithos"  # Make
exif[0x0110] = "Phone 1"  # Model
exif[0x0132] = "2026:11:30 12:00:00"  # DateTime
exif[0x0112] = orientation
exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}  # GPS
Image.open(source).convert("RGB").save(out, "JPEG", quality=90, exif=exif, comment=b"at home")
saved = Image.open(out)
print(json.dumps({
    "exif": len(saved.getexif()),
    "gps": len(saved.getexif().get_ifd(0x8825)),
    "comment": saved.info.get("comment", b"").decode(),
    "pixels_sha256": hashlib.sha256(saved.convert("RGBA").tobytes()).hexdigest(),
}))
