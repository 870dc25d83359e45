#!/usr/bin/env bash
# The issue-15 figures: a 512 x 512 x 400 int16 CT series (a ZIP of DICOM slices) to STL at
# --iso bone on the CPU, with the command line and through the API end to end; wall time and
# peak RSS of each. Needs a release build (`cargo build --release`) and pydicom.
#
#   bash benches/volumes/ct.sh [NX NY NZ]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/target/release/lithos
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
python3 "$root/benches/volumes/make_ct_series.py" "$work/ct.zip" "$@"
ls -l "$work/ct.zip" | awk '{ printf "series: %.0f MB ZIP\n", $5 / 1e6 }'

echo "== lithos convert (CPU)"
/usr/bin/time -f "wall %e s, peak RSS %M KB" "$bin" convert "$work/ct.zip" -o "$work/ct.stl" \
  --mode volume --iso bone --backend cpu 2>&1 | tail -2

echo "== through the API (lithos serve on SQLite, CPU worker)"
port=18915
LITHOS_MAX_UPLOAD_MB=1024 LITHOS_BACKEND=cpu LITHOS_FREE_CREDITS=1000 RUST_LOG=warn \
  "$bin" serve --data-dir "$work/data" --bind 127.0.0.1:$port --workers 1 &
server=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
python3 "$root/benches/volumes/ct_end_to_end.py" http://127.0.0.1:$port "$work/ct.zip"
echo "server peak RSS: $(grep VmHWM /proc/$server/status | awk '{ print $2, $3 }')"
