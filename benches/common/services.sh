# Sourced by the service benchmarks: a throwaway PostgreSQL 15 and SeaweedFS (`weed mini`) on
# private ports (SeaweedFS's gRPC ports are each port + 10000, clear of the test suite's), and
# their cleanup. Sets `work`, `database`, `filer`, `s3_endpoint` and the AWS credentials.
#
#   source benches/common/services.sh; start_postgres; start_seaweedfs BUCKET

work=$(mktemp -d)
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"
cleanup_services() {
  kill "${server:-}" 2>/dev/null || true; wait "${server:-}" 2>/dev/null || true
  kill "${weed:-}" 2>/dev/null || true; wait "${weed:-}" 2>/dev/null || true
  as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup_services EXIT

start_postgres() {
  as_postgres "$pg_bin/initdb" -D "$work/pg" -U lithos --auth=trust -E UTF8 >/dev/null
  as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
    -o "-p 55491 -k $work -c listen_addresses=127.0.0.1" start >/dev/null
  database=postgres://lithos@127.0.0.1:55491/postgres
}

start_seaweedfs() {
  export AWS_ACCESS_KEY_ID=lithos-bench AWS_SECRET_ACCESS_KEY=lithos-bench-secret AWS_REGION=us-east-1
  mkdir -p "$work/s3"
  printf '{"identities": [{"name": "lithos", "actions": ["Admin", "Read", "Write", "List"], "credentials": [{"accessKey": "%s", "secretKey": "%s"}]}]}\n' \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$work/s3.json"
  weed mini -dir="$work/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -master.port=21433 -volume.port=21440 -filer.port=21988 -s3.port=21533 \
    -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -admin.ui=false -admin.port=21746 \
    -s3.config="$work/s3.json" -bucket="$1" > "$work/weed.log" 2>&1 &
  weed=$!
  for _ in $(seq 300); do grep -q "Press Ctrl+C" "$work/weed.log" && break; sleep 0.2; done
  filer=http://127.0.0.1:21988
  s3_endpoint=http://127.0.0.1:21533
}

# Objects left under `users/` in bucket $1.
objects_left() {
  python3 - "$1" <<PY
import sys, boto3
s3 = boto3.client("s3", endpoint_url="$s3_endpoint", region_name="us-east-1")
print(s3.list_objects_v2(Bucket=sys.argv[1], Prefix="users/").get("KeyCount", 0))
PY
}
