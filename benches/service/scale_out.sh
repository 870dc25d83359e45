#!/usr/bin/env bash
# The scale-out figures on a release build: claim throughput on PostgreSQL (8 claimers), queue
# overhead per 1-megapixel relief, and a worker's peak memory while it streams a ~1.7 GB STL
# to S3.
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
name="lithos_scale_$RANDOM$RANDOM"
psql "$POSTGRES" -qc "CREATE DATABASE $name"
db="${POSTGRES%/*}/$name"
port=18383
base="http://127.0.0.1:$port"
storage=(--storage "s3://$S3_BUCKET" --s3-endpoint "$S3_ENDPOINT")
LITHOS_FREE_CREDITS=1000 "$lithos" serve --workers 0 --bind "127.0.0.1:$port" --data-dir "$work/api" \
  --database-url "$db" "${storage[@]}" > "$work/serve.log" 2>&1 &
serve=$!
worker=""
trap 'kill $serve $worker 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
start_worker() {
  "$lithos" worker --database-url "$db" "${storage[@]}" --concurrency 1 --backend cpu \
    --data-dir "$work/worker" > "$work/worker.log" 2>&1 &
  worker=$!
  sleep 1
}
cookie=$(curl -si -H "Origin: $base" -H 'Content-Type: application/json' \
  -d '{"email":"scale@example.org","password":"scale-out password","name":"S"}' \
  "$base/api/v1/auth/register" | grep -i '^set-cookie' | sed 's/^[^:]*: *//; s/;.*//')
key=$(curl -sf -H "Cookie: $cookie" -H "Origin: $base" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' "$base/api/v1/api-keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')

echo "== queue overhead"
start_worker
python3 benches/service/scale_out.py overhead "$base" "$key" "$lithos" "${RUNS:-15}"
kill -TERM "$worker"; wait "$worker" || true

echo "== worker memory"
start_worker
python3 benches/service/scale_out.py memory "$base" "$key" "${GRID:-4123}" "$worker"
