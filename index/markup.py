"""The structure of a document in light markup (Markdown, reStructuredText): headings, code
blocks, and lines that only carry markup.

Offsets are into the document text, which stays as written: quotes are verbatim spans of it.
What is found here decides what can be quoted and how: a heading names the section under it
and is never quoted on its own, a code block is quoted whole as one unit, and markup-only
lines (rST directives and labels, fences, table rules) are neither quoted nor matched.
Inline markup inside prose (roles, literal marks, link syntax, HTML tags, escapes) is found
too: it stays in the quote, which is verbatim, but is neither shown nor matched, and never
splits a sentence.

Plain text reads as Markdown without code: ``#`` headings and underlined headings only. A
``.txt`` (or suffix-less) file is read by what it holds, not its name (sniff_markup).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Markdown a converter wrote from HTML or Word: headings, code fences and tables are its structure,
# but it escapes nothing, so what looks like inline markup or a tag line there is the page's text.
WRITTEN_MARKDOWN = "markdown-written"
CODE = "code"
MARKUP = "markup"
INLINE = "inline"  # markup inside a sentence: hidden when shown, left out of matching, no unit boundary
ITEM = "item"

_RST_SUFFIXES = (".rst", ".rest")
_HEADING_MAX_CHARS = 300
_MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx")
_ASCIIDOC_SUFFIXES = (".adoc", ".asciidoc", ".asc")
_SNIFFED_SUFFIXES = (".txt", ".text")  # and files without a suffix: their content decides

ATX_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_ADORNMENT = re.compile(r"^([=\-~^\"'`*+#:._<>])\1{2,}[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_DIRECTIVE = re.compile(r"^[ \t]*\.\.[ \t]+([\w:-]+)::(.*)$")
_RST_COMMENT_OR_TARGET = re.compile(r"^[ \t]*\.\.(?:[ \t]|$)")  # after directives: a target, footnote, substitution or comment
_FIELD_LINE = re.compile(r"^[ \t]*:[\w -]+:(?:[ \t].*)?$")
_TABLE_RULE = re.compile(r"^[ \t]*(?:[|+][ \t]*)?:?-{3,}:?[ \t]*(?:[|+][ \t]*:?-{3,}:?[ \t]*)*[|+]?[ \t]*$|^[ \t]*[+=][=+-]{2,}[ \t]*$")
_LINK_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]]+\]:(?:[ \t]+\S.*)?$")  # [name]: https://…
_MYST_TARGET = re.compile(r"^\([\w/.:-]+\)=[ \t]*$")  # (labels/exit-code)=
_HTML_ELEMENTS = (
    "a|abbr|article|aside|audio|b|blockquote|br|button|caption|center|cite|code|col|colgroup|dd|del|details|dfn|div|"
    "dl|dt|em|figcaption|figure|font|footer|form|h[1-6]|header|hr|i|iframe|img|input|ins|kbd|label|li|main|mark|nav|"
    "ol|option|p|picture|pre|q|s|samp|section|select|small|source|span|strike|strong|sub|summary|sup|table|tbody|td|"
    "textarea|tfoot|th|thead|tr|tt|u|ul|var|video|wbr"
)
# A tag of a known element, with attributes (name, name=value, name="value"): not "a <b and c> d" in prose.
HTML_TAG = (rf"</?(?i:{_HTML_ELEMENTS})(?=[\s/>])"
            r"(?:\s+(?:[\w:.-]+\s*=\s*(?:\"[^\"<>]{0,1000}\"|'[^'<>]{0,1000}'|[^\s\"'<>=`]{1,1000})"
            r"|(?i:checked|disabled|selected|hidden|open|required|readonly|multiple|autofocus|controls|async|defer)"
            r"(?=[\s/>]))){0,30}\s*/?>")
_HTML_COMMENT_OR_TAG = re.compile(r"^[ \t]*</?(?:details|summary|div|p|br|img|!--)[^>]*>(?:.*</(?:summary|p)>)?[ \t]*$"
                                  rf"|^[ \t]*(?:{HTML_TAG}[ \t]*)+$", re.I)
# Admonition fences: pymdownx blocks (/// note | Title … ///), MkDocs (!!! note, ??? note) and
# Docusaurus (:::note … :::). The fence line is markup; the body under it is prose.
# Only the fence's own shape: a type, then a quoted title (!!!), a "| title" (///) or words (:::).
_ADMONITION_FENCE = re.compile(r"^[ \t]{0,3}(?:///(?:[ \t]*[\w-]+(?:[ \t]*\|.*)?)?|(?:!!!|\?\?\?\+?)[ \t]+[\w-]+"
                               r"(?:[ \t]+\"[^\"\n]*\")?|:{3,}[ \t]*(?:[\w-]+(?:[ \t].*)?)?)[ \t]*$")
_RST_LITERAL_MARK = re.compile(r"^[ \t]*::[ \t]*$")  # "::" alone on a line: a literal block follows
# Item markers: - + • and * (AsciiDoc nests with ** and orders with . and ..), 1. 1) and rST's #.
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-+•]|\*{1,5}|\.{1,5}|\d{1,3}[.)]|#\.)[ \t]+(?=\S)", re.MULTILINE)
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
    """A span quoted as one unit (code), kept out of quotes and matching (markup), or markup
    inside a sentence: quoted with it, since quotes are verbatim, but neither shown nor matched."""

    start: int
    end: int
    kind: str  # CODE, MARKUP or INLINE (markup inside a sentence)


@dataclass(frozen=True)
class Layout:
    headings: tuple[Heading, ...]
    blocks: tuple[Block, ...]


def markup_of(relpath: str, text: str = "") -> str:
    """How a text file's markup is read: .rst and .md files by their suffix; a .txt or
    suffix-less file by what it holds (Django writes its documentation in .txt files of
    reStructuredText); anything else as plain text."""
    name = relpath.lower()
    if name.endswith(_RST_SUFFIXES):
        return "rst"
    if name.endswith(_MARKDOWN_SUFFIXES):
        return "markdown"
    if name.endswith(_ASCIIDOC_SUFFIXES):
        return "asciidoc"
    base = name.rsplit("/", 1)[-1]
    if name.endswith(_SNIFFED_SUFFIXES) or "." not in base.lstrip("."):
        return sniff_markup(text)
    return "text"


def read_layout(text: str, markup: str) -> Layout:
    if markup == "asciidoc":
        return _asciidoc_layout(text)
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
            headings.append(Heading(start, lines[k + used - 1][1], level, heading_text(title, markup)))
            _cover(covered, k, k + used - 1)
            k += used
            continue
        atx = ATX_HEADING.match(line) if short else None
        if atx and markup != "rst":
            headings.append(Heading(start, end, len(atx.group(1)), heading_text(atx.group(2).strip())))
            covered[k] = True
        elif markup == "rst" and line.rstrip().endswith("::") and not covered[k]:
            body_start = _next_nonblank(lines, k + 1)
            if body_start is not None and _indent(lines[body_start][2]) > _indent(line):
                body_end = _indented_body_end(lines, body_start, _indent(line))
                if _RST_LITERAL_MARK.match(line):
                    blocks.append(Block(start, end, MARKUP))
                blocks.append(Block(lines[body_start][0] + _indent(lines[body_start][2]), lines[body_end - 1][1], CODE))
                _cover(covered, body_start, body_end - 1)
                k = body_end
                continue
        elif markup == "rst" and fields_only and _FIELD_LINE.match(line):
            blocks.append(Block(start, end, MARKUP))  # document fields such as :orphan:
        elif markup == "markdown" and _ADMONITION_FENCE.match(line):
            blocks.append(Block(start, end, MARKUP))
        elif markup != "text" and (_TABLE_RULE.match(line) or markup != WRITTEN_MARKDOWN and (
                _LINK_DEFINITION.match(line) or _MYST_TARGET.match(line) or _HTML_COMMENT_OR_TAG.match(line))):
            last = k
            if _LINK_DEFINITION.match(line) and not line.split("]:", 1)[1].strip():
                last = min(k + 1, len(lines) - 1)  # the address on the next line
            blocks.append(Block(start, lines[last][1], MARKUP))
            k = last + 1
            continue
        k += 1
    if markup in ("rst", "markdown"):
        blocks.extend(_inline_blocks(text, markup, headings, blocks))
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


# A link in a heading shows its words only: [words](target) and [words][ref] in Markdown,
# `words <target>`_ in rST. In Markdown an inline HTML tag shows nothing; `Vec<T>` in code, or
# Option<T> in rST, is words.
_HEADING_LINK = re.compile(r"!?\[([^\]\n]*)\](?:\([^)\n]*\)|\[[^\]\n]*\])")
_RST_LINK = re.compile(r"`([^`<\n]*?)\s*<[^<>`\n]*>`__?")
_INLINE_TAG = re.compile(r"</?(?:a|abbr|b|br|code|del|em|i|img|ins|kbd|mark|s|samp|small|span|strong|sub|sup|u)"
                         r"(?:\s[^<>\n]*)?/?>", re.IGNORECASE)
_CODE_SPAN = re.compile(r"(`+)[^`\n]*?\1")


def heading_text(title: str, markup: str = "markdown") -> str:
    """A heading as words, as a page shows it: rST escapes, roles and literal marks dropped, a
    link's target left out, and in Markdown an HTML tag outside code."""
    if markup == "rst":
        words = _RST_LINK.sub(r"\1", title)
    else:
        pieces, at = [], 0
        for code in _CODE_SPAN.finditer(title):
            pieces += [_INLINE_TAG.sub("", _HEADING_LINK.sub(r"\1", title[at:code.start()])), code.group()]
            at = code.end()
        words = "".join(pieces) + _INLINE_TAG.sub("", _HEADING_LINK.sub(r"\1", title[at:]))
    return " ".join(_INLINE_MARKUP.sub("", _ESCAPE.sub(r"\1", words)).split())


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


