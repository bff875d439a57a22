#!/usr/bin/env python3
"""Print every `METHOD PATH` pair of the given OpenAPI files, one per line, sorted as text.

For debugging only. PATH is as written in the document (with `{param}` placeholders, without
the server URL). Needs PyYAML for YAML files (`pip install pyyaml`); JSON files need nothing.

Usage: scripts/openapi_paths.py openapi/admin-api.yaml [openapi/login-api.yaml ...]
"""

import json
import sys

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        return json.loads(text)
    import yaml  # PyYAML

    return yaml.safe_load(text)


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    pairs = set()
    for path in argv[1:]:
        doc = load(path) or {}
        for route, item in (doc.get("paths") or {}).items():
            for method in item or {}:
                if method in METHODS:
                    pairs.add(f"{method.upper()} {route}")
    for line in sorted(pairs):  # plain code point order, like `LC_ALL=C sort -u`
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
