"""Split a Document into passages of quotable units with exact character offsets.

A unit is a sentence, a list item's sentence, or a whole code block (index/markup.py);
markup-only lines are no unit. A passage never cuts a unit and never crosses a heading. Each
keeps the offsets and kinds of its units, so answers can quote one verbatim, and the inline
markup inside them (roles, link syntax, HTML tags), which splits no unit. What a passage is
embedded and indexed with is its context line (document title › heading path) and its matched
text: its text with the markup in and between its units blanked out, offsets unchanged. The
context is matched, never quoted.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sentencex import segment

from index.documents import Document
from index.markup import CODE, INLINE, ITEM, Block, list_item_starts

TokenCounter = Callable[[Sequence[str]], list[int]]

_IMAGE_LINE = re.compile(r"^[ \t]*(?:!\[[^\]]*\]\(\S*\)[ \t]*)+$")
_BLOCK = re.compile(r"(?:^[ \t]*\S[^\n]*(?:\n|$))+", re.MULTILINE)
_LONG_SENTENCE_CHARS = 600
_QUOTE_MARKS = re.compile("[\"“”‘’`«»„]")
TEXT = "text"
CONTEXT_SEPARATOR = " › "
_CONTEXT_MAX_CHARS = 200  # a deep heading path is cut: the context must leave room for the passage
_MIN_BUDGET = 32


@dataclass(frozen=True)
class ChunkSettings:
    max_tokens: int = 200
    overlap_tokens: int = 40


@dataclass(frozen=True)
class Passage:
    doc_path: str
    section: tuple[str, ...]
    kind: str  # "text": text == document.text[start:end]; "field": a front-matter fact
    text: str
    start: int | None
    end: int | None
    sentences: tuple[tuple[int, int], ...]  # absolute offsets in document.text (text kind)
    sentence_kinds: tuple[str, ...] = ()  # per sentence: TEXT, ITEM (a list item) or CODE; () all TEXT
    inline: tuple[tuple[int, int], ...] = ()  # absolute offsets of inline markup inside its sentences

    def sentence_kind(self, i: int) -> str:
        return self.sentence_kinds[i] if self.sentence_kinds else TEXT


_NOT_A_LINE_BREAK = re.compile(r"[^\n]")


def matched_text(p: Passage) -> str:
    """What a passage is embedded and BM25-indexed as: its text, same length, with what lies
    between its units (fences, directive lines, image lines) and its inline markup blanked to
    spaces, line breaks kept; so every offset into the text holds for it too."""
    if p.kind != "text" or p.start is None or not p.sentences:
        return p.text
    hidden = [(p.start, p.sentences[0][0])]
    hidden += [(b, a) for (_, b), (a, _) in zip(p.sentences, p.sentences[1:])]
    hidden += [(p.sentences[-1][1], p.end), *p.inline]
    return blanked(p.text, [(a - p.start, b - p.start) for a, b in hidden])


def blanked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """text with the given spans (offsets into it, in any order) turned to spaces, line breaks kept."""
    at, pieces = 0, []
    for a, b in sorted(spans):
        a = max(a, at)
        if b <= a:
            continue
        pieces += [text[at:a], _NOT_A_LINE_BREAK.sub(" ", text[a:b])]
        at = b
    pieces.append(text[at:])
    return "".join(pieces)


def context_line(title: str, section: Sequence[str]) -> str:
    """What a passage is about, from outside its text: embedded and indexed with it, never quoted."""
    line = CONTEXT_SEPARATOR.join(part for part in (title, *section) if part)
    return line[:_CONTEXT_MAX_CHARS]


def unit_spans(text: str, start: int, end: int, blocks: Sequence[Block] = ()) -> list[tuple[int, int, str]]:
    """The quotable units of text[start:end]: sentences (list items split apart) and whole code
    blocks; markup blocks are left out, inline markup splits nothing."""
    units: list[tuple[int, int, str]] = []
    at = start
    # Blocks are sorted by start: only those from the last one starting before `start` are looked at.
    first = max(0, bisect.bisect_left(blocks, start, key=lambda b: b.start) - 1)
    for block in blocks[first:]:
        if block.start >= end:
            break
        if block.end <= start or block.kind == INLINE:
            continue
        if block.start > at:
            units.extend(_prose_units(text, at, block.start))
        if block.kind == CODE:
            units.extend((a, b, CODE) for a, b in _code_pieces(text, max(block.start, start), min(block.end, end)))
        at = max(at, block.end)
    if end > at:
        units.extend(_prose_units(text, at, end))
    return units


def _prose_units(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    items = list_item_starts(text, start, end)
    bounds = [start, *(a for a in items if a > start), end]
    items = set(items)
    units = []
    for a, b in zip(bounds, bounds[1:]):
        kind = ITEM if a in items else TEXT
        units.extend((x, y, kind) for x, y in sentence_spans(text, a, b))
    return units


def _code_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A code block whole, or cut at blank lines, then lines, when it is over the long-unit size."""
    while end > start and text[end - 1].isspace():
        end -= 1
    return _cut_at(text, start, end, (("\n\n", 0), ("\n", 0)), shortest=0.0)


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence offsets in text[start:end]; image-only lines are left out."""
    spans: list[tuple[int, int]] = []
    for block in _BLOCK.finditer(text, start, end):
        run_start = None
        at = block.start()
        for line in block.group(0).splitlines(keepends=True):
            if _IMAGE_LINE.match(line.rstrip("\n")):
                if run_start is not None:
                    spans.extend(_block_sentences(text, run_start, at))
                run_start = None
            elif run_start is None:
                run_start = at
            at += len(line)
        if run_start is not None:
            spans.extend(_block_sentences(text, run_start, at))
    return spans


# Inline code and roles (``x.y``, `x.y`, :meth:`Client.run`): a full stop inside them ends no sentence.
# A role's name holds at most one inner colon (":py:meth:"), so a run of colons is never rescanned.
_INLINE_CODE = re.compile(r"``[^`\n]+``|(?::[\w.-]+(?::[\w.-]+)?:)?`[^`\n]+`")
_SENTENCE_MARKS = re.compile(r"[.!?]")
_WORDY = re.compile(r"[^\W_]")  # a letter or digit: a piece without one is no sentence of its own


def _masked(text: str) -> str:
    """text with sentence marks inside inline code blanked (same length: offsets hold)."""
    return _INLINE_CODE.sub(lambda m: _SENTENCE_MARKS.sub("_", m.group(0)), text)


def _block_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    block = _masked(text[start:end])
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in segment("en", block):
        piece = sentence.strip()
        if not piece:
            continue
        at = block.find(piece, cursor)
        if at < 0:  # the segmenter altered the text; keep offsets honest by skipping it
            continue
        cursor = at + len(piece)
        if spans and len(piece) <= 3 and not _WORDY.search(piece):
            spans[-1] = (spans[-1][0], start + cursor)  # "_" or "**" closing emphasis after "?": ends the sentence before
            continue
        for a, b in _split_long(block, at, cursor):
            spans.append((start + a, start + b))
    return spans


def _split_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut an over-long 'sentence' where a reader would: first at the sentence ends inside it
    (the segmenter does not split inside a quotation, and an unclosed quotation mark runs on to
    the paragraph's end), then at a clause or word boundary (lists, junk without punctuation)."""
    if end - start <= _LONG_SENTENCE_CHARS:
        return [(start, end)]
    # Quotation marks blanked out (same length, so offsets hold) let the segmenter see the sentences inside.
    unquoted = _QUOTE_MARKS.sub(" ", _masked(text[start:end]))
    pieces, cursor = [], 0
    for sentence in segment("en", unquoted):
        piece = sentence.strip()
        at = unquoted.find(piece, cursor) if piece else -1
        if at < 0:
            continue
        cursor = at + len(piece)
        pieces.extend(_cut_at_boundaries(text, start + at, start + cursor))
    return pieces or _cut_at_boundaries(text, start, end)