# --------------------------------------------------------------------------- what a .txt holds

SNIFF_BYTES = 64 * 1024  # a file is judged by its first 64 KB: cheap, and bounded whatever its size
_SNIFF_DIRECTIVE = re.compile(r"^[ \t]*\.\.[ \t]+[\w:-]+::", re.MULTILINE)
_SNIFF_RST_TARGET = re.compile(r"^\.\.[ \t]+(?:_[^:\n]+:|\|[^|\n]+\||\[[^\]\n]+\])", re.MULTILINE)
_SNIFF_ROLE = re.compile(r"(?<![\w`]):[\w.+-]+(?::[\w.+-]+)?:`[^`\n]")
_SNIFF_RST_LITERAL = re.compile(r"``\S[^`\n]{0,200}``(?!`)")
_SNIFF_LITERAL_BLOCK = re.compile(r"::[ \t]*\n[ \t]*\n[ \t]+\S")
_SNIFF_UNDERLINED = re.compile(r"(?:^|\n[ \t]*\n)(?:([=\-~^\"'`*+#:.])\1{2,}[ \t]*\n)?[ \t]{0,3}\S[^\n]{0,300}\n([=\-~^\"'`*+#:.])\2{2,}[ \t]*(?:\n|$)")
_SNIFF_ATX = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)
_SNIFF_FENCE = re.compile(r"^[ \t]{0,3}(?:`{3,}+|~{3,}+)[^\n]*+\n(?:[^\n]*\n){0,400}?[ \t]{0,3}(?:`{3,}|~{3,})[ \t]*$", re.MULTILINE)
_SNIFF_LINK = re.compile(r"(?<!!)\[[^\[\]\n]{1,200}\]\((?:https?://|/|\.{0,2}/|#|mailto:)[^()\s]{0,500}\)")


