"""The structure of a document in light markup (Markdown, reStructuredText): headings, code
blocks, and lines that only carry markup.

Offsets are into the document text, which stays as written: quotes are verbatim spans of it.
What is found here decides what can be quoted and how: a heading names the section under it
and is never quoted on its own, a code block is quoted whole as one unit, and markup-only
lines (rST directives and labels, fences, table rules) are neither quoted nor matched.

Plain text reads as Markdown without code: ``#`` headings and underlined headings only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CODE = "code"
MARKUP = "markup"
ITEM = "item"

_RST_SUFFIXES = (".rst", ".rest")
_HEADING_MAX_CHARS = 300
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx")

ATX_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_ADORNMENT = re.compile(r"^([=\-~^\"'`*+#:._<>])\1{2,}[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_DIRECTIVE = re.compile(r"^[ \t]*\.\.[ \t]+([\w:-]+)::(.*)$")
_RST_COMMENT_OR_TARGET = re.compile(r"^[ \t]*\.\.(?:[ \t]|$)")  # after directives: a target, footnote, substitution or comment
_FIELD_LINE = re.compile(r"^[ \t]*:[\w -]+:(?:[ \t].*)?$")
_TABLE_RULE = re.compile(r"^[ \t]*[|+]?[ \t]*:?-{3,}:?[ \t]*(?:[|+][ \t]*:?-{3,}:?[ \t]*)*[|+]?[ \t]*$|^[ \t]*[+=][=+-]{2,}[ \t]*$")
_LINK_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]]+\]:(?:[ \t]+\S.*)?$")  # [name]: https://…
_MYST_TARGET = re.compile(r"^\([\w/.:-]+\)=[ \t]*$")  # (labels/exit-code)=
_HTML_COMMENT_OR_TAG = re.compile(r"^[ \t]*</?(?:details|summary|div|p|br|img|!--)[^>]*>(?:.*</(?:summary|p)>)?[ \t]*$", re.I)
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)]|#\.)[ \t]+(?=\S)", re.MULTILINE)
# Directives whose body is code, whose body is not prose at all, or whose body is prose.
_CODE_DIRECTIVES = frozenset({"code-block", "code", "sourcecode", "literalinclude", "doctest", "testcode"})
_HIDDEN_DIRECTIVES = frozenset({
    "toctree", "contents", "image", "figure", "include", "raw", "only", "autoclass", "autofunction",
    "automodule", "automethod", "autoattribute", "autodata", "autoexception", "autosummary", "currentmodule",
    "module", "index", "meta", "role", "default-role", "highlight", "sectionauthor", "moduleauthor", "tabularcolumns",
    "csv-table", "list-table", "program-output", "eval-rst",
})


@dataclass(frozen=True)
class Heading:
    start: int  # the heading's lines, underline included
    end: int
    level: int
    title: str


@dataclass(frozen=True)
class Block:
    """A span quoted as one unit (code), or kept out of quotes and matching (markup)."""

    start: int
    end: int
    kind: str  # CODE or MARKUP


@dataclass(frozen=True)
class Layout:
    headings: tuple[Heading, ...]
    blocks: tuple[Block, ...]


def markup_of(relpath: str) -> str:
    name = relpath.lower()
    if name.endswith(_RST_SUFFIXES):
        return "rst"
    if name.endswith(_MARKDOWN_SUFFIXES):
        return "markdown"
    return "text"


def read_layout(text: str, markup: str) -> Layout:
    lines = _lines(text)
    blocks: list[Block] = []
    headings: list[Heading] = []
    adornments: list[tuple[str, bool]] = []  # rST levels: the order in which underline styles appear
    covered = [False] * len(lines)
    fields_only = True  # nothing but ":field: value" lines so far (an rST document's own fields)
    k = 0
    while k < len(lines):
        start, end, line = lines[k]
        if line.strip() and not _FIELD_LINE.match(line):
            fields_only = False
        if markup != "text" and not covered[k] and (fence := _FENCE.match(line)):
            close = next((j for j in range(k + 1, len(lines))
                          if lines[j][2].strip().startswith(fence.group(1)[0] * len(fence.group(1)))), None)
            last = close if close is not None else len(lines) - 1
            # MyST directives are fenced too: ```{note} holds prose, ```{toctree} no prose at all.
            directive = re.match(r"\{([\w:-]+)\}", line[fence.end():].strip())
            name = directive.group(1).lower() if directive else ""
            inner = _fenced_body(lines, k + 1, last if close is not None else last + 1) if last > k else None
            blocks.append(Block(start, lines[k][1], MARKUP))
            if inner is not None:
                if not name or name in _CODE_DIRECTIVES:
                    blocks.append(Block(inner[0], inner[1], CODE))
                elif name in _HIDDEN_DIRECTIVES:
                    blocks.append(Block(inner[0], inner[1], MARKUP))
                else:  # admonitions: prose, but their ":option:" lines are markup
                    for j in range(k + 1, last if close is not None else last + 1):
                        if _FIELD_LINE.match(lines[j][2]):
                            blocks.append(Block(lines[j][0], lines[j][1], MARKUP))
                    _cover(covered, k, k)
                    if close is not None:
                        blocks.append(Block(lines[close][0], lines[close][1], MARKUP))
                        covered[close] = True
                    k += 1
                    continue
            if close is not None:
                blocks.append(Block(lines[close][0], lines[close][1], MARKUP))
            _cover(covered, k, last)
            k = last + 1
            continue
        if markup == "rst" and (directive := _DIRECTIVE.match(line)):
            k = _directive(lines, k, directive, blocks, covered)
            continue
        if markup == "rst" and _RST_COMMENT_OR_TARGET.match(line):
            body_end = _indented_body_end(lines, k + 1, _indent(line))
            blocks.append(Block(start, lines[body_end - 1][1] if body_end > k + 1 else end, MARKUP))
            _cover(covered, k, body_end - 1)
            k = body_end
            continue
        short = len(line) <= _HEADING_MAX_CHARS  # a heading is a short line; long ones are not tried
        heading = _underlined_heading(lines, k, adornments) if short and line.strip() else None
        if heading is not None:
            level, used = heading
            title = lines[k + used - 2][2].strip() if used == 3 else line.strip()
            headings.append(Heading(start, lines[k + used - 1][1], level, _heading_text(title)))
            _cover(covered, k, k + used - 1)
            k += used
            continue
        atx = ATX_HEADING.match(line) if short else None
        if atx and markup != "rst":
            headings.append(Heading(start, end, len(atx.group(1)), _heading_text(atx.group(2).strip())))
            covered[k] = True
        elif markup == "rst" and line.rstrip().endswith("::") and not covered[k]:
            body_start = _next_nonblank(lines, k + 1)
            if body_start is not None and _indent(lines[body_start][2]) > _indent(line):
                body_end = _indented_body_end(lines, body_start, _indent(line))
                blocks.append(Block(lines[body_start][0] + _indent(lines[body_start][2]), lines[body_end - 1][1], CODE))
                _cover(covered, body_start, body_end - 1)
                k = body_end
                continue
        elif markup == "rst" and fields_only and _FIELD_LINE.match(line):
            blocks.append(Block(start, end, MARKUP))  # document fields such as :orphan:
        elif markup != "text" and (_TABLE_RULE.match(line) or _LINK_DEFINITION.match(line) or _MYST_TARGET.match(line)
                                   or _HTML_COMMENT_OR_TAG.match(line)):
            last = k
            if _LINK_DEFINITION.match(line) and not line.split("]:", 1)[1].strip():
                last = min(k + 1, len(lines) - 1)  # the address on the next line
            blocks.append(Block(start, lines[last][1], MARKUP))
            k = last + 1
            continue
        k += 1
    return Layout(tuple(headings), tuple(sorted(blocks, key=lambda b: b.start)))


def breaks_flow(gap: str) -> bool:
    """Whether the text between two units holds markup that stood for something (an image, a
    table of contents) rather than only introducing code: then the unit before does not lead
    into the unit after."""
    for line in gap.splitlines():
        directive = _DIRECTIVE.match(line.strip())
        if directive and directive.group(1).lower() not in _CODE_DIRECTIVES:
            return True
        if line.strip().startswith(("![", "```{")) and not any(f"{{{name}}}" in line for name in _CODE_DIRECTIVES):
            return True
    return False


def _fenced_body(lines, first: int, stop: int) -> tuple[int, int] | None:
    """Offsets of a fence's content (lines first..stop-1), trailing blank lines left out."""
    while stop > first and not lines[stop - 1][2].strip():
        stop -= 1
    return (lines[first][0], lines[stop - 1][1]) if stop > first else None


