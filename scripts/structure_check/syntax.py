"""What lexed Rust code declares: test modules, `mod` items, items, `use` trees and paths.

Read with regular expressions on lexed code (strings and comments blanked already), which is
enough for rustfmt-formatted code; brace matching finds where a module's body ends.
"""

import re
from dataclasses import dataclass

from .lexer import blank_span, brace_end, brace_end_square, line_of


_VIS = r"(pub(?:\s*\([^)]*\))?\s+)?"
_ATTRS = r"(?:\s*#\s*\[[^\]]*\])*\s*"
_TEST_MODULE = re.compile(
    r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]" + _ATTRS + _VIS + r"mod\s+(\w+)\s*([;{])"
)


@dataclass
class TestModule:
    """A `#[cfg(test)] mod` item: inline (span of the item) or in a file (name only)."""

    name: str
    start: int
    end: int
    inline: bool


def test_modules(code):
    """The file's outermost `#[cfg(test)]` modules, wherever they are in the file.

    A search resumes after each module found, so one nested in another is not counted twice.
    """
    found, pos = [], 0
    while m := _TEST_MODULE.search(code, pos):
        inline = m.group(3) == "{"
        end = brace_end(code, m.end() - 1) if inline else m.end()
        found.append(TestModule(m.group(2), m.start(), end, inline))
        pos = end
    return found


def without_test_modules(code):
    """The code with its test modules blanked, and the tests' own lines (for rule 2)."""
    test_lines = 0
    for t in test_modules(code):
        code = blank_span(code, t.start, t.end)
        if t.inline:
            test_lines += line_of(code, t.end - 1) - line_of(code, t.start) + 1
    return code, test_lines


def top_level(code):
    """The code with everything inside braces blanked: what is at the module's own level."""
    out, depth, last = [], 0, 0
    for m in re.finditer(r"[{}]", code):
        piece = code[last : m.start()]
        out.append(piece if depth == 0 else re.sub(r"[^\n]", " ", piece))
        depth = max(0, depth + (1 if m.group() == "{" else -1))
        out.append(m.group())
        last = m.end()
    out.append(code[last:] if depth == 0 else re.sub(r"[^\n]", " ", code[last:]))
    return "".join(out)


_MOD_DECL = re.compile(r"(?<![\w:])" + _VIS + r"mod\s+(\w+)\s*([;{])")


@dataclass
class ModDecl:
    """`mod x;` or `mod x { … }`: the item spans [start, end), an inline body starts at body."""

    name: str
    vis: str
    start: int
    end: int
    inline: bool
    body: int


def mod_declarations(code):
    """The `mod` items at the top level of `code` (test modules are blanked already)."""
    decls, level = [], top_level(code)
    for m in _MOD_DECL.finditer(level):
        vis = re.sub(r"\s+", "", m.group(1) or "")
        inline = m.group(3) == "{"
        end = brace_end(code, m.end() - 1) if inline else m.end()
        decls.append(ModDecl(m.group(2), vis, m.start(), end, inline, m.end()))
    return decls


_KEYWORDS = {"fn", "mut", "unsafe", "extern", "async", "const", "static", "type", "impl"}
_ITEM = re.compile(r"\b(?:fn|struct|enum|trait|type|union|static|const)\s+(?:mut\s+)?(\w+)")
_MACRO = re.compile(r"(#\s*\[\s*macro_export\s*\]" + _ATTRS + r")?\bmacro_rules!\s*(\w+)")


def item_names(level):
    """Names of the items defined at the module's level, and its #[macro_export] macros."""
    items = {m.group(1) for m in _ITEM.finditer(level)} - _KEYWORDS
    exported = set()
    for m in _MACRO.finditer(level):
        items.add(m.group(2))
        if m.group(1):
            exported.add(m.group(2))
    return items, exported


