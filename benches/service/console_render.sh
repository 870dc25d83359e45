#!/usr/bin/env bash
# Time to first render of /console on loopback, with 10,000 jobs in the database: a release
# `lithos serve` on SQLite, an administrator signed in, and 30 loads of /console in Debian's
# headless Chromium (playwright-core from console/node_modules). Prints the median and p95 of
# first contentful paint and of the overview's counts being filled in.
#
#   bash benches/service/console_render.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet
npm ci --prefix console --no-audit --no-fund --loglevel=error
lithos=$PWD/target/release/lithos
work=$(mktemp -d)
trap 'kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
echo "operator passphrase 1" | "$lithos" admin --data-dir "$work" create-user --email admin@lithos.test --admin --password-stdin >/dev/null
port=18390
"$lithos" serve --data-dir "$work" --bind "127.0.0.1:$port" --workers 0 > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
python3 benches/service/seed_jobs.py "$work/lithos.db" 10000
node benches/service/console_render.mjs "http://127.0.0.1:$port" admin@lithos.test "operator passphrase 1"
