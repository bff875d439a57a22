#!/usr/bin/env python3
"""Self-test of scripts/check-structure.py: the check must see what it is there to see.

Each case is a directory of fake crates (ROOT/<crate>/src/…) with known breaches, and the
check's findings on it must be exactly those: a missing breach is a blind spot, an extra one
a false alarm. The cases under scripts/structure_fixtures/<case>/crates are checked in:

  root_reexport  circles through a crate-root re-export (pub use, pub(crate) use, glob) and
                 through a #[macro_export] macro, which lives at the root
  facade         circles through a facade's re-export (a/mod.rs `pub use self::inner::Thing`,
                 and a glob in a non-mod.rs parent)
  lexing         a use behind a URL string, a raw or byte string, a `'"'` or `'\\''` char,
                 lifetimes, a comment holding a quote, an attribute string, a test module
  alias          circles through `use super::q as qq`, `use crate::oidc::token as t` and
                 `use crate::oidc; … oidc::session::…`
  clean          tricky but fine code, nothing may be reported

The size case is written into a temporary directory instead, from the check's own limits: a
checked-in copy would be thousands of lines of filler, wrong as soon as a limit changes.

Also checks the compatibility re-exports listed for the checked-in cases, rule 5 on them, the lexer and the
use-tree parser on small snippets, and the exit status of the command line. Exits 1 if any
expectation fails.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK_SCRIPT = os.path.join(HERE, "check-structure.py")
FIXTURES = os.path.join(HERE, "structure_fixtures")

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, HERE)

from structure_check import reexports, rules  # noqa: E402  (after the path is set)
from structure_check.lexer import lex  # noqa: E402
from structure_check.syntax import parse_use_tree  # noqa: E402


def circle(crate, *modules):
    """An expected circle: the crate's label and the modules caught in it."""
    return ("circle", crate, frozenset(modules))


def size(kind, file):
    """An expected size breach: its kind and the file, relative to ROOT."""
    return (kind, file, frozenset())


PAIRS = ("after", "attr", "byte", "comment", "escape", "life", "quote", "raw", "url")

EXPECTED = {
    "root_reexport": {
        circle("root_pub", "audit", "error"),
        circle("root_crate", "audit", "error"),
        circle("root_glob", "audit", "error"),
        circle("root_macro", "macros", "user"),
    },
    "facade": {
        circle("facade", "a::inner", "b"),
        circle("facade_glob", "a::inner", "b"),
    },
    "lexing": {circle("lexing", f"{p}_a", f"{p}_b") for p in PAIRS},
    "alias": {
        circle("alias", "p", "q"),
        circle("alias", "r", "oidc::token"),
        circle("alias", "s", "oidc::session"),
    },
    "clean": set(),
}

# The compatibility re-exports (--reexports) of each checked-in case, as file:line. A facade's
# re-export out of a private module (facade a/mod.rs, clean parent/mod.rs) and a local macro
# given a path (clean macros.rs) are not ones.
EXPECTED_REEXPORTS = {
    "root_reexport": {"root_pub/src/lib.rs:5", "root_crate/src/lib.rs:5"},
    "facade": {"facade/src/lib.rs:6"},
    "lexing": set(),
    "alias": set(),
    "clean": set(),
}

LONG_EXPECTED = {
    size("lines", "long/src/big.rs"),
    size("inline-tests", "long/src/fat_tests.rs"),
    size("test-lines", "long/src/split_fat/tests.rs"),
    size("test-lines", "long/tests/long.rs"),
    size("test-lines", "long/tests/common/long.rs"),
    size("test-lines", "long/benches/long.rs"),
}

# (source, text the lexed code must keep, text it must not keep)
LEX_CASES = [
    ('let u = "https://x/"; go();', "go();", "https"),
    ('let r = r#"a "b" // c"#; go();', "go();", "//"),
    ('let b = br##"x"# "##; go();', "go();", "x"),
    ('let c = b"\\"//"; go();', "go();", "//"),
    ("let q = '\"'; go(); \"x\"", "go();", "x"),
    ("let q = '\\''; go();", "go();", "\\"),
    ("let q = '\\\"'; go();", "go();", "\\"),
    ("let s = \"\\\\\"; go();", "go();", "\\"),
    ("fn f<'a>(x: &'a u8) -> &'a u8 { 'l: loop { break 'l; } x }", "&'a u8 { 'l: loop", None),
    ("/* a /* b */ c */ go();", "go();", "c"),
    ("/* \" */ go(); // \"", "go();", '"'),
    ("let r#type = 1; r#\"s\"#; go();", "go();", "s"),
]

# (use tree, expected leaves as (segments, alias, glob))
USE_CASES = [
    ("a::{b, c::{self as d, *}}", [(["a", "b"], None, False), (["a", "c"], "d", False),
                                   (["a", "c"], None, True)]),
    ("super::q as qq", [(["super", "q"], "qq", False)]),
    ("crate::{x, y::Z as _}", [(["crate", "x"], None, False), (["crate", "y", "Z"], "_", False)]),
    ("::ext::Thing", [(["::", "ext", "Thing"], None, False)]),
]