@dataclass
class Use:
    """One leaf of a `use` tree: `use a::b::{c as d}` gives segs (a, b, c) and alias d."""

    segs: tuple
    alias: str
    glob: bool
    vis: str
    offset: int

    def binding(self):
        """The name this use brings into scope, or None (globs, `as _`)."""
        if self.glob or self.alias == "_":
            return None
        return self.alias or self.segs[-1]

    def text(self):
        """The leaf as written, for messages."""
        tail = "::*" if self.glob else (f" as {self.alias}" if self.alias else "")
        return f"{(self.vis + ' ') if self.vis else ''}use {'::'.join(self.segs)}{tail}"


_USE = re.compile(r"(?<![\w:])" + _VIS + r"use\s+([^;]+);")


def use_statements(code):
    """Every `use` statement: its leaves, and the span to blank before inline paths are read."""
    uses, spans = [], []
    for m in _USE.finditer(code):
        vis = re.sub(r"\s+", "", m.group(1) or "")
        for segs, alias, glob in parse_use_tree(m.group(2)):
            uses.append(Use(tuple(segs), alias, glob, vis, m.start()))
        spans.append((m.start(), m.end()))
    return uses, spans


def parse_use_tree(tree):
    """The leaves of a use tree `a::{b, c::{self as d, *}}` as (segments, alias, glob)."""
    tokens = re.findall(r"::|[{},*]|\$?\w+", tree)
    leaves = []
    _use_tree(tokens, 0, [], leaves)
    out = []
    for segs, alias, glob in leaves:
        if segs and segs[-1] == "self" and len(segs) > 1:
            segs = segs[:-1]
        segs = ["crate" if s == "$crate" else s for s in segs]
        if segs:
            out.append((segs, alias, glob))
    return out


def _use_tree(tokens, i, prefix, leaves):
    """Recursive descent over one use tree from tokens[i]; returns the index after it."""
    segs = list(prefix)
    if i < len(tokens) and tokens[i] == "::":  # `::name`: an extern crate
        segs, i = segs + ["::"], i + 1
    while i < len(tokens):
        t = tokens[i]
        if t == "{":
            i += 1
            while i < len(tokens) and tokens[i] != "}":
                i = _use_tree(tokens, i, segs, leaves)
                i += 1 if i < len(tokens) and tokens[i] == "," else 0
            return i + 1
        if t == "*":
            leaves.append((segs, None, True))
            return i + 1
        if t in (",", "}"):
            return i
        segs.append(t)
        i += 1
        if i < len(tokens) and tokens[i] == "::":
            i += 1
            continue
        alias = None
        if i + 1 < len(tokens) and tokens[i] == "as":
            alias, i = tokens[i + 1], i + 2
        leaves.append((segs, alias, False))
        return i
    return i


_PATH = re.compile(r"(?<![\w:$])\$?(\w+)((?:::\w+)+)")
_PUB_IN = re.compile(r"\bpub\s*\(\s*in\s[^)]*\)")
_ATTRIBUTE = re.compile(r"#!?\s*\[")
_PATH_STRING = re.compile(r"(?:crate|self|super)(?:::\w+)+")


def inline_paths(code, use_spans):
    """Paths `a::b::c` outside `use` statements and `pub(in …)`: (segments, offset)."""
    for start, end in use_spans:
        code = blank_span(code, start, end)
    for m in _PUB_IN.finditer(code):
        code = blank_span(code, m.start(), m.end())
    return [(tuple((m.group(1) + m.group(2)).split("::")), m.start()) for m in _PATH.finditer(code)]


def attribute_paths(code, strings):
    """Paths in string literals inside attributes, as serde's `default = "crate::x::f"`."""
    spans = [(m.start(), brace_end_square(code, m.end() - 1)) for m in _ATTRIBUTE.finditer(code)]
    found = []
    for start, end, text in strings:
        inside = any(a <= start and end <= b for a, b in spans)
        if inside and _PATH_STRING.fullmatch(text):
            found.append((tuple(text.split("::")), start))
    return found
