#!/usr/bin/env bash
# Schemathesis against a running gpki-idp: the admin API (openapi/admin-api.yaml) with a
# district operator's token and with a school GM's token, and the login pages' JSON API
# (openapi/login-api.yaml). Fails on any server error (5xx) or a response the document does
# not allow for its status code. Needs the gpki-idp binary built (cargo build -p
# gpki-idp-server) and Python 3; installs Schemathesis from PyPI into a venv.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
bin="$target/debug/gpki-idp"
[ -x "$bin" ] || { echo "schemathesis.sh: $bin is missing (cargo build -p gpki-idp-server)" >&2; exit 1; }

venv=${SCHEMATHESIS_VENV:-/var/tmp/gpki-idp-schemathesis}
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
fi

work=$(mktemp -d)
log="$work/server.log"
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

admin() { local cmd=$1; shift; "$bin" admin "$cmd" --data-dir "$work" "$@"; }
"$bin" migrate --data-dir "$work" >/dev/null
admin create-school --code district --name 教育局 --district >/dev/null
ops_secret=$(admin create-client --school district --client-id fuzz-ops --name fuzz \
  --grant client_credentials --scope district | sed -n 's/.*secret (shown once): //p')

"$bin" serve --demo --listen 127.0.0.1:0 --data-dir "$work" >"$log" 2>&1 &
server_pid=$!
base=
for _ in $(seq 1 100); do
  base=$(sed -n 's/.*public URL \(http:[^)]*\)).*/\1/p' "$log" | head -n1)
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$base" ] || { echo "schemathesis.sh: the server did not start" >&2; cat "$log" >&2; exit 1; }

gm_secret=$(admin create-client --school demo --client-id fuzz-gm --name fuzz \
  --grant client_credentials --scope admin | sed -n 's/.*secret (shown once): //p')

token() { # school client secret scope
  curl -sf -u "$2:$3" -d grant_type=client_credentials -d "scope=$4" "$base/schools/$1/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
ops_token=$(token district fuzz-ops "$ops_secret" district)
gm_token=$(token demo fuzz-gm "$gm_secret" admin)

examples=${SCHEMATHESIS_MAX_EXAMPLES:-25}
run() { # spec url [extra args]
  local spec=$1 url=$2
  shift 2
  "$venv/bin/st" run "$spec" --url "$url" \
    --checks not_a_server_error,status_code_conformance \
    --max-examples "$examples" --request-timeout 10 --no-color "$@"
}

echo "== admin API as a district operator"
run openapi/admin-api.yaml "$base/admin/v1" -H "Authorization: Bearer $ops_token"
echo "== admin API as the demo school's GM"
run openapi/admin-api.yaml "$base/admin/v1" -H "Authorization: Bearer $gm_token"
echo "== login pages' JSON API"
run openapi/login-api.yaml "$base"

if grep -q '"status":5[0-9][0-9]\| 5[0-9][0-9] [0-9.]*ms$' "$log"; then
  echo "schemathesis.sh: the server answered 5xx" >&2
  grep ' 5[0-9][0-9] ' "$log" | head >&2
  exit 1
fi
echo "schemathesis: 3 passed, 0 failed"
