"""Writes a CT series as a PACS exports it: a ZIP of DICOM slices, int16 stored values with a
Rescale Intercept of -1024, written by pydicom. A head-sized phantom: air (-1000 HU) around
an ellipsoidal body of soft tissue (40 HU) holding a skull-like bone shell (800 HU) and a
spine-like bone cylinder, with scanner-like noise (sigma 15 HU).

Usage: python3 make_ct_series.py OUT.zip [NX NY NZ]   (default 512 512 400)
"""

import io
import sys
import zipfile

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

out = sys.argv[1]
nx, ny, nz = (int(v) for v in sys.argv[2:5]) if len(sys.argv) >= 5 else (512, 512, 400)
spacing = (0.5, 0.5, 0.6)  # mm: columns, rows, slices
rng = np.random.default_rng(15)
study, series = generate_uid(), generate_uid()
y, x = np.mgrid[0:ny, 0:nx].astype(np.float32)
cx, cy, cz = (nx - 1) / 2, (ny - 1) / 2, (nz - 1) / 2

with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    for k in range(nz):
        dz = (k - cz) / (0.47 * nz)
        r = lambda ax, ay: np.sqrt(((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 + dz * dz)
        body = r(0.45 * nx, 0.40 * ny)
        hu = np.where(body < 1.0, 40.0, -1000.0)
        shell = r(0.38 * nx, 0.33 * ny)
        hu = np.where((shell > 0.9) & (shell < 1.0), 800.0, hu)
        spine = np.hypot(x - cx, y - (cy + 0.22 * ny)) < 0.05 * nx
        hu = np.where(spine & (body < 1.0), 700.0, hu)
        hu = hu + rng.normal(0.0, 15.0, hu.shape)
        stored = np.clip(np.rint(hu + 1024.0), 0, 4095).astype("<i2")
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.PatientName, ds.PatientID = "Bench^Phantom", "BENCH-1"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 2, k + 1
        ds.ImagePositionPatient = [0.0, 0.0, k * spacing[2]]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing = [spacing[1], spacing[0]]
        ds.SliceThickness = spacing[2]
        ds.Rows, ds.Columns = ny, nx
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = stored.tobytes()
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        z.writestr(f"DICOM/IM{k:05d}.dcm", buffer.getvalue())
print(f"{out}: {nx} x {ny} x {nz} int16 CT slices")