_SNIFF_ADOC_HEADINGS = re.compile(r"^={1,6}[ \t]+\S[^\n]*\n(?:[^\n]*\n){0,400}?={2,6}[ \t]+\S", re.MULTILINE)
_SNIFF_ADOC_BLOCK = re.compile(r"^\[(?:source|listing|literal|NOTE|TIP|IMPORTANT|WARNING|CAUTION|quote)\b[^\]\n]*\][ \t]*\n", re.MULTILINE)
_SNIFF_ADOC_ATTRIBUTE = re.compile(r"^:(?:toc|doctype|icons|experimental|source-highlighter|sectnums|author|revnumber|[\w-]+-uri):", re.MULTILINE)
_SNIFF_ADOC_MACRO = re.compile(r"\b(?:link|xref|image|include|footnote|kbd):[^\s\[\]]{0,300}\[|<<[\w-]+(?:,[^>\n]{0,100})?>>")


def sniff_markup(text: str) -> str:
    """How a text file without a telling suffix is written, from its first SNIFF_BYTES: "rst"
    when it holds reStructuredText's own constructs (directives, roles, ``literals``, targets,
    "::" literal blocks; an underlined heading alone is plain text's too), "markdown" when it
    holds two of Markdown's (ATX headings, code fences, links), "asciidoc" when it holds two of
    AsciiDoc's (= headings, block attributes, document attributes, macros), else "text"."""
    head = text[:SNIFF_BYTES]
    rst_own = (len(_SNIFF_DIRECTIVE.findall(head)) + len(_SNIFF_RST_TARGET.findall(head))
               + len(_SNIFF_ROLE.findall(head)) + len(_SNIFF_RST_LITERAL.findall(head)))
    rst_shared = len(_SNIFF_LITERAL_BLOCK.findall(head)) + len(_SNIFF_UNDERLINED.findall(head))
    if rst_own >= 3 or (rst_own >= 1 and rst_shared >= 1):
        return "rst"
    markdown_kinds = sum(1 for pattern in (_SNIFF_ATX, _SNIFF_FENCE, _SNIFF_LINK) if pattern.search(head))
    if markdown_kinds >= 2:
        return "markdown"
    asciidoc_kinds = sum(1 for pattern in (_SNIFF_ADOC_HEADINGS, _SNIFF_ADOC_BLOCK, _SNIFF_ADOC_ATTRIBUTE, _SNIFF_ADOC_MACRO)
                         if pattern.search(head))
    return "asciidoc" if asciidoc_kinds >= 2 else "text"