def write(path, lines):
    """Writes `lines` (each without its newline) to path, making its directories."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def code_lines(n, name="C"):
    """n lines of plain Rust."""
    return [f"pub const {name}{i}: u32 = {i};" for i in range(n)]


def test_module(n):
    """An inline test module of exactly n lines, with braces in literals to trip a matcher."""
    body = [f"    const T{i}: &str = \"}}\";" if i % 2 else f"    const T{i}: char = '}}';"
            for i in range(n - 3)]
    return ["#[cfg(test)]", "mod tests {"] + body + ["}"]


def build_long_fixture(root):
    """Files at and just over each size limit, in crate `long` under root."""
    src, crate = os.path.join(root, "long", "src"), os.path.join(root, "long")
    half = rules.MAX_LINES // 2
    write(os.path.join(src, "lib.rs"), ["pub mod big;", "pub mod fits;", "pub mod fat_tests;",
                                        "pub mod split_ok;", "pub mod split_fat;", "mod schema;"])
    write(os.path.join(src, "big.rs"), code_lines(rules.MAX_LINES + 1))
    # At the limit, with a test module at the limit in the middle: fine.
    fits = code_lines(half, "A") + test_module(rules.MAX_INLINE_TEST_LINES)
    write(os.path.join(src, "fits.rs"), fits + code_lines(rules.MAX_LINES - half, "B"))
    fat = code_lines(5) + test_module(rules.MAX_INLINE_TEST_LINES + 1)
    write(os.path.join(src, "fat_tests.rs"), fat)
    write(os.path.join(src, "schema.rs"), code_lines(rules.MAX_LINES + 50))
    # Test modules in files of their own are bounded as test files.
    for name, n in (("split_ok", rules.MAX_TEST_LINES), ("split_fat", rules.MAX_TEST_LINES + 1)):
        write(os.path.join(src, f"{name}.rs"), ["#[cfg(test)]", "mod tests;"])
        write(os.path.join(src, name, "tests.rs"), code_lines(n))
    write(os.path.join(crate, "tests", "ok.rs"), code_lines(rules.MAX_TEST_LINES))
    write(os.path.join(crate, "tests", "long.rs"), code_lines(rules.MAX_TEST_LINES + 1))
    write(os.path.join(crate, "tests", "common", "long.rs"), code_lines(rules.MAX_TEST_LINES + 1))
    write(os.path.join(crate, "benches", "long.rs"), code_lines(rules.MAX_TEST_LINES + 1))


def found(root):
    """The check's breaches on root, in the form of the expectations."""
    return {(b.kind, b.where, b.modules) for b in rules.check(root)}


def exit_status(root):
    """The command line's exit status on root."""
    run = subprocess.run([sys.executable, CHECK_SCRIPT, root], capture_output=True, text=True)
    return run.returncode


def compare(case, root, expected):
    """Failures (strings) of one case: breaches missing or extra, wrong exit status."""
    actual = found(root)
    failures = [f"{case}: missing {e}" for e in sorted(expected - actual, key=str)]
    failures += [f"{case}: unexpected {a}" for a in sorted(actual - expected, key=str)]
    want = 1 if expected else 0
    status = exit_status(root)
    if status != want:
        failures.append(f"{case}: exit status {status}, expected {want}")
    return failures


def reexport_failures(case, root):
    """Failures of the compatibility re-export listing on one case."""
    report = reexports.reexport_report(root)[1:]
    actual = {line.split(": ")[0].strip() for line in report}
    expected = EXPECTED_REEXPORTS[case]
    failures = [f"{case}: re-export {e} not listed" for e in sorted(expected - actual)]
    return failures + [f"{case}: re-export {a} listed wrongly" for a in sorted(actual - expected)]


def one_path_failures():
    """Failures of rule 5: a crate named one-path breaks it by each compatibility re-export,
    a crate not named does not, and the repository's crates are named by their own names."""
    root = os.path.join(FIXTURES, "root_reexport", "crates")
    failures = []
    named = {b.split(": ")[0] for b in reexports.one_path_breaches(root, {"root_pub", "root_glob"})}
    if named != {"root_pub/src/lib.rs:5"}:
        failures.append(f"one path: root_pub, root_glob named gave {sorted(named)}")
    if reexports.one_path_breaches(root):
        failures.append("one path: crates not named were reported")
    return failures


def lexer_failures():
    """Failures of the lexer and use-tree snippets."""
    failures = []
    for source, keep, drop in LEX_CASES:
        code = lex(source).code
        if len(code) != len(source) or keep not in code or (drop and drop in code):
            failures.append(f"lex {source!r} gave {code!r}")
    for tree, leaves in USE_CASES:
        if parse_use_tree(tree) != leaves:
            failures.append(f"use tree {tree!r} gave {parse_use_tree(tree)}")
    return failures


def main():
    """Runs every case; prints each failure and exits 1 if there is any."""
    failures = lexer_failures() + one_path_failures()
    for case, expected in EXPECTED.items():
        root = os.path.join(FIXTURES, case, "crates")
        failures += compare(case, root, expected) + reexport_failures(case, root)
    with tempfile.TemporaryDirectory() as root:
        build_long_fixture(root)
        failures += compare("long", root, LONG_EXPECTED)
    for failure in failures:
        print(failure)
    cases = len(EXPECTED) + 1
    if failures:
        print(f"check-structure self-test: {len(failures)} failure(s)")
        return 1
    print(f"check-structure self-test: {cases} cases, re-exports, lexer and use trees as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
