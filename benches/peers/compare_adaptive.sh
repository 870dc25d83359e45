#!/usr/bin/env bash
# One run, the same height maps and bounds, two meshers: Lithos' adaptive surface (CPU) and
# hmm (fogleman/hmm's C++ through PyPI pydelatin). Prints a Markdown table of triangles,
# seconds and each mesh's true largest error, found by rasterising it back onto the grid.
# See benches/adaptive.rs for the inputs.
#
# Usage: bash benches/peers/compare_adaptive.sh   (LITHOS_ADAPTIVE_SIZE, LITHOS_ADAPTIVE_ERRORS)
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c "import numpy, pydelatin" 2>/dev/null || python3 -m pip install -q numpy pydelatin
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
cargo bench --quiet --bench adaptive
