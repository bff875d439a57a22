#!/usr/bin/env bash
# The load benchmark of docs/BENCHMARKS.md: release builds, the server pinned to CPU 0 with one
# worker, the driver (gpki-loadgen) pinned to CPU 1; every scenario on SQLite + in-process
# state, then on PostgreSQL + Redis (both must be running); RUNS times each (default 3, a new
# server each run). Prints markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release -p gpki-idp-server -p gpki-loadgen
concurrency=${CONCURRENCY:-16}
seconds=${SECONDS_PER_SCENARIO:-10}
runs=${RUNS:-3}
for backend in sqlite postgres; do
  for run in $(seq 1 "$runs"); do
    echo "<!-- $backend, run $run of $runs -->"
    taskset -c 1 "$target/release/gpki-loadgen" --server "$target/release/gpki-idp" \
      --backend "$backend" --server-cpu 0 --concurrency "$concurrency" --seconds "$seconds" \
      2> >(grep -v '"type":"audit"' >&2)
  done
done
