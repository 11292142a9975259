"""Answer -> Discord message payload (plain dicts, Discord's JSON shape). Pure: no discord import.

Every Discord size limit is enforced here for any input, and quoted document text is escaped
so it cannot ping anyone or break the layout; unescape() gives back the source text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.gaps import GapReport, day
from bot.types import Answer, Citation, Excerpt
from bot.render import as_read, cited_title, citation_line, segments, visible

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBEDS_TOTAL_MAX = 6000
COLOR_ANSWER = 0x2B7A78
COLOR_NONE = 0x888888

_SPECIAL = re.compile(r"([\\*_~`|>#\[\]()<@:-])")
_ESCAPED = re.compile(r"\\([\\*_~`|>#\[\]()<@:-])")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*\s")


@dataclass(frozen=True)
class Payload:
    content: str
    embed: dict


def escape(text: str) -> str:
    """Backslash-escape Markdown and mention syntax, so the text shows exactly as written;
    control and bidi-override characters are shown as escapes."""
    return _SPECIAL.sub(r"\\\1", visible(text, keep_lines=True))


def unescape(text: str) -> str:
    return _ESCAPED.sub(r"\1", text)


def truncate(text: str, limit: int) -> str:
    """At most limit characters, cut at a sentence end or else a word boundary, ending in '…'."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    head = text[:limit - 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head + " ")]
    if ends and ends[-1] > limit // 2:
        cut = head[:ends[-1]].rstrip()
        return cut + " …" if len(cut) + 2 <= limit else cut + "…"
    space = head.rfind(" ")
    if space > limit // 3:
        return head[:space].rstrip() + "…"
    return head + "…"


def escaped_within(text: str, limit: int) -> str:
    """escape(text), shortened at a boundary until the escaped form fits in limit."""
    budget = limit
    while budget > 0:
        shown = escape(truncate(text, budget))
        if len(shown) <= limit:
            return shown
        budget -= max(1, len(shown) - limit)
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _excerpt_markdown(e: Excerpt, limit: int) -> str:
    """“quote” with the highlighted span in bold, escaped and kept within limit; quoted code
    blocks as code blocks when the whole excerpt fits, else everything on one line."""
    prefix = f"**[{e.citation.n}]** “"
    suffix = "”"
    room = limit - len(prefix) - len(suffix) - 4  # 4: the bold markers
    if room <= 10:
        return ""
    if e.code:
        shown = _with_code_blocks(e)
        if len(shown) <= limit:
            return shown
    text, highlight = as_read(e)
    if highlight:
        a, b = highlight
        before, span, after = _one_line(text[:a]), _one_line(text[a:b]), _one_line(text[b:])
        before = before + " " if text[:a] and text[a - 1].isspace() else before
        after = " " + after if text[b:] and text[b].isspace() else after
        whole = f"{before}{span}{after}"
        if len(escape(whole)) <= room and span:
            return f"{prefix}{escape(before)}**{escape(span)}**{escape(after)}{suffix}"
    return f"{prefix}{escaped_within(_one_line(text), room + 4)}{suffix}"


def _with_code_blocks(e: Excerpt) -> str:
    """Prose in quotes, code in fenced blocks (whose content Discord shows as written; a fence
    inside the code is broken up so it cannot close the block)."""
    parts = []
    for part in segments(e):
        if part.kind == "code":
            parts.append("```\n" + part.text.replace("```", "`\u200b`\u200b`") + "\n```")
        else:
            parts.append(f"“{escape(_one_line(part.text))}”")
    return f"**[{e.citation.n}]** " + "\n".join(parts)


def answer_payload(answer: Answer, start: int = 0, count: int = 2) -> Payload:
    """The message for excerpts[start:start+count] of answer (start > 0: 'more sources')."""
    title = escaped_within(_one_line(answer.question), TITLE_MAX) or "Question"
    if not answer.answered:
        description = escaped_within(answer.message, DESCRIPTION_MAX)
        return Payload("", _fit({"title": title, "description": description, "color": COLOR_NONE,
                                 "footer": {"text": "citebot · only quotes the indexed documents"}}))
    shown = answer.excerpts[start:start + count]
    parts: list[str] = []
    used = 0
    for e in shown:
        room = DESCRIPTION_MAX - used - 2
        block = _excerpt_markdown(e, min(room, 1500))
        if not block:
            break
        parts.append(block)
        used += len(block) + 2
    fields = [{"name": "Sources", "value": _sources(shown[:len(parts)]), "inline": False}]
    remaining = len(answer.excerpts) - start - len(parts)
    footer = "Quoted verbatim from the documents"
    if remaining > 0:
        footer += f" · {remaining} more excerpt{'s' if remaining != 1 else ''} under “More sources”"
    embed = {"title": title, "description": "\n\n".join(parts), "color": COLOR_ANSWER,
             "fields": fields, "footer": {"text": footer}}
    return Payload("", _fit(embed))


