"""The structure rules, as numbered in check-structure.py."""

import os
from dataclasses import dataclass

from .lexer import lex, line_of
from .modules import crate_dirs, crate_roots, in_scope, is_within, load_crate, resolve
from .syntax import without_test_modules


MAX_LINES = 500  # rule 1: a src file, without its inline test modules
MAX_INLINE_TEST_LINES = 300  # rule 2: the inline test modules of one src file together
MAX_TEST_LINES = 800  # rule 3: a file of tests (tests/, benches/, `#[cfg(test)] mod x;`)
GENERATED = {"schema.rs"}  # diesel's generated schema: exempt from rule 1
TEST_DIRS = ("tests", "benches")


# Rule 4: import circles


def import_edges(crate):
    """module -> {used module: first evidence (file, line, text)}."""
    edges = {path: {} for path in crate.modules}
    for path, module in crate.modules.items():
        for use in module.uses:
            target = _use_target(crate, module, use)
            if target is not None:
                _add_edge(edges, module, target, use.offset, use.text())
        for segs, offset in module.paths:
            if not in_scope(crate, path, segs[0]):
                continue
            target = resolve(crate, segs, path)
            if target is not None:
                _add_edge(edges, module, target.module, offset, "::".join(segs))
    return edges


def _use_target(crate, module, use):
    """The module a `use` leaf makes its module depend on, or None.

    A glob depends on the module it empties; any other leaf on the module defining the item;
    a leaf naming a module depends on nothing yet (the paths through it will). Re-exports of
    the module's own descendants are declarations.
    """
    target = resolve(crate, use.segs, module.path)
    if target is None or (target.item is None and not use.glob):
        return None
    if use.vis and is_within(target.module, module.path):
        return None
    return target.module


def _add_edge(edges, module, target, offset, text):
    """Notes that `module` uses `target`, keeping the first place it does."""
    if target != module.path and target not in edges[module.path]:
        edges[module.path][target] = (module.file, line_of(module.code, offset), text)


def find_cycles(edges):
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            nxt = next(successors, None)
            if nxt is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comps.append(_pop_component(stack, on_stack, node))
            elif nxt not in index:
                index[nxt] = low[nxt] = len(index)
                stack.append(nxt)
                on_stack.add(nxt)
                work.append((nxt, iter(sorted(edges[nxt]))))
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
    return [sorted(c) for c in comps if len(c) > 1]


def shortest_circle(edges, comp):
    """A shortest circle through the component's first module, for a reader to start from.

    A component lists every module caught in it; one concrete loop is easier to act on.
    """
    start, inside = comp[0], set(comp)
    came_from, queue = {}, [start]
    for node in queue:
        for nxt in sorted(set(edges[node]) & inside):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1] + [start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return comp


def _pop_component(stack, on_stack, root):
    """Pops one strongly connected component off Tarjan's stack."""
    comp = []
    while True:
        node = stack.pop()
        on_stack.discard(node)
        comp.append(node)
        if node == root:
            return comp


def module_name(path):
    """`a::b`, or `crate` for the root."""
    return "::".join(path) or "crate"


# Rules 1-3: sizes


def count_lines(file):
    """(lines without inline test modules, lines of inline test modules) of a .rs file."""
    with open(file, encoding="utf-8") as f:
        text = f.read()
    total = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    _, tests = without_test_modules(lex(text).code)
    return total - tests, tests


def rust_files(directory):
    """Every .rs file under a directory, sorted."""
    found = []
    for base, _, names in os.walk(directory):
        found += [os.path.join(base, n) for n in names if n.endswith(".rs")]
    return sorted(found)


# The check


@dataclass(frozen=True)
class Breach:
    """One broken rule. kind: lines, inline-tests, test-lines or circle."""

    kind: str
    where: str  # a file relative to ROOT, or a crate's label
    message: str
    modules: frozenset = frozenset()


def size_breaches(root, crate_dir, test_files):
    """Rules 1-3 for one crate."""
    breaches = []
    for file in rust_files(os.path.join(crate_dir, "src")):
        rel = os.path.relpath(file, root)
        code, tests = count_lines(file)
        limit, kind = (MAX_TEST_LINES, "test-lines") if file in test_files else (MAX_LINES, "lines")
        if code > limit and os.path.basename(file) not in GENERATED:
            breaches.append(Breach(kind, rel, f"{rel}: {code} lines (limit {limit})"))
        if tests > MAX_INLINE_TEST_LINES:
            message = f"{rel}: {tests} lines of inline test modules (limit {MAX_INLINE_TEST_LINES})"
            breaches.append(Breach("inline-tests", rel, message))
    for test_dir in TEST_DIRS:
        for file in rust_files(os.path.join(crate_dir, test_dir)):
            rel = os.path.relpath(file, root)
            code, tests = count_lines(file)
            if code + tests > MAX_TEST_LINES:
                message = f"{rel}: {code + tests} lines (limit {MAX_TEST_LINES})"
                breaches.append(Breach("test-lines", rel, message))
    return breaches


def circle_breaches(root, crate):
    """Rule 4 for one crate root, each circle with the edges inside it."""
    edges = import_edges(crate)
    breaches = []
    for comp in find_cycles(edges):
        lines = [f"{crate.label}: import circle between " + ", ".join(map(module_name, comp))]
        lines.append("    shortest: " + " -> ".join(map(module_name, shortest_circle(edges, comp))))
        for module in comp:
            for target in sorted(set(edges[module]) & set(comp)):
                file, line, text = edges[module][target]
                where = f"{os.path.relpath(file, root)}:{line}"
                lines.append(f"    {module_name(module)} -> {module_name(target)}: {where} {text}")
        names = frozenset(map(module_name, comp))
        breaches.append(Breach("circle", crate.label, "\n".join(lines), names))
    return breaches


def check(root):
    """Every breach of rules 1-4 under ROOT."""
    breaches = []
    for crate_dir in crate_dirs(root):
        crates = [load_crate(*r) for r in crate_roots(crate_dir)]
        test_files = set().union(*(c.test_files for c in crates))
        breaches += size_breaches(root, crate_dir, test_files)
        for crate in crates:
            breaches += circle_breaches(root, crate)
    return breaches
