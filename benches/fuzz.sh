#!/usr/bin/env bash
# Runs every fuzz target (tests/fuzz, libFuzzer through cargo-fuzz) for SECONDS each, from its
# seed corpus, and prints each one's executions and crashes. A crash leaves its input in
# tests/fuzz/artifacts/TARGET/; copy it to tests/fuzz/regressions/TARGET/ once fixed, and the
# ordinary tests replay it (tests/engine/fuzz_corpora.rs).
#
#   bash benches/fuzz.sh 600            # every target, ten minutes each
#   bash benches/fuzz.sh 60 font image  # some targets
#
# Needs a nightly toolchain (for the sanitizer) and cargo-fuzz; installs cargo-fuzz when
# missing. New inputs the fuzzer finds go to a scratch copy of the corpus, not the repository.
# Arithmetic overflow panics, as in the tests; debug assertions are off, as in the tests'
# ttf-parser (its 32-bit guard would stop every forged font).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} -C overflow-checks=on"
seconds=${1:?usage: benches/fuzz.sh SECONDS [TARGET...]}
shift
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --locked --quiet
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' tests/fuzz/Cargo.toml | grep -v '^lithos-fuzz$')
fi
# Build every target once, then run each.
cargo +nightly fuzz build --fuzz-dir tests/fuzz -O >/dev/null
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
printf '%-16s %12s %10s %8s %6s\n' target executions exec/s crashes slow
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target" "tests/fuzz/artifacts/$target"
  cp tests/fuzz/corpus/"$target"/* "$scratch/$target/"
  log="$scratch/$target.log"
  set +e
  cargo +nightly fuzz run --fuzz-dir tests/fuzz -O "$target" \
    "$scratch/$target" -- -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 \
    -print_final_stats=1 > "$log" 2>&1
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  # A crash, a timeout (over 30 s), a leak or running out of memory stops the run; a slow
  # unit (over 10 s, under AddressSanitizer) is only noted.
  crashes=$(find "tests/fuzz/artifacts/$target" -type f ! -name 'slow-unit-*' | wc -l)
  slow=$(find "tests/fuzz/artifacts/$target" -type f -name 'slow-unit-*' | wc -l)
  printf '%-16s %12s %10s %8s %6s\n' "$target" "${runs:-?}" "${speed:-?}" "$crashes" "$slow"
  if [ "$crashes" -gt 0 ]; then
    grep -m1 -E "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | sed 's/^/    /' || true
  fi
done
