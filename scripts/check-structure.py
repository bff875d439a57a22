#!/usr/bin/env python3
"""Structure rules of the workspace (issue 13), checked in CI:

1. No source file in a crate's src/ over MAX_LINES lines (diesel's generated schema.rs aside).
2. No import circle between the modules of one crate: if module a uses an item of module b
   (through `crate::`, `super::` or `self::` paths, in `use` trees or inline), then b must not
   use a, directly or through other modules. A parent's own `mod x;` and `pub use x::…`
   re-exports are declarations, not uses. Test modules (`#[cfg(test)]` to the end of the
   file, where ours live) are left out: tests may reach anywhere.

Prints every breach and exits 1 if there is any.
"""

import os
import re
import sys

MAX_LINES = 500
GENERATED = {"schema.rs"}


def module_files(src):
    """Maps each module path (tuple of names) to its file."""
    modules = {}
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, name), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            if name == "main.rs" and os.path.exists(os.path.join(src, "lib.rs")):
                parts = ["<main>"]
            modules[tuple(parts)] = os.path.join(root, name)
    return modules


def strip(text):
    """The file's code without comments, strings and its test module."""
    cut = re.search(r"^#\[cfg\(test\)\]\s*\n\s*(pub(\(\w+\))?\s+)?mod\s+\w+", text, re.M)
    if cut:
        text = text[: cut.start()]
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def expand(tree):
    """Expands a use tree `a::{b, c::{d, e}}` into its paths."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [re.sub(r"as\w+$", "", tree)] if tree else []
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    out = []
    for part in parts:
        for p in expand(part):
            out.append(prefix + p if p != "self" else prefix.rstrip(":"))
    return out


def paths_of(text):
    """The `crate::`/`super::`/`self::` paths a file uses, and whether each is a re-export."""
    found = []
    for m in re.finditer(r"\b(pub(\([^)]*\))?\s+)?use\s+([^;]+);", text):
        reexport = m.group(1) is not None
        for p in expand(m.group(3)):
            found.append((p, reexport))
    rest = re.sub(r"\buse\s+[^;]+;", "", text)
    # Paths from crate, super or self, and from a child module by its bare name.
    children = set(re.findall(r"\bmod\s+(\w+)\s*;", text))
    for m in re.finditer(r"(?<![:\w])(\w+)((?:::\w+)+)", rest):
        if m.group(1) in ("crate", "super", "self") or m.group(1) in children:
            found.append((m.group(0), False))
    return found


def resolve(path, here, modules):
    """The module a path lands in, or None when it leaves the crate's modules."""
    parts = path.split("::")
    base = list(here)
    if parts[0] == "crate":
        base = []
    parts = parts[1:] if parts[0] in ("crate", "self") else parts
    while parts and parts[0] == "super":
        parts, base = parts[1:], base[:-1]
    current = tuple(base)
    target = current if current in modules else None
    for name in parts:
        if current + (name,) not in modules:
            break
        current = target = current + (name,)
    return target


def cycles(modules):
    edges = {m: set() for m in modules}
    for mod, path in modules.items():
        text = strip(open(path, encoding="utf-8").read())
        for p, reexport in paths_of(text):
            target = resolve(p, mod, modules)
            if target is None or target == mod:
                continue
            # A parent re-exporting its child's items declares, it does not use.
            if reexport and target[: len(mod)] == mod:
                continue
            edges[mod].add(target)
    return find_cycles(edges)


def find_cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append((comp, {c: sorted(edges[c] & set(comp)) for c in comp}))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def name(mod):
    return "::".join(mod) or "crate"


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates")
    breaches = 0
    for crate in sorted(os.listdir(root)):
        src = os.path.join(root, crate, "src")
        if not os.path.isdir(src):
            continue
        modules = module_files(src)
        for path in sorted(modules.values()):
            lines = sum(1 for _ in open(path, encoding="utf-8"))
            if lines > MAX_LINES and os.path.basename(path) not in GENERATED:
                print(f"{os.path.relpath(path, root)}: {lines} lines (limit {MAX_LINES})")
                breaches += 1
        for comp, edges in cycles(modules):
            print(f"{crate}: import circle between " + ", ".join(name(c) for c in sorted(comp)))
            for c in sorted(comp):
                print(f"    {name(c)} uses " + ", ".join(name(t) for t in edges[c]))
            breaches += 1
    if breaches:
        print(f"check-structure: {breaches} breach(es)")
        return 1
    print("check-structure: no file over the limit, no import circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
