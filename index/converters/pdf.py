"""PDF: the text layer of every page in reading order (pdfium, through pypdfium2), pages joined by
a blank line; the bookmarks as headings, or, in a PDF without bookmarks, the lines set in larger
type. Runs isolated (index/converters/isolation.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.converters.base import Converted, Converter, Limits, OutlineEntry
from index.errors import SkippedFile

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LEADER_DOTS = re.compile(r"(?:\. ?){4,}\s*\w*\s*$")
_MAX_OUTLINE_DEPTH = 6
_HEADING_MAX_CHARS = 150
HEADING_SIZE_RATIO = 1.15  # a heading's type is at least this much larger than the body's


def convert_pdf(data: bytes, relpath: str, limits: Limits) -> Converted:
    import pypdfium2  # imported here: only the conversion child process needs it

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as err:
        if "password" in str(err).lower():
            raise SkippedFile("encrypted PDF: it needs a password to open") from None
        raise SkippedFile(f"not a readable PDF ({str(err).splitlines()[0]})") from None
    try:
        count = len(pdf)
        if count > limits.max_pages:
            raise SkippedFile(f"{count:,} pages is over the {limits.max_pages:,}-page limit (max_pages)")
        pieces: list[str] = []
        pages: list[int] = []
        at = 0
        lines: list[Line] = []  # every line with its font size, for headings when there are no bookmarks
        for index in range(count):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                text, page_lines = _page_text(textpage)
                textpage.close()
            finally:
                page.close()
            if pieces:
                pieces.append("\n\n")
                at += 2
            pages.append(at)
            pieces.append(text)
            lines.extend(Line(at + offset, size, words) for offset, size, words in page_lines)
            at += len(text)
        body = "".join(pieces)
        if not body.strip():
            raise SkippedFile("no text layer: scanned PDF; OCR not supported")
        metadata = pdf.get_metadata_dict(skip_empty=True)
        outline = _outline(pdf, body, pages) or _headings_by_size(lines)
    finally:
        pdf.close()
    return Converted(text=body, markup="text", title=" ".join(metadata.get("Title", "").split()),
                     author=" ".join(metadata.get("Author", "").split()), pages=tuple(pages), outline=outline)


@dataclass(frozen=True)
class Line:
    offset: int  # in the document text
    size: float  # the font size most of its characters have
    words: str


def _page_text(textpage) -> tuple[str, list[tuple[int, float, str]]]:
    """The page's text in reading order (lines as pdfium gives them, trailing spaces and blank
    edges trimmed) and each line's offset in it and font size."""
    import pypdfium2.raw as pdfium_c  # only the conversion child process needs it

    raw = textpage.get_text_range()
    sizes = [pdfium_c.FPDFText_GetFontSize(textpage.raw, i) for i in range(len(raw))]
    kept: list[tuple[float, str]] = []
    start = 0
    for match in _LINE_BREAK.finditer(raw + "\n"):
        end = match.start()
        words = raw[start:end].replace("\x02", "-").replace("\x00", "").rstrip(" \t")
        counted = [round(sizes[i], 1) for i in range(start, min(end, len(sizes))) if not raw[i].isspace()]
        kept.append((max(set(counted), key=counted.count) if counted else 0.0, words))
        start = match.end()
    while kept and not kept[0][1].strip():
        kept.pop(0)
    while kept and not kept[-1][1].strip():
        kept.pop()
    text, lines, at = [], [], 0
    for size, words in kept:
        lines.append((at, size, words))
        text.append(words)
        at += len(words) + 1
    return "\n".join(text), lines


def _headings_by_size(lines: list[Line]) -> tuple[OutlineEntry, ...]:
    """Without bookmarks: short lines set clearly larger than the body text are headings, the
    larger the higher. The body size is the one most characters have."""
    weight: dict[float, int] = {}
    for line in lines:
        weight[line.size] = weight.get(line.size, 0) + len(line.words)
    if not weight:
        return ()
    body = max(weight, key=weight.get)
    found = [line for line in lines
             if line.size >= body * HEADING_SIZE_RATIO and 1 < len(line.words.strip()) <= _HEADING_MAX_CHARS
             and any(ch.isalpha() for ch in line.words) and not line.words.rstrip().endswith((".", ",", ";"))
             and not _LEADER_DOTS.search(line.words)]  # a table of contents' entries are not headings
    levels = sorted({line.size for line in found}, reverse=True)
    if sum(len(line.words) for line in found) * 3 > sum(weight.values()):
        return ()  # a third of the words in large type: a poster or slides, not headings
    return tuple(OutlineEntry(line.offset + len(line.words) - len(line.words.lstrip()),
                              min(levels.index(line.size) + 1, 6), line.words.strip(), len(line.words.strip()))
                 for line in found)


def _outline(pdf, body: str, pages: list[int]) -> tuple[OutlineEntry, ...]:
    """Bookmarks as headings, each placed where its title stands on its page (else at the page's
    start), in text order."""
    entries: list[OutlineEntry] = []
    for bookmark in pdf.get_toc(max_depth=_MAX_OUTLINE_DEPTH):
        title = " ".join((bookmark.get_title() or "").split())
        dest = bookmark.get_dest()
        index = dest.get_index() if dest is not None else None
        if not title or index is None or not 0 <= index < len(pages):
            continue
        start = pages[index]
        end = pages[index + 1] if index + 1 < len(pages) else len(body)
        found = body.find(title, start, end)
        level = bookmark.level + 1
        entries.append(OutlineEntry(found, level, title, len(title)) if found >= 0
                       else OutlineEntry(start, level, title))
    entries.sort(key=lambda e: e.offset)
    kept: list[OutlineEntry] = []
    for e in entries:  # a bookmark found inside another's title words is the same heading again
        if kept and kept[-1].offset <= e.offset < kept[-1].offset + kept[-1].length:
            continue
        kept.append(e)
    return tuple(kept)


PDF = Converter(name="pdf", version=2, suffixes=(".pdf",), convert=convert_pdf,
                sniff=lambda head: b"%PDF-" in head[:1024], label="PDF", modules=("pypdfium2",))
