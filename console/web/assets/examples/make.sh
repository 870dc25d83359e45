#!/usr/bin/env bash
# The welcome page's examples, each made by Lithos itself from the test data (see
# tests/data/README for the images' terms): a lithophane and a relief of horse.png, and the
# bone of a CT phantom (a DICOM series written by pydicom) at the bone preset.
#   bash console/web/assets/examples/make.sh   (after cargo build --release)
set -euo pipefail
root=$(cd "$(dirname "$0")/../../../.." && pwd)
out=$root/console/web/assets/examples
lithos=$root/target/release/lithos
"$lithos" convert "$root/tests/data/horse.png" -o "$out/lithophane.stl" --mode lithophane \
  --width-mm 80 --max-grid 64 --backend cpu
"$lithos" convert "$root/tests/data/horse.png" -o "$out/relief.stl" --mode relief \
  --width-mm 80 --max-grid 64 --backend cpu
cases=$(mktemp -d)
python3 "$root/tests/engine/scripts/dicom_cases.py" "$cases" >/dev/null
"$lithos" convert "$cases/phantom.zip" -o "$out/ct-bone.stl" --mode volume --iso bone --backend cpu
rm -rf "$cases"
