"""Compatibility re-exports: `pub use` items that only give an item a second path.

A region is who may name a path: WORLD (any crate), a module path (that module's subtree, so
() is the whole crate) or None (nobody). A re-export is a compatibility one when its region
lies within the region of the path it was made from (the definition, or a re-export passed
through on the way).
"""

import os

from .lexer import line_of
from .modules import WORLD, crate_dirs, crate_roots, in_scope, is_within, load_crate, resolve


# Crates that keep one public path per item (issue 18 §1): in them a compatibility re-export is
# a breach, not information: every crate of the workspace.
ONE_PATH_CRATES = frozenset(
    {
        "gpki-card-sim",
        "gpki-idp-core",
        "gpki-idp-server",
        "gpki-idp-store",
        "gpki-loadgen",
        "gpki-testpki",
        "gpki-verify",
    }
)


def region_of(crate, path):
    """Who may name module `path`: each module on the way limits it by its declaration."""
    region = crate.root_region
    for depth in range(1, len(path) + 1):
        declared = crate.modules[path[:depth]].vis
        region = meet(region, vis_region(declared, path[: depth - 1]))
    return region


def vis_region(vis, home):
    """The region a visibility written in module `home` opens (`pub(in …)`: the crate)."""
    if vis == "pub":
        return WORLD
    if vis == "pub(crate)" or vis.startswith("pub(in"):
        return ()
    if vis == "pub(super)":
        return home[:-1]
    return home


def meet(a, b):
    """Intersection of two regions (two subtrees are nested or disjoint)."""
    if a is None or b is None:
        return None
    if a == WORLD or b == WORLD:
        return b if a == WORLD else a
    if is_within(a, b):
        return a
    return b if is_within(b, a) else None


def region_within(inner, outer):
    """Whether everyone in region `inner` is in region `outer`."""
    if inner is None or outer == WORLD:
        return True
    return outer is not None and inner != WORLD and is_within(inner, outer)


def compat_reexports(crate):
    """(file, line, text, note) for each re-export that only adds a second path."""
    found = []
    for module in crate.modules.values():
        for use in module.uses:
            if not use.vis or use.glob or use.alias == "_":
                continue
            note = _second_path(crate, module, use)
            if note:
                found.append((module.file, line_of(module.code, use.offset), use.text(), note))
    return found


def _second_path(crate, module, use):
    """Why `use` is a compatibility re-export, or None when it is not one."""
    target = resolve(crate, use.segs, module.path)
    if target is None:
        if in_scope(crate, module.path, use.segs[0]):
            return None
        return f"another crate's item: {'::'.join(use.segs)}"
    if target.module == module.path and target.item is not None:
        return None  # a local macro given a path
    mine = meet(region_of(crate, module.path), vis_region(use.vis, module.path))
    original = _path_name(target.module, target.item)
    if region_within(mine, region_of(crate, target.module)):
        return f"also {original}"
    for hop_module, hop in target.hops:
        hop_region = meet(region_of(crate, hop_module), vis_region(hop.vis, hop_module))
        if hop.vis and region_within(mine, hop_region):
            return f"also {_path_name(hop_module, hop.binding())} (defined at {original})"
    return None


def _path_name(module, item):
    """`crate::a::b::Item`."""
    return "::".join(("crate",) + module + ((item,) if item else ()))


def _found(root, crate_dirs_):
    """(file relative to ROOT, line, text, note) of the compatibility re-exports in the crates."""
    found = set()
    for crate_dir in crate_dirs_:
        for crate in (load_crate(*r) for r in crate_roots(crate_dir)):
            found |= {(os.path.relpath(f, root), *rest) for f, *rest in compat_reexports(crate)}
    return found


def one_path_breaches(root, names=ONE_PATH_CRATES):
    """A message for each compatibility re-export in a crate of `names` under ROOT."""
    dirs = [d for d in crate_dirs(root) if os.path.basename(d) in names]
    return [
        f"{file}:{line}: {text} gives an item a second path ({note}); keep one (issue 18)"
        for file, line, text, note in sorted(_found(root, dirs))
    ]


def reexport_report(root):
    """Lines listing the compatibility re-exports under ROOT, as file:line."""
    found = _found(root, crate_dirs(root))
    lines = [f"compatibility re-exports ({len(found)}):"]
    lines += [f"    {file}:{line}: {text}  ({note})" for file, line, text, note in sorted(found)]
    return lines
