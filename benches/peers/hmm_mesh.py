"""hmm (fogleman/hmm's C++ through PyPI `pydelatin`) on a raw float32 height map, for
`benches/adaptive.rs`: prints {"seconds", "triangles"} as JSON and writes the mesh as raw
float32 vertices (x, y, z; y up, in grid steps) and uint32 triangles beside OUT.

Usage: python3 hmm_mesh.py HEIGHTS.f32 WIDTH HEIGHT MAX_ERROR OUT
"""
import json
import sys
import time

import numpy as np
from pydelatin import Delatin

path, width, height, max_error, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
heights = np.fromfile(path, dtype="<f4").reshape(height, width)
start = time.perf_counter()
mesh = Delatin(heights, max_error=max_error)
seconds = time.perf_counter() - start
mesh.vertices.astype("<f4").tofile(out + ".vertices")
mesh.triangles.astype("<u4").tofile(out + ".triangles")
print(json.dumps({"seconds": seconds, "triangles": int(len(mesh.triangles))}))
