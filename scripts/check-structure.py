#!/usr/bin/env python3
"""Structure rules of the workspace (issues 13 and 18), checked in CI.

Usage: check-structure.py [--reexports] [ROOT]
Self-test: check-structure-selftest.py (fixture crates under structure_fixtures/).

ROOT is a directory of crates (default: the repository's crates/); each ROOT/<crate> with a
src/ is checked. Prints every breach and exits 1 if there is any. With --reexports it also
lists the compatibility re-exports (below); outside the crates of rule 5 they are information.

Size rules
----------
1. No file in a crate's src/ is over MAX_LINES lines (diesel's generated schema.rs aside).
   Inline test modules (`#[cfg(test)] mod x { ... }`, anywhere in the file, found by brace
   matching) do not count against it: the bound is on the code a reader must hold in mind.
2. The inline test modules of one src file together are at most MAX_INLINE_TEST_LINES lines.
   Without this bound rule 1 could be dodged by growing the test module without end; with it
   a src file and its tests (500 + 300) are never longer than a test file may be, and a bigger
   suite goes to a file of its own (`#[cfg(test)] mod tests;`) or to the crate's tests/.
3. Test code in files of its own is at most MAX_TEST_LINES lines: every .rs under a crate's
   tests/ or benches/, and every src file that is a test module (`#[cfg(test)] mod x;`).

Import rule
-----------
4. No import circle between the modules of one crate (each crate root, lib.rs, main.rs or
   src/bin/*, is its own module tree, found by following `mod` declarations). Module a uses
   module b when it names an item that b defines: in a `use` tree, in an inline path, or in a
   path inside an attribute string (`#[serde(default = "crate::model::f")]`). Paths are
   resolved the way rustc does, so that a use lands in the module that defines the item:
   - `crate::`, `self::`, `super::` and names in scope (child modules, items, imports);
   - re-exports are followed, in any module and with any visibility (`pub use x::Y`,
     `pub(crate) use`, `pub use self::…`, globs `pub use x::*`): `use crate::OAuthError`
     counts as a use of `error` when lib.rs has `pub use error::OAuthError;`;
   - imported module names and aliases are followed: after `use super::foo as bar;`,
     `use crate::oidc::token as t;` or `use crate::oidc;`, the paths `bar::X`, `t::f` and
     `oidc::session::X` count as uses of foo, oidc::token and oidc::session;
   - `#[macro_export]` macros live at the crate root but count for the module defining them.
   Importing a module's name is not by itself a use (the paths through the name are), and a
   module re-exporting its own descendants' items declares them, it does not use them.
   Test modules, inline or in a file of their own, are left out: tests may reach anywhere.

Files are read by a small lexer (structure_check/lexer.py), one pass that knows string
literals (escaped, raw `r#"…"#`, byte and C strings), char literals (`'"'`, `'\\''`, but not
lifetimes `'a`), line comments and nested block comments; all of these are blanked before
anything is looked for, so a `//` inside "https://…" hides nothing and `use crate::x;` inside
a string or a comment is not a use.

Compatibility re-exports
------------------------
5. No compatibility re-export in the crates of reexports.ONE_PATH_CRATES (issue 18 §1): an
   item has one public path, its module's or, when the module is private, the facade's.
A re-export (`pub use`, `pub(crate) use`, …) is a compatibility re-export when everyone who
may name the new path could already name the path it was made from, that is when it only
gives an item a second name (`pub use error::OAuthError;` next to `pub mod error;`). A
facade's re-export out of a private module is not one: there it is the only way in.
Re-exports of another crate's items are listed too.

Known limits: `#[path]` attributes and items made by macros are not seen; a `use` inside a
function body is treated as if it were at the top of its module; only `#[cfg(test)]` exactly
marks test code (not `cfg(all(test, …))`), and on a statement it is not left out.

The code is in structure_check/: lexer.py (the lexer), syntax.py (what lexed code declares),
modules.py (module trees and path resolution), rules.py (rules 1-4 and their limits) and
reexports.py (the compatibility re-export listing).
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from structure_check import reexports, rules  # noqa: E402  (after the path is set)


def main(argv):
    """Runs the check; exit status 1 when anything is broken, 2 on a bad argument."""
    flags = [a for a in argv if a.startswith("-")]
    args = [a for a in argv if not a.startswith("-")]
    if set(flags) - {"--reexports"} or len(args) > 1:
        print("usage: check-structure.py [--reexports] [ROOT]", file=sys.stderr)
        return 2
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates")
    root = os.path.normpath(args[0] if args else default)
    breaches = [b.message for b in rules.check(root)] + reexports.one_path_breaches(root)
    for breach in breaches:
        print(breach)
    if flags:
        print("\n".join(reexports.reexport_report(root)))
    if breaches:
        print(f"check-structure: {len(breaches)} breach(es)")
        return 1
    print("check-structure: no file over its limit, no import circle, no second path (rule 5)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
