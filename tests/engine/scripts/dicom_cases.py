"""Writes DICOM test series with pydicom, and what each should read as.

Series written here, each slice carrying a patient's name and id (the privacy tests look for
them), as CT scanners write them: int16 or uint16 stored values with a Rescale Intercept of
-1024, 12 bits stored, positions along the slice normal.

- phantom: a CT phantom (air, a soft-tissue body, a bone cylinder along z, edges blurred over a
  voxel as a scanner's are), its files named and numbered in shuffled order, so that only the
  positions give the order;
- phantom-rle: the same, RLE Lossless (pydicom's encoder);
- phantom-jpegll: the same as uint16, JPEG Lossless, first-order prediction (process 14, SV1),
  encoded by libjpeg-turbo through imagecodecs and encapsulated by pydicom;
- oblique: a box in air, on slices tilted in two axes, spacing 0.7 x 0.6 x 1.1 mm;
- phantom.zip: the phantom in a ZIP;
- two-series.zip: the phantom and another series in one ZIP;
- uneven: the phantom without one of its slices;
- mismatch: the phantom with one slice of another size;
- notdicom: the phantom with a text file named as a slice;
- pydicom's own test files (CT, MR in several encodings, an RT dose grid of 15 frames).

Each readable case NAME gets NAME.f32 (the values in Hounsfield units or the file's units,
little-endian float32, x fastest, slices in order along the normal) and NAME.json (dims,
spacing, the row, column and normal directions). manifest.txt lists `NAME PATH`.

Usage: python3 dicom_cases.py OUT_DIR
"""

import json
import os
import random
import shutil
import sys
import zipfile

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_modality_lut
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    JPEGLosslessSV1,
    RLELossless,
    generate_uid,
)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
manifest = []
rng = random.Random(15)

PATIENT_NAME = "Doe^Jane^Privacy"
PATIENT_ID = "PID-7731-SECRET"


def expect(name, path, hu, spacing, axes):
    """hu: z, y, x array in order along the normal."""
    np.asarray(hu, dtype="<f4").ravel(order="C").tofile(os.path.join(out, name + ".f32"))
    z, y, x = hu.shape
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"dims": [x, y, z], "spacing": spacing, "axes": axes}, f)
    manifest.append(f"{name} {os.path.relpath(path, out)}")


