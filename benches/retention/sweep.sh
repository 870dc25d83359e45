#!/usr/bin/env bash
# The retention figure: one sweep over N expired outputs (default 100,000) on PostgreSQL 15 and
# SeaweedFS, run as a release `lithos retention` with its peak memory measured by GNU time.
#
#   bash benches/retention/sweep.sh [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-100000}
source "$root/benches/common/services.sh"
start_postgres
start_seaweedfs lithos-bench

lithos=("$root/target/release/lithos" retention --database-url "$database" --storage s3://lithos-bench
  --s3-endpoint "$s3_endpoint" --data-dir "$work/data")
# A first sweep over the empty database migrates it.
"${lithos[@]}" >/dev/null
python3 "$root/benches/retention/seed_outputs.py" "$database" "$filer" lithos-bench "$n"
/usr/bin/time -f "%e %M" -o "$work/time" "${lithos[@]}" > "$work/report"
tail -1 "$work/report"
read -r elapsed rss < "$work/time"
expired=$(psql -tA "$database" -c "SELECT COUNT(*) FROM tasks WHERE expired_at IS NOT NULL AND output_key IS NULL")
echo "swept $n expired outputs in $elapsed s: $(python3 -c "print(round($n / $elapsed))") outputs/s, peak RSS $((rss / 1024)) MB"
echo "tasks marked expired: $expired; objects left in the bucket: $(objects_left lithos-bench)"
