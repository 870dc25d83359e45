#!/usr/bin/env bash
# Repairing a broken 2.2-million-triangle scan, in one run: `lithos convert --mode mesh`
# (repair is on by default) against admesh (Debian; its default run welds, removes unconnected
# faces, fills holes and fixes normals) and trimesh (PyPI: load, which merges vertices, then
# its repair functions: fix_winding, fix_inversion, fill_holes). The scan is Lithos' relief of
# camera.png on a 1000 grid with holes punched, faces flipped and a tenth of it copied across
# itself (make_broken_scan.py). Each output is judged by trimesh (watertight: every edge has
# two faces; winding consistent) and by `lithos inspect`. Prints wall time and peak RSS.
#
# Usage: bash benches/peers/compare_repair.sh   (DIR: where the files go, default a temp dir)
set -euo pipefail
source "$(dirname "$0")/broken_scan.sh"
judge() {
  [ -s "$1" ] || { echo "no output"; return; }
  python3 -c "import sys, trimesh; m = trimesh.load(sys.argv[1]); print(f'trimesh: watertight {m.is_watertight}, winding consistent {m.is_winding_consistent}, {len(m.faces)} faces')" "$1"
  echo -n "; lithos inspect: "
  $lithos inspect "$1" | sed -n 4p
}
echo "| tool | wall, peak RSS | output judged |"
echo "| --- | --- | --- |"
t=$(run $lithos convert "$dir/broken.stl" --mode mesh -o "$dir/lithos.stl")
echo "| lithos convert --mode mesh | $t | $(judge "$dir/lithos.stl" | paste -sd ' ') |"
t=$(run admesh --write-binary-stl="$dir/admesh.stl" "$dir/broken.stl")
echo "| admesh (default repairs) | $t | $(judge "$dir/admesh.stl" | paste -sd ' ') |"
t=$(run python3 -c "
import sys, trimesh
m = trimesh.load(sys.argv[1])
trimesh.repair.fix_winding(m)
trimesh.repair.fix_inversion(m, multibody=True)
trimesh.repair.fill_holes(m)
m.export(sys.argv[2])" "$dir/broken.stl" "$dir/trimesh.stl")
echo "| trimesh (fix_winding, fix_inversion, fill_holes) | $t | $(judge "$dir/trimesh.stl" | paste -sd ' ') |"
