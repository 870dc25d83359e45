#!/usr/bin/env bash
# Peak memory of `lithos convert` on huge photos: RGB PNGs of 16, 64, 144 and 268 megapixels
# (made by make_png.py: smooth waves plus noise, zlib level 1), and the same as baseline JPEGs
# (make_jpeg.py, Pillow, quality 90), to a 4096 x 4096 relief on the CPU. Images larger than
# the grid are read a row (a scanline) at a time onto it (engine/src/banded/), so peak memory
# follows the grid; the 16-megapixel ones (4000 x 4000, under the grid) are decoded whole.
# Prints each run's time, peak RSS and stages.
#
# Usage: bash benches/memory/huge_photos.sh   (DIR: where the images go, default a temp dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet --bin lithos
python3 -c "import numpy, PIL" 2>/dev/null || python3 -m pip install -q numpy pillow
dir=${DIR:-$(mktemp -d)}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
echo "| input | wall s | peak RSS MiB | stages s |"
echo "| --- | --- | --- | --- |"
for format in png jpg; do
  for side in 4000 8000 12000 16384; do
    image="$dir/rgb$side.$format"
    [ -f "$dir/rgb$side.png" ] || python3 benches/memory/make_png.py "$side" "$dir/rgb$side.png"
    [ -f "$image" ] || python3 benches/memory/make_jpeg.py "$dir/rgb$side.png" "$image"
    /usr/bin/time -f "%e %M" -o "$dir/time" target/release/lithos convert "$image" \
      --mode relief --backend cpu -o "$dir/out.stl" --json > "$dir/report.json"
    read -r wall kb < "$dir/time"
    stages=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(', '.join(f'{k} {v:.2f}' for k,v in d['stages'].items() if v >= 0.005))" "$dir/report.json")
    echo "| $format ${side} x ${side} ($((side * side / 1000000)) MP) | $wall | $((kb / 1024)) | $stages |"
    rm -f "$dir/out.stl"
  done
done
