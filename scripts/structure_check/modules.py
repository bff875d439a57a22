"""A crate's module tree, and rustc-like resolution of the paths written in it."""

import os
from dataclasses import dataclass, field

from .lexer import blank_span, keep_span, lex
from .syntax import (
    attribute_paths,
    inline_paths,
    item_names,
    mod_declarations,
    test_modules,
    top_level,
    use_statements,
)


# Module trees


@dataclass
class Module:
    """One module of a crate: its code (the file's, blanked outside it) and what it declares."""

    path: tuple
    file: str
    code: str
    vis: str  # as declared in its parent
    children: dict = field(default_factory=dict)  # name -> module path
    items: set = field(default_factory=set)
    uses: list = field(default_factory=list)
    bindings: dict = field(default_factory=dict)  # name -> Use
    globs: list = field(default_factory=list)
    paths: list = field(default_factory=list)  # inline and attribute paths: (segs, offset)


@dataclass
class Crate:
    """One crate root's module tree."""

    label: str
    root_region: object
    modules: dict = field(default_factory=dict)
    macros: dict = field(default_factory=dict)  # #[macro_export] name -> defining module
    test_files: set = field(default_factory=set)


WORLD = "world"  # a region: who may name a path (WORLD, a module subtree, or None for nobody)


def crate_roots(crate_dir):
    """(label, root file, region of the root) for the lib, main.rs and src/bin targets."""
    name, src = os.path.basename(crate_dir), os.path.join(crate_dir, "src")
    roots = []
    has_lib = os.path.isfile(os.path.join(src, "lib.rs"))
    if has_lib:
        roots.append((name, os.path.join(src, "lib.rs"), WORLD))
    if os.path.isfile(os.path.join(src, "main.rs")):
        roots.append((f"{name} (main.rs)" if has_lib else name, os.path.join(src, "main.rs"), ()))
    bins = os.path.join(src, "bin")
    for entry in sorted(os.listdir(bins)) if os.path.isdir(bins) else []:
        main = os.path.join(bins, entry, "main.rs")
        path = os.path.join(bins, entry) if entry.endswith(".rs") else main
        if os.path.isfile(path):
            roots.append((f"{name} (bin {entry.removesuffix('.rs')})", path, ()))
    return roots


def load_crate(label, root_file, region):
    """Follows `mod` declarations from a crate root to build its module tree."""
    crate = Crate(label, region)
    _load_file(crate, (), root_file, "pub", os.path.dirname(root_file))
    return crate


def _child_file(directory, name):
    """Where `mod name;` lives: directory/name.rs or directory/name/mod.rs."""
    for candidate in (name + ".rs", os.path.join(name, "mod.rs")):
        candidate = os.path.join(directory, candidate)
        if os.path.isfile(candidate):
            return candidate
    return None


def _load_file(crate, path, file, vis, child_dir):
    """Reads one module file; its test modules are left out, their files only noted."""
    with open(file, encoding="utf-8") as f:
        lexed = lex(f.read())
    code = lexed.code
    for t in test_modules(code):
        code = blank_span(code, t.start, t.end)
        test_file = None if t.inline else _child_file(child_dir, t.name)
        if test_file:
            crate.test_files.add(test_file)
    _add_module(crate, path, file, code, lexed.strings, vis, child_dir)


def _add_module(crate, path, file, code, strings, vis, child_dir):
    """Adds a module from its code, then its children: inline bodies and files.

    An inline module's body is taken out of its parent's code, so that each use counts for
    the module it is written in.
    """
    decls = mod_declarations(code)
    own = code
    for decl in decls:
        if decl.inline:
            own = blank_span(own, decl.start, decl.end)
    module = Module(path, file, own, vis)
    crate.modules[path] = module
    _read_module(crate, module, strings)
    for decl in decls:
        child, next_dir = path + (decl.name,), os.path.join(child_dir, decl.name)
        if decl.inline:
            module.children[decl.name] = child
            body = keep_span(code, decl.body, decl.end - 1)
            _add_module(crate, child, file, body, strings, decl.vis, next_dir)
        elif child_file := _child_file(child_dir, decl.name):
            module.children[decl.name] = child
            _load_file(crate, child, child_file, decl.vis, next_dir)


