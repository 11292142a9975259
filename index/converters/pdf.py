"""PDF: the text layer of every page in reading order (pdfium, through pypdfium2), pages joined by
a blank line, the bookmarks as headings. Runs isolated (index/converters/isolation.py)."""

from __future__ import annotations

import re

from index.converters.base import Converted, Converter, Limits, OutlineEntry
from index.errors import SkippedFile

_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_MAX_OUTLINE_DEPTH = 6


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
        for index in range(count):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                text = _clean(textpage.get_text_bounded())
                textpage.close()
            finally:
                page.close()
            if pieces:
                pieces.append("\n\n")
                at += 2
            pages.append(at)
            pieces.append(text)
            at += len(text)
        body = "".join(pieces)
        if not body.strip():
            raise SkippedFile("no text layer: scanned PDF; OCR not supported")
        metadata = pdf.get_metadata_dict(skip_empty=True)
        outline = _outline(pdf, body, pages)
    finally:
        pdf.close()
    return Converted(text=body, markup="text", title=" ".join(metadata.get("Title", "").split()),
                     author=" ".join(metadata.get("Author", "").split()), pages=tuple(pages), outline=outline)


def _clean(text: str) -> str:
    # pdfium ends lines with \r\n and marks hyphenation breaks with \x02 or soft hyphens.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x02", "-").replace("\x00", "")
    return _TRAILING_SPACE.sub("", text).strip("\n")


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


PDF = Converter(name="pdf", version=1, suffixes=(".pdf",), convert=convert_pdf,
                sniff=lambda head: b"%PDF-" in head[:1024], label="PDF")
