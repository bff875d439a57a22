#!/usr/bin/env bash
# Runs every cargo-fuzz target of the certificate engine for a bounded time and fails if any
# target finds a crash, a panic, a timeout or an out-of-memory input (libFuzzer writes it to
# fuzz/artifacts/<target>/). Targets are built with debug assertions, so arithmetic overflow
# panics too.
# Usage: FUZZ_SECONDS=60 scripts/fuzz-ci.sh [TARGET...]   (default: every target, 60 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets found" >&2; exit 1; }

# Build first so that the time limit below is spent fuzzing.
for target in "${targets[@]}"; do
  cargo fuzz build --fuzz-dir fuzz --debug-assertions "$target"
done

failed=()
summary=()
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  dirs=("$corpus")
  if [ -d "fuzz/seeds/$target" ]; then dirs+=("fuzz/seeds/$target"); fi
  log=$(mktemp)
  echo "fuzz: $target for ${seconds}s"
  # -timeout: an input taking over 10 s is a hang; the outer timeout bounds everything else.
  set +e
  timeout -k 30 $((seconds + 300)) \
    cargo fuzz run --fuzz-dir fuzz --debug-assertions "$target" "${dirs[@]}" -- \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1
  status=$?
  set -e
  runs=$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || true)
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    failed+=("$target")
    summary+=("$target: FAILED (exit $status); log $log, inputs in fuzz/artifacts/$target/")
  else
    summary+=("$target: ${runs:-?} executions in ${seconds}s, no crash")
    rm -f "$log"
  fi
done

printf 'fuzz: %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crash in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a crash"
