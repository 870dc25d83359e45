#!/usr/bin/env bash
# One run, the same raw f32 gyroid volumes, two tools: Lithos' CPU marching cubes (criterion,
# `benches/isosurface.rs`) and VTK's vtkFlyingEdges3D with 2 threads (best of 10), as open
# surfaces on the volume itself and as closed ones on the volume padded with one layer of
# "outside" (what Lithos always makes). Prints each time, triangle counts and the ratio.
#
# Usage: bash benches/peers/compare_isosurface.sh [SIZES]   (default "256 384"; needs pip)
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=${1:-256 384}
work=target/peers
mkdir -p "$work"
python3 -c "import numpy, vtk" 2>/dev/null || python3 -m pip install -q numpy vtk
for n in $sizes; do
  [ -f "$work/gyroid$n.raw" ] || python3 benches/peers/make_gyroid.py "$n" "$work/gyroid$n.raw"
  if [ ! -f "$work/gyroid_padded$((n + 2)).raw" ]; then
    python3 - "$work/gyroid$n.raw" "$n" "$work/gyroid_padded$((n + 2)).raw" <<'PY'
import sys
import numpy as np
raw, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
v = np.fromfile(raw, dtype="<f4").reshape(n, n, n)
np.pad(v, 1, constant_values=-10.0).astype("<f4").tofile(out)
PY
  fi
done
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
list=$(echo "$sizes" | tr ' ' ',')
LITHOS_BENCH_RAW_DIR="$PWD/$work" LITHOS_BENCH_GYROID="$list" \
  cargo bench --quiet --bench isosurface -- 'cpu/isosurface' --warm-up-time 2 --measurement-time 10 \
  2>&1 | grep -E 'gyroid_|time:|triangles' | grep -v ' on gpu'
for n in $sizes; do
  lithos=$(python3 -c "import json; print(json.load(open('target/criterion/gyroid_$n/cpu/isosurface/new/estimates.json'))['median']['point_estimate'] / 1e9)")
  vtk_open=$(python3 benches/peers/vtk_flying_edges.py "$work/gyroid$n.raw" "$n" --threads 2 --repeat 10)
  vtk_closed=$(python3 benches/peers/vtk_flying_edges.py "$work/gyroid_padded$((n + 2)).raw" "$((n + 2))" --threads 2 --repeat 10)
  python3 - "$n" "$lithos" "$vtk_open" "$vtk_closed" <<'PY'
import json, sys
n, lithos = int(sys.argv[1]), float(sys.argv[2])
vtk_open, vtk_closed = json.loads(sys.argv[3]), json.loads(sys.argv[4])
print(f"gyroid {n}^3: lithos cpu {lithos:.4f} s (median, closed surface)")
for label, v in (("open", vtk_open), ("closed (padded input)", vtk_closed)):
    print(f"  vtkFlyingEdges3D {label}: {v['seconds']:.4f} s best of 10, {v['triangles']} triangles, "
          f"{v['threads']} threads ({v['smp_backend']}) -> lithos is {v['seconds'] / lithos:.2f}x as fast")
PY
done
