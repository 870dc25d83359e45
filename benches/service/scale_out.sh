#!/usr/bin/env bash
# The scale-out figures on a release build: claim throughput on PostgreSQL (8 claimers), queue
# overhead per 1-megapixel relief (API server and one `lithos worker` on PostgreSQL, files on
# local disk and then on S3), and a worker's peak memory while it streams a ~1.7 GB STL to S3.
#
#   POSTGRES=postgres://user@host:port/postgres S3_ENDPOINT=http://127.0.0.1:8333 \
#   S3_BUCKET=bucket AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… bash benches/service/scale_out.sh
#
# (tests/run-all.sh shows how to start throwaway PostgreSQL and SeaweedFS servers.)
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${POSTGRES:?name a PostgreSQL server}" "${S3_ENDPOINT:?name an S3 endpoint}" "${S3_BUCKET:?name a bucket}"
export AWS_REGION=${AWS_REGION:-us-east-1}

echo "== claim throughput"
LITHOS_BENCH_POSTGRES_URL=$POSTGRES cargo bench --bench queue_claims 2>/dev/null | grep queue_claims

cargo build --release --quiet
lithos=$PWD/target/release/lithos
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port=18383

# Starts an API server (no workers) and one worker on a fresh database with the given storage
# flags; sets base, key and worker.
deploy() {
  local name="lithos_scale_$RANDOM$RANDOM"
  psql "$POSTGRES" -qc "CREATE DATABASE $name"
  local db="${POSTGRES%/*}/$name"
  port=$((port + 1))
  base="http://127.0.0.1:$port"
  LITHOS_FREE_CREDITS=1000 "$lithos" serve --workers 0 --bind "127.0.0.1:$port" \
    --data-dir "$work/api-$port" --database-url "$db" "$@" > "$work/serve-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
  "$lithos" worker --database-url "$db" "$@" --concurrency 1 --backend cpu \
    --data-dir "$work/worker-$port" > "$work/worker-$port.log" 2>&1 &
  worker=$!
  pids+=($worker)
  local cookie
  cookie=$(curl -si -H "Origin: $base" -H 'Content-Type: application/json' \
    -d '{"email":"scale@example.org","password":"scale-out password","name":"S","birth_date":"1990-05-17"}' \
    "$base/api/v1/auth/register" | grep -i '^set-cookie' | sed 's/^[^:]*: *//; s/;.*//')
  key=$(curl -sf -H "Cookie: $cookie" -H "Origin: $base" -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' "$base/api/v1/api-keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
  sleep 1
}

echo "== queue overhead, files on local disk (the queue alone)"
deploy --storage "$work/files"
S3_ENDPOINT='' python3 benches/service/scale_out.py overhead "$base" "$key" "$lithos" "${RUNS:-15}"

echo "== queue overhead, files on S3"
s3=(--storage "s3://$S3_BUCKET" --s3-endpoint "$S3_ENDPOINT")
deploy "${s3[@]}"
python3 benches/service/scale_out.py overhead "$base" "$key" "$lithos" "${RUNS:-15}"

echo "== worker memory, ~1.7 GB STL to S3"
deploy "${s3[@]}"
python3 benches/service/scale_out.py memory "$base" "$key" "${GRID:-4123}" "$worker"
