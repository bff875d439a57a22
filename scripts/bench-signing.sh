#!/usr/bin/env bash
# Refresh grants with RS256 against ES256 ID tokens (docs/BENCHMARKS.md, "Signing cost"):
# RUNS (default 3) rounds of one RS256 run then one ES256 run, alternated, each a new server on
# SQLite + in-process state pinned to CPU 0 with one worker, the driver on CPU 1, 16 concurrent
# grants for 10 s after 1 s of warm-up. Around each run it prints the load average and how
# busy each CPU was (from /proc/stat), so that other work on the machine shows.
#
# It does not build: run the release builds first, and keep anything else from building
# meanwhile, e.g.
#   flock /tmp/cargo.lock sh -c 'cargo build --release -p gpki-idp-server -p gpki-loadgen &&
#     scripts/bench-signing.sh'
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
runs=${RUNS:-3}
seconds=${SECONDS_PER_SCENARIO:-10}

# "busy idle" jiffies of one CPU (cpu0, cpu1) from /proc/stat.
jiffies() {
  awk -v cpu="$1" '$1 == cpu { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat
}

# Per cent busy of a CPU between two "busy idle" readings.
busy() {
  echo "$1 $2" | awk '{ b = $3 - $1; i = $4 - $2; printf "%.0f", 100 * b / (b + i) }'
}

echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' (with changes)'), $(date -u +%FT%TZ)"
for run in $(seq 1 "$runs"); do
  for alg in RS256 ES256; do
    read -r load_before _ < /proc/loadavg
    c0=$(jiffies cpu0) c1=$(jiffies cpu1)
    taskset -c 1 "$target/release/gpki-loadgen" --server "$target/release/gpki-idp" \
      --backend sqlite --server-cpu 0 --concurrency 16 --seconds "$seconds" \
      --scenarios refresh --id-token-alg "$alg" 2> >(grep -v '"type":"audit"' >&2) |
      grep '^| refresh'
    read -r load_after _ < /proc/loadavg
    echo "<!-- run $run $alg: load average $load_before -> $load_after;" \
      "CPU 0 $(busy "$c0" "$(jiffies cpu0)") % busy, CPU 1 $(busy "$c1" "$(jiffies cpu1)") % busy -->"
  done
done