# --------------------------------------------------------------------------- inline markup

_BODY = r"(?:[^`\n]|\n(?![ \t]*\n)){1,400}"  # inside backticks: no blank line, bounded
_RST_INLINE = re.compile(
    r"(?P<literal>``(?=\S)(?:[^`\n]|`(?!`)|`(?=``(?!`))|\n(?![ \t]*\n)){1,400}?(?<=\S)``(?!`))"
    rf"|(?P<role>(?<![\w`:\\]):(?:[\w.+-]+:){{1,2}}`(?P<role_body>{_BODY})`)"
    rf"|(?P<ref>(?<![\w`:\\])`(?P<ref_body>{_BODY})`(?P<ref_tail>__?)?(?![\w`]))"
    r"|(?P<sub>(?<![\w|\\])\|(?=\S)[^|\n]{1,100}(?<=\S)\|(?:__?)?(?![\w|]))"
    r"|(?P<footnote>[ \t]?\[(?:#[\w-]*|\*|\d{1,4}|[A-Za-z][\w.-]{0,40})\]_(?!\w))"
    r"|(?P<escape>\\(?P<escaped>[^\n]))"
    r"|(?P<literal_mark>(?<=\S):(?=:[ \t]*$)|(?<![ \t])[ \t]+::(?=[ \t]*$))",  # one try per run of spaces
    re.MULTILINE,
)
_TARGET = re.compile(r"(?<=\S)(\s*<[^<>`]{1,2000}>)$")  # "title <target>": the target is hidden
_URL_TAIL = r"\((?:[^()\s]|\([^()\s]{0,400}\)){0,2000}(?:[ \t]+\"[^\"\n]{0,400}\")?\)"
_MARKDOWN_INLINE = re.compile(
    r"(?P<code>``[^\n]{1,400}?``|`[^`\n]{1,400}`)"
    r"|(?P<comment><!--(?:[^<-]|-(?!->)|<(?!!--)){0,2000}-->)"  # a body never holds "<!--": each is scanned once
    rf"|(?P<image_link>\[!\[[^\[\]\n]{{0,400}}\]{_URL_TAIL}\]{_URL_TAIL})"
    rf"|(?P<image>!\[[^\[\]]{{0,400}}\]{_URL_TAIL})"
    rf"|(?P<link>\[(?P<link_text>[^\[\]]{{1,400}})\](?:{_URL_TAIL}|\[[^\[\]\n]{{0,400}}\]))"
    r"|(?P<autolink><(?:https?|mailto|ftp):[^<>\s]{1,2000}>)"
    rf"|(?P<tag>{HTML_TAG})"
    r"|(?P<escape>\\[!-/:-@\[-`{-~])"
    # Strong emphasis: its body never holds its own mark, so no text is scanned twice.
    r"|(?P<strong>(?<![\w*\\])(?P<strong_mark>\*\*|__)(?=[^\s*_])"
    r"(?P<strong_body>(?:[^*_\n]|\*(?!\*)|_(?!_)){1,300}?)(?<=[^\s\\])(?P=strong_mark)(?![\w*]))"
    r"|(?P<emphasis>(?<![\w*\\])(?P<mark>[*_])(?=[^\s*_])(?P<body>[^*_\n]{1,300}?)(?<=[^\s\\])(?P=mark)(?![\w*]))"
)


