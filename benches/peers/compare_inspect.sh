#!/usr/bin/env bash
# Inspecting a broken 2.2-million-triangle scan, in one run: `lithos inspect` against admesh
# (Debian; its default run checks and repairs) and trimesh (load, which merges vertices, then
# watertight, winding and volume). The scan is Lithos' relief of camera.png on a 1000 grid
# with holes punched, faces flipped and a tenth of it copied across itself
# (make_broken_scan.py). Prints wall time and peak RSS of each.
#
# Usage: bash benches/peers/compare_inspect.sh   (DIR: where the files go, default a temp dir)
set -euo pipefail
source "$(dirname "$0")/broken_scan.sh"
echo "| tool | wall, peak RSS | found |"
echo "| --- | --- | --- |"
echo "| lithos inspect | $(run target/release/lithos inspect "$dir/broken.stl") | $(tail -1 "$dir/out.txt") |"
echo "| admesh (checks and repairs) | $(run admesh "$dir/broken.stl") | $(grep -E "Number of parts|Facets reversed|Facets added" "$dir/out.txt" | tr -s ' ' | paste -sd ';') |"
echo "| trimesh (load, watertight, winding, volume) | $(run python3 -c "import sys, trimesh; m = trimesh.load(sys.argv[1]); print(m.is_watertight, m.is_winding_consistent, m.volume)" "$dir/broken.stl") | $(tail -1 "$dir/out.txt") |"
