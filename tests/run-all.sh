#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Rust.
#
# Installs what the tests need when it is missing, as root through apt:
#   - mesa-vulkan-drivers: lavapipe, the software Vulkan driver the GPU tests run on.
# Then builds everything once (the dev profile, dependencies optimised) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for package in mesa-vulkan-drivers; do
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

# Compile the benchmarks too (in the test profile, sharing the build) so they cannot rot.
cargo test --workspace --benches --no-run --quiet
log=$(mktemp)
set +e
cargo test --workspace 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run: cargo's last line is its (often empty) doc-test summary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
