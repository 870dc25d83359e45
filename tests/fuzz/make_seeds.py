"""Writes the fuzz targets' seed corpora (corpus/TARGET/), small files of each format, most
with the reference writers (Pillow, tifffile, trimesh, lib3mf, fontTools) and some shipped by
nibabel. Run once; the files are committed. Needs: pillow tifffile trimesh lib3mf nibabel
fonttools.

    python3 tests/fuzz/make_seeds.py
"""

import base64
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nibabel
import numpy as np
import tifffile
import trimesh
from PIL import Image

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"


def out(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def image_bytes(fmt, mode="L", size=(7, 5), **kw):
    rng = np.random.default_rng(1)
    shape = (size[1], size[0]) if mode in ("L", "I;16") else (size[1], size[0], len(mode))
    dtype = np.uint16 if mode == "I;16" else np.uint8
    pixels = rng.integers(0, 255, shape).astype(dtype)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode=None).save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    # Images: every format the decoder takes.
    out("image", "grey.png", image_bytes("PNG"))
    out("image", "rgba.png", image_bytes("PNG", "RGBA"))
    out("image", "interlaced.png", image_bytes("PNG", "RGB", interlace=1))
    out("image", "baseline.jpg", image_bytes("JPEG", "RGB", size=(16, 16)))
    out("image", "progressive.jpg", image_bytes("JPEG", "L", size=(16, 16), progressive=True))
    out("image", "lossless.webp", image_bytes("WEBP", "RGB", lossless=True))
    out("image", "grey.bmp", image_bytes("BMP"))
    out("image", "palette.gif", image_bytes("GIF"))
    out("image", "grey.tif", image_bytes("TIFF"))
    # Volumes: a multi-page TIFF stack, a ZIP of PNG slices, raw samples, NIfTI.
    stack = io.BytesIO()
    tifffile.imwrite(stack, np.arange(4 * 5 * 3, dtype=np.uint16).reshape(3, 5, 4), photometric="minisblack")
    out("volume_tiff", "stack.tif", stack.getvalue())
    tiled = io.BytesIO()
    tifffile.imwrite(tiled, np.arange(2 * 32 * 32, dtype=np.uint8).reshape(2, 32, 32), tile=(16, 16), photometric="minisblack")
    out("volume_tiff", "tiled.tif", tiled.getvalue())
    slices = io.BytesIO()
    with zipfile.ZipFile(slices, "w", zipfile.ZIP_DEFLATED) as z:
        for k in range(3):
            z.writestr(f"slice_{k:03}.png", image_bytes("PNG", size=(6, 4)))
    out("volume_zip", "slices.zip", slices.getvalue())
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as z:
        for k in range(2):
            page = io.BytesIO()
            tifffile.imwrite(page, np.full((4, 5), k * 100, dtype=np.uint16))
            z.writestr(f"scan/{k + 1}.tif", page.getvalue())
    out("volume_zip", "tiff_slices.zip", stored.getvalue())
    out("volume_raw", "u8.raw", bytes([3, 2, 1, 0]) + bytes(range(24)))
    out("volume_raw", "f32.raw", bytes([1, 1, 0, 2]) + np.arange(4, dtype="<f4").tobytes())
    data = Path(nibabel.__file__).parent / "tests" / "data"
    for name in ["standard.nii.gz", "resampled_anat_moved.nii"]:
        out("volume_nifti", name, (data / name).read_bytes())
    small = nibabel.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4))
    out("volume_nifti", "written.nii", small.to_bytes())
    # 3D files: trimesh writes each format; a box with a hole punched, and a sphere.
    box = trimesh.creation.box()
    holed = trimesh.Trimesh(box.vertices, box.faces[:-1])
    sphere = trimesh.creation.icosphere(subdivisions=1)
    for target, ext, kw in [
        ("model_stl", "stl", {}),
        ("model_obj", "obj", {}),
        ("model_ply", "ply", {}),
        ("model_gltf", "glb", {}),
        ("model_off", "off", {}),
    ]:
        for label, mesh in [("box", box), ("holed", holed), ("sphere", sphere)]:
            out(target, f"{label}.{ext}", mesh.export(file_type=ext, **kw))
    out("model_stl", "ascii.stl", box.export(file_type="stl_ascii"))
    # 3MF through lib3mf (the 3MF Consortium's library): the box in centimetres, placed twice.
    import lib3mf

    wrapper = lib3mf.get_wrapper()
    for label, mesh in [("box", box), ("holed", holed)]:
        m = wrapper.CreateModel()
        m.SetUnit(lib3mf.ModelUnit.CentiMeter)
        obj = m.AddMeshObject()
        obj.SetGeometry(
            [lib3mf.Position(tuple(float(v) for v in p)) for p in mesh.vertices],
            [lib3mf.Triangle(tuple(int(v) for v in f)) for f in mesh.faces],
        )
        for shift in (0.0, 3.0):
            t = lib3mf.Transform()
            for r in range(4):
                for c in range(3):
                    t.Fields[r][c] = 1.0 if r == c else 0.0
            t.Fields[3][0] = shift
            m.AddBuildItem(obj, t)
        with tempfile.TemporaryDirectory() as tmp:
            m.QueryWriter("3mf").WriteToFile(f"{tmp}/{label}.3mf")
            out("model_3mf", f"{label}.3mf", Path(f"{tmp}/{label}.3mf").read_bytes())
    out("model_ply", "ascii.ply", box.export(file_type="ply", encoding="ascii"))
    gltf = trimesh.Scene([box]).export(file_type="gltf")
    # glTF JSON with its buffer embedded as a data URI, as Lithos reads it.
    document = json.loads(gltf["model.gltf"])
    for buffer in document["buffers"]:
        blob = base64.b64encode(gltf[buffer["uri"]]).decode()
        buffer["uri"] = f"data:application/octet-stream;base64,{blob}"
    out("model_gltf", "embedded.gltf", json.dumps(document))
    # Fonts: fontTools' own (TrueType and CFF outlines), written by the text tests' script.
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(HERE.parent / "engine" / "scripts" / "fonts.py"), tmp], check=True)
        for name in ["quadratic.ttf", "cubic.otf"]:
            out("font", name, (Path(tmp) / name).read_bytes())
    # Creem webhook bodies, as its documentation shapes them.
    product = {"id": "prod_1", "object": "product", "price": 900, "currency": "EUR", "billing_type": "onetime"}
    customer = {"id": "cust_1", "object": "customer", "email": "a@example.com"}
    events = {
        "checkout.json": {"id": "evt_1", "eventType": "checkout.completed", "created_at": 1760000000000,
                          "object": {"id": "ch_1", "object": "checkout", "order": {"id": "ord_1", "amount": 900, "amount_paid": 900},
                                     "product": product, "customer": customer, "status": "completed",
                                     "metadata": {"user_id": "u_1"}, "mode": "test"}},
        "subscription.json": {"id": "evt_2", "eventType": "subscription.paid", "created_at": "2026-11-30T10:00:00Z",
                              "object": {"id": "sub_1", "object": "subscription", "product": "prod_2", "customer": customer,
                                         "current_period_end_date": "2026-12-30T10:00:00.000Z", "status": "active",
                                         "metadata": {"user_id": "u_1"}}},
        "refund.json": {"id": "evt_3", "eventType": "refund.created", "created_at": 1760000000000,
                        "object": {"id": "ref_1", "object": "refund", "refund_amount": 900,
                                   "transaction": {"id": "tran_1", "amount_paid": 900}, "customer": "cust_1"}},
    }
    for name, event in events.items():
        out("creem_webhook", name, json.dumps(event).encode())


if __name__ == "__main__":
    main()
