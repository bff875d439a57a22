#!/usr/bin/env bash
# The district-scale benchmark of docs/BENCHMARKS.md: release builds, the server pinned to CPU 0
# with one worker, the driver (gpki-loadgen --district) pinned to CPU 1. A district operator
# (made with the operator commands) onboards SCHOOLS schools from one CSV through the admin API
# (dry run first) and imports ACCOUNTS accounts into each; then the server is restarted on that
# database and measured (start-up, RSS, discovery/JWKS latency and size of the first and the last
# school) and the login scenarios run against the demo school, the first and the last school.
# On SQLite + in-process state, then on PostgreSQL + Redis (both must be running). Prints
# markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release -p gpki-idp-server -p gpki-loadgen
schools=${SCHOOLS:-300}
accounts=${ACCOUNTS:-200}
seconds=${SECONDS_PER_SCENARIO:-10}
scenarios=${SCENARIOS:-session,password}
for backend in ${BACKENDS:-sqlite postgres}; do
  echo "<!-- $backend: $schools schools, $accounts accounts each -->"
  taskset -c 1 "$target/release/gpki-loadgen" --server "$target/release/gpki-idp" \
    --backend "$backend" --server-cpu 0 --district "$schools" --accounts-per-school "$accounts" \
    --seconds "$seconds" --scenarios "$scenarios" \
    2> >(grep -v '"type":"audit"' >&2)
done
