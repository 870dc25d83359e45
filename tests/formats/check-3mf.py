"""Reads a 3MF file with the 3MF Consortium's lib3mf in strict mode and prints what it found as
JSON: the reader's warnings, the unit, whether there is a package thumbnail, the build items,
and per mesh object its vertex and triangle counts and whether lib3mf finds it manifold and
consistently oriented.

    python3 check-3mf.py FILE.3mf
"""

import json
import sys

import lib3mf

wrapper = lib3mf.get_wrapper()
model = wrapper.CreateModel()
reader = model.QueryReader("3mf")
reader.SetStrictModeActive(True)
reader.ReadFromFile(sys.argv[1])

objects = []
meshes = model.GetMeshObjects()
while meshes.MoveNext():
    mesh = meshes.GetCurrentMeshObject()
    objects.append(
        {
            "vertices": mesh.GetVertexCount(),
            "triangles": mesh.GetTriangleCount(),
            "manifold_and_oriented": mesh.IsManifoldAndOriented(),
        }
    )
items = 0
build = model.GetBuildItems()
while build.MoveNext():
    items += 1
print(
    json.dumps(
        {
            "warnings": [str(reader.GetWarning(i)) for i in range(reader.GetWarningCount())],
            "unit": model.GetUnit().name if hasattr(model.GetUnit(), "name") else str(model.GetUnit()),
            "thumbnail": model.HasPackageThumbnailAttachment(),
            "build_items": items,
            "objects": objects,
        }
    )
)
