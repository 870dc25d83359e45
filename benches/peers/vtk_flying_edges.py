"""Times VTK's vtkFlyingEdges3D on a raw little-endian f32 volume, with a given number of
threads, and prints one JSON line: best-of-N seconds and the triangle count.

    python3 benches/peers/vtk_flying_edges.py /tmp/gyroid256.raw 256 --threads 2
"""

import argparse
import json
import time

import numpy as np
import vtk
from vtk.util import numpy_support


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("n", type=int)
    parser.add_argument("--iso", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    # The wheel defaults to the sequential backend; threads need STDThread (or TBB).
    vtk.vtkSMPTools.SetBackend("STDThread")
    vtk.vtkSMPTools.Initialize(args.threads)
    n = args.n
    data = np.fromfile(args.raw, dtype="<f4")
    image = vtk.vtkImageData()
    image.SetDimensions(n, n, n)
    array = numpy_support.numpy_to_vtk(data, deep=False, array_type=vtk.VTK_FLOAT)
    image.GetPointData().SetScalars(array)

    best = float("inf")
    triangles = 0
    for _ in range(args.repeat):
        fe = vtk.vtkFlyingEdges3D()
        fe.SetInputData(image)
        fe.SetValue(0, args.iso)
        fe.ComputeNormalsOn()
        start = time.perf_counter()
        fe.Update()
        best = min(best, time.perf_counter() - start)
        triangles = fe.GetOutput().GetNumberOfPolys()
    print(json.dumps({
        "tool": "vtkFlyingEdges3D",
        "vtk": vtk.vtkVersion.GetVTKVersion(),
        "smp_backend": vtk.vtkSMPTools.GetBackend(),
        "threads": args.threads,
        "n": n,
        "seconds": best,
        "triangles": triangles,
    }))


if __name__ == "__main__":
    main()