def list_item_starts(text: str, start: int, end: int) -> list[int]:
    """Offsets of the lines in text[start:end] that begin a list item: each item is a unit."""
    return [m.start() for m in _LIST_ITEM.finditer(text, start, end)]


def _directive(lines, k: int, directive: re.Match, blocks: list[Block], covered: list[bool]) -> int:
    name = directive.group(1).lower().split(":")[-1]
    start, end, line = lines[k]
    base = _indent(line)
    # Option lines (":key: value") follow the directive line directly.
    j = k + 1
    while j < len(lines) and lines[j][2].strip() and _FIELD_LINE.match(lines[j][2]) and _indent(lines[j][2]) > base:
        j += 1
    blocks.append(Block(start, lines[j - 1][1], MARKUP))
    body_start = _next_nonblank(lines, j)
    if body_start is None or _indent(lines[body_start][2]) <= base:
        _cover(covered, k, j - 1)
        return j
    body_end = _indented_body_end(lines, body_start, base)
    if name in _CODE_DIRECTIVES:
        blocks.append(Block(lines[body_start][0] + _indent(lines[body_start][2]), lines[body_end - 1][1], CODE))
    elif name in _HIDDEN_DIRECTIVES:
        blocks.append(Block(lines[body_start][0], lines[body_end - 1][1], MARKUP))
    else:  # notes, warnings, versionchanged, function descriptions: the body is prose
        _cover(covered, k, j - 1)
        return j
    _cover(covered, k, body_end - 1)
    return body_end