def slice_dataset(series, pixels, position, row, col, spacing, number, signed=True):
    """One CT slice of `series` (a dict of series-level values)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = "19700101"
    ds.StudyInstanceUID = series["study"]
    ds.SeriesInstanceUID = series["uid"]
    ds.SeriesNumber = series["number"]
    ds.SeriesDescription = series["description"]
    ds.Modality = "CT"
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [float(v) for v in position]
    ds.ImageOrientationPatient = [float(v) for v in list(row) + list(col)]
    ds.PixelSpacing = [spacing[1], spacing[0]]  # between rows, between columns
    ds.SliceThickness = spacing[2]
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12 if signed else 16
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.PixelData = pixels.astype("<i2" if signed else "<u2").tobytes()
    return ds


def write_series(directory, series, hu_zyx, spacing, row, col, origin, encode=None,
                 signed=True, skip=(), resize=None, names=None):
    """Writes hu_zyx (z ascending along the normal) as slices at origin + k * gap * normal,
    files named and numbered in shuffled order."""
    os.makedirs(directory, exist_ok=True)
    normal = np.cross(row, col)
    count = hu_zyx.shape[0]
    numbers = list(range(1, count + 1))
    rng.shuffle(numbers)
    files = []
    for k in range(count):
        if k in skip:
            continue
        stored = np.rint(hu_zyx[k] + 1024.0)
        if resize is not None and k == resize:
            stored = stored[:-2, :]
        position = np.asarray(origin) + k * spacing[2] * normal
        ds = slice_dataset(series, stored, position, row, col, spacing, numbers[k], signed)
        if encode is not None:
            encode(ds, stored)
        name = names[k] if names else f"IM{rng.getrandbits(40):010x}.dcm"
        path = os.path.join(directory, name)
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def rle(ds, _stored):
    ds.compress(RLELossless)


def jpeg_lossless(ds, stored):
    import imagecodecs

    frame = imagecodecs.jpeg8_encode(
        stored.astype(np.uint16), lossless=True, predictor=1, bitspersample=16
    )
    ds.file_meta.TransferSyntaxUID = JPEGLosslessSV1
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"


axial = (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
study = generate_uid()

# The CT phantom: 64 x 56 pixels of 0.5 mm, 30 slices of 1.25 mm. Air (-1000 HU) around a
# body of soft tissue (40 HU, radius 12 mm) holding a bone cylinder (560 HU, radius 6 mm), so
# that 300 HU is halfway up its edge.
px, py = np.meshgrid(np.arange(64), np.arange(56), indexing="xy")  # [y, x]
radius = np.hypot(px - 31.5, py - 27.5) * 0.5
ramp = lambda edge: np.clip((edge - radius) / 0.5 + 0.5, 0.0, 1.0)
plane = np.rint(-1000.0 + 1040.0 * ramp(12.0) + 520.0 * ramp(6.0))
phantom = np.repeat(plane[None, :, :], 30, axis=0)
phantom_series = {"study": study, "uid": generate_uid(), "number": 3, "description": "PHANTOM"}
spacing = [0.5, 0.5, 1.25]
origin = [-16.0, -14.0, -40.0]
axes = [list(axial[0]), list(axial[1]), [0.0, 0.0, 1.0]]

for name, encode, signed in [
    ("phantom", None, True),
    ("phantom-rle", rle, True),
    ("phantom-jpegll", jpeg_lossless, False),
]:
    d = os.path.join(out, name)
    write_series(d, phantom_series, phantom, spacing, *axial, origin, encode, signed)
    expect(name, d, phantom, spacing, axes)
with open(os.path.join(out, "phantom-series-uid.txt"), "w") as f:
    f.write(phantom_series["uid"])

# Oblique: a box of 24 x 24 x 20 voxels (16.8 x 14.4 x 22 mm) in a 40 x 36 x 30 volume, on
# slices rotated 30 degrees about z and tilted 20 degrees about x.
a, b = np.radians(30.0), np.radians(20.0)
rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
r = rz @ rx
row, col = r[:, 0], r[:, 1]
box = np.full((30, 36, 40), -1000.0)
box[5:25, 6:30, 8:32] = 1000.0
oblique_spacing = [0.7, 0.6, 1.1]
d = os.path.join(out, "oblique")
write_series(d, {"study": study, "uid": generate_uid(), "number": 4, "description": "OBLIQUE"},
             box, oblique_spacing, row, col, [10.0, -20.0, 5.0])
expect("oblique", d, box, oblique_spacing, [list(row), list(col), list(np.cross(row, col))])

# The phantom as a PACS sends it: one ZIP.
with zipfile.ZipFile(os.path.join(out, "phantom.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for f in sorted(os.listdir(os.path.join(out, "phantom"))):
        z.write(os.path.join(out, "phantom", f), f"DICOM/{f}")

# Two series in one ZIP.
other = {"study": study, "uid": generate_uid(), "number": 1, "description": "SCOUT"}
d = os.path.join(out, "scout")
scout = write_series(d, other, np.full((3, 24, 24), 40.0), [1.0, 1.0, 5.0], *axial, [0, 0, 0])
with zipfile.ZipFile(os.path.join(out, "two-series.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for f in sorted(os.listdir(os.path.join(out, "phantom"))):
        z.write(os.path.join(out, "phantom", f), f"study/phantom/{f}")
    for f in scout:
        z.write(f, f"study/scout/{os.path.basename(f)}")
    z.writestr("study/README.txt", "exported by a PACS")
with open(os.path.join(out, "scout-series-uid.txt"), "w") as f:
    f.write(other["uid"])

# Broken series: a missing slice, a slice of another size, a text file named as a slice.
write_series(os.path.join(out, "uneven"), phantom_series, phantom, spacing, *axial, origin,
             skip=(12,))
write_series(os.path.join(out, "mismatch"), phantom_series, phantom, spacing, *axial, origin,
             resize=7)
d = os.path.join(out, "notdicom")
write_series(d, phantom_series, phantom, spacing, *axial, origin)
with open(os.path.join(d, "IM0099.dcm"), "w") as f:
    f.write("not a DICOM file\n")

# pydicom's own test files.
for name in ["CT_small", "MR_small", "MR_small_RLE", "MR_small_bigendian", "MR_small_implicit",
             "MR_small_expb", "rtdose"]:
    source = get_testdata_file(name + ".dcm")
    path = os.path.join(out, name + ".dcm")
    shutil.copy(source, path)
    ds = pydicom.dcmread(path)
    values = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    if values.ndim == 2:
        values = values[None]
    else:
        # Frames in order along the normal: an RT dose grid's offsets.
        offsets = np.asarray(ds.GridFrameOffsetVector, dtype=float)
        values = values[np.argsort(offsets, kind="stable")]
    expect(name, path, values, None, None)
for name in ["MR_small_jpeg_ls_lossless", "SC_rgb_rle"]:
    shutil.copy(get_testdata_file(name + ".dcm"), os.path.join(out, name + ".dcm"))

with open(os.path.join(out, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
