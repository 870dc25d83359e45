#!/usr/bin/env bash
# The billing figures: Creem webhook deliveries per second and their p99 on SQLite, and a storm
# of duplicates ending with exactly one effect per event. Needs a release build.
#
#   bash benches/service/webhooks.sh [DELIVERIES] [THREADS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/lithos.toml" <<TOML
[billing]
creem_webhook_secret = "whsec_bench"
[[billing.packs]]
id = "pack-100"
creem_product_id = "prod_pack100"
credits = 100
TOML
port=18917
LITHOS_BACKEND=cpu RUST_LOG=warn "$root/target/release/lithos" serve --config "$work/lithos.toml" \
  --data-dir "$work/data" --bind 127.0.0.1:$port --workers 1 &
server=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
cd "$root/benches/service" && python3 webhooks.py http://127.0.0.1:$port whsec_bench "$@"
