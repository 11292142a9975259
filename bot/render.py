"""Answer -> text for a terminal, or JSON for machines."""

from __future__ import annotations

import json
import textwrap

from bot.types import Answer, Citation, Excerpt

_BOLD, _RESET = "\033[1m", "\033[0m"


def citation_line(c: Citation) -> str:
    title = f"{c.title} — {c.author}" if c.author else c.title
    parts = [title, c.section, c.file]
    return f"[{c.n}] " + " · ".join(p for p in parts if p)


def _marked(e: Excerpt, bold: bool) -> str:
    if not e.highlight:
        return e.text
    a, b = e.highlight
    before, span, after = e.text[:a], e.text[a:b], e.text[b:]
    return f"{before}{_BOLD}{span}{_RESET}{after}" if bold else f"{before}**{span}**{after}"


def render_text(answer: Answer, color: bool = False, width: int = 88) -> str:
    if not answer.answered:
        return answer.message
    lines: list[str] = []
    for e in answer.excerpts:
        body = " ".join(_marked(e, color).split())
        quoted = f"“{body}” [{e.citation.n}]"
        lines.extend(textwrap.wrap(quoted, width=width, initial_indent="  ", subsequent_indent="  ",
                                   break_long_words=False, break_on_hyphens=False))
        lines.append("")
    lines.append("Sources")
    lines.extend("  " + citation_line(e.citation) for e in answer.excerpts)
    return "\n".join(lines)


def render_json(answer: Answer) -> str:
    return json.dumps(answer.to_dict(), ensure_ascii=False)
