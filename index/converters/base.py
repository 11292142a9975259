"""What a converter is and what it gives back; no format knowledge here (see the modules beside it).

A converter turns a file's bytes into the text that excerpts quote (for PDF, HTML and Word, the
text extracted from the file: "verbatim" means verbatim from that text), plus what the file says
about itself: title, author, front-matter facts, pages and outline headings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from index.errors import in_one_line

FIELD_SEPARATOR = ": "


@dataclass(frozen=True)
class Field:
    """A front-matter fact, e.g. ``Result: Russian victory``."""

    name: str
    value: str

    @property
    def text(self) -> str:
        return f"{self.name}{FIELD_SEPARATOR}{self.value}"


@dataclass(frozen=True)
class OutlineEntry:
    """A heading the file declares apart from its text (a PDF bookmark): where it starts in the text."""

    offset: int
    level: int
    title: str
    length: int = 0  # characters of the heading's own words at offset, when found there (not quoted)


@dataclass(frozen=True)
class Converted:
    text: str  # what offsets point into and excerpts quote
    markup: str = "text"  # how index/markup.py reads it: "markdown", "markdown-written" (a converter's), "rst", "asciidoc" or "text"
    title: str = ""
    author: str = ""
    fields: tuple[Field, ...] = ()
    pages: tuple[int, ...] = ()  # where each page starts in text; () for formats without pages
    outline: tuple[OutlineEntry, ...] = ()  # headings the file declares; () = read them from the markup
    # (heading words as written in text, the id the page gives that heading), in page order:
    # where a link to the section lands (an HTML page's own anchors; Markdown and rST have none).
    anchors: tuple[tuple[str, str], ...] = ()
    first_line: int = 0  # the file's line (from 1) where text starts when text is the file's own lines; 0: converted


@dataclass(frozen=True)
class Limits:
    """Bounds on converting one file (config keys convert_seconds, convert_memory_mb, max_pages)."""

    seconds: float = 60.0
    memory_mb: int = 1024
    max_pages: int = 2000
    max_unpacked_bytes: int = 200_000_000  # what a zip-based file (.docx) may unpack to


@dataclass(frozen=True)
class Converter:
    """One format. `convert(data, relpath, limits)` returns a Converted or raises SkippedFile with
    the reason; `sniff(head)` says whether the file's first bytes look like this format (None:
    anything goes). An isolated converter runs in a child process bounded in time and memory."""

    name: str
    version: int
    suffixes: tuple[str, ...]
    convert: Callable[[bytes, str, Limits], Converted]
    sniff: Callable[[bytes], bool] | None = None
    isolated: bool = True
    label: str = ""  # the format's name in messages ("PDF"); the name when empty
    modules: tuple[str, ...] = ()  # the libraries convert() imports (in the conversion child): see unavailable()

    @property
    def key(self) -> str:
        """Stored with each document: a new version re-converts this format's files."""
        return f"{self.name}/{self.version}"

    @property
    def shown(self) -> str:
        return self.label or self.name

    def unavailable(self) -> str:
        """Why this format cannot be read here ("ImportError: …"), or "" when it can: each
        library it imports is imported, so a broken install is named before any file is skipped."""
        import importlib

        for module in self.modules:
            try:
                importlib.import_module(module)
            except Exception as err:  # any import failure: an ImportError, or a library's own crash
                return in_one_line(err)
        return ""


# Magic numbers, only to name what a file really is when its suffix says otherwise.
_MAGIC = ((b"%PDF-", "PDF"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"),
          (b"PK\x03\x04", "ZIP"), (b"\x1f\x8b", "gzip"), (b"\x7fELF", "ELF"), (b"RIFF", "RIFF"),
          (b"\xd0\xcf\x11\xe0", "old Office (OLE)"))


def looks_like(head: bytes) -> str:
    """A name for the file type its first bytes show, or "" when they show none of the known ones."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return ""
