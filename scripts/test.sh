#!/usr/bin/env bash
# The project's test command: Rust tests of every crate, then the browser tests (headless
# Chromium driving the pages' scripts against the card simulator), then Schemathesis against
# the running service with openapi/.
# Needs PostgreSQL and Redis for the service tests (.ci/run starts them), Node.js, and Debian's
# chromium (installed here when missing and running as root).
set -euo pipefail
cd "$(dirname "$0")/.."

# The structure rules (file size, no import circle between modules of a crate, one path per item).
python3 scripts/check-structure-selftest.py
python3 scripts/check-structure.py

cargo test --workspace

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "test.sh: /usr/bin/chromium is missing (apt-get install chromium)" >&2
    exit 1
  fi
fi
cargo build -p gpki-card-sim -p gpki-idp-server
(cd tests/browser && npm ci --no-audit --no-fund --silent && npm test)

# Schemathesis against the running service with the OpenAPI documents: no server errors, no
# status codes the documents do not allow.
scripts/schemathesis.sh
