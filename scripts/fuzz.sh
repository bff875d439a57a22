#!/usr/bin/env bash
# Runs each cargo-fuzz target of the certificate engine for a bounded time (default 60 s each).
# Usage: scripts/fuzz.sh [SECONDS]   (scripts/fuzz-ci.sh does the work)
set -euo pipefail
FUZZ_SECONDS=${1:-60} exec "$(dirname "$0")/fuzz-ci.sh"
