#!/usr/bin/env bash
# One run, three tools, the same 4096 x 4096 16-bit height map: Lithos (CPU path), the common
# numpy + numpy-stl script (top surface only), and `dd` writing as many bytes, for scale.
# Prints wall time and peak memory of each, and Lithos' speed-up as a ratio.
#
# Usage: bash benches/peers/compare_relief.sh [SIZE]   (needs python3 and pip)
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-4096}
work=target/peers
mkdir -p "$work"
python3 -c "import numpy, PIL, stl" 2>/dev/null || python3 -m pip install -q numpy pillow numpy-stl
cargo build --release --quiet
input="$work/relief-$size.png"
[ -f "$input" ] || python3 benches/peers/make_relief_input.py "$input" "$size"

measure() { # NAME COMMAND... -> "NAME seconds peak_MiB"
  local name=$1; shift
  rm -f "$work/out.stl"
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>&1
  read -r seconds kib < "$work/time.txt"
  printf '%-12s %8.2f s %8.0f MiB\n' "$name" "$seconds" "$((kib / 1024))"
  echo "$seconds" > "$work/$name.seconds"
}

measure lithos target/release/lithos convert "$input" -o "$work/out.stl" --backend cpu
bytes=$(stat -c %s "$work/out.stl")
measure numpy-stl python3 benches/peers/numpy_stl_relief.py "$input" "$work/out.stl"
measure dd dd if=/dev/zero of="$work/out.stl" bs=8M count=$((bytes / 8388608))
rm -f "$work/out.stl"
python3 -c "import sys; l, n = (float(open(f'$work/{t}.seconds').read()) for t in ('lithos', 'numpy-stl')); print(f'lithos is {n / l:.1f}x faster than numpy-stl, and writes walls and a floor too')"
