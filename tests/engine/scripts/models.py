"""3D test files as the reference writers write them, into the directory given, with what
trimesh (the reference mesh library) measures of each in `expected.json` (watertight, winding
consistent, volume, area), and what each was made to have (shells, holes, flipped faces...). trimesh writes STL (binary and ASCII), OBJ, PLY
(binary and ASCII), GLB (a scene with translated, scaled and mirrored instances) and OFF;
lib3mf (the 3MF Consortium's library) writes 3MF with a unit, build-item transforms and a
components object."""

import json
import sys

import lib3mf
import numpy as np
import trimesh

out = sys.argv[1]
expected = {}


def record(name, mesh, shells=1, **extra):
    expected[name] = {
        "watertight": bool(mesh.is_watertight),
        "winding_consistent": bool(mesh.is_winding_consistent),
        "volume": float(mesh.volume) if mesh.is_watertight else None,
        "area": float(mesh.area),
        "triangles": int(len(mesh.faces)),
        "shells": shells,
        **extra,
    }


box = trimesh.creation.box((10, 20, 30))
torus = trimesh.creation.torus(20, 5)
for name, mesh, kwargs in [
    ("box.stl", box, {}),
    ("box_ascii.stl", box, {"file_type": "stl_ascii"}),
    ("box.obj", box, {}),
    ("box.ply", box, {}),
    ("torus_ascii.ply", torus, {"encoding": "ascii"}),
    ("box.off", box, {}),
    ("torus.off", torus, {}),
]:
    mesh.export(f"{out}/{name}", **kwargs)
    record(name, mesh)

# A sphere with three faces cut out (three holes) and two turned over.
sphere = trimesh.creation.icosphere(3, 10)
faces = np.delete(sphere.faces, [0, 50, 100], axis=0)
faces[[10, 20]] = faces[[10, 20]][:, ::-1]
broken = trimesh.Trimesh(sphere.vertices, faces, process=False)
broken.export(f"{out}/broken.stl")
record("broken.stl", broken, holes=3, flipped=2, intact_volume=float(sphere.volume))

# A box wound inside out.
inverted = trimesh.Trimesh(box.vertices, box.faces[:, ::-1], process=False)
inverted.export(f"{out}/inverted.ply")
record("inverted.ply", inverted, inverted=1)

# Two tetrahedra meeting at one vertex (a bow-tie), and a fin: three faces on one edge.
v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
t = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
# The second, mirrored through the shared vertex, is wound the other way to face out too.
bowtie = trimesh.Trimesh(np.vstack([v, -v[1:]]), np.vstack([t, [[0, 4, 5], [0, 6, 4], [0, 5, 6], [4, 6, 5]]]), process=False)
bowtie.export(f"{out}/bowtie.obj")
record("bowtie.obj", bowtie, shells=2, non_manifold_vertices=1)
fin = trimesh.Trimesh(np.vstack([v, [[1, 1, 0]]]), np.vstack([t, [[0, 1, 4]]]), process=False)
fin.export(f"{out}/fin.stl")
record("fin.stl", fin, non_manifold_edges=1, open_edges=2, holes=1)

# A box with one face written twice and one with no area.
extra = np.vstack([box.faces, box.faces[:1], [[0, 0, 1]]])
messy = trimesh.Trimesh(box.vertices, extra, process=False)
messy.export(f"{out}/messy.ply", encoding="ascii")
record("messy.ply", messy, duplicates=1, degenerate=1)

# Two boxes overlapping, and two apart.
overlap = trimesh.util.concatenate([box, box.copy().apply_translation((5, 5, 5))])
overlap.export(f"{out}/overlap.stl")
# Their union: both boxes less the box they share, (10-5) x (20-5) x (30-5).
record("overlap.stl", overlap, shells=2, crossing=True, union_volume=2 * float(box.volume) - 5 * 15 * 25)
# A ring folded through itself: a torus whose tube crosses a box standing through its hole,
# the box's top and bottom outside the ring.
post = trimesh.creation.box((8, 8, 60))
threaded = trimesh.util.concatenate([torus, post.copy().apply_translation((20, 0, 0))])
threaded.export(f"{out}/threaded.stl")
record("threaded.stl", threaded, shells=2, crossing=True)
apart = trimesh.util.concatenate([box, box.copy().apply_translation((50, 0, 0))])
apart.export(f"{out}/apart.stl")
record("apart.stl", apart, shells=2, crossing=False)

# A scene of instances: one as it is, one moved and scaled by 2, one mirrored.
scene = trimesh.Scene()
scene.add_geometry(box, node_name="plain")
scene.add_geometry(box, node_name="scaled", transform=trimesh.transformations.scale_and_translate(2.0, (100, 0, 0)))
scene.add_geometry(box, node_name="mirrored", transform=np.diag([-1.0, 1.0, 1.0, 1.0]) @ trimesh.transformations.translation_matrix((200, 0, 0)))
scene.export(f"{out}/scene.glb")
merged = scene.to_mesh()
record("scene.glb", merged, shells=3, volume_mm3=float(merged.volume) * 1e9, area_mm2=float(merged.area) * 1e6)

# 3MF through lib3mf: a box in centimetres, placed twice (moved, and mirrored), and a
# components object holding it once more, scaled by 2.
wrapper = lib3mf.get_wrapper()
model = wrapper.CreateModel()
model.SetUnit(lib3mf.ModelUnit.CentiMeter)
mesh = model.AddMeshObject()
positions = [lib3mf.Position((float(x), float(y), float(z))) for x, y, z in box.vertices]
triangles = [lib3mf.Triangle((int(a), int(b), int(c))) for a, b, c in box.faces]
mesh.SetGeometry(positions, triangles)


def transform(matrix):
    t = lib3mf.Transform()
    for r in range(4):
        for c in range(3):
            t.Fields[r][c] = float(matrix[c][r])
    return t


model.AddBuildItem(mesh, transform(trimesh.transformations.translation_matrix((0, 0, 0))))
model.AddBuildItem(mesh, transform(np.diag([1.0, -1.0, 1.0, 1.0]) @ trimesh.transformations.translation_matrix((0, 100, 0))))
components = model.AddComponentsObject()
components.AddComponent(mesh, transform(trimesh.transformations.scale_and_translate(2.0, (0, 0, 100))))
model.AddBuildItem(components, transform(np.eye(4)))
model.QueryWriter("3mf").WriteToFile(f"{out}/placed.3mf")
expected["placed.3mf"] = {
    "watertight": True,
    "winding_consistent": True,
    "volume": None,
    "area": None,
    "triangles": 36,
    "shells": 3,
    "volume_mm3": float(box.volume) * (1 + 1 + 8) * 1000.0,
}

with open(f"{out}/expected.json", "w") as f:
    json.dump(expected, f, indent=1)