LINK_TEXT_MAX = 120  # characters of a source's title and section shown as its link


def source_line(c: Citation, linked: bool = True) -> str:
    """A source as Discord shows it: `[1] [Title › Section](url)` when the citation has an
    address, else its full citation line; the words escaped, the address as built (bot/links.py
    percent-encodes everything a document supplies in it)."""
    if not (linked and c.url):
        return escaped_within(citation_line(c), 300)
    words = " › ".join(part for part in (cited_title(c), c.section, f"p. {c.page}" if c.page is not None else "") if part)
    return f"{escape(f'[{c.n}]')} [{escaped_within(words, LINK_TEXT_MAX)}]({c.url})"


def _sources(shown: Sequence[Excerpt]) -> str:
    """The Sources field: each source linked while they fit in a field, the longest links
    given up first (their lines then name the file instead)."""
    linked = [bool(e.citation.url) for e in shown]
    while True:
        lines = [source_line(e.citation, link) for e, link in zip(shown, linked)]
        if len("\n".join(lines)) <= FIELD_VALUE_MAX or not any(linked):
            return _join_within(lines, FIELD_VALUE_MAX)
        longest = max((k for k in range(len(shown)) if linked[k]), key=lambda k: len(lines[k]))
        linked[longest] = False


def _join_within(lines: Sequence[str], limit: int, separator: str = "\n") -> str:
    """As many of lines as fit in limit, joined ("—" when none does)."""
    out: list[str] = []
    for line in lines:
        if len(separator.join([*out, line])) > limit:
            break
        out.append(line)
    return separator.join(out) or "—"


def _fit(embed: dict) -> dict:
    """Enforce every per-embed limit and the 6,000-character total."""
    embed["title"] = embed.get("title", "")[:TITLE_MAX]
    embed["description"] = embed.get("description", "")[:DESCRIPTION_MAX]
    fields = embed.get("fields", [])[:FIELDS_MAX]
    for f in fields:
        f["name"] = f["name"][:FIELD_NAME_MAX]
        f["value"] = f["value"][:FIELD_VALUE_MAX]
    embed["fields"] = fields
    footer = embed.get("footer", {}).get("text", "")
    embed["footer"] = {"text": footer[:FOOTER_MAX]}
    overflow = embed_length(embed) - EMBEDS_TOTAL_MAX
    if overflow > 0:
        description = embed["description"]
        embed["description"] = truncate(description, max(1, len(description) - overflow))
    return embed


def embed_length(embed: dict) -> int:
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    total += len(embed.get("footer", {}).get("text", ""))
    return total


def sources_payload(documents, limit_lines: int = 40) -> Payload:
    """/sources: the indexed documents, one line each."""
    import time

    lines = []
    for d in documents[:limit_lines]:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(d.indexed_at))
        lines.append(f"• {escaped_within(d.title, 120)} — `{visible(d.path).replace('`', '')}` · {d.passages} passages · {when} UTC")
    more = len(documents) - len(lines)
    if more > 0:
        lines.append(f"…and {more} more")
    description = _join_within(lines, DESCRIPTION_MAX) if lines else "No documents are indexed."
    return Payload("", _fit({"title": f"Indexed documents ({len(documents)})", "description": description,
                             "color": COLOR_ANSWER, "footer": {"text": "citebot"}}))


def gaps_payload(report: GapReport, limit: int = 5) -> Payload:
    """/gaps and the weekly summary: the largest groups of questions the docs did not answer,
    each with a few of its questions (escaped: what people typed is never read as markup) and
    a link to where in the docs its answer belongs."""
    title = escaped_within(f"Docs gaps in {report.collection} since {day(report.since)}", TITLE_MAX)
    blocks = []
    for n, g in enumerate(report.gaps[:limit], start=1):
        lines = [f"**{n}.** “{escaped_within(g.representative, 300)}” · {g.asked} asked by {g.people} "
                 f"{'person' if g.people == 1 else 'people'}"]
        lines += [f"  also “{escaped_within(q, 200)}”" for q in g.others[:2]]
        if g.nearest:
            where = escaped_within(g.nearest, 200)
            lines.append(f"  nearest in the docs: [{where}]({g.nearest_url})" if g.nearest_url else
                         f"  nearest in the docs: {where}")
        blocks.append("\n".join(lines))
    description = (_join_within(blocks, DESCRIPTION_MAX, "\n\n") if blocks
                   else "No gaps: every logged question was answered.")
    footer = (f"{report.gap_questions} of {report.logged} questions declined, voted down or answered with a low "
              "score · citebot gaps --html for the full report")
    return Payload("", _fit({"title": title, "description": description, "color": COLOR_NONE,
                             "footer": {"text": footer}}))
