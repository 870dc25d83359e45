#!/usr/bin/env bash
# The export figure: the data export of an account with N tasks (default 1,000) and about
# 2 GB of files, on PostgreSQL 15 and SeaweedFS through a release `lithos serve`: the time
# from asking to a ready ZIP, and the server's peak memory (its VmHWM), before and after.
#
#   bash benches/privacy/export.sh [N] [FILE_BYTES]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-1000}
size=${2:-2097152}
source "$root/benches/common/services.sh"
start_postgres
start_seaweedfs lithos-bench

port=18931
base=http://127.0.0.1:$port
RUST_LOG=warn "$root/target/release/lithos" serve --database-url "$database" \
  --storage s3://lithos-bench --s3-endpoint "$s3_endpoint" --data-dir "$work/data" \
  --bind 127.0.0.1:$port --workers 0 > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 300); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
curl -sf -c "$work/jar" -H "Origin: $base" -H 'Content-Type: application/json' \
  -d '{"email":"export@example.org","password":"export bench password","name":"E","birth_date":"1990-05-17"}' \
  "$base/api/v1/auth/register" > "$work/me.json"
user=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/me.json")
python3 "$root/benches/privacy/seed_export.py" "$database" "$filer" lithos-bench "$user" "$n" "$size"
before=$(awk '/VmHWM/ {print $2}' /proc/$server/status)

start=$(date +%s.%N)
id=$(curl -sf -b "$work/jar" -H "Origin: $base" -X POST "$base/api/v1/me/export" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
  status=$(curl -sf -b "$work/jar" "$base/api/v1/me/exports/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" = running ] || break
  sleep 0.2
done
end=$(date +%s.%N)
after=$(awk '/VmHWM/ {print $2}' /proc/$server/status)
[ "$status" = ready ] || { echo "the export is $status"; tail "$work/serve.log"; exit 1; }
curl -sfL -b "$work/jar" -o "$work/export.zip" "$base/api/v1/me/exports/$id/download"
python3 - "$work/export.zip" "$n" "$size" <<'PY'
import sys, zipfile
archive = zipfile.ZipFile(sys.argv[1])
files = [i for i in archive.infolist() if i.filename.startswith("files/")]
n, size = int(sys.argv[2]), int(sys.argv[3])
assert len(files) == n + 1 and all(i.file_size == size for i in files), "every file, whole"
assert archive.testzip() is None, "every CRC matches"
print(f"the ZIP: {len(archive.infolist())} entries, {sum(i.file_size for i in files) / 1e9:.2f} GB of files, CRCs checked")
PY
python3 -c "
n, size, secs = $n, $size, $end - $start
gb = (n + 1) * size / 1e9
print(f'exported {n} tasks and {gb:.2f} GB of files in {secs:.1f} s ({gb * 1000 / secs:.0f} MB/s)')
print(f'server peak RSS: {$before // 1024} MB before the export, {$after // 1024} MB after')"