def _cut_at_boundaries(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return _cut_at(text, start, end, (("; ", 1), (", ", 1), (" ", 0)), shortest=0.5)


def _cut_at(text: str, start: int, end: int, marks: Sequence[tuple[str, int]], shortest: float) -> list[tuple[int, int]]:
    """start..end in pieces of at most the long-unit size, each cut at the last of the first of
    `marks` found (keeping that many of its characters), no piece shorter than `shortest` of it."""
    pieces = []
    while end - start > _LONG_SENTENCE_CHARS:
        low, high = max(start + 1, start + int(_LONG_SENTENCE_CHARS * shortest)), start + _LONG_SENTENCE_CHARS
        cut = next((at + keep for mark, keep in marks if (at := text.rfind(mark, low, high)) > start), -1)
        if cut <= start:
            cut = high
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def chunk_document(doc: Document, settings: ChunkSettings, count_tokens: TokenCounter) -> list[Passage]:
    passages = [
        Passage(doc.path, (), "field", field.text, None, None, ())
        for field in doc.fields
    ]
    inline = [b for b in doc.blocks if b.kind == INLINE]
    for section in doc.sections:
        units = unit_spans(doc.text, section.start, section.end, doc.blocks)
        if not units:
            continue
        context_tokens = count_tokens([context_line(doc.title, section.path)])[0]
        budget = ChunkSettings(max(_MIN_BUDGET, settings.max_tokens - context_tokens), settings.overlap_tokens)
        tokens = count_tokens([doc.text[a:b] for a, b, _ in units])
        for group in _pack(tokens, budget):
            chosen = [units[i] for i in group]
            start, end = chosen[0][0], chosen[-1][1]
            kinds = tuple(k for _, _, k in chosen)
            passages.append(Passage(doc.path, section.path, "text", doc.text[start:end], start, end,
                                    tuple((a, b) for a, b, _ in chosen), kinds if set(kinds) != {TEXT} else (),
                                    inline_within(inline, start, end)))
    return passages


def inline_within(inline: Sequence[Block], start: int, end: int) -> tuple[tuple[int, int], ...]:
    """The inline markup spans in start..end (cut to it), from INLINE blocks sorted by start."""
    first = bisect.bisect_left(inline, start, key=lambda b: b.end)
    found = []
    for block in inline[first:]:
        if block.start >= end:
            break
        if block.end > start:
            found.append((max(block.start, start), min(block.end, end)))
    return tuple(found)


def _pack(tokens: list[int], settings: ChunkSettings) -> list[list[int]]:
    """Group consecutive sentence indexes into passages of at most max_tokens, with overlap."""
    groups: list[list[int]] = []
    i = 0
    while i < len(tokens):
        group, used = [i], tokens[i]
        j = i + 1
        while j < len(tokens) and used + tokens[j] <= settings.max_tokens:
            group.append(j)
            used += tokens[j]
            j += 1
        groups.append(group)
        if j >= len(tokens):
            break
        # Start the next passage a few sentences back, so a fact split across the boundary
        # is whole in one of them, but always move forward.
        back, carried = j, 0
        while back - 1 > i and carried + tokens[back - 1] <= settings.overlap_tokens:
            back -= 1
            carried += tokens[back]
        i = back
    return groups
