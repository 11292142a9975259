"""Word (.docx): paragraphs in order, heading styles as Markdown headings (so they become
sections), list paragraphs as items, tables as rows. Runs isolated; the zip is checked against
what it would unpack to before anything reads it."""

from __future__ import annotations

import io
import re
import zipfile

from index.converters.base import Converted, Converter, Limits
from index.errors import SkippedFile
from index.markup import WRITTEN_MARKDOWN

_HEADING_STYLE = re.compile(r"^heading\s*([1-6])$", re.IGNORECASE)
_MAX_ZIP_ENTRIES = 10_000


def convert_docx(data: bytes, relpath: str, limits: Limits) -> Converted:
    _check_zip(data, limits)
    import docx  # imported here: only the conversion child process needs it
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as err:  # python-docx raises many types for a damaged package
        raise SkippedFile(f"not a readable Word document ({type(err).__name__}: {str(err).splitlines()[0][:120]})") from None
    blocks: list[str] = []
    title = ""
    for part in document.iter_inner_content():
        if isinstance(part, Table):
            blocks.extend(_table(part))
            continue
        text = " ".join(part.text.split())
        if not text:
            continue
        style = (part.style.name if part.style is not None else "") or ""
        heading = _HEADING_STYLE.match(style)
        if style.lower() == "title":
            title = title or text
            blocks.append(f"# {text}")
        elif heading:
            blocks.append("#" * int(heading.group(1)) + " " + text)
        elif style.lower().startswith("list"):
            blocks.append(f"- {text}")
        else:
            blocks.append(text)
    body = "\n\n".join(blocks)
    if not body.strip():
        raise SkippedFile("no text in the Word document")
    properties = document.core_properties
    return Converted(text=body + "\n", markup=WRITTEN_MARKDOWN, title=" ".join((properties.title or title).split()),
                     author=" ".join((properties.author or "").split()))


def _table(table) -> list[str]:
    """Each row a Markdown table row, the first one set off as the header."""
    rows = []
    for row in table.rows:
        seen, cells = set(), []
        for cell in row.cells:  # a merged cell is listed once per grid column it spans: keep it once
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(" ".join(cell.text.split()).replace("|", "/"))
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    if len(rows) > 1:
        rows.insert(1, "|" + "---|" * rows[0].count(" | ") + "---|")
    return ["\n".join(rows)] if rows else []


def _check_zip(data: bytes, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            entries = package.infolist()
            if len(entries) > _MAX_ZIP_ENTRIES:
                raise SkippedFile(f"{len(entries):,} zip entries; a Word file has far fewer (zip bomb?)")
            unpacked = sum(e.file_size for e in entries)
            if unpacked > limits.max_unpacked_bytes:
                raise SkippedFile(f"unpacks to {unpacked:,} bytes, over the {limits.max_unpacked_bytes:,}-byte "
                                  "limit (zip bomb?)")
            if "word/document.xml" not in package.namelist():
                raise SkippedFile("a zip file, but not a Word document (no word/document.xml)")
    except zipfile.BadZipFile:
        raise SkippedFile("not a Word document (not a valid zip package)") from None


DOCX = Converter(name="docx", version=2, suffixes=(".docx",), convert=convert_docx,
                 sniff=lambda head: head.startswith(b"PK\x03\x04"), label="Word", modules=("docx",))