def _underlined_heading(lines, k: int, adornments: list[tuple[str, bool]]) -> tuple[int, int] | None:
    """(level, lines used) when line k starts a heading: text over an underline, or an overline,
    text and underline; levels follow the order in which styles first appear (rST's rule)."""
    text_line = lines[k][2]
    if _ADORNMENT.match(text_line) and k + 2 < len(lines):
        middle, under = lines[k + 1][2], lines[k + 2][2]
        if middle.strip() and under.strip() == text_line.strip() and not _ADORNMENT.match(middle):
            return _level(adornments, text_line.strip()[0], True), 3
        return None
    if k + 1 >= len(lines) or _indent(text_line) > 3:
        return None
    under = lines[k + 1][2]
    mark = _ADORNMENT.match(under)
    if not mark or len(under.rstrip()) < min(len(text_line.rstrip()), 3) or _LIST_ITEM.match(text_line):
        return None
    if k > 0 and lines[k - 1][2].strip() and not _ADORNMENT.match(lines[k - 1][2]):
        return None  # a paragraph's last line over a rule is no heading
    return _level(adornments, mark.group(1), False), 2


def _level(adornments: list[tuple[str, bool]], char: str, overline: bool) -> int:
    style = (char, overline)
    if style not in adornments:
        adornments.append(style)
    return adornments.index(style) + 1


_ESCAPE = re.compile(r"\\(.)")
_INLINE_MARKUP = re.compile(r"``|\*\*|(?<!\w):[\w.-]+(?::[\w.-]+)?:(?=`)|`_?_?|\|(?=\w)|(?<=\w)\|_?")


def _heading_text(title: str) -> str:
    """A heading as words: rST escapes, roles and literal marks dropped."""
    return " ".join(_INLINE_MARKUP.sub("", _ESCAPE.sub(r"\1", title)).split())


def _lines(text: str) -> list[tuple[int, int, str]]:
    out, at = [], 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        out.append((at, at + len(body), body))
        at += len(line)
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _next_nonblank(lines, k: int) -> int | None:
    while k < len(lines):
        if lines[k][2].strip():
            return k
        k += 1
    return None


def _indented_body_end(lines, k: int, base: int = 0) -> int:
    """The line after an indented body starting at k (blank lines inside it belong to it)."""
    last = k - 1
    j = k
    while j < len(lines):
        line = lines[j][2]
        if line.strip():
            if _indent(line) <= base:
                break
            last = j
        j += 1
    return last + 1


def _cover(covered: list[bool], first: int, last: int) -> None:
    for j in range(first, last + 1):
        covered[j] = True
