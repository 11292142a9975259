"""Answer -> text for a terminal, or JSON for machines."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass

from bot.types import Answer, Citation, Excerpt

_BOLD, _RESET = "\033[1m", "\033[0m"
# Characters that act instead of showing: terminal escapes, other C0/C1 controls and the
# bidirectional overrides that make a file name read backwards. Documents and file names are
# untrusted; these are shown as escapes. Line breaks and tabs are kept where lines matter.
_ACTING = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ACTING_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str, keep_lines: bool = False) -> str:
    """text with control, escape and bidi-override characters shown as escapes (\\x1b, \\u202e)."""
    pattern = _ACTING if keep_lines else _ACTING_IN_NAMES
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def cited_title(c: Citation) -> str:
    """The title a citation names, with its author when the document has one."""
    return f"{c.title} — {c.author}" if c.author else c.title


def citation_line(c: Citation) -> str:
    parts = [cited_title(c), c.section, f"p. {c.page}" if c.page is not None else "", c.file]
    return f"[{c.n}] " + " · ".join(visible(p) for p in parts if p)


# A tag that breaks the line or the cell where it stands (<br>, </td><td>): hidden between two
# words, it leaves a space, so "line<br>Next" is not shown as "lineNext".
_BREAKING_TAG = re.compile(r"^</?(?:br|p|div|li|ul|ol|td|th|tr|table|hr|img|dd|dt|dl|h[1-6]|section|aside|"
                           r"blockquote|pre|figure|figcaption|details|summary)\b", re.IGNORECASE)


def _hidden(e: Excerpt) -> list[tuple[int, int, str]]:
    """What is not shown of an excerpt's text, in order: markup between units (shown as a line
    break) and inline markup (a role's name, link syntax, a tag: shown as nothing, or as a space
    where a breaking tag stood between two words)."""
    runs: list[list[tuple[int, int]]] = []  # touching spans (</td><td>) are one gap between two words
    for a, b in sorted(e.inline):
        if runs and runs[-1][-1][1] == a:
            runs[-1].append((a, b))
        else:
            runs.append([(a, b)])
    inline = []
    for run in runs:
        a, b = run[0][0], run[-1][1]
        between_words = 0 < a and b < len(e.text) and not e.text[a - 1].isspace() and not e.text[b].isspace()
        breaks = between_words and any(_BREAKING_TAG.match(e.text[x:y]) for x, y in run)
        inline += [(x, y, " " if breaks and n == 0 else "") for n, (x, y) in enumerate(run)]
    return sorted([(a, b, "\n") for a, b in e.markup] + inline)


def _shown_at(hidden: list[tuple[int, int, str]], offset: int) -> int:
    """Where an offset of the text falls in the text as shown (inside hidden markup: its start)."""
    removed = 0
    for a, b, put in hidden:
        if b <= offset:
            removed += (b - a) - len(put)
        elif a < offset:
            return a - removed
        else:
            break
    return offset - removed


def as_read(e: Excerpt) -> tuple[str, tuple[int, int] | None]:
    """The excerpt as read: its text with its markup left out, and its highlight moved to match."""
    hidden = _hidden(e)
    pieces, at = [], 0
    for a, b, put in hidden:
        pieces += [e.text[at:a], put]
        at = b
    text = "".join(pieces) + e.text[at:]
    highlight = e.highlight
    if highlight is not None:
        a, b = _shown_at(hidden, highlight[0]), _shown_at(hidden, highlight[1])
        highlight = (a, b) if b > a else None
    return text, highlight


def _marked(e: Excerpt, bold: bool) -> str:
    text, highlight = as_read(e)
    if not highlight:
        return visible(text, keep_lines=True)
    a, b = highlight
    before, span, after = (visible(t, keep_lines=True) for t in (text[:a], text[a:b], text[b:]))
    return f"{before}{_BOLD}{span}{_RESET}{after}" if bold else f"{before}**{span}**{after}"


@dataclass(frozen=True)
class Segment:
    """A run of an excerpt to show one way: prose (reflowed) or code (lines kept, dedented)."""

    kind: str  # "prose" or "code"
    text: str
    start: int  # offset of this run in the excerpt's text


def segments(e: Excerpt) -> list[Segment]:
    """The excerpt in prose and code runs, in order, markup between units left out; code keeps
    its lines, its common indentation removed (the first line's indentation is read from the
    text before it)."""
    out, at = [], 0
    for a, b in e.code:
        if _prose(e, at, a).strip():
            out.append(Segment("prose", _prose(e, at, a), at))
        out.append(Segment("code", _dedented(e.text, a, b), a))
        at = b
    if _prose(e, at, len(e.text)).strip() or not out:
        out.append(Segment("prose", _prose(e, at, len(e.text)), at))
    return out


def _prose(e: Excerpt, a: int, b: int) -> str:
    """e.text[a:b] without its markup (a code fence or directive line is shown as the code
    block it frames, never as words of the quote; a role's name or link syntax not at all)."""
    pieces, at = [], a
    for start, end, put in _hidden(e):
        if a <= start and end <= b:
            pieces.append(e.text[at:start] + put)
            at = end
    return "".join(pieces) + e.text[at:b]


def _dedented(text: str, a: int, b: int) -> str:
    """text[a:b], a code block whose first line's indentation was left before a: read from the
    text before it, or, when the excerpt starts with the code, taken to be its other lines' least."""
    line_start = text.rfind("\n", 0, a) + 1
    before = text[line_start:a]
    code = text[a:b]
    if a > 0 and not before.strip():
        return textwrap.dedent(before + code).strip("\n")
    first, _, rest = code.partition("\n")
    return (first + ("\n" + textwrap.dedent(rest) if rest else "")).strip("\n")


def render_text(answer: Answer, color: bool = False, width: int = 88) -> str:
    if not answer.answered:
        return answer.message
    lines: list[str] = []
    for e in answer.excerpts:
        if e.code:
            lines.extend(_with_code(e, width))
        else:
            body = " ".join(_marked(e, color).split())
            quoted = f"“{body}” [{e.citation.n}]"
            lines.extend(textwrap.wrap(quoted, width=width, initial_indent="  ", subsequent_indent="  ",
                                       break_long_words=False, break_on_hyphens=False))
        lines.append("")
    lines.append("Sources")
    for e in answer.excerpts:
        lines.append("  " + citation_line(e.citation))
        if e.citation.url:
            lines.append("      " + visible(e.citation.url))
    return "\n".join(lines)


def _with_code(e: Excerpt, width: int) -> list[str]:
    """Prose reflowed in quotes, code as indented lines, then the citation number."""
    lines: list[str] = []
    for part in segments(e):
        text = visible(part.text, keep_lines=True)
        if part.kind == "code":
            lines.extend("      " + line for line in text.splitlines())
        else:
            lines.extend(textwrap.wrap(f"“{' '.join(text.split())}”", width=width, initial_indent="  ",
                                       subsequent_indent="  ", break_long_words=False, break_on_hyphens=False))
    lines.append(f"  [{e.citation.n}]")
    return lines


def render_json(answer: Answer) -> str:
    return json.dumps(answer.to_dict(), ensure_ascii=False)
