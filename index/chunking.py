"""Split a Document into sentence-aware passages with exact character offsets.

A passage never cuts a sentence and never crosses a heading. Each keeps the offsets of its
sentences, so answers can quote a single sentence from it verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sentencex import segment

from index.documents import Document

TokenCounter = Callable[[Sequence[str]], list[int]]

_IMAGE_LINE = re.compile(r"^[ \t]*(?:!\[[^\]]*\]\(\S*\)[ \t]*)+$")
_BLOCK = re.compile(r"(?:^[ \t]*\S[^\n]*(?:\n|$))+", re.MULTILINE)
_LONG_SENTENCE_CHARS = 600
_QUOTE_MARKS = re.compile("[\"“”‘’`«»„]")


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


def _block_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    block = text[start:end]
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
    unquoted = _QUOTE_MARKS.sub(" ", text[start:end])
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
    pieces = []
    while end - start > _LONG_SENTENCE_CHARS:
        low, high = start + _LONG_SENTENCE_CHARS // 2, start + _LONG_SENTENCE_CHARS
        cut = next((at + len(mark) - 1 for mark in ("; ", ", ", " ") if (at := text.rfind(mark, low, high)) > start), -1)
        if cut <= start:
            cut = start + _LONG_SENTENCE_CHARS
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
    for section in doc.sections:
        spans = sentence_spans(doc.text, section.start, section.end)
        if not spans:
            continue
        tokens = count_tokens([doc.text[a:b] for a, b in spans])
        for group in _pack(tokens, settings):
            chosen = [spans[i] for i in group]
            start, end = chosen[0][0], chosen[-1][1]
            passages.append(
                Passage(doc.path, section.path, "text", doc.text[start:end], start, end, tuple(chosen))
            )
    return passages


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