def _read_module(crate, module, strings):
    """Fills in the module's items, uses, bindings and paths."""
    level = top_level(module.code)
    module.items, exported = item_names(level)
    for name in exported:
        crate.macros[name] = module.path
    module.uses, spans = use_statements(module.code)
    # Bindings of the module's own level win over those of `use` inside function bodies
    # (top_level blanks the latter, so their first character reads as a space).
    for use in sorted(module.uses, key=lambda u: level[u.offset] == " "):
        if use.glob:
            module.globs.append(use)
        elif use.binding():
            module.bindings.setdefault(use.binding(), use)
    # The file's strings that are this module's: the others are blanked in its code.
    mine = [(s, e, t) for s, e, t in strings if module.code[s] == '"']
    module.paths = inline_paths(module.code, spans) + attribute_paths(module.code, mine)


# Path resolution


@dataclass(frozen=True)
class Target:
    """Where a path lands: the module defining the item (item None: the module itself).

    hops are the re-exports passed through on the way, (module, Use), nearest first.
    """

    module: tuple
    item: object
    hops: tuple = ()

    def via(self, hop):
        """The same target reached through one more re-export."""
        return Target(self.module, self.item, (hop,) + self.hops)


def resolve(crate, segs, here, seen=frozenset()):
    """The target of a path written in module `here`, or None if it leaves the crate."""
    head = segs[0]
    if head == "crate":
        return _walk(crate, (), segs[1:], seen)
    if head in ("self", "super"):
        current, rest = here, segs[1:] if head == "self" else segs
        while rest and rest[0] == "super":
            if not current:
                return None
            current, rest = current[:-1], rest[1:]
        return _walk(crate, current, rest, seen)
    return _lookup(crate, here, head, segs[1:], seen, strict=True)


def _walk(crate, module, rest, seen):
    """Continues a path from a module reached already."""
    if not rest:
        return Target(module, None)
    return _lookup(crate, module, rest[0], rest[1:], seen, strict=False)


def _lookup(crate, module, name, rest, seen, strict):
    """Finds `name` in a module: child module, import (followed), item, then globs.

    Imports are tried before items because item names are read loosely (a method can share a
    name with an import); an import that leads back to itself (`pub(crate) use mac;` for a
    local macro) falls through to the items. Unknown names stay in the module when the path
    was already inside the crate (strict False); a first segment that is unknown (strict True)
    is an extern crate or the prelude.
    """
    here = crate.modules.get(module)
    if here is None or (module, name) in seen:
        return None
    seen = seen | {(module, name)}
    if name in here.children:
        return _walk(crate, here.children[name], rest, seen)
    use = here.bindings.get(name)
    target = resolve(crate, use.segs, module, seen) if use else None
    if target is not None:
        target = target.via((module, use))
        if target.item is None and rest:
            return _through(crate, target, rest, seen)
        return target
    if name in here.items:
        return Target(module, name)
    if module == () and name in crate.macros:
        return Target(crate.macros[name], name)
    for glob in here.globs:
        source = resolve(crate, glob.segs, module, seen)
        if source is not None and source.item is None:
            found = _lookup(crate, source.module, name, rest, seen, strict=True)
            if found is not None:
                return found.via((module, glob))
    return None if strict else Target(module, name)


def _through(crate, target, rest, seen):
    """Continues a path through an imported module, keeping the hops that led there."""
    found = _walk(crate, target.module, rest, seen)
    if found is None:
        return None
    return Target(found.module, found.item, target.hops + found.hops)


def in_scope(crate, module, name):
    """Whether a path's first segment names something of this crate from `module`."""
    if name in ("crate", "self", "super"):
        return True
    here = crate.modules[module]
    return name in here.children or name in here.bindings or name in here.items


def is_within(inner, outer):
    """Whether `inner` is `outer` or one of its descendants."""
    return inner[: len(outer)] == outer


# Crates


def crate_dirs(root):
    """The crates under ROOT: directories holding a src/."""
    return [
        os.path.join(root, name)
        for name in sorted(os.listdir(root))
        if os.path.isdir(os.path.join(root, name, "src"))
    ]
