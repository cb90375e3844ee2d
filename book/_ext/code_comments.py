"""The comments of the chapters' code cells, for the Korean edition: found, and translated with the code kept
character for character. Used by book/translations.py (the catalogues code/<chapter>.po), the Korean
build (i18n.py) and the Korean learner's edition (book/make_exercises.py)."""

from __future__ import annotations

import io
import re
import tokenize

# A comment worth translating has a word in it: "(B, T, D)" and "1." stay as they are. Of an exercise's
# markers only the hint is translated: book/make_exercises.py finds the markers by their English words.
COMMENT_WORD = re.compile(r"[A-Za-z]{3,}")
HINT = "BEGIN SOLUTION hint: "
MARKER = re.compile(r"(BEGIN|END) SOLUTION\b|noqa\b|type: ignore\b")


def comments(source: str) -> list[tuple[int, int, str]]:
    """The translatable comments of a code cell: (line index, column of the text, text after `# `)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):  # not Python (a cell of shell commands): nothing to translate
        return []
    found = []
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        text = token.string[1:].lstrip()
        text = text.removeprefix(HINT)  # the hint of `# BEGIN SOLUTION hint: ...`, after its marker
        if COMMENT_WORD.search(text) and not MARKER.match(text):
            (row, column) = token.start
            found.append((row - 1, column + len(token.string) - len(text), text))
    return found


def translate_comments(source: str, messages: dict[str, str], missing: list[str]) -> str:
    """The code cell `source` with the text of each comment replaced by its translation in `messages`; the
    code itself is kept character for character. A comment with no translation stays and goes to `missing`."""
    lines = source.split("\n")
    for row, column, text in reversed(comments(source)):  # from the end: columns stay valid
        if text not in messages:
            missing.append(text)
        lines[row] = lines[row][:column] + messages.get(text, text)
    return "\n".join(lines)


def code_only(source: str) -> list[tuple[int, str]]:
    """A code cell's tokens but its comments, (type, string): equal for a cell and its translation."""
    try:
        tokens = tokenize.generate_tokens(io.StringIO(source).readline)
        return [(t.type, t.string) for t in tokens if t.type != tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        return [(tokenize.ERRORTOKEN, source)]
