#!/usr/bin/env bash
# Runs schemathesis against a live `lithos serve` (debug build, SQLite, a temporary data
# directory): every operation in /api/v1/openapi.json with generated inputs, signed in with an
# API key, failing on any 5xx, on a response whose body does not match its documented schema,
# on a status or content type the document does not list. Called by tests/run-all.sh; ends with a cargo-style
# "test result:" line so the suite's summary counts it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import schemathesis" 2>/dev/null || python3 -m pip install -q schemathesis
work=$(mktemp -d)
port=18282
base="http://127.0.0.1:$port"
target/debug/lithos serve --data-dir "$work/data" --bind "127.0.0.1:$port" --workers 1 \
  > "$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
curl -sf -c "$work/jar" -H "Origin: $base" -H 'Content-Type: application/json' \
  -d '{"email":"fuzz@example.org","password":"fuzzing password","name":"Fuzz","birth_date":"1990-05-17"}' \
  "$base/api/v1/auth/register" >/dev/null
key=$(curl -sf -b "$work/jar" -H "Origin: $base" -H 'Content-Type: application/json' \
  -d '{"name":"schemathesis"}' "$base/api/v1/api-keys" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
set +e
schemathesis run "$base/api/v1/openapi.json" --url "$base" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --header "Authorization: Bearer $key" \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" --workers 2 --no-color 2>&1 | tee "$work/report"
status=${PIPESTATUS[0]}
set -e
if grep -q " 500 \| 5[0-9][0-9] Internal" "$work/serve.log"; then status=1; fi
if [ "$status" -eq 0 ]; then
  echo "test result: ok. 1 passed; 0 failed; (schemathesis: no 5xx, responses as documented)"
else
  echo "test result: FAILED. 0 passed; 1 failed; (schemathesis)"
fi
exit "$status"
