#!/usr/bin/env bash
# The GPU table: every engine workload (a 4096² relief, the gyroid at 256³ and 512³, the
# thumbnail's render pass) on whatever GPU wgpu finds, with wall time and each kernel's time
# from timestamp queries, as a Markdown table. On a lent GPU machine, put its output in the
# note. Sizes: LITHOS_BENCH_SIZE (relief, 4096), LITHOS_GPU_TABLE_GYROID (256,512).
#
#   bash benches/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --quiet --bench gpu_table
