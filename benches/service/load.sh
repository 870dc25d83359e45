#!/usr/bin/env bash
# Load figures for the service on the embedded default (SQLite), release build, loopback:
#   - GET  /api/v1/tasks/{id}  with wrk: requests/s and p99;
#   - POST /api/v1/tasks       with wrk: requests/s and p99 (each request creates a task);
#   - upload to output ready for a 1024 x 1024 relief on the CPU path, 5 runs.
#
# Usage: bash benches/service/load.sh   (needs wrk: apt-get install wrk; python3)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 2; }
cargo build --release --quiet
work=$(mktemp -d)
port=18181
base="http://127.0.0.1:$port"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$work}
# wrk creates thousands of tasks a second: the free plan's per-minute limits are lifted.
printf '[billing.free]\ntasks_per_minute = 0\nuploads_per_minute = 0\nupload_mb_per_day = 0\n' > "$work/lithos.toml"
target/release/lithos serve --config "$work/lithos.toml" --data-dir "$work/data" \
  --bind "127.0.0.1:$port" --workers 2 > "$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

python3 benches/service/setup_user.py "$base" "$work" tests/data/camera.png
key=$(cat "$work/key")
LITHOS_DATA_DIR="$work/data" target/release/lithos admin grant --email load@example.org \
  --credits 10000000 --reason "load test" >/dev/null
task=$(cat "$work/task")
upload=$(cat "$work/small_upload")

echo "== GET /api/v1/tasks/{id}"
wrk -t2 -c32 -d10s --latency -H "Authorization: Bearer $key" "$base/api/v1/tasks/$task" \
  | grep -E "Requests/sec|Latency  |99%|50%"

cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
wrk.body = '{"upload_id":"$upload","mode":"relief","params":{"grid":16}}'
LUA
echo "== POST /api/v1/tasks"
wrk -t2 -c32 -d10s --latency -s "$work/post.lua" "$base/api/v1/tasks" \
  | grep -E "Requests/sec|Latency  |99%|50%|Non-2xx"

# Let the queue drain before timing single tasks.
python3 benches/service/drain.py "$base" "$key"
echo "== 1024 x 1024 relief, upload to output ready (CPU)"
python3 benches/service/end_to_end.py "$base" "$key" 1024 5
