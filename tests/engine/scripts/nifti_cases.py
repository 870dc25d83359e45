"""Writes NIfTI test cases with nibabel, and what nibabel reads from each.

For every scalar datatype the standard defines, in both byte orders, with scl_slope 0, 1,
NaN and 0.5 (intercept -10): a 7 x 5 x 4 volume of known samples. And the NIfTI files nibabel
ships for its own tests: a big-endian int16 MRI with a NaN slope, 4-D series, big-endian
float32 and uint8. Each case is CASE.nii(.gz) beside CASE.f32, nibabel's `get_fdata()` of the
chosen frame as little-endian float32 with x fastest; manifest.txt lists `CASE FILE FRAME`.

Usage: python3 nifti_cases.py OUT_DIR
"""

import gzip
import os
import shutil
import struct
import sys

import nibabel as nib
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
manifest = []


def expect(name, path, frame):
    img = nib.load(path)
    data = img.get_fdata(dtype=np.float64)
    if data.ndim == 4:
        data = data[..., frame]
    data.astype("<f4").ravel(order="F").tofile(os.path.join(out, name + ".f32"))
    manifest.append(f"{name} {os.path.basename(path)} {frame}")


x, y, z = np.meshgrid(np.arange(7), np.arange(5), np.arange(4), indexing="ij")
base = (x * 7 + y * 13 + z * 29) % 200
for code in ["u1", "i1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"]:
    for order in "<>":
        if code in ("u1", "i1") and order == ">":
            continue  # one byte has no order
        signed = code[0] in "if"
        stored = (base - 100 if signed else base).astype(order + code)
        if code[0] == "f":
            stored = stored * np.array(0.25, dtype=order + code)
        header = nib.Nifti1Header(endianness=order)
        header.set_data_dtype(stored.dtype)
        img = nib.Nifti1Image(stored, np.diag([0.8, 0.9, 1.5, 1.0]), header=header)
        for tag, slope, inter in [("s0", 0.0, 0.0), ("s1", 1.0, 0.0), ("nan", np.nan, np.nan), ("lin", 0.5, -10.0)]:
            name = f"{code}{'be' if order == '>' else 'le'}-{tag}"
            path = os.path.join(out, name + ".nii")
            nib.save(img, path)
            # nibabel writes the scaling it chooses; set the one under test in the header.
            with open(path, "r+b") as f:
                f.seek(112)
                f.write(struct.pack(order + "ff", slope, inter))
            if tag == "lin" and order == "<":
                with open(path, "rb") as src, gzip.open(path + ".gz", "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.remove(path)
                path += ".gz"
            expect(name, path, 0)

# Larger than the reader's 1 MiB chunks: big-endian int16, 256 x 256 x 20, scaled.
bx, by, bz = np.meshgrid(np.arange(256), np.arange(256), np.arange(20), indexing="ij")
big = ((bx * 3 + by * 5 + bz * 11) % 4000 - 2000).astype(">i2")
header = nib.Nifti1Header(endianness=">")
header.set_data_dtype(big.dtype)
path = os.path.join(out, "i2be-chunks.nii")
nib.save(nib.Nifti1Image(big, np.diag([0.8, 0.9, 1.5, 1.0]), header=header), path)
with open(path, "r+b") as f:
    f.seek(112)
    f.write(struct.pack(">ff", 1.0, -1024.0))
expect("i2be-chunks", path, 0)

shipped = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
for name, frame in [
    ("anatomical.nii", 0),
    ("example4d.nii.gz", 0),
    ("example4d.nii.gz", 1),
    ("functional.nii", 19),
    ("reoriented_anat_moved.nii", 0),
    ("standard.nii.gz", 0),
]:
    shutil.copy(os.path.join(shipped, name), os.path.join(out, name))
    case = f"nibabel-{name.split('.')[0]}-{frame}"
    expect(case, os.path.join(out, name), frame)

# A CT phantom as scanners store it: int16 of HU + 1024, with scl_slope 1 and scl_inter -1024.
# Air (-1000 HU) around a body of soft tissue (40 HU, radius 20 mm) holding a bone cylinder
# (560 HU, radius 10 mm) along z, edges blurred over one voxel as a scanner's are. 96 x 96 x 40
# voxels of 0.5 x 0.5 x 1 mm, the axis at voxel (47.5, 47.5).
px, py = np.meshgrid(np.arange(96), np.arange(96), indexing="ij")
radius = np.hypot(px - 47.5, py - 47.5) * 0.5  # mm
ramp = lambda edge: np.clip((edge - radius) / 0.5 + 0.5, 0.0, 1.0)  # 1 inside, over a voxel
hu = -1000.0 + 1040.0 * ramp(20.0) + 520.0 * ramp(10.0)
phantom = np.repeat(np.rint(hu + 1024.0)[:, :, None], 40, axis=2).astype("<i2")
header = nib.Nifti1Header()
header.set_data_dtype(np.int16)
img = nib.Nifti1Image(phantom, np.diag([0.5, 0.5, 1.0, 1.0]), header=header)
path = os.path.join(out, "phantom.nii")
nib.save(img, path)
with open(path, "r+b") as f:
    f.seek(112)
    f.write(struct.pack("<ff", 1.0, -1024.0))
expect("phantom", path, 0)

with open(os.path.join(out, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
