#!/usr/bin/env bash
# Inspecting a broken 2.2-million-triangle scan, in one run: `lithos inspect` against admesh
# (Debian; its default run checks and repairs) and trimesh (load, which merges vertices, then
# watertight, winding and volume). The scan is Lithos' relief of camera.png on a 1000 grid
# with holes punched, faces flipped and a tenth of it copied across itself
# (make_broken_scan.py). Prints wall time and peak RSS of each.
#
# Usage: bash benches/peers/compare_inspect.sh   (DIR: where the files go, default a temp dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet --bin lithos
command -v admesh >/dev/null || sudo apt-get install -y -qq admesh
python3 -c "import trimesh" 2>/dev/null || python3 -m pip install -q trimesh numpy
dir=${DIR:-$(mktemp -d)}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
target/release/lithos convert tests/data/camera.png --mode relief --grid 1000 -o "$dir/scan.stl" > /dev/null
python3 benches/peers/make_broken_scan.py "$dir/scan.stl" "$dir/broken.stl"
run() {
  /usr/bin/time -f "%e %M" -o "$dir/time" "$@" > "$dir/out.txt" 2>&1
  read -r wall kb < "$dir/time"
  echo "$wall s, $((kb / 1024)) MiB"
}
echo "| tool | wall, peak RSS | found |"
echo "| --- | --- | --- |"
echo "| lithos inspect | $(run target/release/lithos inspect "$dir/broken.stl") | $(tail -1 "$dir/out.txt") |"
echo "| admesh (checks and repairs) | $(run admesh "$dir/broken.stl") | $(grep -E "Number of parts|Facets reversed|Facets added" "$dir/out.txt" | tr -s ' ' | paste -sd ';') |"
echo "| trimesh (load, watertight, winding, volume) | $(run python3 -c "import sys, trimesh; m = trimesh.load(sys.argv[1]); print(m.is_watertight, m.is_winding_consistent, m.volume)" "$dir/broken.stl") | $(tail -1 "$dir/out.txt") |"