def inline_markup(text: str, start: int, end: int, markup: str) -> list[tuple[int, int]]:
    """Spans of inline markup in the prose text[start:end]: what a reader of the rendered page
    never sees (role names, literal marks, link syntax and targets, HTML tags, escapes), sorted.
    The words around them, and inline code's content, are not in any span."""
    if markup == "rst":
        return _rst_spans(text, start, end)
    if markup == "markdown":
        return _markdown_spans(text, start, end, depth=0)
    if markup == "asciidoc":
        return _asciidoc_spans(text, start, end)
    return []


def _rst_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _RST_INLINE.finditer(text, start, end):
        if m.group("literal"):
            spans += [(m.start(), m.start() + 2), (m.end() - 2, m.end())]
        elif m.group("role"):
            body_start, body = m.start("role_body"), m.group("role_body")
            skip = 1 if body[:1] in "~!" else 0
            if body[:1] == "~" and not _TARGET.search(body):  # ~a.b.C is shown as C
                skip = max(1, body.rfind(".") + 1)
            spans.append((m.start(), body_start + skip))
            spans.append(_target_start(body, body_start, body_start + skip, m.end()))
        elif m.group("ref"):
            body_start, body_end = m.span("ref_body")
            body = m.group("ref_body")
            if body.startswith("<") and body.endswith(">"):  # `<https://…>`_: the address is the text
                spans += [(m.start(), body_start + 1), (body_end - 1, m.end())]
            else:
                spans += [(m.start(), body_start), _target_start(body, body_start, body_start, m.end())]
        elif m.group("sub"):
            close = m.group("sub").rfind("|")
            spans += [(m.start(), m.start() + 1), (m.start() + close, m.end())]
        elif m.group("escape"):
            # "\ " is removed whole (it only separates markup from a word); "\x" shows x.
            spans.append((m.start(), m.end() if m.group("escaped") in " \t" else m.start() + 1))
        else:  # footnote and citation references, "::" ending a paragraph (shown as ":")
            spans.append(m.span())
    return [s for s in spans if s[1] > s[0]]


