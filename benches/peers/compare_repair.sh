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
cd "$(dirname "$0")/../.."
cargo build --release --quiet --bin lithos
command -v admesh >/dev/null || sudo apt-get install -y -qq admesh
python3 -c "import trimesh" 2>/dev/null || python3 -m pip install -q trimesh numpy
dir=${DIR:-$(mktemp -d)}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
lithos=target/release/lithos
$lithos convert tests/data/camera.png --mode relief --grid 1000 -o "$dir/scan.stl" > /dev/null
python3 benches/peers/make_broken_scan.py "$dir/scan.stl" "$dir/broken.stl"
run() {
  /usr/bin/time -f "%e %M" -o "$dir/time" "$@" > "$dir/out.txt" 2>&1 || true
  read -r wall kb < "$dir/time"
  echo "$wall s, $((kb / 1024)) MiB"
}
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
