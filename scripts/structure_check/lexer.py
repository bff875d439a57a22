"""Lexing for the structure check: Rust source with comments and literals blanked.

One left-to-right pass knows string literals (escaped, raw `r#"…"#`, byte and C strings),
char literals (`'"'`, `'\\''`, but not lifetimes `'a`), line comments and nested block
comments. Whichever of `//`, `/*`, `"` or `'` comes first decides what the next characters
are, as in rustc; stripping comments and strings in separate passes cannot get that right
(a `//` inside "https://…" is not a comment, a `"` inside a comment opens no string).
"""

import re
from dataclasses import dataclass


@dataclass
class Lexed:
    """A file's code with comments and literals blanked, and the string literals it held.

    Blanking keeps every offset and newline where it was, so an offset into `code` is an
    offset into the file and line numbers stay right.
    """

    code: str
    strings: list  # (start, end, text between the quotes)


_RAW_STRING = re.compile(r'(?:br|cr|r)(#*)"')
_WORD = re.compile(r"\w+")


def lex(text):
    """Blanks the comments, strings and chars of `text` in one pass, keeping every offset."""
    out, strings = list(text), []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            _blank(out, i, end)
        elif text.startswith("/*", i):
            end = _block_comment_end(text, i)
            _blank(out, i, end)
        elif c == '"':
            end = _quoted_end(text, i + 1)
            _literal(out, strings, text, i, end, i + 1, end - 1)
        elif c == "'":
            end = _char_end(text, i) or i + 1
            _blank(out, i + 1, end - 1)
        elif c.isalnum() or c == "_":
            end = _word_or_prefixed_literal(text, i, out, strings)
        else:
            end = i + 1
        i = end
    return Lexed("".join(out), strings)


def _word_or_prefixed_literal(text, i, out, strings):
    """At a word: consumes it whole, or the literal it prefixes (r"…", b"…", br#"…"#, b'x').

    Words are consumed whole so that an `r` or `b` at the end of an identifier is never taken
    for a literal prefix.
    """
    raw = _RAW_STRING.match(text, i)
    if raw:
        hashes = len(raw.group(1))
        close = text.find('"' + "#" * hashes, raw.end())
        end = len(text) if close < 0 else close + 1 + hashes
        _literal(out, strings, text, i, end, raw.end(), end - 1 - hashes)
        return end
    if text[i] in "bc" and text.startswith('"', i + 1):
        end = _quoted_end(text, i + 2)
        _literal(out, strings, text, i, end, i + 2, end - 1)
        return end
    if text[i] == "b" and text.startswith("'", i + 1):
        end = _char_end(text, i + 1) or i + 2
        _blank(out, i, end)
        return end
    return _WORD.match(text, i).end()


def _blank(out, start, end):
    """Spaces over out[start:end], newlines kept."""
    for k in range(start, end):
        if out[k] != "\n":
            out[k] = " "


def _literal(out, strings, text, start, end, body_start, body_end):
    """Records a string literal and blanks it down to a pair of quotes."""
    strings.append((start, end, text[body_start:body_end]))
    _blank(out, start, end)
    out[start] = out[end - 1] = '"'


def _quoted_end(text, i):
    """The offset after the closing quote of an escaped string whose body starts at i."""
    n = len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return n


def _block_comment_end(text, i):
    """The offset after the block comment opened at i; block comments nest in Rust."""
    depth, n = 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _char_end(text, i):
    """The offset after the char literal opened at i, or None if the quote opens a lifetime.

    A char is `'x'` (x may be `"`) or an escape `'\\…'`; anything else (`'a` in `&'a str`,
    a loop label) is a lifetime, and only its quote is skipped.
    """
    if text.startswith("\\", i + 1):
        close = text.find("'", i + 3)
        return len(text) if close < 0 else close + 1
    if i + 2 < len(text) and text[i + 2] == "'" and text[i + 1] != "\n":
        return i + 3
    return None


def blank_span(code, start, end):
    """`code` with [start, end) blanked, newlines kept."""
    return code[:start] + re.sub(r"[^\n]", " ", code[start:end]) + code[end:]


def keep_span(code, start, end):
    """`code` blanked everywhere but [start, end): the code of an inline module."""
    return blank_span(blank_span(code, end, len(code)), 0, start)


def brace_end(code, open_at):
    """The offset after the `}` matching the `{` at open_at (strings are blanked already)."""
    depth = 0
    for m in re.compile(r"[{}]").finditer(code, open_at):
        depth += 1 if m.group() == "{" else -1
        if depth == 0:
            return m.end()
    return len(code)


def brace_end_square(code, open_at):
    """The offset after the `]` matching the `[` at open_at."""
    depth = 0
    for m in re.compile(r"[\[\]]").finditer(code, open_at):
        depth += 1 if m.group() == "[" else -1
        if depth == 0:
            return m.end()
    return len(code)


def line_of(code, offset):
    """1-based line number of an offset."""
    return code.count("\n", 0, offset) + 1