def _target_start(body: str, body_start: int, shown_start: int, end: int) -> tuple[int, int]:
    """The span from where a `title <target>` body's target begins (else its closing backtick) to end."""
    target = _TARGET.search(body)
    if target is not None and body_start + target.start() > shown_start:
        return body_start + target.start(), end
    return body_start + len(body), end


def _markdown_spans(text: str, start: int, end: int, depth: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _MARKDOWN_INLINE.finditer(text, start, end):
        if m.group("code"):
            continue  # inline code is shown as written
        if m.group("link"):
            a, b = m.span("link_text")
            spans.append((m.start(), a))
            if depth < 2:
                spans += _markdown_spans(text, a, b, depth + 1)
            spans.append((b, m.end()))
        elif m.group("strong") or m.group("emphasis"):
            name = "strong_body" if m.group("strong") else "body"
            a, b = m.span(name)
            spans.append((m.start(), a))
            if depth < 2:
                spans += _markdown_spans(text, a, b, depth + 1)
            spans.append((b, m.end()))
        elif m.group("autolink"):
            spans += [(m.start(), m.start() + 1), (m.end() - 1, m.end())]
        elif m.group("escape"):
            spans.append((m.start(), m.start() + 1))
        else:  # images, comments and HTML tags: nothing of them is read as words
            spans.append(m.span())
    return spans


def _inline_blocks(text: str, markup: str, headings, blocks: list[Block]) -> list[Block]:
    """INLINE blocks in the prose: everything outside headings and code or markup blocks."""
    taken = sorted([(h.start, h.end) for h in headings] + [(b.start, b.end) for b in blocks])
    found: list[Block] = []
    at = 0
    for a, b in [*taken, (len(text), len(text))]:
        if a > at:
            found.extend(Block(x, y, INLINE) for x, y in inline_markup(text, at, a, markup))
        at = max(at, b)
    return found


# --------------------------------------------------------------------------- AsciiDoc
# Asciidoctor's syntax: "=" headings, delimited blocks (---- listing and .... literal are code;
# ++++ passthrough and //// comment are not prose at all; ====, ****, ____, -- and tables hold
# prose between their delimiter lines), block attribute lines ([source,python], [[anchor]],
# [NOTE]), document attributes (:toc:), line comments and block macros (include::, image::).

_ADOC_HEADING = re.compile(r"^(={1,6})[ \t]+(\S[^\n]*?)[ \t]*$")
_ADOC_DELIMITER = re.compile(r"^(?:(-){4,}|(\.){4,}|(\+){4,}|(/){4,}|={4,}|\*{4,}|_{4,}|--|[|,:!]={3,})[ \t]*$")
_ADOC_MARKUP_LINE = re.compile(
    r"^(?::!?[\w-]+!?:(?:[ \t].*)?"  # a document attribute
    r"|\[\[?[^\]\n]*\]\]?"  # an attribute list, anchor or style: [source,python], [[install]], [NOTE]
    r"|//(?!//).*"  # a line comment
    r"|\+"  # a list item's continuation
    r"|(?:include|image|toc|video|audio|ifdef|ifndef|ifeval|endif)::.*"  # block macros and conditionals
    r")[ \t]*$")
_ADOC_LITERAL_LINE = re.compile(r"^[ \t]+(?![-*.•]+[ \t]|\d+[.)][ \t]|[ \t]*$)")  # indented, and no list item
_ADOC_BLOCK_TITLE = re.compile(r"^\.(?=[^\s.])")  # ".Title" before a block: the dot is markup, the title words
_ADOC_INLINE = re.compile(
    r"(?P<code>`[^`\n]{1,400}`)"
    r"|(?P<macro>(?:\b(?:link|xref|mailto|kbd|btn|menu|footnote|pass|https?|ftp|irc):|\{[\w-]{1,100}\})[^\s\[\]]{0,500}\[)"
    r"(?P<macro_text>[^\]\n]{0,400})\]"
    r"|(?P<xref><<[\w:./#-]{1,200}(?:,[ \t]*)?)(?P<xref_text>[^>\n]{0,200})>>"
    r"|(?P<strong>(?<![\w*])\*(?=[^\s*])(?P<strong_body>[^*\n]{1,300}?)(?<=[^\s*])\*(?![\w*]))"
    r"|(?P<emphasis>(?<![\w_])_(?=[^\s_])(?P<emphasis_body>[^_\n]{1,300}?)(?<=[^\s_])_(?![\w_]))"
)


def _asciidoc_layout(text: str) -> Layout:
    lines = _lines(text)
    headings: list[Heading] = []
    blocks: list[Block] = []
    k = 0
    while k < len(lines):
        start, end, line = lines[k]
        delimiter = _ADOC_DELIMITER.match(line)
        if delimiter:
            close = next((j for j in range(k + 1, len(lines)) if lines[j][2].rstrip() == line.rstrip()), None)
            code, hidden = delimiter.group(1) or delimiter.group(2), delimiter.group(3) or delimiter.group(4)
            if close is None or not (code or hidden):  # prose inside (or an unclosed fence): only the line is markup
                blocks.append(Block(start, end, MARKUP))
                k += 1
                continue
            if hidden:
                blocks.append(Block(start, lines[close][1], MARKUP))
            else:
                blocks.append(Block(start, end, MARKUP))
                body = _fenced_body(lines, k + 1, close)
                if body is not None:
                    blocks.append(Block(body[0], body[1], CODE))
                blocks.append(Block(lines[close][0], lines[close][1], MARKUP))
            k = close + 1
            continue
        heading = _ADOC_HEADING.match(line) if len(line) <= _HEADING_MAX_CHARS else None
        if heading:
            headings.append(Heading(start, end, len(heading.group(1)), _adoc_heading_text(heading.group(2))))
        elif _ADOC_MARKUP_LINE.match(line):
            blocks.append(Block(start, end, MARKUP))
        elif _ADOC_BLOCK_TITLE.match(line):
            blocks.append(Block(start, start + 1, INLINE))
        elif _ADOC_LITERAL_LINE.match(line) and (k == 0 or not lines[k - 1][2].strip()):
            last = k  # an indented paragraph is a literal block: " $ rake"
            while last + 1 < len(lines) and lines[last + 1][2].strip():
                last += 1
            blocks.append(Block(start + _indent(line), lines[last][1], CODE))
            k = last + 1
            continue
        k += 1
    blocks.extend(_inline_blocks(text, "asciidoc", headings, blocks))
    return Layout(tuple(headings), tuple(sorted(blocks, key=lambda b: b.start)))


def _adoc_heading_text(title: str) -> str:
    """A heading as words: its inline markup left out."""
    pieces, at = [], 0
    for a, b in _asciidoc_spans(title, 0, len(title)):
        pieces.append(title[at:a])
        at = b
    return " ".join(("".join(pieces) + title[at:]).split())


def _asciidoc_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _ADOC_INLINE.finditer(text, start, end):
        if m.group("code"):
            continue  # inline code is shown as written
        if m.group("macro"):
            if m.group("macro_text") or not m.group("macro").startswith(("http", "ftp", "irc")):
                spans += [(m.start(), m.end("macro")), (m.end() - 1, m.end())]
            else:  # https://example.org[] shows the address itself
                spans.append((m.end("macro") - 1, m.end()))
        elif m.group("xref") and m.group("xref_text"):
            spans += [(m.start(), m.end("xref")), (m.end() - 2, m.end())]
        elif m.group("xref"):  # <<id>>: the id is all there is to show
            spans += [(m.start(), m.start() + 2), (m.end() - 2, m.end())]
        else:
            name = "strong_body" if m.group("strong") else "emphasis_body"
            spans += [(m.start(), m.start(name)), (m.end(name), m.end())]
    return spans
